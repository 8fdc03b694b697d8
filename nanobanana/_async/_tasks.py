"""Task handles: what ``generate`` returns. ``await task`` waits for the result.

Waiting goes through the client's one poll scheduler (``_scheduler``): the timing is
decided by ``_polling`` (pure), the scheduler decides whose turn it is, and this module
sends the status request and reads the answer.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .. import _protocol
from .._exceptions import (
    APIConnectionError,
    InternalServerError,
    InvalidParameterError,
    RateLimitError,
    TaskFailedError,
    TaskTimeoutError,
)
from .._models import ImageStatus, TaskCreated, VideoStatus, status_outcome
from .._policy import PollPolicy
from .._polling import PollState, StatusOp, profile, wait_timeout
from ._scheduler import AsyncPollScheduler, scheduler_for

if TYPE_CHECKING:
    from ._resources import AsyncImages, AsyncVideos

__all__ = ["ImageTask", "VideoTask", "wait_for_task"]

S = TypeVar("S", ImageStatus, VideoStatus)

_TRANSIENT = (APIConnectionError, RateLimitError, InternalServerError)
"""Poll errors that outlived the client's own retries but do not end a wait."""


def _status_op(kind: str, task_id: str) -> StatusOp[Any]:
    base = _protocol.image_status(task_id) if kind == "image" else _protocol.video_status(task_id)
    return StatusOp.wrap(base)


def new_state(
    resource: Any,
    task_id: str,
    kind: str,
    *,
    model: str | None,
    submitted_at: float | None,
    timeout: float | None,
    poll_policy: PollPolicy | None,
) -> tuple[PollState, AsyncPollScheduler]:
    """The polling plan of one wait, and the client's scheduler."""
    client = resource._client
    scheduler = scheduler_for(client)
    profile = None if model is None else f"{model}|"
    known = scheduler.submissions.get(task_id)
    if known is not None:  # submitted by this client: its time and its duration profile
        submitted_at = known[0] if submitted_at is None else submitted_at
        profile = known[1]
    policy = poll_policy if poll_policy is not None else client._poll_policy
    state = PollState(
        task_id=task_id,
        kind=kind,
        profile=profile,
        now=client._clock.now(),
        timeout=timeout,
        policy=policy,
        submitted_at=submitted_at,
        tracker=scheduler.tracker,
        rng=client._random.random,
    )
    return state, scheduler


async def poll_once(resource: Any, scheduler: AsyncPollScheduler, state: PollState) -> Any:
    """Wait for the state's due time and a turn, then poll once.

    Returns the status (``state.due`` moved on when still running), or None when the
    deadline passed first or the poll failed transiently (``state.due`` moved on).
    """
    client = resource._client
    if not await scheduler.turn(state.due, state.turn_deadline):
        return None
    try:
        op = _status_op(state.kind, state.task_id)
        try:
            status = await client._request(op)
        except _TRANSIENT as exc:
            retry_after = exc.retry_after if isinstance(exc, RateLimitError) else None
            state.after_error(client._clock.now(), retry_after)
            return None
    finally:
        scheduler.release()
    state.after_poll(status, client._clock.now(), op.retry_after)
    return status


def final_result(status: S) -> S:
    """The status of an ended task, or TaskFailedError when it failed."""
    if status_outcome(status.status) == "failed":
        raise TaskFailedError(status.task_id, status, status.error)
    return status


async def wait_for_task(
    resource: Any,
    task_id: str,
    *,
    kind: str | None = None,
    model: str | None = None,
    submitted_at: float | None = None,
    timeout: float | None = None,
    on_progress: Callable[[Any], object] | None = None,
    poll_policy: PollPolicy | None = None,
    outcome: list[Any] | None = None,
) -> Any:
    """Poll ``task_id`` through ``resource`` until it ends; the final status.

    Raises TaskFailedError when the task failed and TaskTimeoutError (with the task id)
    when ``timeout`` seconds of API time (default: 10 min for images, 30 for videos)
    pass first. ``on_progress`` gets every polled status, the final one included.
    """
    # Checked first, even when the outcome is already known: a bad argument is refused
    # at the call, not coerced ("10" -> 10.0, True -> 1.0) or kept until a poll fails.
    timeout = wait_timeout(timeout)
    if on_progress is not None and not callable(on_progress):
        raise InvalidParameterError("on_progress", on_progress, "a callable or None")
    if poll_policy is not None and not isinstance(poll_policy, PollPolicy):
        raise InvalidParameterError("poll_policy", poll_policy, "an nb.PollPolicy or None")
    if kind is None:
        kind = "video" if "Videos" in type(resource).__name__ else "image"
    if outcome:
        cached = outcome[0]
        if isinstance(cached, BaseException):
            outcome.clear()  # a timeout seen by as_completed is reported once
            raise cached
        return final_result(cached)
    state, scheduler = new_state(
        resource,
        task_id,
        kind,
        model=model,
        submitted_at=submitted_at,
        timeout=timeout,
        poll_policy=poll_policy,
    )
    clock = resource._client._clock
    while True:
        status = await poll_once(resource, scheduler, state)
        if status is not None:
            if on_progress is not None:
                result = on_progress(status)
                # unasync: async-only
                if inspect.isawaitable(result):
                    await result
                # unasync: end
                del result
            if status.done:
                if outcome is not None:
                    outcome[:] = [status]
                return final_result(status)
        if state.expired(clock.now()):
            raise TaskTimeoutError(task_id, state.timeout, state.last_status)


