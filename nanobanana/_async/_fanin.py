"""Fan-in over task handles: ``as_completed`` and ``gather``.

No background task: the iterator itself polls its tasks one at a time, earliest due
first, through each client's poll scheduler (so it shares the budget fairly with every
other waiter). Stopping the iteration, or cancelling it, leaves nothing running.

``nanobanana.as_completed`` / ``nanobanana.gather`` dispatch to this module or to its
twin by the type of the handles.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from .._exceptions import NanoBananaError, TaskTimeoutError
from .._models import ImageStatus, VideoStatus
from .._polling import PollState
from ._tasks import AsyncTask, new_state, poll_once

if TYPE_CHECKING:
    from ._resources import _TaskResource

__all__ = ["AsyncAsCompleted", "as_completed", "gather"]

TaskT = TypeVar("TaskT", bound=AsyncTask[Any])

_Item = tuple[float, int, PollState, "_TaskResource[Any, Any, Any]", Any]
"""A waiting task in the heap: due time, tie-breaker, its plan, its resource, the handle."""


class AsyncAsCompleted(AsyncIterator[TaskT]):
    """Yields each handle once its task has ended (success, failure or timeout), or once
    a poll of it failed for good (a 404, an answer that does not decode).

    The client keeps the outcome, so ``await task`` right after is immediate: it returns
    the final status or raises TaskFailedError / TaskTimeoutError / the poll's error. One
    task's failed poll does not stop the others; a timeout or an error is reported once,
    and a later ``await task`` polls again.
    """

    def __init__(self, tasks: Iterable[TaskT]) -> None:
        self._tasks: list[TaskT] = []
        seen: set[int] = set()
        for task in tasks:
            if not isinstance(task, AsyncTask):
                raise TypeError(
                    f"as_completed takes AsyncImageTask/AsyncVideoTask handles, got {task!r}"
                )
            if id(task) not in seen:
                seen.add(id(task))
                self._tasks.append(task)
        self._ready: deque[TaskT] = deque()
        self._heap: list[_Item] = []
        self._seq = itertools.count()
        self._started = False

    def _start(self) -> None:
        self._started = True
        for task in self._tasks:
            resource = task._resource
            if resource is None:
                raise RuntimeError(f"{task!r} is not bound to a client")
            if resource._client._poll_scheduler.outcomes.known(task):
                self._ready.append(task)
                continue
            state = new_state(
                resource,
                task.task_id,
                model=task.model,
                submitted_at=task._submitted_at,
                timeout=None,
                poll_policy=None,
            )
            heapq.heappush(self._heap, (state.due, next(self._seq), state, resource, task))

    def __aiter__(self) -> AsyncAsCompleted[TaskT]:
        return self

    async def __anext__(self) -> TaskT:
        if not self._started:
            self._start()
        if self._ready:
            ready: TaskT = self._ready.popleft()
            return ready
        while self._heap:
            item = heapq.heappop(self._heap)
            state, resource = item[2], item[3]
            task: TaskT = item[4]
            outcomes = resource._client._poll_scheduler.outcomes
            try:
                status = await poll_once(resource, state)
            except NanoBananaError as exc:
                outcomes.put(task, exc)  # its outcome, for ``await task``; the rest go on
                return task
            except BaseException:
                heapq.heappush(self._heap, item)  # cancelled: keep it for later
                raise
            if status is not None and status.done:
                outcomes.put(task, status)
                return task
            if state.expired(resource._client._clock.now()):
                outcomes.put(task, TaskTimeoutError(task.task_id, state.timeout, state.last_status))
                return task
            heapq.heappush(self._heap, (state.due, next(self._seq), state, resource, task))
        raise StopAsyncIteration


def as_completed(tasks: Iterable[TaskT]) -> AsyncAsCompleted[TaskT]:
    """Iterate over ``tasks`` as they end (``async for``); each handle comes back once."""
    return AsyncAsCompleted(tasks)


async def gather(
    *tasks: AsyncTask[Any], return_exceptions: bool = False
) -> list[ImageStatus | VideoStatus | NanoBananaError]:
    """Wait for every task; their final statuses, in the order given.

    A failure (TaskFailedError, TaskTimeoutError) is raised at once, unless
    ``return_exceptions`` is true: then it takes the task's place in the list.
    (``nanobanana.gather`` gives the precise types per call.)
    """
    positions: dict[int, list[int]] = {}
    for i, task in enumerate(tasks):
        positions.setdefault(id(task), []).append(i)
    results: dict[int, ImageStatus | VideoStatus | NanoBananaError] = {}
    async for task in as_completed(tasks):
        value: ImageStatus | VideoStatus | NanoBananaError
        try:
            value = await task.wait()
        except NanoBananaError as exc:
            if not return_exceptions:
                raise
            value = exc
        for i in positions[id(task)]:
            results[i] = value
    return [results[i] for i in range(len(tasks))]
