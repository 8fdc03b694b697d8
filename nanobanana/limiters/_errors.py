"""The error a shared limiter raises when its store cannot be reached."""

from __future__ import annotations

from nanobanana._exceptions import NanoBananaError

__all__ = ["RateLimiterUnavailableError"]


class RateLimiterUnavailableError(NanoBananaError):
    """The shared rate limiter's store (Redis) could not be reached or refused a command.

    Nothing was sent to the API: the request was stopped before it took a slot. Pass
    ``on_redis_error="local"`` to ``RedisRateLimiter`` to fall back to the in-process
    limiter instead (the budget is then no longer shared with other processes).
    """
