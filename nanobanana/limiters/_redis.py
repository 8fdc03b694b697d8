"""``RedisRateLimiter``: one request budget per API key, shared by every process and machine
that reaches the same Redis.

The semantics are the in-process limiter's: a budget of ``requests`` slots per API key; a
request holds a slot from the moment it is sent until ``per`` seconds (plus a small safety
margin) after its answer arrives; a request that was never sent frees its slot at once. So
a strict sliding-window server never sees more than ``requests`` in any ``per`` seconds,
however many processes share the budget. The state lives in Redis and every change is one
atomic Lua script timed by Redis's own clock (see ``_scripts``).

One object serves both clients: ``AsyncClient`` and ``Client`` call :meth:`RedisRateLimiter.bind`
with their API key and kind, and get an async or a blocking limiter for that key's budget.

``redis`` (redis-py) is imported lazily: ``import nanobanana`` never needs it.
"""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal, overload

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar

from nanobanana._config import key_fingerprint
from nanobanana._exceptions import InvalidParameterError
from nanobanana._limits import AsyncLimiter, Limiter, Permit
from nanobanana._log import logger

from ._errors import RateLimiterUnavailableError
from ._scripts import ACQUIRE, PAUSE, RELEASE, key_names, to_ms

if TYPE_CHECKING:
    import redis as _redis
    import redis.asyncio as _aioredis

__all__ = ["RedisRateLimiter"]

DEFAULT_LEASE_EXTRA = 180.0
"""Default lease beyond the window: longer than any request under the default timeouts
(connect 10 s + write 30 s + read 60 s + pool 30 s = 130 s)."""

REDIS_RETRY_AFTER = 10.0
"""With ``on_redis_error="local"``: seconds on the local limiter before Redis is tried again."""

PENDING_LOOK = 0.002
"""Seconds between looks while one of our own releases is still on its way to Redis."""

SOCKET_TIMEOUT = 5.0
"""Connect and command timeout of a client made from a URL."""


_MISSING_EXTRA = (
    "nanobanana.limiters.RedisRateLimiter needs redis-py, installed by the 'redis' extra: "
    "pip install 'nanobanana[redis]'"
)


def default_margin(per: float) -> float:
    """The safety margin added to every hold: 1% of the window (as the in-process limiter),
    at least 50 ms (network and Redis round trips are absolute, not proportional)."""
    return max(0.05, 0.01 * per)


