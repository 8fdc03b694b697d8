"""Task handles: what ``generate`` returns. ``await task`` waits for the result.

Waiting goes through the client's one poll scheduler (``_scheduler``): the timing is
decided by ``_polling`` and ``_durations`` (pure), the scheduler decides whose turn it
is, and this module sends the status request and reads the answer.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

import attrs

from .._concurrency import Stopped
from .._durations import profile
from .._exceptions import (
    APIConnectionError,
    InternalServerError,
    InvalidParameterError,
    NanoBananaError,
    RateLimitError,
    TaskFailedError,
    TaskTimeoutError,
)
from .._log import note_interrupt
from .._models import ImageStatus, TaskCreated, VideoStatus, status_outcome
from .._options import NO_OPTIONS
from .._policy import PollPolicy, interrupted_wait
from .._polling import Kind, Polled, PollState, StatusOp, wait_timeout
from ._send import request

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._resources import _TaskResource

__all__ = ["AsyncImageTask", "AsyncTask", "AsyncVideoTask", "wait_for_task"]

S = TypeVar("S", ImageStatus, VideoStatus)

_TRANSIENT = (APIConnectionError, RateLimitError, InternalServerError)
"""Poll errors that outlived the client's own retries but do not end a wait."""


def new_state(
    resource: _TaskResource[S, Any, Any],
    task_id: str,
    *,
    model: str | None,
    submitted_at: float | None,
    timeout: float | None,
    poll_policy: PollPolicy | None,
) -> PollState:
    """The polling plan of one wait on the resource's kind of task."""
    client = resource._client
    scheduler = client._poll_scheduler
    key = None if model is None else f"{model}|"
    known = scheduler.submissions.get(task_id)
    if known is not None:  # submitted by this client: its time and its duration profile
        submitted_at = known[0] if submitted_at is None else submitted_at
        key = known[1]
    policy = poll_policy if poll_policy is not None else client._poll_policy
    return PollState(
        task_id=task_id,
        kind=resource._kind,
        profile=key,
        now=client._clock.now(),
        timeout=timeout,
        policy=policy,
        submitted_at=submitted_at,
        tracker=scheduler.tracker,
        rng=client._random.random,
    )


async def poll_once(resource: _TaskResource[S, Any, Any], state: PollState) -> S | None:
    """Wait for the state's due time and a turn of the client's scheduler, then poll once.

    Returns the status (``state.due`` moved on when still running), or None when the
    deadline passed first or the poll failed transiently (``state.due`` moved on).

    A close of the client (from any task or thread) ends the sleep, or the queueing for
    a turn, at once: the poll then goes without a turn, and the closed client refuses it
    unsent (its ``APIConnectionError``, as at any later poll).
    """
    client = resource._client
    scheduler = client._poll_scheduler
    try:
        if not await scheduler.turn(state.due, state.turn_deadline, state.rank, client._closing):
            return None
    except Stopped:  # closed meanwhile: the next poll goes now, and is refused unsent
        polled = await _poll(resource, state)
    else:
        try:
            polled = await _poll(resource, state)
        finally:
            scheduler.release()
    if polled is None:
        return None
    state.after_poll(polled.status, client._clock.now(), polled.retry_after, polled.date)
    return polled.status


async def _poll(resource: _TaskResource[S, Any, Any], state: PollState) -> Polled[S] | None:
    """Send one status request; None when it failed transiently (``state.due`` moved on)."""
    client = resource._client
    op = StatusOp.wrap(resource._status_op(state.task_id))
    try:
        # A wait with a timeout: its poll (the attempts and their pauses) ends by then.
        deadline = state.deadline if state.strict else None
        return await request(client, op, NO_OPTIONS, deadline=deadline)
    except _TRANSIENT as exc:
        if client._http.is_closed:
            raise  # closed (by another thread or task): no poll will ever be sent
        retry_after = exc.retry_after if isinstance(exc, RateLimitError) else None
        state.after_error(client._clock.now(), retry_after)
        return None


