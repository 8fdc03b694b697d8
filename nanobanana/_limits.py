"""The limiter protocols, and how a client turns its ``rate_limit=`` argument into a limiter.

A limiter hands out one permit per request. The permit is taken before the request is
sent and released when its answer (or failure) arrives; what release means is the
limiter's business (the built-in one keeps the slot for a full window after release).

To plug in your own (``rate_limit=my_limiter``): ``acquire()`` takes no arguments
(``async def`` for ``AsyncClient``, a plain ``def`` for ``Client``) and returns an object
with ``release(*, sent=True)``; the client calls it once per attempt, retries included,
with ``sent=False`` when the request provably never left. ``pause(seconds)`` is optional:
when present it is called after a 429 with the time the whole budget should hold.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

__all__ = ["AsyncLimiter", "Limiter", "Permit", "resolve_limiter"]


@runtime_checkable
class Permit(Protocol):
    """One request's claim on the budget."""

    def release(self, *, sent: bool = True) -> None:
        """The request ended. ``sent=False``: it never left this process (the slot is free now)."""


@runtime_checkable
class AsyncLimiter(Protocol):
    """What ``AsyncClient`` needs of a limiter."""

    async def acquire(self) -> Permit:
        """Wait for room in the budget and take a permit."""
        ...

    def pause(self, seconds: float) -> None:
        """Hold every waiter for ``seconds`` (after a 429)."""
        ...


@runtime_checkable
class Limiter(Protocol):
    """What ``Client`` needs of a limiter: the blocking twin of AsyncLimiter."""

    def acquire(self) -> Permit:
        """Block until there is room in the budget and take a permit."""
        ...

    def pause(self, seconds: float) -> None:
        """Hold every waiter for ``seconds`` (after a 429)."""
        ...


class _NoPermit:
    __slots__ = ()

    def release(self, *, sent: bool = True) -> None:
        pass


NO_PERMIT: Permit = _NoPermit()


class AsyncNoLimiter:
    """``rate_limit=None``: no budget is enforced."""

    __slots__ = ()

    async def acquire(self) -> Permit:
        return NO_PERMIT

    def pause(self, seconds: float) -> None:
        pass


class NoLimiter:
    """``rate_limit=None`` for the sync client."""

    __slots__ = ()

    def acquire(self) -> Permit:
        return NO_PERMIT

    def pause(self, seconds: float) -> None:
        pass


def resolve_limiter(
    rate_limit: Any, api_key: str, *, kind: Literal["async", "sync"], clock: Any
) -> Any:
    """The limiter a client of ``kind`` uses for ``rate_limit`` (see AsyncClient's docs)."""
    if rate_limit is None:
        return AsyncNoLimiter() if kind == "async" else NoLimiter()
    from ._ratelimit import resolve

    return resolve(rate_limit, api_key, kind=kind, clock=clock)
