"""Task handles: what ``generate`` returns. ``await task`` waits for the result."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import attrs

from .._models import ImageStatus, TaskCreated, VideoStatus

if TYPE_CHECKING:
    from ._resources import AsyncImages, AsyncVideos

__all__ = ["ImageTask", "VideoTask", "wait_for_task"]


async def wait_for_task(
    resource: Any,
    task_id: str,
    *,
    timeout: float | None = None,
    on_progress: Any = None,
    poll_policy: Any = None,
) -> Any:
    """Poll ``task_id`` through ``resource`` until it ends (stub: the task-futures issue)."""
    raise NotImplementedError


@attrs.frozen(eq=False)
class ImageTask:
    """A submitted image task. Keep ``task_id``: it is the only way back to the result."""

    task_id: str
    status: str
    credits_used: int | None
    credits_remaining: int | None
    model: str | None = attrs.field(default=None, repr=False)
    _resource: AsyncImages | None = attrs.field(default=None, repr=False, alias="resource")

    @classmethod
    def _from_created(
        cls, created: TaskCreated, resource: AsyncImages, *, model: str | None = None
    ) -> ImageTask:
        return cls(
            created.task_id,
            created.status,
            created.credits_used,
            created.credits_remaining,
            model,
            resource,
        )

    async def wait(
        self, timeout: float | None = None, on_progress: Any = None, poll_policy: Any = None
    ) -> ImageStatus:
        """Poll until the task ends; return the final status (TaskFailedError if it failed)."""
        assert self._resource is not None
        raise NotImplementedError

    # unasync: async-only
    def __await__(self) -> Generator[Any, None, ImageStatus]:
        return self.wait().__await__()

    # unasync: end


@attrs.frozen(eq=False)
class VideoTask:
    """A submitted video task. Keep ``task_id``: it is the only way back to the result."""

    task_id: str
    status: str
    credits_used: int | None
    credits_remaining: int | None
    provider: str | None = None
    model: str | None = attrs.field(default=None, repr=False)
    _resource: AsyncVideos | None = attrs.field(default=None, repr=False, alias="resource")

    @classmethod
    def _from_created(
        cls, created: TaskCreated, resource: AsyncVideos, *, model: str | None = None
    ) -> VideoTask:
        return cls(
            created.task_id,
            created.status,
            created.credits_used,
            created.credits_remaining,
            created.provider,
            model,
            resource,
        )

    async def wait(
        self, timeout: float | None = None, on_progress: Any = None, poll_policy: Any = None
    ) -> VideoStatus:
        """Poll until the task ends; return the final status (TaskFailedError if it failed)."""
        assert self._resource is not None
        raise NotImplementedError

    # unasync: async-only
    def __await__(self) -> Generator[Any, None, VideoStatus]:
        return self.wait().__await__()

    # unasync: end
