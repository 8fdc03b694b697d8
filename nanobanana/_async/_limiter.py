"""The built-in limiter: waits for a slot of the key's shared budget (``_ratelimit``).

Every client of one key, async or sync, shares one ``SharedBudget``; this class
only waits. Waiters are served in FIFO order. A waiter cancelled while queued (a cancel
scope, ``asyncio`` cancellation, Trio) leaves the queue at once: it takes no slot and
blocks nobody. A waiter sleeps until the next moment a slot is known to be free, or until
it is woken by a release, its turn, or (at most) the budget's poll cap.
"""

from __future__ import annotations

import math

from .._concurrency import AsyncWakeup
from .._limits import Permit
from .._ratelimit import BudgetPermit, SharedBudget

__all__ = ["AsyncRateLimiter"]

TIMER_SLACK = 0.001
"""Real seconds: a waiter due within this yields in a loop rather than set a timer."""


class AsyncRateLimiter:
    """The limiter ``AsyncClient`` builds from an ``nb.RateLimit`` (one budget per key)."""

    __slots__ = ("_budget",)

    def __init__(self, budget: SharedBudget) -> None:
        self._budget = budget

    def __repr__(self) -> str:
        limit = self._budget.limit
        return f"<{type(self).__name__} {limit.requests}/{limit.per:g}s key={self._budget.key_id}>"

    async def acquire(self) -> Permit:
        """Wait for a slot (FIFO) and take it; release the permit when the answer arrives."""
        budget = self._budget
        clock = budget.clock
        ticket = budget.enqueue()
        granted = False
        try:
            while True:
                wakeup = AsyncWakeup()
                until = budget.poll(ticket, wakeup)
                if until is None:
                    granted = True
                    return BudgetPermit(budget)
                timeout = budget.poll_cap
                if not math.isinf(until):
                    ahead = clock.to_real(until - clock.now())
                    if ahead <= TIMER_SLACK:
                        # Timers fire up to a millisecond late (epoll); with time scaled
                        # for tests that is a visible share of a window. Yield instead.
                        await clock.asleep(0)
                        continue
                    timeout = min(timeout, ahead - TIMER_SLACK)
                await wakeup.wait(timeout)
        finally:
            if not granted:
                budget.cancel(ticket)

    def pause(self, seconds: float) -> None:
        """Hold every waiter of this key for ``seconds`` (after a 429)."""
        self._budget.pause(seconds)
