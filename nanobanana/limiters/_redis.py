"""``RedisRateLimiter``: one request budget per API key, shared by every process and machine
that reaches the same Redis. This module is its configuration: the arguments checked, the
Redis client chosen, and a limiter bound to each key for each kind of client.

The semantics are the in-process limiter's: a budget of ``requests`` slots per API key; a
request holds a slot from the moment it is sent until ``per`` seconds (plus a small safety
margin) after its answer arrives; a request that was never sent frees its slot at once. So
a strict sliding-window server never sees more than ``requests`` in any ``per`` seconds,
however many processes share the budget. The state lives in Redis and every change is one
atomic Lua script timed by Redis's own clock (``_scripts``).

The parts: ``_core`` (the pure per-key state and decisions), ``_stores`` (the Redis calls),
``_async_redis`` (the async limiter) and ``_sync_redis`` (its generated blocking twin).
``redis`` (redis-py) is imported when a ``RedisRateLimiter`` is made, never by
``import nanobanana``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Literal

from nanobanana._async._limiter import AsyncRateLimiter
from nanobanana._clock import SYSTEM_CLOCK
from nanobanana._config import key_fingerprint
from nanobanana._exceptions import InvalidParameterError
from nanobanana._limits import AsyncLimiter, Limiter
from nanobanana._policy import RateLimit, finite_seconds
from nanobanana._ratelimit import BudgetRef, budget_ref
from nanobanana._sync._limiter import RateLimiter
from nanobanana._window import default_margin

from ._async_redis import AsyncRedisLimiter
from ._core import RedisBudget, Settings
from ._stores import AsyncioStore, AsyncStore, Background, RedisStore, Scripts, ThreadedStore
from ._sync_redis import RedisLimiter

if TYPE_CHECKING:
    import redis as _redis
    import redis.asyncio as _aioredis

__all__ = ["RedisRateLimiter"]

DEFAULT_LEASE_EXTRA = 180.0
"""Default lease beyond the window: longer than any request under the default timeouts
(connect 10 s + write 30 s + read 60 s + pool 30 s = 130 s)."""

SOCKET_TIMEOUT = 5.0
"""Connect and command timeout of a client made from a URL."""

_MISSING_EXTRA = (
    "nanobanana.limiters.RedisRateLimiter needs redis-py, installed by the 'redis' extra: "
    "pip install 'nanobanana[redis]'"
)


def _refused(name: str, value: object, wanted: str) -> InvalidParameterError:
    """An argument refused the way ``nb.RateLimit`` refuses one (same words, same type)."""
    return InvalidParameterError(
        name, value, reason=f"RedisRateLimiter.{name} must be {wanted}, got {value!r}"
    )


class RedisRateLimiter:
    """A rate limit shared across processes and machines through Redis.

    ::

        limiter = RedisRateLimiter("redis://localhost:6379/0", requests=60, per=60.0)
        client = nb.AsyncClient(rate_limit=limiter)     # or nb.Client(rate_limit=limiter)

    Every process that uses the same Redis, ``namespace`` and API key shares one budget:
    the API never sees more than ``requests`` of them in any ``per`` seconds. It is a
    limiter factory: each client asks it for the limiter of its key (``bind_async``,
    ``bind_sync``).

    Args:
        redis: a URL (``redis://``, ``rediss://``, ``unix://``), a ``redis.Redis`` client or
            a ``redis.asyncio.Redis`` client. A URL or a ``redis.Redis`` serves both
            ``AsyncClient`` (on asyncio and Trio; the Redis calls run in worker threads)
            and ``Client``. A ``redis.asyncio.Redis`` serves ``AsyncClient`` on asyncio only.
        requests: the budget: at most this many requests...
        per: ...in any window of this many seconds.
        namespace: prefix of the Redis keys (keys derive from a hash of the API key, never
            the key).
        on_redis_error: ``"raise"`` (default): when Redis cannot be reached, a request
            raises :class:`RateLimiterUnavailableError` before anything is sent.
            ``"local"``: log a warning and fall back to the in-process limiter with the same
            budget (shared by this process only) until Redis answers again (retried every
            10 s).
        lease: seconds after which an in-flight slot frees itself if its process never
            released it (a crash). Default ``per + 180``; keep it above ``per`` plus your
            longest request (timeouts included).
        margin: seconds added to every hold as a safety margin for clock and network
            jitter. Default: the in-process limiter's, 1% of ``per`` and at most 0.25 s
            (0.25 s for a 60 s window).

    Raises:
        InvalidParameterError: An argument was refused (the same words as
            ``nb.RateLimit``'s).
        ImportError: redis-py is not installed (``pip install 'nanobanana[redis]'``).
    """

    def __init__(
        self,
        redis: str | _redis.Redis | _aioredis.Redis,
        *,
        requests: int = 60,
        per: float = 60.0,
        namespace: str = "nanobanana",
        on_redis_error: Literal["raise", "local"] = "raise",
        lease: float | None = None,
        margin: float | None = None,
    ) -> None:
        if isinstance(requests, bool) or not isinstance(requests, int) or requests < 1:
            raise _refused("requests", requests, "a positive int")
        if not finite_seconds(per, positive=True):
            raise _refused("per", per, "a positive, finite number of seconds")
        if not isinstance(namespace, str) or not namespace:
            raise _refused("namespace", namespace, "a non-empty string")
        if on_redis_error not in ("raise", "local"):
            raise _refused("on_redis_error", on_redis_error, "'raise' or 'local'")
        if lease is not None and not finite_seconds(lease, positive=True):
            raise _refused("lease", lease, "a positive, finite number of seconds or None")
        if margin is not None and not finite_seconds(margin):
            raise _refused("margin", margin, "a finite number of seconds >= 0 or None")
        try:
            import redis as redis_mod
            import redis.asyncio as aioredis_mod
        except ImportError as exc:  # pragma: no cover - the extra is installed where we test
            raise ImportError(_MISSING_EXTRA) from exc
        self.requests: int = requests
        self.per: float = float(per)
        self.namespace: str = namespace
        self.on_redis_error: Literal["raise", "local"] = on_redis_error
        self.margin: float = default_margin(self.per) if margin is None else float(margin)
        self.lease: float = self.per + DEFAULT_LEASE_EXTRA if lease is None else float(lease)
        self._settings = Settings(self.requests, self.per, self.margin, self.lease, namespace)
        self._errors: tuple[type[BaseException], ...] = (redis_mod.RedisError, OSError)
        self._redis: _redis.Redis | None = None  # blocking: serves both clients
        self._aioredis: _aioredis.Redis | None = None  # asyncio: AsyncClient only
        self._owns_client = False
        if isinstance(redis, str):
            self._redis = redis_mod.Redis.from_url(
                redis, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
            )
            self._owns_client = True
        elif isinstance(redis, aioredis_mod.Redis):
            self._aioredis = redis
        elif isinstance(redis, redis_mod.Redis):
            self._redis = redis
        else:
            raise _refused(
                "redis",
                type(redis).__name__,
                "a URL, a redis.Redis or a redis.asyncio.Redis client",
            )
        client = self._redis if self._redis is not None else self._aioredis
        self._scripts = Scripts(client)
        self._background = Background()
        self._guard = threading.Lock()
        self._budgets: dict[str, RedisBudget] = {}
        self._async_bound: dict[str, AsyncRedisLimiter] = {}
        self._sync_bound: dict[str, RedisLimiter] = {}

    # -- derived settings ----------------------------------------------------------------

    @property
    def hold(self) -> float:
        """Seconds a slot stays taken after its request's answer: ``per + margin``."""
        return self._settings.hold

    @property
    def poll_cap(self) -> float:
        """The longest a waiter sleeps before asking Redis again (a slot freed elsewhere
        without a window, e.g. a request that was never sent, is seen within this time)."""
        return self._settings.poll_cap

    # -- binding to a client -------------------------------------------------------------

    def bind_async(self, api_key: str) -> AsyncLimiter:
        """The limiter of one key's budget, for an ``AsyncClient``.

        The client calls this for you (``rate_limit=limiter``). Every call with the same key
        returns the same object, so the tasks of an event loop queue fairly (FIFO) behind
        one another before asking Redis.

        Args:
            api_key: The client's key (only a hash of it reaches Redis).

        Returns:
            The key's limiter for async clients.
        """
        fingerprint = key_fingerprint(api_key)
        with self._guard:
            limiter = self._async_bound.get(fingerprint)
            if limiter is None:
                budget = self._budget(fingerprint)
                store: AsyncStore
                if self._redis is not None:
                    store = ThreadedStore(
                        RedisStore(self._scripts, budget, self._errors), self._background
                    )
                else:
                    store = AsyncioStore(self._scripts, budget, self._errors)
                local = AsyncRateLimiter(self._local_budget(api_key)) if self._falls_back else None
                limiter = AsyncRedisLimiter(budget, store, local)
                self._async_bound[fingerprint] = limiter
        return limiter

    def bind_sync(self, api_key: str) -> Limiter:
        """The limiter of one key's budget, for a ``Client`` (one object per key, like
        ``bind_async``). Needs a URL or a ``redis.Redis`` client.

        Args:
            api_key: The client's key (only a hash of it reaches Redis).

        Returns:
            The key's limiter for blocking clients.

        Raises:
            InvalidParameterError: This limiter was made from a ``redis.asyncio.Redis``
                client, which cannot serve a blocking client.
        """
        if self._redis is None:
            raise InvalidParameterError(
                "rate_limit",
                "RedisRateLimiter(redis.asyncio.Redis)",
                reason=(
                    "nb.Client needs a RedisRateLimiter made from a URL or a redis.Redis "
                    "client; a redis.asyncio.Redis client serves nb.AsyncClient only"
                ),
            )
        fingerprint = key_fingerprint(api_key)
        with self._guard:
            limiter = self._sync_bound.get(fingerprint)
            if limiter is None:
                budget = self._budget(fingerprint)
                store = RedisStore(self._scripts, budget, self._errors)
                local = RateLimiter(self._local_budget(api_key)) if self._falls_back else None
                limiter = RedisLimiter(budget, store, local)
                self._sync_bound[fingerprint] = limiter
        return limiter

    @property
    def _falls_back(self) -> bool:
        return self.on_redis_error == "local"

    def _budget(self, fingerprint: str) -> RedisBudget:
        """The key's core, shared by its async and its blocking limiter (call under the guard)."""
        budget = self._budgets.get(fingerprint)
        if budget is None:
            budget = self._budgets[fingerprint] = RedisBudget(self._settings, fingerprint)
        return budget

    def _local_budget(self, api_key: str) -> BudgetRef:
        """The in-process budget that stands in while Redis is down: the built-in
        limiter's budget for the same key and limit."""
        return budget_ref(RateLimit(self.requests, per=self.per), api_key, SYSTEM_CLOCK)

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Finish pending releases and close the Redis client made from a URL (a client
        you passed in stays open: it is yours)."""
        self._background.close()
        if self._owns_client and self._redis is not None:
            self._redis.close()

    def __repr__(self) -> str:
        # never the URL: it may carry a password
        return (
            f"RedisRateLimiter(requests={self.requests}, per={self.per}, "
            f"namespace={self.namespace!r}, on_redis_error={self.on_redis_error!r})"
        )
