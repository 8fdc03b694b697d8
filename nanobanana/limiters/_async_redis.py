"""The limiter of one API key's Redis budget for ``nb.AsyncClient``: what
``RedisRateLimiter.bind_async`` gives it.

It only waits: ``_core`` decides, a store (``_stores``) talks to Redis. Its waiters take
turns asking Redis, first come, first served; everyone else (other event loops, threads,
processes) meets them in Redis, where the first to ask after a slot frees gets it.
"""

from __future__ import annotations

from nanobanana._concurrency import AsyncLoopLock, AsyncShield
from nanobanana._exceptions import RateLimiterUnavailableError
from nanobanana._limits import AsyncLimiter, Permit

from ._core import RedisBudget, new_token
from ._stores import AsyncStore, RedisPermit

__all__ = ["AsyncRedisLimiter"]


class AsyncRedisLimiter:
    """The limiter of one API key's budget for ``AsyncClient``, shared through Redis.

    ``local`` is the in-process limiter that stands in while Redis is down
    (``on_redis_error="local"``), or None: then a request raises
    ``RateLimiterUnavailableError`` before anything is sent.
    """

    __slots__ = ("_budget", "_local", "_queue", "_store")

    def __init__(self, budget: RedisBudget, store: AsyncStore, local: AsyncLimiter | None) -> None:
        self._budget = budget
        self._store = store
        self._local = local
        self._queue = AsyncLoopLock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._budget.describe()}>"

    async def acquire(self) -> Permit:
        """Wait for a slot of the shared budget and take it."""
        local = self._local
        if local is None:
            return await self._acquire_redis()
        if not self._budget.redis_down():
            try:
                return await self._acquire_redis()
            except RateLimiterUnavailableError as exc:
                self._budget.went_down(exc)
        return await local.acquire()

    async def _acquire_redis(self) -> Permit:
        budget = self._budget
        granted: RedisPermit | None = None
        try:
            async with self._queue:
                while True:
                    pause = budget.pause_left()
                    if pause > 0:
                        await budget.clock.asleep(min(pause, budget.poll_cap))
                        continue
                    token = new_token()
                    pending = self._store.pending()
                    with AsyncShield():  # a cancelled waiter must not lose a slot Redis gave it
                        taken, wait = await self._store.acquire(token)
                    if taken:
                        granted = RedisPermit(self._store, token)
                        return granted
                    await budget.clock.asleep(budget.next_look(wait, pending))
        except BaseException:
            if granted is not None:  # cancelled on the way out: give the slot back
                granted.release(sent=False)
            raise

    def pause(self, seconds: float) -> None:
        """Hold every waiter of this key, in every process, for ``seconds`` (after a 429)."""
        if not self._budget.note_pause(seconds):
            return
        if self._local is not None:
            self._local.pause(seconds)
        self._store.pause(seconds)