class RedisRateLimiter:
    """A rate limit shared across processes and machines through Redis.

    ::

        limiter = RedisRateLimiter("redis://localhost:6379/0", requests=60, per=60.0)
        client = nb.AsyncClient(rate_limit=limiter)     # or nb.Client(rate_limit=limiter)

    Every process that uses the same Redis, ``namespace`` and API key shares one budget:
    the API never sees more than ``requests`` of them in any ``per`` seconds.

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
            jitter. Default 1% of ``per``, at least 50 ms (0.6 s for a 60 s window).
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
            raise InvalidParameterError("requests", requests, "a positive int")
        if not _positive(per):
            raise InvalidParameterError("per", per, "a positive number of seconds")
        if not isinstance(namespace, str) or not namespace:
            raise InvalidParameterError("namespace", namespace, "a non-empty string")
        if on_redis_error not in ("raise", "local"):
            raise InvalidParameterError("on_redis_error", on_redis_error, '"raise" or "local"')
        if lease is not None and not _positive(lease):
            raise InvalidParameterError("lease", lease, "a positive number of seconds")
        if margin is not None and not (_positive(margin) or _zero(margin)):
            raise InvalidParameterError("margin", margin, "a number of seconds >= 0")
        try:
            import redis as redis_mod
            import redis.asyncio as aioredis_mod
        except ImportError as exc:  # pragma: no cover - the extra is installed where we test
            raise ImportError(_MISSING_EXTRA) from exc
        self.requests = requests
        self.per = float(per)
        self.namespace = namespace
        self.on_redis_error: Literal["raise", "local"] = on_redis_error
        self.margin = default_margin(self.per) if margin is None else float(margin)
        self.lease = self.per + DEFAULT_LEASE_EXTRA if lease is None else float(lease)
        self._errors: tuple[type[BaseException], ...] = (redis_mod.RedisError, OSError)
        self._sync: _redis.Redis | None = None
        self._async: _aioredis.Redis | None = None
        self._owns_client = False
        if isinstance(redis, str):
            self._sync = redis_mod.Redis.from_url(
                redis, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
            )
            self._owns_client = True
        elif isinstance(redis, aioredis_mod.Redis):
            self._async = redis
        elif isinstance(redis, redis_mod.Redis):
            self._sync = redis
        else:
            raise InvalidParameterError(
                "redis",
                type(redis).__name__,
                reason="redis must be a URL, a redis.Redis or a redis.asyncio.Redis client",
            )
        self._bound: dict[tuple[str, str], _Budget] = {}
        self._guard = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._executor_pid = 0

    # -- derived settings ----------------------------------------------------------------

    @property
    def hold(self) -> float:
        """Seconds a slot stays taken after its request's answer: ``per + margin``."""
        return self.per + self.margin

    @property
    def poll_cap(self) -> float:
        """The longest a waiter sleeps before asking Redis again (a slot freed elsewhere
        without a window, e.g. a request that was never sent, is seen within this time)."""
        return min(5.0, max(0.05, self.per / 10))

    # -- binding to a client -------------------------------------------------------------

    @overload
    def bind(self, api_key: str, kind: Literal["async"]) -> AsyncLimiter: ...
    @overload
    def bind(self, api_key: str, kind: Literal["sync"]) -> Limiter: ...
    def bind(self, api_key: str, kind: Literal["async", "sync"]) -> AsyncLimiter | Limiter:
        """The limiter of ``api_key``'s budget for a client of ``kind``.

        The clients call this for you (``rate_limit=limiter``). Every call with the same key
        and kind returns the same object, so clients of one process queue fairly (FIFO)
        behind one another before asking Redis.
        """
        if kind not in ("async", "sync"):
            raise InvalidParameterError("kind", kind, '"async" or "sync"')
        if kind == "sync" and self._sync is None:
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
            budget = self._bound.get((fingerprint, kind))
            if budget is None:
                local: Any = None
                if self.on_redis_error == "local":
                    from nanobanana._policy import RateLimit
                    from nanobanana._ratelimit import resolve

                    local = resolve(
                        RateLimit(self.requests, per=self.per),
                        api_key,
                        kind=kind,
                        clock=_system_clock(),
                    )
                cls = _AsyncRedisLimiter if kind == "async" else _SyncRedisLimiter
                budget = cls(self, fingerprint, local)
                self._bound[(fingerprint, kind)] = budget
        return budget  # type: ignore[return-value]

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Finish pending releases and close the Redis client made from a URL."""
        with self._guard:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        if self._owns_client and self._sync is not None:
            self._sync.close()

    def __repr__(self) -> str:
        # never the URL: it may carry a password
        return (
            f"RedisRateLimiter(requests={self.requests}, per={self.per}, "
            f"namespace={self.namespace!r}, on_redis_error={self.on_redis_error!r})"
        )

    # -- plumbing for the bound limiters -------------------------------------------------

    def _background(self, fn: Callable[[], object]) -> None:
        """Run a blocking Redis call on the limiter's worker thread, without waiting."""
        with self._guard:
            if self._executor is None or self._executor_pid != os.getpid():
                # (a new one after a fork: the parent's worker thread is not in the child)
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="nanobanana-redis")
                self._executor_pid = os.getpid()
            executor = self._executor
        future = executor.submit(fn)
        future.add_done_callback(_log_failure)


def _positive(x: object) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def _zero(x: object) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float)) and x == 0


def _system_clock() -> Any:
    from nanobanana._clock import SYSTEM_CLOCK

    return SYSTEM_CLOCK


def _log_failure(future: Future[object]) -> None:
    exc = future.exception()
    if exc is not None:
        logger.warning(
            "Redis rate limiter: a background update failed (%s: %s); the slot frees "
            "itself when its lease ends",
            type(exc).__name__,
            exc,
        )


def _new_token() -> str:
    return secrets.token_hex(8)


class _RedisPermit:
    """One request's slot in the shared budget."""

    __slots__ = ("_owner", "_released", "_token")

    def __init__(self, owner: _Budget, token: str) -> None:
        self._owner = owner
        self._token = token
        self._released = False

    def release(self, *, sent: bool = True) -> None:
        if self._released:
            return
        self._released = True
        self._owner._release(self._token, sent)


