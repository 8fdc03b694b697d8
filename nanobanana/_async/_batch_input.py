"""The input of a batch: the iterable of requests given, read once, in order, by many
workers; each request numbered by its position."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable
from typing import Any

from .._concurrency import AsyncAnyIterable, AsyncLock, AsyncShield
from .._log import logger

__all__ = ["RequestSource", "each", "is_iterable", "reiterable"]


async def each(requests: AsyncAnyIterable[Any]) -> AsyncGenerator[Any, None]:
    """Every request, in order."""
    # unasync: async-only
    if isinstance(requests, AsyncIterable):
        async for raw in requests:
            yield raw
        return
    # unasync: end
    for raw in requests:
        yield raw


def is_iterable(requests: object) -> bool:
    # unasync: async-only
    if isinstance(requests, AsyncIterable):
        return True
    # unasync: end
    return isinstance(requests, Iterable)


def reiterable(requests: Any) -> bool:
    """True when iterating ``requests`` again starts over (a list, not a generator)."""
    # unasync: async-only
    if isinstance(requests, AsyncIterable):
        return requests.__aiter__() is not requests
    # unasync: end
    return iter(requests) is not requests


class RequestSource:
    """The requests, handed to one worker at a time with their index, until the end or
    until ``stopped()``. ``error`` is the input's own failure, if it failed (reported
    after the items of what it gave); ``count`` how many it held, once read to its end."""

    def __init__(self, requests: AsyncAnyIterable[Any], stopped: Callable[[], bool]) -> None:
        self._source: AsyncGenerator[Any, None] | None = each(requests)
        self._stopped = stopped
        self._lock = AsyncLock()
        self._next_index = 0
        self.error: BaseException | None = None
        self.count: int | None = None

    async def pull(self) -> tuple[int, Any] | None:
        """The next request and its index; None at the end, once stopped, or closed."""
        async with self._lock:
            source = self._source
            if source is None or self._stopped():
                return None
            try:
                raw = await source.__anext__()
            except StopAsyncIteration:
                self._source = None
                self.count = self._next_index
                return None
            except Exception as exc:  # the input failed: stop pulling, report it at the end
                self._source = None
                self.error = exc
                return None
            index = self._next_index
            self._next_index += 1
            return index, raw

    async def aclose(self) -> None:
        """Close the input (its ``finally`` blocks run), even in a cancelled task."""
        if self._source is None:
            return
        source, self._source = self._source, None
        with AsyncShield():
            try:
                await source.aclose()
            except Exception:  # the input's own cleanup failed: nothing left to do
                logger.debug("closing the batch input failed", exc_info=True)
