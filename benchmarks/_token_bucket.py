"""The plain token bucket (capacity N, refilled at N/W) the SDK does NOT use.

The baseline that ``bench_ratelimit.py`` and tests/test_window.py compare the sliding
window against: it admits about 2N requests in its first W seconds, which a strict
sliding-window server refuses (see ``nanobanana/_window.py``). Not part of the package.
"""

from __future__ import annotations

__all__ = ["TokenBucket"]


class TokenBucket:
    """A plain token bucket: capacity N, refilled at N/W."""

    __slots__ = ("_last", "_tokens", "capacity", "rate")

    def __init__(self, requests: int, per: float) -> None:
        self.capacity = float(requests)
        self.rate = requests / per
        self._tokens = float(requests)
        self._last: float | None = None

    def _refill(self, now: float) -> None:
        if self._last is not None:
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def try_acquire(self, now: float) -> float | None:
        """None when a token was taken; else the time one will be there."""
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return now + (1.0 - self._tokens) / self.rate
