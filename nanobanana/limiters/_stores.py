"""The Redis I/O of ``RedisRateLimiter``: running one key's scripts, three ways.

* ``RedisStore``: a blocking ``redis.Redis`` client; every call is done when it returns
  (the blocking limiter, ``nb.Client``).
* ``ThreadedStore``: a ``RedisStore`` for the async limiter: ``acquire`` in a worker
  thread (so it works on asyncio and Trio), ``release`` and ``pause`` on the limiter's
  background thread, unawaited.
* ``AsyncioStore``: a ``redis.asyncio`` client (asyncio only): ``acquire`` awaited,
  ``release`` and ``pause`` as tasks of the running loop, unawaited.

An ``acquire`` that cannot reach Redis raises ``RateLimiterUnavailableError``. A release
or a pause that cannot is logged, never raised: a slot frees itself when its lease ends.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

import anyio.to_thread

from nanobanana._exceptions import RateLimiterUnavailableError
from nanobanana._log import logger

from ._core import RedisBudget, read_acquire_reply
from ._scripts import ACQUIRE, PAUSE, RELEASE

__all__ = [
    "AsyncStore",
    "AsyncioStore",
    "Background",
    "RedisPermit",
    "RedisStore",
    "Scripts",
    "Store",
    "ThreadedStore",
]

Errors = tuple[type[BaseException], ...]
"""What a failed Redis call raises: redis-py's ``RedisError`` and ``OSError``."""


class AsyncStore(Protocol):
    """One key's budget in Redis, as the async limiter uses it. ``release`` and ``pause``
    are not awaited: their update runs in the background."""

    async def acquire(self, token: str) -> tuple[bool, float]:
        """Take a slot named ``token``: (granted, seconds before asking again)."""
        ...

    def release(self, token: str, sent: bool) -> None: ...

    def pause(self, seconds: float) -> None: ...

    def pending(self) -> bool:
        """True while a release or pause of ours is still on its way to Redis."""
        ...


class Store(Protocol):
    """One key's budget in Redis, as the blocking limiter uses it: the blocking twin of
    AsyncStore (a call is done when it returns)."""

    def acquire(self, token: str) -> tuple[bool, float]: ...

    def release(self, token: str, sent: bool) -> None: ...

    def pause(self, seconds: float) -> None: ...

    def pending(self) -> bool: ...


class _Releases(Protocol):
    def release(self, token: str, sent: bool) -> None: ...


class RedisPermit:
    """One request's slot in the shared budget. Only the first ``release`` counts."""

    __slots__ = ("_released", "_store", "_token")

    def __init__(self, store: _Releases, token: str) -> None:
        self._store = store
        self._token = token
        self._released = False

    def release(self, *, sent: bool = True) -> None:
        if self._released:
            return
        self._released = True
        self._store.release(self._token, sent)


class Scripts:
    """The three scripts, registered on one Redis client (a blocking or an asyncio one)."""

    __slots__ = ("acquire", "pause", "release")

    def __init__(self, client: Any) -> None:
        self.acquire: Any = client.register_script(ACQUIRE)
        self.release: Any = client.register_script(RELEASE)
        self.pause: Any = client.register_script(PAUSE)


def unavailable(error: BaseException) -> RateLimiterUnavailableError:
    return RateLimiterUnavailableError(
        f"The shared rate limit's Redis is unavailable ({type(error).__name__}: {error}). "
        "Nothing was sent. Pass on_redis_error='local' to RedisRateLimiter to fall back "
        "to the in-process limiter while Redis is down."
    )


def _release_failed(error: BaseException) -> None:
    logger.warning(
        "Redis rate limiter: could not release a slot (%s: %s); it frees itself when its "
        "lease ends",
        type(error).__name__,
        error,
    )


def _pause_failed(error: BaseException) -> None:
    logger.warning(
        "Redis rate limiter: could not share a pause (%s: %s)", type(error).__name__, error
    )


