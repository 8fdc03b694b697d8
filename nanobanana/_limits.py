"""The limiter contract: what a client calls on its ``rate_limit=``, and nothing else.

A limiter hands out one permit per request. The permit is taken before the request is
sent and released when its answer (or failure) arrives; what release means is the
limiter's business (the built-in one keeps the slot for a full window after release).

To plug in your own (``rate_limit=my_limiter``): ``acquire()`` takes no arguments
(``async def`` for ``AsyncClient``, a plain ``def`` for ``Client``) and returns an object
with ``release(*, sent=True)``; the client calls it once per attempt, retries included,
with ``sent=False`` when the request provably never left. ``pause(seconds)`` is called
after a 429 with the time the whole budget should hold (a limiter that cannot pause
does nothing).

A limiter *factory* (``RedisRateLimiter``) makes the limiter of each API key instead:
``AsyncClient`` calls its ``bind_async(api_key)``, ``Client`` its ``bind_sync(api_key)``.
How a client turns its ``rate_limit=`` into a limiter is ``_async/_limiter.py``'s
``limiter_for`` (and its generated twin).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = [
    "NO_PERMIT",
    "AsyncLimiter",
    "AsyncLimiterFactory",
    "Limiter",
    "LimiterFactory",
    "Permit",
    "calls_like",
]


@runtime_checkable
class Permit(Protocol):
    """One request's claim on the budget."""

    def release(self, *, sent: bool = True) -> None:
        """The request ended: its answer (or failure) arrived, or it never left.

        Args:
            sent: False when the request provably never left this process, so the slot
                is free at once; True when the server may have counted it.
        """


@runtime_checkable
class AsyncLimiter(Protocol):
    """What ``AsyncClient`` calls on a limiter: ``acquire`` before every attempt, ``pause``
    after a 429."""

    async def acquire(self) -> Permit:
        """Wait for room in the budget and take a permit.

        Returns:
            The permit of one attempt: the client releases it once.
        """
        ...

    def pause(self, seconds: float) -> None:
        """Hold every waiter: the server answered 429, so its window is full.

        Args:
            seconds: How long the whole budget should wait (the Retry-After).
        """
        ...


@runtime_checkable
class Limiter(Protocol):
    """What ``Client`` calls on a limiter: the blocking twin of AsyncLimiter."""

    def acquire(self) -> Permit:
        """Block until there is room in the budget and take a permit.

        Returns:
            The permit of one attempt: the client releases it once.
        """
        ...

    def pause(self, seconds: float) -> None:
        """Hold every waiter: the server answered 429, so its window is full.

        Args:
            seconds: How long the whole budget should wait (the Retry-After).
        """
        ...


@runtime_checkable
class AsyncLimiterFactory(Protocol):
    """What ``AsyncClient`` calls on a limiter factory (``RedisRateLimiter`` is one)."""

    def bind_async(self, api_key: str) -> AsyncLimiter:
        """The limiter of one key's budget, for an ``AsyncClient``.

        Args:
            api_key: The client's key: clients of the same key share its budget.

        Returns:
            The limiter the client takes a permit from before every attempt.
        """
        ...


@runtime_checkable
class LimiterFactory(Protocol):
    """What ``Client`` calls on a limiter factory (``RedisRateLimiter`` is one)."""

    def bind_sync(self, api_key: str) -> Limiter:
        """The limiter of one key's budget, for a ``Client``.

        Args:
            api_key: The client's key: clients of the same key share its budget.

        Returns:
            The limiter the client takes a permit from before every attempt.
        """
        ...


def calls_like(method: Callable[..., object], model: Callable[..., object]) -> bool:
    """True when calling ``method`` gives what calling ``model`` gives: a coroutine for
    both, or for neither.

    A runtime Protocol check sees only that ``acquire`` exists; this tells an
    ``AsyncLimiter`` (whose ``acquire`` is awaited) from a ``Limiter`` (whose is not).
    """
    return inspect.iscoroutinefunction(method) == inspect.iscoroutinefunction(model)


class _NoPermit:
    __slots__ = ()

    def release(self, *, sent: bool = True) -> None:
        pass


NO_PERMIT: Permit = _NoPermit()
"""The permit of ``rate_limit=None``: releasing it does nothing."""
