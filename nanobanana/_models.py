"""Response models: frozen attrs classes, decoded by the one converter in ``_converter``.

Fields follow the wire names. ``status`` stays a plain ``str`` so a value the provider
adds tomorrow survives decoding; ``TaskStatus`` names the ones we know.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import TypeVar

import attrs

__all__ = [
    "CostEstimate",
    "Credits",
    "ImageStatus",
    "ModelCatalog",
    "ModelInfo",
    "Subscription",
    "TaskStatus",
    "VideoStatus",
]


class TaskStatus(str, enum.Enum):
    """The status strings the API and its video provider are known to use (NOTES.md §1)."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CANCELED = "canceled"
    TIMEOUT = "timeout"

    def __str__(self) -> str:
        return self.value


SUCCESS_STATES = frozenset({"completed", "succeeded"})
FAILURE_STATES = frozenset({"failed", "cancelled", "canceled", "timeout"})
KNOWN_STATES = frozenset(s.value for s in TaskStatus)


def status_outcome(status: str) -> str:
    """Normalise a status string: ``"succeeded"``, ``"failed"`` or ``"running"``."""
    s = status.strip().lower()
    if s in SUCCESS_STATES:
        return "succeeded"
    if s in FAILURE_STATES:
        return "failed"
    return "running"


T = TypeVar("T")


def _urls(value: str | Iterable[str]) -> tuple[str, ...]:
    """``image_urls`` as a tuple. A bare string is one URL, never a sequence of characters."""
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    return _items(value)


def _items(value: Iterable[T]) -> tuple[T, ...]:
    """A tuple field from any iterable but a string, bytes or a mapping (which would be
    read character by character, or key by key)."""
    if isinstance(value, (str, bytes, dict)):
        raise TypeError(f"expected a sequence, got {type(value).__name__}")
    return tuple(value)


class _StatusMixin:
    """Shared properties of task status models (a plain mixin: attrs builds the subclasses)."""

    __slots__ = ()

    @property
    def done(self) -> bool:
        """True once the task has ended, in success or failure."""
        return status_outcome(self.status) != "running"  # type: ignore[attr-defined]

    @property
    def succeeded(self) -> bool:
        """True when the task ended with a result."""
        return status_outcome(self.status) == "succeeded"  # type: ignore[attr-defined]

    @property
    def failed(self) -> bool:
        """True when the task ended without a result (failed, cancelled, timeout)."""
        return status_outcome(self.status) == "failed"  # type: ignore[attr-defined]


@attrs.frozen
class ImageStatus(_StatusMixin):
    """The state of an image task. ``image_urls`` holds every result, ``image_url`` included."""

    task_id: str
    status: str
    progress: int | None = None
    image_url: str | None = None
    image_urls: tuple[str, ...] = attrs.field(default=(), converter=_urls)
    completed_at: datetime | None = None
    error: str | None = None

    @property
    def urls(self) -> tuple[str, ...]:
        """Every result URL (same as ``image_urls``)."""
        return self.image_urls


@attrs.frozen
class VideoStatus(_StatusMixin):
    """The state of a video task."""

    task_id: str
    status: str
    progress: int | None = None
    video_url: str | None = None
    completed_at: datetime | None = None
    error: str | None = None

    @property
    def urls(self) -> tuple[str, ...]:
        """Every result URL: the video, when there is one."""
        return (self.video_url,) if self.video_url else ()


@attrs.frozen
class Subscription:
    """The account's plan."""

    plan: str
    end_date: datetime | None = None


@attrs.frozen
class Credits:
    """The account's balance and subscription."""

    credits: int
    total_credits: int | None = None
    subscription: Subscription | None = None
    is_vip: bool = False


@attrs.frozen
class CostEstimate:
    """What the server says a generation would cost."""

    type: str
    credits_needed: int


@attrs.frozen
class ModelInfo:
    """One model of the catalog. ``is_default`` is False when the server leaves it out."""

    id: str
    name: str
    is_default: bool = False


@attrs.frozen
class ModelCatalog:
    """Every model the server offers."""

    image_models: tuple[ModelInfo, ...] = attrs.field(default=(), converter=_items)
    video_models: tuple[ModelInfo, ...] = attrs.field(default=(), converter=_items)


@attrs.frozen
class TaskCreated:
    """The data of a generate response (private: users get a task handle)."""

    task_id: str
    status: str
    credits_used: int | None = None
    credits_remaining: int | None = None
    provider: str | None = None