class _Budget:
    """What the async and the blocking limiter of one API key share: keys, scripts,
    settings, the local pause and the Redis-is-down state."""

    def __init__(self, limiter: RedisRateLimiter, fingerprint: str, local: Any) -> None:
        self._limiter = limiter
        self._fingerprint = fingerprint
        self._slots, self._pause_key = key_names(limiter.namespace, fingerprint)
        self._local = local
        self._down_until = 0.0
        self._paused_until = 0.0  # time.monotonic(): a pause seen here, before Redis has it
        hold_ms = to_ms(limiter.hold)
        lease_ms = to_ms(limiter.lease)
        ttl_ms = max(hold_ms, lease_ms) + 100
        self._acquire_args: tuple[int, int] = (limiter.requests, lease_ms)
        self._ttl_ms = ttl_ms
        self._hold_ms = hold_ms
        client: Any = limiter._sync if limiter._sync is not None else limiter._async
        self._acquire_script: Any = client.register_script(ACQUIRE)
        self._release_script: Any = client.register_script(RELEASE)
        self._pause_script: Any = client.register_script(PAUSE)

    def __repr__(self) -> str:
        lim = self._limiter
        return (
            f"<{type(self).__name__} key={self._fingerprint} requests={lim.requests} "
            f"per={lim.per} namespace={lim.namespace!r}>"
        )

    # the arguments of each script

    def _acquire_call(self, token: str) -> dict[str, Any]:
        limit, lease_ms = self._acquire_args
        return {
            "keys": [self._slots, self._pause_key],
            "args": [limit, lease_ms, token, self._ttl_ms],
        }

    def _release_call(self, token: str, sent: bool) -> dict[str, Any]:
        return {
            "keys": [self._slots],
            "args": [token, self._hold_ms, self._ttl_ms, "1" if sent else "0"],
        }

    def _pause_call(self, seconds: float) -> dict[str, Any]:
        return {"keys": [self._pause_key], "args": [to_ms(seconds)]}

    @staticmethod
    def _reply(reply: Any) -> tuple[bool, float]:
        granted, wait_ms = reply
        return bool(int(granted)), int(wait_ms) / 1000

    # blocking calls (a sync client)

    def _acquire_sync(self, token: str) -> tuple[bool, float]:
        return self._reply(self._acquire_script(**self._acquire_call(token)))

    def _release_sync(self, token: str, sent: bool) -> None:
        self._release_script(**self._release_call(token, sent))

    def _pause_sync(self, seconds: float) -> None:
        self._pause_script(**self._pause_call(seconds))

    # the shared decisions

    def _local_pause_left(self) -> float:
        return self._paused_until - time.monotonic()

    def _note_pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def _fallback(self) -> Any:
        """The local limiter while Redis is considered down, else None."""
        if self._local is not None and time.monotonic() < self._down_until:
            return self._local
        return None

    def _unavailable(self, exc: BaseException) -> None:
        """Redis failed: raise the typed error, or switch to the local limiter for a while."""
        if self._local is None:
            raise RateLimiterUnavailableError(
                f"The shared rate limit's Redis is unavailable ({type(exc).__name__}: {exc}). "
                "Nothing was sent. Pass on_redis_error='local' to RedisRateLimiter to fall "
                "back to the in-process limiter while Redis is down."
            ) from exc
        now = time.monotonic()
        if now >= self._down_until:
            logger.warning(
                "Redis rate limiter unavailable (%s: %s): using the in-process limiter "
                "(this process's share only) for %.0f s",
                type(exc).__name__,
                exc,
                REDIS_RETRY_AFTER,
            )
        self._down_until = now + REDIS_RETRY_AFTER

    def _release(self, token: str, sent: bool) -> None:
        raise NotImplementedError


class _SyncRedisLimiter(_Budget):
    """The blocking limiter of one API key's shared budget (``nb.Client``)."""

    def __init__(self, limiter: RedisRateLimiter, fingerprint: str, local: Any) -> None:
        super().__init__(limiter, fingerprint, local)
        self._lock = threading.Lock()

    def acquire(self) -> Permit:
        if self._fallback() is None:
            permit = self._acquire_redis()
            if permit is not None:
                return permit
        local: Any = self._local  # Redis is down and on_redis_error="local"
        fallback: Permit = local.acquire()
        return fallback

    def _acquire_redis(self) -> Permit | None:
        """A slot from Redis; None when Redis failed and the local limiter takes over."""
        with self._lock:
            while True:
                pause = self._local_pause_left()
                if pause > 0:
                    time.sleep(min(pause, self._limiter.poll_cap))
                    continue
                token = _new_token()
                try:
                    granted, wait = self._acquire_sync(token)
                except self._limiter._errors as exc:
                    self._unavailable(exc)
                    return None
                if granted:
                    return _RedisPermit(self, token)
                time.sleep(min(wait, self._limiter.poll_cap))

    def pause(self, seconds: float) -> None:
        if not (seconds > 0 and math.isfinite(seconds)):
            return
        self._note_pause(seconds)
        if self._local is not None:
            self._local.pause(seconds)
        try:
            self._pause_sync(seconds)
        except self._limiter._errors as exc:
            logger.warning(
                "Redis rate limiter: could not share a pause (%s: %s)", type(exc).__name__, exc
            )

    def _release(self, token: str, sent: bool) -> None:
        try:
            self._release_sync(token, sent)
        except self._limiter._errors as exc:
            logger.warning(
                "Redis rate limiter: could not release a slot (%s: %s); it frees itself "
                "when its lease ends",
                type(exc).__name__,
                exc,
            )


