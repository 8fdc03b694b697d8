"""The limiter of an AsyncClient: its ``rate_limit=`` made into an ``AsyncLimiter``
(``limiter_for``), and the built-in limiter, which waits for a slot of the key's shared
budget (``_ratelimit``).

Every client of one key, blocking or not, shares one ``SharedBudget``; the built-in limiter
holds only its name (a ``BudgetRef``) and waits. Waiters are served in FIFO order. A
waiter that gives up while queued (cancelled, interrupted) leaves the queue at once: it
takes no slot and blocks nobody. A waiter sleeps until the next moment a slot is known to
be free, or until it is woken by a release, its turn, or (at most) the budget's poll cap.
A client's close ends the wait of each of its requests at once (``acquire_permit``).
"""

from __future__ import annotations

import math

from .._clock import Clock
from .._concurrency import AsyncWakeup, StopSignal
from .._exceptions import InvalidParameterError
from .._limits import NO_PERMIT, AsyncLimiter, AsyncLimiterFactory, Permit, calls_like
from .._policy import RateLimit
from .._ratelimit import BudgetPermit, BudgetRef, budget_ref
from ._stopping import wait_or_stop

__all__ = [
    "AsyncNoLimiter",
    "AsyncRateLimiter",
    "AsyncStoppableLimiter",
    "acquire_permit",
    "limiter_for",
]

TIMER_SLACK = 0.001
"""Real seconds: a waiter due within this yields in a loop rather than set a timer."""


def limiter_for(rate_limit: object, api_key: str, clock: Clock) -> AsyncLimiter:
    """The limiter an ``AsyncClient`` of ``api_key`` uses for its ``rate_limit=``.

    An ``nb.RateLimit``: the built-in limiter on the key's shared budget. None: no limit.
    An ``AsyncLimiter``: itself. An ``AsyncLimiterFactory`` (``RedisRateLimiter``): the
    limiter it binds to the key.
    """
    if rate_limit is None:
        return AsyncNoLimiter()
    if isinstance(rate_limit, RateLimit):
        return AsyncRateLimiter(budget_ref(rate_limit, api_key, clock))
    if isinstance(rate_limit, AsyncLimiter) and calls_like(
        rate_limit.acquire, AsyncLimiter.acquire
    ):
        return rate_limit
    if isinstance(rate_limit, AsyncLimiterFactory):
        return rate_limit.bind_async(api_key)
    raise InvalidParameterError(
        "rate_limit",
        rate_limit,
        reason=(
            f"rate_limit={type(rate_limit).__name__}: AsyncClient takes an nb.RateLimit, "
            "None, an nb.AsyncLimiter (async def acquire() and def pause(seconds)) or an "
            "nb.AsyncLimiterFactory (def bind_async(api_key))"
        ),
    )


class AsyncStoppableLimiter:
    """A limiter of the SDK whose wait for a slot a ``StopSignal`` ends: ``acquire(stop)``
    raises the signal's error at once when it fires (or fired), its place in the queue
    given up and no slot taken. The built-in limiter, and a batch's wrapper of it."""

    __slots__ = ()

    async def acquire(self, stop: StopSignal | None = None) -> Permit:
        raise NotImplementedError

    def pause(self, seconds: float) -> None:
        raise NotImplementedError


async def acquire_permit(limiter: AsyncLimiter, stop: StopSignal | None) -> Permit:
    """A permit of ``limiter``, for a request of a client whose close fires ``stop``.

    The wait of a limiter of the SDK (``AsyncStoppableLimiter``) ends at once when
    ``stop`` fires, raising its error; another limiter (yours, ``RedisRateLimiter``'s)
    cannot be told, and is waited for until it grants a slot.
    """
    if stop is not None and isinstance(limiter, AsyncStoppableLimiter):
        return await limiter.acquire(stop)
    return await limiter.acquire()


class AsyncNoLimiter:
    """``rate_limit=None``: no budget is enforced."""

    __slots__ = ()

    async def acquire(self) -> Permit:
        return NO_PERMIT

    def pause(self, seconds: float) -> None:
        pass


class AsyncRateLimiter(AsyncStoppableLimiter):
    """The limiter ``AsyncClient`` builds from an ``nb.RateLimit`` (one budget per key)."""

    __slots__ = ("_ref",)

    def __init__(self, ref: BudgetRef) -> None:
        self._ref = ref

    def __repr__(self) -> str:
        limit = self._ref.limit
        return f"<{type(self).__name__} {limit.requests}/{limit.per:g}s key={self._ref.key_id}>"

    @property
    def limit(self) -> RateLimit:
        """The budget: ``limit.requests`` in any ``limit.per`` seconds."""
        return self._ref.limit

    async def acquire(self, stop: StopSignal | None = None) -> Permit:
        """Wait for a slot (FIFO) and take it; release the permit when the answer arrives.

        ``stop`` (the client's close) ends the wait at once, raising its error: the ticket
        leaves the queue, and the time of a clock that moves only when slept on (a
        ManualClock) does not move for it."""
        budget, ticket = self._ref.enqueue(blocking=AsyncWakeup.blocks_thread)
        clock = budget.clock
        stops = () if stop is None else (stop,)
        granted = False
        try:
            while True:
                if stop is not None:
                    stop.check()
                wakeup = AsyncWakeup()
                result = budget.poll(ticket, wakeup)
                if isinstance(result, BudgetPermit):
                    granted = True
                    return result
                timeout = budget.poll_cap
                if not math.isinf(result):
                    ahead = result - clock.now()
                    real = clock.to_real(ahead)
                    if real <= TIMER_SLACK:
                        # Timers fire up to a millisecond late (epoll); with time scaled
                        # for tests that is a visible share of a window: yield instead. A
                        # clock that does not run in real time (ManualClock: to_real is 0)
                        # moves only when slept on: sleep on it until the slot is free.
                        await clock.asleep(ahead if real == 0 else 0)
                        continue
                    timeout = min(timeout, real - TIMER_SLACK)
                await wait_or_stop(wakeup, timeout, *stops)
        finally:
            if not granted:
                budget.cancel(ticket)

    def pause(self, seconds: float) -> None:
        """Hold every waiter of this key for ``seconds`` (after a 429)."""
        self._ref.pause(seconds)
