"""Fault injection: rules that shape answers (per route, scripted or by probability)."""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._tables import ENDPOINTS
from ._wire import JSON, Outcome, Reply, error

if TYPE_CHECKING:
    from ._fake import FakeNanoBanana

__all__ = ["ROUTES", "Fault", "FaultHandle", "FaultSet", "fault_outcome"]

ROUTES = tuple(ENDPOINTS)
ASSETS_ROUTE = "assets"
"""``route="assets"`` targets downloads from the asset host (``None`` targets every API route)."""


class Fault:
    """The fault kinds ``FakeNanoBanana.inject`` takes (plain strings)."""

    LATENCY = "latency"
    CONNECTION_REFUSED = "connection_refused"
    RESET_BEFORE = "reset_before"
    RESET_AFTER = "reset_after"
    READ_TIMEOUT = "read_timeout"
    HTTP_500 = "http_500"
    HTTP_502_HTML = "http_502_html"
    HTTP_503 = "http_503"
    HTTP_429 = "http_429"
    MALFORMED_JSON = "malformed_json"

    ALL = (
        LATENCY,
        CONNECTION_REFUSED,
        RESET_BEFORE,
        RESET_AFTER,
        READ_TIMEOUT,
        HTTP_500,
        HTTP_502_HTML,
        HTTP_503,
        HTTP_429,
        MALFORMED_JSON,
    )


# kind -> (processed by default, may a test override processed?, allowed params)
_SPEC: Mapping[str, tuple[bool, bool, frozenset[str]]] = {
    Fault.LATENCY: (True, False, frozenset({"seconds"})),
    Fault.CONNECTION_REFUSED: (False, False, frozenset()),
    Fault.RESET_BEFORE: (False, False, frozenset()),
    Fault.RESET_AFTER: (True, True, frozenset({"processed"})),
    Fault.READ_TIMEOUT: (True, True, frozenset({"processed"})),
    Fault.HTTP_500: (True, True, frozenset({"processed"})),
    Fault.HTTP_502_HTML: (False, True, frozenset({"processed"})),
    Fault.HTTP_503: (False, True, frozenset({"processed", "retry_after"})),
    Fault.HTTP_429: (False, True, frozenset({"processed", "retry_after"})),
    Fault.MALFORMED_JSON: (True, True, frozenset({"processed"})),
}


class FaultHandle:
    """One injected fault. ``remove()`` takes it out; ``fired`` counts the times it acted.

    Made by ``FakeNanoBanana.inject``, which documents the arguments.

    Args:
        owner: The simulator it is injected into.
        kind: The fault kind (a ``Fault`` constant).
        route: The route it applies to; None: every API route.
        times: How many requests it acts on; None: every one.
        probability: The chance it acts on a matching request; None: always.
        params: The kind's parameters (``seconds``, ``processed``, ``retry_after``).

    Raises:
        ValueError: An unknown kind or route, a negative ``times``, or a
            ``probability`` outside [0, 1].
        TypeError: A parameter the kind does not take, or ``latency`` without
            ``seconds``.
    """

    def __init__(
        self,
        owner: FakeNanoBanana,
        kind: str,
        route: str | None,
        times: int | None,
        probability: float | None,
        params: Mapping[str, Any],
    ) -> None:
        if kind not in _SPEC:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(Fault.ALL)}")
        if route is not None and route not in ROUTES and route != ASSETS_ROUTE:
            raise ValueError(f"unknown route {route!r}; one of {', '.join(ROUTES)}, 'assets'")
        default_processed, overridable, allowed = _SPEC[kind]
        extra = set(params) - allowed
        if extra:
            raise TypeError(f"fault {kind!r} takes no parameter(s) {', '.join(sorted(extra))}")
        if "processed" in params and not overridable:
            raise TypeError(f"fault {kind!r} does not take processed=")
        if kind == Fault.LATENCY and "seconds" not in params:
            raise TypeError("fault 'latency' needs seconds=...")
        if times is not None and times < 0:
            raise ValueError("times must be >= 0")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        self._owner = owner
        self.kind: str = kind
        self.route: str | None = route
        self.probability: float | None = probability
        self.remaining: int | None = times
        self.processed: bool = bool(params.get("processed", default_processed))
        self.seconds: float = float(params.get("seconds", 0.0))
        retry_after = params.get("retry_after", 1.0 if kind == Fault.HTTP_503 else None)
        self.retry_after: float | None = None if retry_after is None else float(retry_after)
        self.fired: int = 0
        self.active: bool = True

    def matches(self, route: str | None) -> bool:
        """Whether this fault applies to a request (before its probability is drawn).

        Args:
            route: The request's route, e.g. ``"images/generate"``; None for a download.

        Returns:
            True when the fault is active, has requests left, and targets the route.
        """
        if not self.active or self.remaining == 0:
            return False
        if self.route is None:
            return route is not None  # every API route, not downloads
        if self.route == ASSETS_ROUTE:
            return route is None
        return self.route == route

    def fire(self, rng: random.Random) -> bool:
        """Whether this rule acts on the current (matching) request; counts it if so.

        Args:
            rng: The simulator's random source (seeded by ``seed``), for ``probability``.

        Returns:
            True when it acts (``fired`` counted, ``times`` used up by one).
        """
        if self.probability is not None and rng.random() >= self.probability:
            return False
        if self.remaining is not None:
            self.remaining -= 1
        self.fired += 1
        return True

    def remove(self) -> None:
        """Take this fault out; requests from now on are not affected by it."""
        self.active = False
        self._owner._remove_fault(self)

    def __repr__(self) -> str:
        return (
            f"<FaultHandle {self.kind} route={self.route!r} remaining={self.remaining} "
            f"probability={self.probability} fired={self.fired}>"
        )


