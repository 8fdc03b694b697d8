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
from typing import Any, TypeVar

from .._exceptions import NanoBananaError, TaskTimeoutError
from .._polling import PollState
from ._scheduler import AsyncPollScheduler
from ._tasks import ImageTask, VideoTask, new_state, poll_once

__all__ = ["AsyncAsCompleted", "as_completed", "gather"]

TaskT = TypeVar("TaskT", bound=ImageTask | VideoTask)

_Item = tuple[float, int, PollState, AsyncPollScheduler, Any]


class AsyncAsCompleted(AsyncIterator[TaskT]):
    """Yields each handle once its task has ended (success, failure or timeout).

    The outcome is kept on the handle, so ``await task`` right after is immediate: it
    returns the final status or raises TaskFailedError / TaskTimeoutError.
    """

    def __init__(self, tasks: Iterable[TaskT]) -> None:
        self._tasks: list[TaskT] = []
        seen: set[int] = set()
        for task in tasks:
            if not isinstance(task, (ImageTask, VideoTask)):
                raise TypeError(f"as_completed takes ImageTask/VideoTask handles, got {task!r}")
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
            if task._outcome:
                self._ready.append(task)
                continue
            resource = task._resource
            if resource is None:
                raise RuntimeError(f"{task!r} is not bound to a client")
            state, scheduler = new_state(
                resource,
                task.task_id,
                "image" if isinstance(task, ImageTask) else "video",
                model=task.model,
                submitted_at=task._submitted_at,
                timeout=None,
                poll_policy=None,
            )
            heapq.heappush(self._heap, (state.due, next(self._seq), state, scheduler, task))

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
            state, scheduler = item[2], item[3]
            task: TaskT = item[4]
            try:
                status = await poll_once(task._resource, scheduler, state)
            except BaseException:
                heapq.heappush(self._heap, item)  # cancelled or failed: keep it for later
                raise
            if status is not None and status.done:
                task._outcome[:] = [status]
                return task
            if state.expired(scheduler.now()):
                task._outcome[:] = [
                    TaskTimeoutError(task.task_id, state.timeout, state.last_status)
                ]
                return task
            heapq.heappush(self._heap, (state.due, next(self._seq), state, scheduler, task))
        raise StopAsyncIteration


def as_completed(tasks: Iterable[TaskT]) -> AsyncAsCompleted[TaskT]:
    """Iterate over ``tasks`` as they end (``async for``); each handle comes back once."""
    return AsyncAsCompleted(tasks)


async def gather(*tasks: ImageTask | VideoTask, return_exceptions: bool = False) -> list[Any]:
    """Wait for every task; their final statuses, in the order given.

    A failure (TaskFailedError, TaskTimeoutError) is raised at once, unless
    ``return_exceptions`` is true: then it takes the task's place in the list.
    """
    positions: dict[int, list[int]] = {}
    for i, task in enumerate(tasks):
        positions.setdefault(id(task), []).append(i)
    results: list[Any] = [None] * len(tasks)
    async for task in as_completed(tasks):
        try:
            value: Any = await task.wait()
        except NanoBananaError as exc:
            if not return_exceptions:
                raise
            value = exc
        for i in positions[id(task)]:
            results[i] = value
    return results
