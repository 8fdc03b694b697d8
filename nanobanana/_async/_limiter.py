"""The built-in limiter: waits for a slot of the key's shared budget (``_ratelimit``).

Every client of one key, async or sync, shares one ``SharedBudget``; this class holds
only its name (a ``BudgetRef``) and waits. Waiters are served in FIFO order. A waiter
cancelled while queued (a cancel scope, ``asyncio`` cancellation, Trio) leaves the queue
at once: it takes no slot and blocks nobody. A waiter sleeps until the next moment a
slot is known to be free, or until it is woken by a release, its turn, or (at most) the
budget's poll cap.
"""

from __future__ import annotations

import math

from .._concurrency import AsyncWakeup
from .._limits import Permit
from .._ratelimit import BudgetPermit, BudgetRef

__all__ = ["AsyncRateLimiter"]

TIMER_SLACK = 0.001
"""Real seconds: a waiter due within this yields in a loop rather than set a timer."""


class AsyncRateLimiter:
    """The limiter ``AsyncClient`` builds from an ``nb.RateLimit`` (one budget per key)."""

    __slots__ = ("_ref",)

    def __init__(self, ref: BudgetRef) -> None:
        self._ref = ref

    def __repr__(self) -> str:
        limit = self._ref.limit
        return f"<{type(self).__name__} {limit.requests}/{limit.per:g}s key={self._ref.key_id}>"

    async def acquire(self) -> Permit:
        """Wait for a slot (FIFO) and take it; release the permit when the answer arrives."""
        budget, ticket = self._ref.enqueue("async")
        clock = budget.clock
        granted = False
        try:
            while True:
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
                await wakeup.wait(timeout)
        finally:
            if not granted:
                budget.cancel(ticket)

    def pause(self, seconds: float) -> None:
        """Hold every waiter of this key for ``seconds`` (after a 429)."""
        self._ref.pause(seconds)
