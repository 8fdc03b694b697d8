"""The strict sliding rate window: at most N admitted requests per key in any W seconds."""

from __future__ import annotations

import math
from collections import deque

from ._wire import Reply, error

__all__ = ["SlidingWindow"]


class SlidingWindow:
    """Admission times per key. Not locked: the service calls it under its lock."""

    def __init__(self) -> None:
        self._admitted: dict[str, deque[float]] = {}

    def admit(self, key: str, limit: tuple[int, float], now: float) -> Reply | None:
        """None when the request is admitted (and counted); else the 429 to answer.

        Refused requests do not count. ``Retry-After``: whole seconds until a slot frees.
        """
        n, per = limit
        window = self._admitted.setdefault(key, deque())
        while window and window[0] <= now - per:
            window.popleft()
        if len(window) >= n:
            wait = max(1, math.ceil(window[-n] + per - now - 1e-9)) if n > 0 else math.ceil(per)
            return error(
                429,
                "RATE_LIMIT_EXCEEDED",
                f"Too many requests: at most {n} per {per:g} seconds",
                (("retry-after", str(wait)),),
            )
        window.append(now)
        return None

    def clear(self) -> None:
        """Forget every admitted request."""
        self._admitted.clear()
