"""``nb.as_completed`` and ``nb.gather`` for both clients: dispatch on the handle type.

Async handles (``AsyncImageTask``/``AsyncVideoTask``) get the async forms (``async for``,
``await``); sync handles (``ImageTask``/``VideoTask``) the blocking ones (``for``, a plain
call). The overloads below type the answer by the handles given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Generator, Iterable, Iterator
from typing import Any, Literal, NoReturn, TypeVar, overload

from ._async import _fanin as _afanin
from ._async._tasks import AsyncTask
from ._exceptions import NanoBananaError
from ._models import ImageStatus, VideoStatus
from ._sync import _fanin as _sfanin
from ._sync._tasks import Task

__all__ = ["as_completed", "gather"]

AT = TypeVar("AT", bound=AsyncTask[Any])
ST = TypeVar("ST", bound=Task[Any])
S = TypeVar("S", ImageStatus, VideoStatus)


class _NoTasks(Iterator[NoReturn], AsyncIterator[NoReturn]):
    """``as_completed`` over no tasks. With no handle, nothing tells a sync caller from an
    async one, and there is nothing to wait for: this iterator is already exhausted, for
    ``for`` and for ``async for`` alike."""

    def __next__(self) -> NoReturn:
        raise StopIteration

    async def __anext__(self) -> NoReturn:
        raise StopAsyncIteration


class _NoStatuses(list[Any]):
    """``gather()`` with no tasks: the empty list of statuses, at once. With no handle,
    nothing tells a sync caller from an async one, so ``await`` on it (the async form)
    also returns an empty list. (Typed ``list[Any]``: an empty list fits any element
    type the caller expects.)"""

    def __await__(self) -> Generator[Any, None, list[Any]]:
        return self._empty().__await__()

    async def _empty(self) -> list[Any]:
        return []


def _all_sync(tasks: list[Any], name: str) -> bool:
    """True for sync handles only, False for async ones only; TypeError for a mix."""
    sync = [isinstance(t, Task) for t in tasks]
    if all(sync):
        return True
    if any(sync):
        raise TypeError(f"{name}: do not mix sync and async task handles")
    return False


@overload
def as_completed(tasks: Iterable[ST]) -> Iterator[ST]: ...
@overload
def as_completed(tasks: Iterable[AT]) -> AsyncIterator[AT]: ...
def as_completed(tasks: Iterable[Any]) -> Any:
    """Yield each task handle once its task has ended, in completion order.

    ``async for task in nb.as_completed(tasks)`` for async handles, ``for`` for sync ones.
    The client keeps the outcome: ``await task`` (``task.wait()``) right after returns the
    final status or raises TaskFailedError / TaskTimeoutError without another request. A
    task whose poll failed for good comes back too, and ``await task`` raises that error
    (TaskNotFoundError, UnexpectedResponseError, ...): one task's trouble does
    not stop the others. The tasks are polled one at a time, earliest due first, within
    the key's budget; leaving the loop early leaves nothing running.

    Args:
        tasks: Task handles from ``generate``, all async or all sync (a handle given
            twice comes back once).

    Returns:
        An async iterator of the handles for async ones, an iterator for sync ones.

    Raises:
        TypeError: Something other than task handles, or sync and async ones mixed.
        RuntimeError: A handle built by hand, with no client to poll with.
    """
    items = list(tasks)
    if not items:
        return _NoTasks()
    if _all_sync(items, "as_completed"):
        return _sfanin.as_completed(items)
    return _afanin.as_completed(items)


# The overloads, by the handles given: none at all; handles of one kind (their status
# type); images and videos mixed (either status). ``return_exceptions=True`` adds the
# error that may take a task's place. Narrower signatures come first.
@overload
def gather(*, return_exceptions: bool = False) -> _NoStatuses: ...
@overload
def gather(*tasks: Task[S], return_exceptions: Literal[False] = False) -> list[S]: ...
@overload
def gather(*tasks: Task[S], return_exceptions: Literal[True]) -> list[S | NanoBananaError]: ...
@overload
def gather(
    *tasks: Task[ImageStatus] | Task[VideoStatus], return_exceptions: Literal[False] = False
) -> list[ImageStatus | VideoStatus]: ...
@overload
def gather(
    *tasks: Task[ImageStatus] | Task[VideoStatus], return_exceptions: bool
) -> list[ImageStatus | VideoStatus | NanoBananaError]: ...
@overload
def gather(
    *tasks: AsyncTask[S], return_exceptions: Literal[False] = False
) -> Awaitable[list[S]]: ...
@overload
def gather(
    *tasks: AsyncTask[S], return_exceptions: Literal[True]
) -> Awaitable[list[S | NanoBananaError]]: ...
@overload
def gather(
    *tasks: AsyncTask[ImageStatus] | AsyncTask[VideoStatus],
    return_exceptions: Literal[False] = False,
) -> Awaitable[list[ImageStatus | VideoStatus]]: ...
@overload
def gather(
    *tasks: AsyncTask[ImageStatus] | AsyncTask[VideoStatus], return_exceptions: bool
) -> Awaitable[list[ImageStatus | VideoStatus | NanoBananaError]]: ...
def gather(*tasks: Any, return_exceptions: bool = False) -> Any:
    """The final statuses of every task, in the order given.

    ``await nb.gather(*tasks)`` for async handles; a plain call for sync ones. The tasks
    are waited for together, as ``as_completed`` does.

    Args:
        *tasks: Task handles from ``generate``, all async or all sync.
        return_exceptions: Put a task's error (an ``nb.NanoBananaError``) in its place in
            the list instead of raising it.

    Returns:
        The list of final statuses (and errors, with ``return_exceptions``); for async
        handles, an awaitable of it.

    Raises:
        TaskFailedError: A task failed (unless ``return_exceptions``).
        TaskTimeoutError: A task outlasted the default wait (unless
            ``return_exceptions``).
        NanoBananaError: Any other error of a poll, a task not found (404) for one
            (unless ``return_exceptions``).
        TypeError: Something other than task handles, or sync and async ones mixed.
    """
    if not tasks:
        return _NoStatuses()
    if _all_sync(list(tasks), "gather"):
        return _sfanin.gather(*tasks, return_exceptions=return_exceptions)
    return _afanin.gather(*tasks, return_exceptions=return_exceptions)