def final_result(status: S) -> S:
    """The status of an ended task, or TaskFailedError when it failed."""
    if status_outcome(status.status) == "failed":
        raise TaskFailedError(status.task_id, status, status.error)
    return status


async def wait_for_task(
    resource: _TaskResource[S, Any, Any],
    task_id: str,
    *,
    model: str | None = None,
    submitted_at: float | None = None,
    timeout: float | None = None,
    on_progress: Callable[[S], object] | None = None,
    poll_policy: PollPolicy | None = None,
    handle: AsyncTask[S] | None = None,
) -> S:
    """Poll ``task_id`` through ``resource`` until it ends; the final status.

    Raises TaskFailedError when the task failed and TaskTimeoutError (with the task id)
    when ``timeout`` seconds of API time (default: 10 min for images, 30 for videos)
    pass first. ``on_progress`` gets every polled status, the final one included.

    ``handle``: the task handle waiting. An outcome the client already holds for it (a
    fan-in saw the task end) is used instead of polling, and the final status is kept.
    """
    # Checked first, even when the outcome is already known: a bad argument is refused
    # at the call, not coerced ("10" -> 10.0, True -> 1.0) or kept until a poll fails.
    timeout = wait_timeout(timeout)
    if on_progress is not None and not callable(on_progress):
        raise InvalidParameterError("on_progress", on_progress, "a callable or None")
    if poll_policy is not None and not isinstance(poll_policy, PollPolicy):
        raise InvalidParameterError("poll_policy", poll_policy, "an nb.PollPolicy or None")
    outcomes = resource._client._poll_scheduler.outcomes
    if handle is not None:
        known = outcomes.take(handle)
        if isinstance(known, NanoBananaError):
            raise known  # a timeout or poll error seen by as_completed is reported once
        if known is not None:
            # A handle's outcome is a status of the handle's own kind (put below and by
            # the fan-in, both from this resource's polls).
            return final_result(cast("S", known))
    state = new_state(
        resource,
        task_id,
        model=model,
        submitted_at=submitted_at,
        timeout=timeout,
        poll_policy=poll_policy,
    )
    clock = resource._client._clock
    try:
        while True:
            status = await poll_once(resource, state)
            if status is not None:
                if on_progress is not None:
                    result = on_progress(status)
                    # unasync: async-only
                    if inspect.isawaitable(result):
                        await result
                    # unasync: end
                    del result
                if status.done:
                    if handle is not None:
                        outcomes.put(handle, status)
                    return final_result(status)
            if state.expired(clock.now()):
                raise TaskTimeoutError(task_id, state.timeout, state.last_status)
    except KeyboardInterrupt as exc:  # Ctrl-C: the task id must not go with the wait
        note_interrupt(exc, interrupted_wait(resource._kind, task_id))
        raise