@attrs.frozen(eq=False)
class ImageTask:
    """A submitted image task. Keep ``task_id``: it is the only way back to the result."""

    task_id: str
    status: str
    credits_used: int | None
    credits_remaining: int | None
    model: str | None = attrs.field(default=None, repr=False)
    _resource: AsyncImages | None = attrs.field(default=None, repr=False, alias="resource")
    _submitted_at: float | None = attrs.field(default=None, repr=False, alias="submitted_at")
    _outcome: list[Any] = attrs.field(factory=list, repr=False, init=False)

    @classmethod
    def _from_created(
        cls,
        created: TaskCreated,
        resource: AsyncImages,
        *,
        model: str | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> ImageTask:
        """The handle of a task just created by a request with ``body``: waits learn its
        durations under that request's profile (``_polling.profile``)."""
        now = resource._client._clock.now()
        key = profile(body) if body is not None else None if model is None else f"{model}|"
        scheduler_for(resource._client).submissions.add(created.task_id, now, key)
        return cls(
            created.task_id,
            created.status,
            created.credits_used,
            created.credits_remaining,
            model,
            resource,
            now,
        )

    async def wait(
        self,
        timeout: float | None = None,
        on_progress: Callable[[ImageStatus], object] | None = None,
        poll_policy: PollPolicy | None = None,
    ) -> ImageStatus:
        """Poll until the task ends; return the final status.

        Raises TaskFailedError if it failed, TaskTimeoutError (with ``task_id``) when
        ``timeout`` seconds pass first (default 10 minutes). ``on_progress`` is called
        with every polled status, the final one included.
        """
        if self._resource is None:
            raise RuntimeError("this ImageTask is not bound to a client")
        result: ImageStatus = await wait_for_task(
            self._resource,
            self.task_id,
            kind="image",
            model=self.model,
            submitted_at=self._submitted_at,
            timeout=timeout,
            on_progress=on_progress,
            poll_policy=poll_policy,
            outcome=self._outcome,
        )
        return result

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
    _submitted_at: float | None = attrs.field(default=None, repr=False, alias="submitted_at")
    _outcome: list[Any] = attrs.field(factory=list, repr=False, init=False)

    @classmethod
    def _from_created(
        cls,
        created: TaskCreated,
        resource: AsyncVideos,
        *,
        model: str | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> VideoTask:
        """The handle of a task just created by a request with ``body``: waits learn its
        durations under that request's profile (``_polling.profile``)."""
        now = resource._client._clock.now()
        key = profile(body) if body is not None else None if model is None else f"{model}|"
        scheduler_for(resource._client).submissions.add(created.task_id, now, key)
        return cls(
            created.task_id,
            created.status,
            created.credits_used,
            created.credits_remaining,
            created.provider,
            model,
            resource,
            now,
        )

    async def wait(
        self,
        timeout: float | None = None,
        on_progress: Callable[[VideoStatus], object] | None = None,
        poll_policy: PollPolicy | None = None,
    ) -> VideoStatus:
        """Poll until the task ends; return the final status.

        Raises TaskFailedError if it failed, TaskTimeoutError (with ``task_id``) when
        ``timeout`` seconds pass first (default 30 minutes). ``on_progress`` is called
        with every polled status, the final one included.
        """
        if self._resource is None:
            raise RuntimeError("this VideoTask is not bound to a client")
        result: VideoStatus = await wait_for_task(
            self._resource,
            self.task_id,
            kind="video",
            model=self.model,
            submitted_at=self._submitted_at,
            timeout=timeout,
            on_progress=on_progress,
            poll_policy=poll_policy,
            outcome=self._outcome,
        )
        return result

    # unasync: async-only
    def __await__(self) -> Generator[Any, None, VideoStatus]:
        return self.wait().__await__()

    # unasync: end
