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
    """One request the simulator saw (API or asset host)."""

    method: str
    """The HTTP method, upper-case."""
    host: str
    """The host it was sent to."""
    path: str
    """The URL's path."""
    route: str | None
    """The endpoint relative to the API base (``"images/generate"``); None for an asset
    download."""
    query: Mapping[str, str]
    """The query parameters."""
    body: Any
    """The JSON body, parsed (None without one, or when it was not JSON)."""
    time: float
    """The simulated arrival time (API seconds of the fake's clock)."""
    key_hash: str | None
    """``nanobanana._config.key_fingerprint`` of the bearer key; None when there was none."""
    headers: Mapping[str, str]
    """The headers, lower-cased, any ``authorization`` value replaced by ``"<redacted>"``
    (its presence is kept, so a test can prove a host never got one)."""
    status: int | None
    """The HTTP status answered; None when no answer was sent (dropped or hung)."""
    fault: str | None = None
    """The injected fault kind that shaped the answer, if any."""
    processed: bool = True
    """False when an injected fault answered in front of the service (nothing was
    checked, counted or charged)."""

    @property
    def is_asset(self) -> bool:
        """True for a download from the asset host."""
        return self.route is None


@attrs.frozen
class Charge:
    """One credit charge: made when a generate request is accepted."""

    task_id: str
    """The task the charge paid for."""
    credits: int
    """The credits taken."""
    key_hash: str
    """The fingerprint of the key charged."""
    time: float
    """When, in API seconds of the fake's clock."""
    kind: Literal["image", "video"]
    """The kind of task."""
    model: str
    """The model id (the default one when the request named none)."""
    request: str
    """The request body as canonical JSON: what the double-submission check compares."""


@attrs.frozen
class SubscriptionPlan:
    """An account's plan; ``end_date`` None means it does not end."""

    plan: str = "pro"
    """The plan's name."""
    end_date: datetime | None = None
    """When it ends; None: never."""


@attrs.define
class Account:
    """A key's account. Mutable: tests may set ``credits`` and friends directly."""

    credits: int = 1000
    """The balance."""
    total_credits: int = 1000
    """What ``credits()`` reports as given in all."""
    subscription: SubscriptionPlan | None = attrs.field(factory=SubscriptionPlan)
    """The plan; None: none (subscription-only models answer 403)."""
    is_vip: bool = False
    """The VIP flag ``credits()`` reports."""
    state: KeyState = "valid"
    """``"valid"``, ``"disabled"`` / ``"expired"`` (403 on every route), or
    ``"missing_scope"`` (403 on the generate routes)."""
    rate_limit: tuple[int, float] | None = None
    """A per-key window overriding the fake's; None uses the fake's."""


@attrs.frozen
class TaskInfo:
    """A task as the simulator planned it. Times are API seconds of the fake's clock."""

    task_id: str
    """The task's id."""
    kind: Literal["image", "video"]
    """The kind of task."""
    model: str
    """The model id (the default one when the request named none)."""
    key_hash: str
    """The fingerprint of the key that submitted it."""
    created: float
    """When it was accepted."""
    duration: float
    """How long it runs, drawn from ``durations`` when it was created."""
    fails: bool
    """Whether it ends ``failed`` (drawn from ``failure_rate``)."""
    error: str | None
    """The error message it fails with; None for a success."""
    credits: int
    """What it was charged."""
    params: Mapping[str, Any]
    """The request's parameters, as validated (a video's with its defaults filled in)."""
    outputs: int
    """How many result files it has."""
    extension: str
    """The result files' extension (``"png"``, ``"jpg"``, ``"mp4"``)."""
    token: str = attrs.field(repr=False)
    """The secret in its result URLs."""
    final_progress: int = 100
    """The progress a failed task reached before failing (100 for a success)."""

    @property
    def ends(self) -> float:
        """When the task reaches its final status."""
        return self.created + self.duration
