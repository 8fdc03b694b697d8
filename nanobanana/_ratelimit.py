"""The per-key budget shared by every client of a key in the process, and ``resolve``.

``SharedBudget`` wraps the pure ``SlidingWindow`` with a threading lock and the waiters'
wake-ups, so one budget serves asyncio tasks, Trio tasks and threads at once. The
limiters in ``_async/_limiter.py`` (and its generated sync twin) only wait.

Budgets live in a registry keyed by the key's fingerprint (a hash, never the key), the
limit and the clock, holding them weakly: a budget lives as long as a client uses it.
"""

from __future__ import annotations

import inspect
import math
import threading
import weakref
from typing import Any, Literal, Protocol

from ._config import key_fingerprint
from ._exceptions import InvalidParameterError
from ._policy import RateLimit
from ._window import SlidingWindow

__all__ = ["SharedBudget", "resolve", "shared_budget"]


class _Clock(Protocol):
    def now(self) -> float: ...

    def to_real(self, seconds: float) -> float: ...

    async def asleep(self, seconds: float) -> None: ...

    def sleep(self, seconds: float) -> None: ...


class _Wakeable(Protocol):
    def wake(self) -> None: ...


class SharedBudget:
    """One key's budget: a SlidingWindow behind a lock, plus who to wake when it changes.

    Only the head of the FIFO queue may take a slot, so only the head is woken: when a
    slot is released, when the previous head got its slot, or when it was cancelled.
    """

    __slots__ = ("__weakref__", "_lock", "_wakers", "_window", "clock", "key_id", "limit")

    def __init__(self, limit: RateLimit, clock: _Clock, key_id: str = "") -> None:
        self.limit = limit
        self.clock = clock
        self.key_id = key_id
        self._window = SlidingWindow(limit.requests, limit.per)
        self._lock = threading.Lock()
        self._wakers: dict[int, _Wakeable] = {}

    limit: RateLimit
    clock: _Clock
    key_id: str

    def __repr__(self) -> str:
        return (
            f"<SharedBudget key={self.key_id} {self.limit.requests}/{self.limit.per:g}s "
            f"in_flight={self._window.in_flight} waiting={self._window.waiting}>"
        )

    @property
    def poll_cap(self) -> float:
        """Real seconds a waiter sleeps at most before looking again: a safety net only
        (every change that matters wakes the head, from any thread), so a lost wake-up
        would cost at most this."""
        return min(self.clock.to_real(self.limit.per), 1.0)

    def enqueue(self) -> int:
        with self._lock:
            return self._window.enqueue()

    def poll(self, ticket: int, waker: _Wakeable) -> float | None:
        """Take a slot for ``ticket`` now (None), or register ``waker`` and return the API
        time to look again (inf: until woken)."""
        with self._lock:
            result = self._window.try_acquire(ticket, self.clock.now())
            if result is not None:
                self._wakers[ticket] = waker
                return result
            self._wakers.pop(ticket, None)
            nxt = self._head_waker()
        if nxt is not None:
            nxt.wake()
        return None

    def cancel(self, ticket: int) -> None:
        """The waiter of ``ticket`` gave up: it takes no slot and blocks nobody."""
        with self._lock:
            self._wakers.pop(ticket, None)
            was_head = self._window.cancel(ticket)
            nxt = self._head_waker() if was_head else None
        if nxt is not None:
            nxt.wake()

    def release(self, *, sent: bool) -> None:
        with self._lock:
            self._window.release(self.clock.now(), sent=sent)
            nxt = self._head_waker()
        if nxt is not None:
            nxt.wake()

    def pause(self, seconds: float) -> None:
        """Hold every waiter for ``seconds`` of API time (after a 429)."""
        if not seconds > 0 or math.isinf(seconds):
            return
        with self._lock:
            self._window.pause_until(self.clock.now() + seconds)

    def _head_waker(self) -> _Wakeable | None:
        head = self._window.head()
        return None if head is None else self._wakers.get(head)

    # introspection for tests and debugging
    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._window.in_flight

    @property
    def waiting(self) -> int:
        with self._lock:
            return self._window.waiting


class BudgetPermit:
    """One request's slot. ``release`` is idempotent: only the first call counts."""

    __slots__ = ("_budget", "_done")

    def __init__(self, budget: SharedBudget) -> None:
        self._budget = budget
        self._done = False

    def release(self, *, sent: bool = True) -> None:
        if self._done:
            return
        self._done = True
        self._budget.release(sent=sent)


_BUDGETS: weakref.WeakValueDictionary[tuple[Any, ...], SharedBudget] = weakref.WeakValueDictionary()
_BUDGETS_LOCK = threading.Lock()


def shared_budget(limit: RateLimit, api_key: str, clock: _Clock) -> SharedBudget:
    """The process-wide budget of ``api_key`` for ``limit`` and ``clock``."""
    key_id = key_fingerprint(api_key)
    try:
        hash(clock)
        clock_key: Any = clock
    except TypeError:
        clock_key = id(clock)
    registry_key = (key_id, limit.requests, float(limit.per), clock_key)
    with _BUDGETS_LOCK:
        budget = _BUDGETS.get(registry_key)
        if budget is None:
            budget = SharedBudget(limit, clock, key_id)
            _BUDGETS[registry_key] = budget
        return budget


def resolve(rate_limit: Any, api_key: str, *, kind: Literal["async", "sync"], clock: Any) -> Any:
    """The limiter a client of ``kind`` uses: a RateLimit gives the key's shared budget;
    an object with ``bind(api_key, kind)`` (a limiter factory such as
    ``RedisRateLimiter``) gives what it binds; an object with ``acquire`` is used as it is."""
    if isinstance(rate_limit, RateLimit):
        budget = shared_budget(rate_limit, api_key, clock)
        if kind == "async":
            from ._async._limiter import AsyncRateLimiter

            return AsyncRateLimiter(budget)
        from ._sync._limiter import RateLimiter

        return RateLimiter(budget)
    bind = getattr(rate_limit, "bind", None)
    if callable(bind) and not hasattr(rate_limit, "acquire"):
        # a limiter factory (nanobanana.limiters.RedisRateLimiter): one limiter per key/kind
        return bind(api_key, kind)
    acquire = getattr(rate_limit, "acquire", None)
    if callable(acquire):
        is_async = inspect.iscoroutinefunction(acquire)
        if is_async != (kind == "async"):
            want = "an async acquire()" if kind == "async" else "a blocking acquire()"
            raise InvalidParameterError(
                "rate_limit",
                type(rate_limit).__name__,
                reason=f"rate_limit={type(rate_limit).__name__}: this client needs a limiter with {want}",
            )
        return rate_limit
    raise InvalidParameterError(
        "rate_limit",
        rate_limit,
        "an nb.RateLimit, a limiter object with acquire(), or None",
    )
