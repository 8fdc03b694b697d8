"""ManualClock: simulated time that moves only when told (or when someone sleeps)."""

from __future__ import annotations

import threading

import anyio.lowlevel

__all__ = ["ManualClock"]


class ManualClock:
    """A clock for deterministic tests: ``now()`` stands still until ``advance()``.

    Sleeping on it (``sleep``/``asleep``) advances time by the amount slept, at once, so
    a client's backoff or polling runs instantly. With several concurrent sleepers every
    sleep advances the same shared time: good for sequential code, approximate for
    concurrent code (use ``Clock(scale=...)``, i.e. ``time_scale``, there).

    ``to_real()`` is 0: nothing waits in real time. A client-side rate limiter's waits
    sleep on it too, so each one moves the shared time ahead at once, by as much as the
    budget makes it wait: ``fake.client()`` / ``fake.async_client()`` default to
    ``rate_limit=None`` with a manual clock, which keeps a test's API time exact; do the
    same for clients you build yourself (the server's window still applies).

    Args:
        start: The time it starts at, in API seconds.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        """The current time.

        Returns:
            API seconds since the clock's epoch: ``start`` plus every advance.
        """
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward.

        Args:
            seconds: How far, >= 0.

        Returns:
            The new time.

        Raises:
            ValueError: ``seconds`` is negative: time does not go backwards.
        """
        if seconds < 0:
            raise ValueError("time does not go backwards")
        with self._lock:
            self._now += seconds
            return self._now

    def to_real(self, seconds: float) -> float:
        """Real seconds that many API seconds take: none, time only moves when told.

        Args:
            seconds: API seconds.

        Returns:
            0.0, always.
        """
        return 0.0

    def sleep(self, seconds: float) -> None:
        """Sleep, blocking: advance time by ``seconds`` at once.

        Args:
            seconds: API seconds; a negative one sleeps for none.
        """
        self.advance(max(0.0, seconds))

    async def asleep(self, seconds: float) -> None:
        """Sleep, async: advance time by ``seconds`` at once, then let others run.

        Args:
            seconds: API seconds; a negative one sleeps for none.
        """
        self.advance(max(0.0, seconds))
        await anyio.lowlevel.checkpoint()

    def __repr__(self) -> str:
        return f"ManualClock(now={self.now():g})"