class RedisStore:
    """One key's budget through a blocking ``redis.Redis`` client."""

    __slots__ = ("_budget", "_errors", "_scripts")

    def __init__(self, scripts: Scripts, budget: RedisBudget, errors: Errors) -> None:
        self._scripts = scripts
        self._budget = budget
        self._errors = errors

    def acquire(self, token: str) -> tuple[bool, float]:
        call = self._budget.acquire_call(token)
        try:
            reply = self._scripts.acquire(keys=call.keys, args=call.args)
        except self._errors as exc:
            raise unavailable(exc) from exc
        return read_acquire_reply(reply)

    def release(self, token: str, sent: bool) -> None:
        call = self._budget.release_call(token, sent)
        try:
            self._scripts.release(keys=call.keys, args=call.args)
        except self._errors as exc:
            _release_failed(exc)

    def pause(self, seconds: float) -> None:
        call = self._budget.pause_call(seconds)
        try:
            self._scripts.pause(keys=call.keys, args=call.args)
        except self._errors as exc:
            _pause_failed(exc)

    def pending(self) -> bool:
        return False  # every call is done when it returns


class Background:
    """One worker thread that runs blocking Redis updates unawaited, in order (one per
    ``RedisRateLimiter``; a new one after a fork: the parent's thread is not in the child)."""

    __slots__ = ("_executor", "_lock", "_pid")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pid = 0

    def submit(self, fn: Callable[[], object]) -> None:
        with self._lock:
            if self._executor is None or self._pid != os.getpid():
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="nanobanana-redis")
                self._pid = os.getpid()
            executor = self._executor
        executor.submit(fn).add_done_callback(_log_failure)

    def close(self) -> None:
        """Finish the updates already submitted."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


def _log_failure(future: Future[object]) -> None:
    exc = future.exception()
    if exc is not None:
        logger.warning(
            "Redis rate limiter: a background update failed (%s: %s); the slot frees "
            "itself when its lease ends",
            type(exc).__name__,
            exc,
        )


class ThreadedStore:
    """A ``RedisStore`` for the async limiter: ``acquire`` in a worker thread, updates on
    the background thread."""

    __slots__ = ("_background", "_pending", "_pending_lock", "_store")

    def __init__(self, store: RedisStore, background: Background) -> None:
        self._store = store
        self._background = background
        self._pending = 0  # updates submitted and not yet in Redis
        self._pending_lock = threading.Lock()

    async def acquire(self, token: str) -> tuple[bool, float]:
        return await anyio.to_thread.run_sync(self._store.acquire, token)

    def release(self, token: str, sent: bool) -> None:
        self._later(lambda: self._store.release(token, sent))

    def pause(self, seconds: float) -> None:
        self._later(lambda: self._store.pause(seconds))

    def pending(self) -> bool:
        return self._pending > 0

    def _later(self, update: Callable[[], None]) -> None:
        with self._pending_lock:
            self._pending += 1

        def run() -> None:
            try:
                update()
            finally:
                with self._pending_lock:
                    self._pending -= 1

        self._background.submit(run)


class AsyncioStore:
    """One key's budget through a ``redis.asyncio`` client (``AsyncClient`` on asyncio)."""

    __slots__ = ("_budget", "_errors", "_scripts", "_tasks")

    def __init__(self, scripts: Scripts, budget: RedisBudget, errors: Errors) -> None:
        self._scripts = scripts
        self._budget = budget
        self._errors = errors
        self._tasks: set[asyncio.Task[None]] = set()

    async def acquire(self, token: str) -> tuple[bool, float]:
        call = self._budget.acquire_call(token)
        try:
            reply = await self._scripts.acquire(keys=call.keys, args=call.args)
        except self._errors as exc:
            raise unavailable(exc) from exc
        return read_acquire_reply(reply)

    def release(self, token: str, sent: bool) -> None:
        call = self._budget.release_call(token, sent)
        self._spawn(lambda: self._scripts.release(keys=call.keys, args=call.args), _release_failed)

    def pause(self, seconds: float) -> None:
        call = self._budget.pause_call(seconds)
        self._spawn(lambda: self._scripts.pause(keys=call.keys, args=call.args), _pause_failed)

    def pending(self) -> bool:
        return bool(self._tasks)

    def _spawn(
        self, update: Callable[[], Awaitable[object]], failed: Callable[[BaseException], None]
    ) -> None:
        """Run ``update`` as a task of the running loop, unawaited."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            logger.warning(
                "Redis rate limiter: no running asyncio loop to update Redis from; the slot "
                "frees itself when its lease ends"
            )
            return

        async def run() -> None:
            try:
                await update()
            except Exception as exc:
                failed(exc)

        task = loop.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