class FaultSet:
    """The active rules, in injection order."""

    def __init__(self, seed: int | None) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultHandle] = []
        self._rng = random.Random(seed)

    def add(self, handle: FaultHandle) -> None:
        """Make a fault active, after the others."""
        with self._lock:
            self._rules.append(handle)

    def remove(self, handle: FaultHandle) -> None:
        """Take a fault out (nothing when it is gone already)."""
        with self._lock:
            if handle in self._rules:
                self._rules.remove(handle)

    def clear(self) -> None:
        """Take every fault out."""
        with self._lock:
            for rule in self._rules:
                rule.active = False
            self._rules.clear()

    def pick(self, route: str | None) -> tuple[float, FaultHandle | None]:
        """(extra latency in API seconds, the one non-latency fault acting) for a request.

        Every firing latency rule adds its delay; the first firing other rule wins.
        """
        latency = 0.0
        chosen: FaultHandle | None = None
        with self._lock:
            for rule in list(self._rules):
                if not rule.matches(route):
                    continue
                if rule.kind == Fault.LATENCY:
                    if rule.fire(self._rng):
                        latency += rule.seconds
                elif chosen is None and rule.fire(self._rng):
                    chosen = rule
            self._rules = [r for r in self._rules if r.remaining != 0]
        return latency, chosen


# -- what an acting fault answers ---------------------------------------------------------

_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


def _seconds_header(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _retry_after(fault: FaultHandle) -> tuple[tuple[str, str], ...]:
    if fault.retry_after is None:
        return ()
    return (("retry-after", _seconds_header(fault.retry_after)),)


def fault_outcome(fault: FaultHandle, reply: Reply | None, latency: float) -> Outcome:
    """The answer an acting fault gives; ``reply`` is the real one when it was processed."""
    kind = fault.kind
    if kind == Fault.RESET_AFTER:
        return Outcome("reset_after", None, latency)
    if kind == Fault.READ_TIMEOUT:
        return Outcome("hang", None, latency)
    if kind == Fault.HTTP_500:
        return Outcome(
            "respond",
            error(500, "INTERNAL_ERROR", "Server error, please retry (simulated)"),
            latency,
        )
    if kind == Fault.HTTP_502_HTML:
        return Outcome("respond", Reply(502, (("content-type", "text/html"),), _HTML_502), latency)
    if kind == Fault.HTTP_503:
        message = "Service temporarily unavailable (simulated)"
        return Outcome(
            "respond",
            error(503, "SERVICE_UNAVAILABLE", message, _retry_after(fault)),
            latency,
        )
    if kind == Fault.HTTP_429:
        message = "Too many requests per minute (simulated)"
        return Outcome(
            "respond",
            error(429, "RATE_LIMIT_EXCEEDED", message, _retry_after(fault)),
            latency,
        )
    # malformed JSON: a 200 whose body is cut short
    full = reply.body if reply is not None else b'{"success":true,"data":{"task_id":"clx'
    return Outcome(
        "respond", Reply(200, (("content-type", JSON),), full[: max(1, len(full) // 2)]), latency
    )
