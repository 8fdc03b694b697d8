"""Limiters beyond the built-in per-process one.

``RedisRateLimiter`` shares one budget per API key across processes and machines through
Redis (install the ``redis`` extra: ``pip install 'nanobanana[redis]'``)::

    from nanobanana.limiters import RedisRateLimiter

    limiter = RedisRateLimiter("redis://localhost:6379/0", requests=60, per=60.0)
    client = nb.AsyncClient(rate_limit=limiter)

Nothing heavy is imported until ``RedisRateLimiter`` is used: redis-py only when one is
made, so ``import nanobanana`` never needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nanobanana._exceptions import RateLimiterUnavailableError

if TYPE_CHECKING:
    from ._redis import RedisRateLimiter

__all__ = ["RateLimiterUnavailableError", "RedisRateLimiter"]


def __getattr__(name: str) -> Any:
    if name == "RedisRateLimiter":
        from ._redis import RedisRateLimiter

        return RedisRateLimiter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
