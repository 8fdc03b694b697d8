"""``nb.as_completed`` and ``nb.gather`` for both clients: dispatch on the handle type.

Async handles (``ImageTask``/``VideoTask``) get the async forms (``async for``, ``await``);
sync handles (``SyncImageTask``/``SyncVideoTask``) the blocking ones (``for``, a plain call).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Generator, Iterable, Iterator
from typing import Any, TypeVar, overload

from ._async import _fanin as _afanin
from ._async._tasks import ImageTask, VideoTask
from ._sync import _fanin as _sfanin
from ._sync._tasks import SyncImageTask, SyncVideoTask

__all__ = ["as_completed", "gather"]

AT = TypeVar("AT", bound=ImageTask | VideoTask)
ST = TypeVar("ST", bound=SyncImageTask | SyncVideoTask)


class _Nothing(list[Any]):
    """What fan-in over no tasks returns: an empty list that is also awaitable and
    async-iterable, so it fits both the sync and the async call sites."""

    def __await__(self) -> Generator[Any, None, list[Any]]:
        return self._empty().__await__()

    async def _empty(self) -> list[Any]:
        return []

    def __aiter__(self) -> _Nothing:
        return self

    async def __anext__(self) -> Any:
        raise StopAsyncIteration


def _kind(tasks: list[Any], name: str) -> str:
    sync = [isinstance(t, (SyncImageTask, SyncVideoTask)) for t in tasks]
    if all(sync):
        return "sync"
    if any(sync):
        raise TypeError(f"{name}: do not mix sync and async task handles")
    return "async"


@overload
def as_completed(tasks: Iterable[ST]) -> Iterator[ST]: ...
@overload
def as_completed(tasks: Iterable[AT]) -> AsyncIterator[AT]: ...
def as_completed(tasks: Iterable[Any]) -> Any:
    """Yield each task handle once its task has ended, in completion order.

    ``async for task in nb.as_completed(tasks)`` for async handles, ``for`` for sync ones.
    The handle keeps the outcome: ``await task`` (``task.wait()``) right after returns the
    final status or raises TaskFailedError / TaskTimeoutError without another request.
    """
    items = list(tasks)
    if not items:
        return _Nothing()
    if _kind(items, "as_completed") == "sync":
        return _sfanin.as_completed(items)
    return _afanin.as_completed(items)


@overload
def gather(*tasks: SyncImageTask | SyncVideoTask, return_exceptions: bool = False) -> list[Any]: ...
@overload
def gather(
    *tasks: ImageTask | VideoTask, return_exceptions: bool = False
) -> Awaitable[list[Any]]: ...
def gather(*tasks: Any, return_exceptions: bool = False) -> Any:
    """The final statuses of every task, in the order given.

    ``await nb.gather(*tasks)`` for async handles; a plain call for sync ones. A failure
    is raised at once unless ``return_exceptions=True`` puts it in the task's place.
    """
    if not tasks:
        return _Nothing()
    if _kind(list(tasks), "gather") == "sync":
        return _sfanin.gather(*tasks, return_exceptions=return_exceptions)
    return _afanin.gather(*tasks, return_exceptions=return_exceptions)