@attrs.frozen(eq=False)
class AsyncTask(Generic[S]):
    """A submitted task. Keep ``task_id``: it is the only way back to the result.

    ``await task`` gives the final status; ``wait()`` also takes a timeout, a progress
    callback and a poll policy. The subclasses name the kind of task: ``AsyncImageTask``
    and ``AsyncVideoTask``.
    """

    kind: ClassVar[Kind]
    """``"image"`` or ``"video"``."""

    task_id: str
    """The task's id: keep it (a journal, a database) to find the result again."""
    status: str
    """The status the API gave when it accepted the task (usually ``"pending"``)."""
    credits_used: int | None
    """What the task cost, when the API says."""
    credits_remaining: int | None
    """The balance after it, when the API says."""
    model: str | None = attrs.field(default=None, repr=False)
    """The model asked for; None: the server's default."""
    _resource: _TaskResource[S, Any, Any] | None = attrs.field(
        default=None, repr=False, alias="resource"
    )
    _submitted_at: float | None = attrs.field(default=None, repr=False, alias="submitted_at")

    @classmethod
    def _from_created(
        cls,
        created: TaskCreated,
        resource: _TaskResource[S, Any, Any],
        *,
        model: str | None,
        body: Mapping[str, Any] | None = None,
    ) -> Self:
        """The handle of a task the API just accepted for a request with ``body``; the
        client notes when it was sent and its duration profile (``_durations.profile``), so
        waits plan their polls from what tasks like it took."""
        now = resource._client._clock.now()
        key = profile(body) if body is not None else None if model is None else f"{model}|"
        resource._client._poll_scheduler.submissions.add(created.task_id, now, key)
        return cls(
            created.task_id,
            created.status,
            created.credits_used,
            created.credits_remaining,
            model=model,
            resource=resource,
            submitted_at=now,
        )

    async def wait(
        self,
        timeout: float | None = None,
        on_progress: Callable[[S], object] | None = None,
        poll_policy: PollPolicy | None = None,
    ) -> S:
        """Poll until the task ends; return the final status.

        Polls share the key's budget with every other request and waiter of the client,
        and the first one comes when tasks like this one tend to end. Transient poll
        errors (a dropped connection, a 429, a 5xx) do not end the wait. Once the task
        has ended, waiting again returns the same status at once.

        Args:
            timeout: Seconds of waiting before TaskTimeoutError; None: 10 minutes for an
                image, 30 for a video.
            on_progress: Called with every status polled, the final one included (an
                async callback is awaited).
            poll_policy: Poll timing for this wait; None: the client's.

        Returns:
            The final status of a task that succeeded.

        Raises:
            TaskFailedError: The task ended as failed (``error.status`` is its status).
            TaskTimeoutError: ``timeout`` passed first; the task may still finish: wait
                again, or keep ``error.task_id``.
            InvalidParameterError: An argument was refused; nothing was sent.
            TaskNotFoundError: The API does not know the task (404).
            AuthenticationError: The key was refused (401).
            APIStatusError: A poll got another error status that retrying cannot fix.
            UnexpectedResponseError: A poll's answer is not the documented envelope.
            APIConnectionError: The client was closed (by any thread or task) before the
                task ended: the wait ends at once, its next poll not sent.
            RateLimiterUnavailableError: The shared limiter's Redis cannot be reached
                (``RedisRateLimiter``, ``on_redis_error="raise"``).
            RuntimeError: The handle was built by hand, not by ``generate``: it has no
                client to poll with.
        """
        if self._resource is None:
            raise RuntimeError(f"this {type(self).__name__} is not bound to a client")
        return await wait_for_task(
            self._resource,
            self.task_id,
            model=self.model,
            submitted_at=self._submitted_at,
            timeout=timeout,
            on_progress=on_progress,
            poll_policy=poll_policy,
            handle=self,
        )

    # unasync: async-only
    def __await__(self) -> Generator[Any, None, S]:
        return self.wait().__await__()

    # unasync: end


@attrs.frozen(eq=False)
class AsyncImageTask(AsyncTask[ImageStatus]):
    """A submitted image task. Keep ``task_id``: it is the only way back to the result."""

    kind: ClassVar[Kind] = "image"


@attrs.frozen(eq=False)
class AsyncVideoTask(AsyncTask[VideoStatus]):
    """A submitted video task. Keep ``task_id``: it is the only way back to the result.
    ``provider`` is the service the API handed the video to."""

    kind: ClassVar[Kind] = "video"
    provider: str | None = None
    """The service the API handed the video to, when it says."""

    @classmethod
    def _from_created(
        cls,
        created: TaskCreated,
        resource: _TaskResource[VideoStatus, Any, Any],
        *,
        model: str | None,
        body: Mapping[str, Any] | None = None,
    ) -> Self:
        task = super()._from_created(created, resource, model=model, body=body)
        return attrs.evolve(task, provider=created.provider)
