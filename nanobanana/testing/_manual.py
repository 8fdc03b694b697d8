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

    ``to_real()`` is 0: nothing waits in real time. A client-side rate limiter that waits
    for API time to pass would wait forever (it never sleeps on the clock, so time never
    moves): ``fake.client()`` / ``fake.async_client()`` default to ``rate_limit=None``
    with a manual clock; do the same for clients you build yourself.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds``; returns the new time."""
        if seconds < 0:
            raise ValueError("time does not go backwards")
        with self._lock:
            self._now += seconds
            return self._now

    def to_real(self, seconds: float) -> float:
        return 0.0

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    async def asleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await anyio.lowlevel.checkpoint()

    def __repr__(self) -> str:
        return f"ManualClock(now={self.now():g})"
