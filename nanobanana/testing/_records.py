"""What the simulator remembers: requests, charges, tasks, accounts. Never a raw key."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import attrs

__all__ = ["Account", "Charge", "KeyState", "RequestRecord", "SubscriptionPlan", "TaskInfo"]

KeyState = Literal["valid", "disabled", "expired", "missing_scope"]


@attrs.frozen
class RequestRecord:
    """One request the simulator saw (API or asset host).

    ``route`` is the endpoint relative to the API base (``"images/generate"``), or None for
    an asset download. ``time`` is the simulated arrival time (API seconds of the fake's
    clock). ``key_hash`` is ``nanobanana._config.key_fingerprint`` of the bearer key, None
    when there was none. ``headers`` are lower-cased, with any ``authorization`` value
    replaced by ``"<redacted>"`` (its presence is kept, so a test can prove a host never
    got one). ``status`` is the HTTP status answered, None when no answer was sent.
    ``fault`` is the injected fault kind that shaped the answer, if any; ``processed`` is
    False when an injected fault answered in front of the service (nothing was checked,
    counted or charged).
    """

    method: str
    host: str
    path: str
    route: str | None
    query: Mapping[str, str]
    body: Any
    time: float
    key_hash: str | None
    headers: Mapping[str, str]
    status: int | None
    fault: str | None = None
    processed: bool = True

    @property
    def is_asset(self) -> bool:
        """True for a download from the asset host."""
        return self.route is None


@attrs.frozen
class Charge:
    """One credit charge: made when a generate request is accepted."""

    task_id: str
    credits: int
    key_hash: str
    time: float
    kind: Literal["image", "video"]
    model: str
    request: str
    """The request body as canonical JSON: what the double-submission check compares."""


@attrs.frozen
class SubscriptionPlan:
    """An account's plan; ``end_date`` None means it does not end."""

    plan: str = "pro"
    end_date: datetime | None = None


@attrs.define
class Account:
    """A key's account. Mutable: tests may set ``credits`` and friends directly."""

    credits: int = 1000
    total_credits: int = 1000
    subscription: SubscriptionPlan | None = attrs.field(factory=SubscriptionPlan)
    is_vip: bool = False
    state: KeyState = "valid"
    rate_limit: tuple[int, float] | None = None
    """A per-key window overriding the fake's; None uses the fake's."""


@attrs.frozen
class TaskInfo:
    """A task as the simulator planned it. Times are API seconds of the fake's clock."""

    task_id: str
    kind: Literal["image", "video"]
    model: str
    key_hash: str
    created: float
    duration: float
    fails: bool
    error: str | None
    credits: int
    params: Mapping[str, Any]
    outputs: int
    extension: str
    token: str = attrs.field(repr=False)
    final_progress: int = 100
    """The progress a failed task reached before failing (100 for a success)."""

    @property
    def ends(self) -> float:
        """When the task reaches its final status."""
        return self.created + self.duration