class _AsyncRedisLimiter(_Budget):
    """The async limiter of one API key's shared budget (``nb.AsyncClient``).

    With a URL or a ``redis.Redis`` client the Redis calls run in worker threads (so it
    works on asyncio and Trio); with a ``redis.asyncio.Redis`` client they are awaited.
    ``release`` and ``pause`` are called without ``await``, so their Redis update runs in
    the background: a late release only holds a slot a little longer.
    """

    def __init__(self, limiter: RedisRateLimiter, fingerprint: str, local: Any) -> None:
        super().__init__(limiter, fingerprint, local)
        # one FIFO queue per event loop (the object may serve several loops, in threads
        # or one after another); loops coordinate through Redis like processes do
        self._lock_var: RunVar[anyio.Lock] = RunVar(f"nanobanana-redis-{id(self)}")
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pending = 0  # background updates (releases, pauses) not yet in Redis
        self._pending_lock = threading.Lock()

    def _updates_pending(self) -> bool:
        return bool(self._pending or self._tasks)

    def _next_look(self, wait: float, pending: bool) -> float:
        """How long to sleep before asking Redis again. When a release of ours was still on
        its way to Redis as we asked, look again soon: it may free the slot we need."""
        return min(wait, PENDING_LOOK if pending else self._limiter.poll_cap)

    def _background(self, fn: Callable[[], object]) -> None:
        with self._pending_lock:
            self._pending += 1

        def run() -> None:
            try:
                fn()
            finally:
                with self._pending_lock:
                    self._pending -= 1

        self._limiter._background(run)

    def _queue(self) -> anyio.Lock:
        try:
            return self._lock_var.get()
        except LookupError:
            lock = anyio.Lock()
            self._lock_var.set(lock)
            return lock

    async def _acquire_once(self, token: str) -> tuple[bool, float]:
        if self._limiter._async is not None:
            return self._reply(await self._acquire_script(**self._acquire_call(token)))
        return await anyio.to_thread.run_sync(self._acquire_sync, token)

    async def acquire(self) -> Permit:
        if self._fallback() is None:
            permit = await self._acquire_redis()
            if permit is not None:
                return permit
        local: Any = self._local  # Redis is down and on_redis_error="local"
        fallback: Permit = await local.acquire()
        return fallback

    async def _acquire_redis(self) -> Permit | None:
        """A slot from Redis; None when Redis failed and the local limiter takes over."""
        granted: _RedisPermit | None = None
        try:
            async with self._queue():  # FIFO: one waiter per event loop asks Redis at a time
                while True:
                    pause = self._local_pause_left()
                    if pause > 0:
                        await anyio.sleep(min(pause, self._limiter.poll_cap))
                        continue
                    token = _new_token()
                    failure: BaseException | None = None
                    reply = (False, 0.0)
                    pending = self._updates_pending()
                    # shielded: a cancelled waiter must not lose a slot Redis gave it
                    with anyio.CancelScope(shield=True):
                        try:
                            reply = await self._acquire_once(token)
                        except self._limiter._errors as exc:
                            failure = exc
                    if failure is not None:
                        self._unavailable(failure)
                        return None
                    if reply[0]:
                        granted = _RedisPermit(self, token)
                        return granted
                    await anyio.sleep(self._next_look(reply[1], pending))
        except BaseException:
            if granted is not None:  # cancelled on the way out: give the slot back
                granted.release(sent=False)
            raise

    def pause(self, seconds: float) -> None:
        if not (seconds > 0 and math.isfinite(seconds)):
            return
        self._note_pause(seconds)
        if self._local is not None:
            self._local.pause(seconds)
        if self._limiter._async is not None:
            self._spawn(lambda: self._pause_script(**self._pause_call(seconds)))
        else:
            self._background(lambda: self._pause_sync(seconds))

    def _release(self, token: str, sent: bool) -> None:
        if self._limiter._async is not None:
            self._spawn(lambda: self._release_script(**self._release_call(token, sent)))
        else:
            self._background(lambda: self._release_sync(token, sent))

    def _spawn(self, call: Callable[[], Awaitable[object]]) -> None:
        """Run an update with the redis.asyncio client on the running loop, unawaited."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            logger.warning(
                "Redis rate limiter: no running asyncio loop to update Redis from; the slot "
                "frees itself when its lease ends"
            )
            return
        task = loop.create_task(_logged(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _logged(call: Callable[[], Awaitable[object]]) -> None:
    try:
        await call()
    except Exception as exc:
        logger.warning(
            "Redis rate limiter: a background update failed (%s: %s); the slot frees "
            "itself when its lease ends",
            type(exc).__name__,
            exc,
        )
