"""The pure core of ``RedisRateLimiter``: one API key's budget as this process sees it.

What the async and the blocking limiter of a key share, with no I/O: the Redis keys and
the arguments of each script (``_scripts``), the reading of their replies, and two local
facts: a pause seen here before Redis has it, and whether Redis is down (with
``on_redis_error="local"``, the in-process limiter stands in meanwhile). Local times are
the injected clock's; the budget's own times are Redis's, and the two never meet.
"""

from __future__ import annotations

import math
import secrets
import threading
from typing import Any

import attrs

from nanobanana._clock import SYSTEM_CLOCK, Clock
from nanobanana._log import logger

from ._scripts import key_names, to_ms

__all__ = [
    "PENDING_LOOK",
    "REDIS_RETRY_AFTER",
    "RedisBudget",
    "ScriptCall",
    "Settings",
    "new_token",
    "read_acquire_reply",
]

REDIS_RETRY_AFTER = 10.0
"""With ``on_redis_error="local"``: seconds on the local limiter before Redis is tried again."""

PENDING_LOOK = 0.002
"""Seconds between looks while one of our own releases is still on its way to Redis."""

TTL_EXTRA_MS = 100
"""A key outlives the longest hold or lease it carries by this much."""


@attrs.frozen
class Settings:
    """A ``RedisRateLimiter``'s settings, already checked (by ``_redis``)."""

    requests: int
    per: float
    margin: float
    lease: float
    namespace: str

    @property
    def hold(self) -> float:
        """Seconds a slot stays taken after its request's answer: ``per + margin``."""
        return self.per + self.margin

    @property
    def poll_cap(self) -> float:
        """The longest a waiter sleeps before asking Redis again (a slot freed elsewhere
        without a window, e.g. by a request that was never sent, is seen within this)."""
        return min(5.0, max(0.05, self.per / 10))


@attrs.frozen
class ScriptCall:
    """The ``keys`` and ``args`` of one script run."""

    keys: tuple[str, ...]
    args: tuple[Any, ...]


def new_token() -> str:
    """A random name for one request's slot."""
    return secrets.token_hex(8)


def read_acquire_reply(reply: Any) -> tuple[bool, float]:
    """ACQUIRE's ``{granted, ms}`` as (granted, seconds to wait before asking again)."""
    granted, wait_ms = reply
    return bool(int(granted)), int(wait_ms) / 1000


class RedisBudget:
    """One API key's budget: its Redis keys, its script calls, its local pause and outage."""

    __slots__ = (
        "_down_until",
        "_hold_ms",
        "_lease_ms",
        "_lock",
        "_pause_key",
        "_paused_until",
        "_slots",
        "_ttl_ms",
        "clock",
        "fingerprint",
        "settings",
    )

    def __init__(self, settings: Settings, fingerprint: str, clock: Clock = SYSTEM_CLOCK) -> None:
        self.settings = settings
        self.fingerprint = fingerprint
        self.clock = clock
        self._slots, self._pause_key = key_names(settings.namespace, fingerprint)
        self._hold_ms = to_ms(settings.hold)
        self._lease_ms = to_ms(settings.lease)
        self._ttl_ms = max(self._hold_ms, self._lease_ms) + TTL_EXTRA_MS
        self._lock = threading.Lock()
        self._paused_until = -math.inf  # a pause seen here, before Redis has it
        self._down_until = -math.inf

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"

    def describe(self) -> str:
        """The key's fingerprint (never the key) and the settings, for a repr."""
        s = self.settings
        return f"key={self.fingerprint} requests={s.requests} per={s.per} namespace={s.namespace!r}"

    @property
    def poll_cap(self) -> float:
        return self.settings.poll_cap

    # -- the arguments of each script (see _scripts) -------------------------------------

    def acquire_call(self, token: str) -> ScriptCall:
        return ScriptCall(
            (self._slots, self._pause_key),
            (self.settings.requests, self._lease_ms, token, self._ttl_ms),
        )

    def release_call(self, token: str, sent: bool) -> ScriptCall:
        return ScriptCall(
            (self._slots,), (token, self._hold_ms, self._ttl_ms, "1" if sent else "0")
        )

    def pause_call(self, seconds: float) -> ScriptCall:
        return ScriptCall((self._pause_key,), (to_ms(seconds),))

    # -- the decisions -------------------------------------------------------------------

    def note_pause(self, seconds: float) -> bool:
        """Hold this process's waiters for ``seconds`` from now. False, and nothing to do,
        unless ``seconds`` is positive and finite."""
        if not (seconds > 0 and math.isfinite(seconds)):
            return False
        with self._lock:
            self._paused_until = max(self._paused_until, self.clock.now() + seconds)
        return True

    def pause_left(self) -> float:
        """Seconds of the local pause still to wait (<= 0: none)."""
        return self._paused_until - self.clock.now()

    def next_look(self, wait: float, pending: bool) -> float:
        """How long to sleep before asking Redis again. When a release of ours was still
        on its way to Redis as we asked, look again soon: it may free the slot we need."""
        return min(wait, PENDING_LOOK if pending else self.settings.poll_cap)

    def redis_down(self) -> bool:
        """True while Redis is taken to be down (after ``went_down``)."""
        return self.clock.now() < self._down_until

    def went_down(self, error: BaseException) -> None:
        """Redis failed (``error``): the local limiter stands in for ``REDIS_RETRY_AFTER``
        seconds. Logged once per outage, not per request."""
        cause = error.__cause__ or error
        now = self.clock.now()
        with self._lock:
            first = now >= self._down_until
            self._down_until = now + REDIS_RETRY_AFTER
        if first:
            logger.warning(
                "Redis rate limiter unavailable (%s: %s): using the in-process limiter "
                "(this process's share only) for %.0f s",
                type(cause).__name__,
                cause,
                REDIS_RETRY_AFTER,
            )
