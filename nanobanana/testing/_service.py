"""The simulator's core: its state, and the two entry points the front ends call.

``Service.handle_api`` and ``Service.handle_asset`` take a request already read off the
wire (method, host, route or path, query, headers, body) and return an ``Outcome``: what
to answer, after how much API time, or which connection failure to play. Front ends (the
in-process httpx transport and the ASGI app) only carry bytes. One ``threading.RLock``
guards the state, so sync clients, async clients and threads can share one simulator.

The concerns live beside this file: ``_routes`` (dispatch and handlers), ``_auth`` (keys),
``_window`` (the rate window), ``_ledger`` (credits), ``_lifecycle`` (tasks),
``_assets`` (result files), ``_tables``/``_validate`` (what a request may be),
``_pricing``, ``_faults``.
"""

from __future__ import annotations

import email.utils
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Protocol

import attrs

from . import _assets, _auth, _routes
from ._faults import Fault, FaultSet, fault_outcome
from ._ledger import Ledger, double_charges
from ._lifecycle import Distribution, Ids, Lifecycle, status_data
from ._records import Account, Charge, RequestRecord, TaskInfo
from ._window import SlidingWindow
from ._wire import API_PREFIX, BAD_JSON, Outcome, Reply, parse_body

__all__ = ["ClockLike", "Service"]


class ClockLike(Protocol):
    """What the simulator needs of a clock (``nanobanana._clock.Clock`` is one)."""

    def now(self) -> float:
        """The current time.

        Returns:
            API seconds (any epoch: only differences count).
        """
        ...

    def to_real(self, seconds: float) -> float:
        """How long that much API time takes in real time. A client's waits (which its
        close ends at once) wait this long; they sleep on the clock (``asleep``) when it
        is 0, as on a ``ManualClock``, whose time moves when slept on.

        Args:
            seconds: API seconds.

        Returns:
            Real seconds (``seconds / time_scale`` for a scaled clock).
        """
        ...

    async def asleep(self, seconds: float) -> None:
        """Wait that much API time, letting other tasks run.

        Args:
            seconds: API seconds.
        """
        ...

    def sleep(self, seconds: float) -> None:
        """Wait that much API time, blocking the thread.

        Args:
            seconds: API seconds.
        """
        ...


class Service:
    """State and entry points of the simulated API. Thread-safe; never does I/O."""

    def __init__(
        self,
        *,
        clock: ClockLike,
        rate_limit: tuple[int, float] | None,
        seed: int | None,
        durations: Mapping[str, Distribution] | None,
        failure_rate: float | Mapping[str, float],
        content_filter: Sequence[str],
        result_ttl: float | None,
        start: datetime | None,
        request_log: int | None = None,
    ) -> None:
        self.lock: threading.RLock = threading.RLock()
        self.clock: ClockLike = clock
        self.rate_limit: tuple[int, float] | None = rate_limit
        self.result_ttl: float | None = result_ttl
        self.t0: float = clock.now()
        self.epoch: datetime = start or datetime.now(timezone.utc).replace(microsecond=0)
        self.faults: FaultSet = FaultSet(seed)
        self.ids: Ids = Ids(seed)
        self.accounts: dict[str, Account] = {}
        self.window: SlidingWindow = SlidingWindow()
        self.ledger: Ledger = Ledger()
        self.lifecycle: Lifecycle = Lifecycle(
            self.ids,
            seed=seed,
            durations=durations,
            failure_rate=failure_rate,
            content_filter=content_filter,
        )
        # ``request_log=N`` keeps the last N records only: a long-running fake (a demo, a
        # benchmark of thousands of tasks) need not hold every request it ever saw.
        self.requests: deque[RequestRecord] = deque(maxlen=request_log)
        self.api_request_count: int = 0

    @property
    def tasks(self) -> dict[str, TaskInfo]:
        """Every task, by id (the lifecycle's own dict)."""
        return self.lifecycle.tasks

    # -- time --------------------------------------------------------------------------

    def wall(self, t: float) -> datetime:
        """The UTC date-time a simulated instant stands for."""
        return self.epoch + timedelta(seconds=t - self.t0)

    def iso(self, t: float) -> str:
        """A simulated instant as the API writes a date-time."""
        return self.iso_date(self.wall(t))

    def http_date(self, t: float) -> str:
        """A simulated instant as a ``Date`` header (whole seconds, rounded down, GMT): the
        API's answers carry one, as HTTP servers' do."""
        return email.utils.format_datetime(self.wall(t).astimezone(timezone.utc), usegmt=True)

    @staticmethod
    def iso_date(when: datetime) -> str:
        """A date-time as the API writes one (UTC, whole seconds, ``Z``)."""
        return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    # -- keys and history ------------------------------------------------------------------

    def new_key(self) -> str:
        """A new API key (no account yet)."""
        with self.lock:
            return self.ids.key()

    def add_account(self, key: str, account: Account) -> None:
        """Give ``key`` its account (kept by the key's hash)."""
        with self.lock:
            self.accounts[_auth.key_hash(key)] = account

    def account(self, key: str) -> Account | None:
        """The account of ``key``; None for a key it never made."""
        with self.lock:
            return self.accounts.get(_auth.key_hash(key))

    def reset(self) -> None:
        """Forget requests, charges, tasks, rate windows and faults (keys stay)."""
        with self.lock:
            self.window.clear()
            self.lifecycle.clear()
            self.requests.clear()
            self.api_request_count = 0
            self.ledger.clear()
        self.faults.clear()

    def charges(self) -> list[Charge]:
        """Every charge, in order (a copy)."""
        with self.lock:
            return list(self.ledger.charges)

    def double_charges(self, window: float) -> list[Charge]:
        """Charges repeating an earlier one within ``window`` API seconds."""
        return double_charges(self.charges(), window)

    def asset_urls(self, task: TaskInfo, asset_base: str) -> list[str]:
        """The result URLs of ``task`` under ``asset_base``."""
        return _assets.urls(task, asset_base, self.result_ttl, self.wall)

    def status_data(self, task: TaskInfo, now: float, asset_base: str) -> dict[str, object]:
        """A task's status data at ``now``, as the status route would answer it."""
        with self.lock:
            return status_data(
                task, now, urls=lambda t: self.asset_urls(t, asset_base), iso=self.iso
            )

    # -- the entry points ----------------------------------------------------------------

    def handle_api(
        self,
        method: str,
        host: str,
        route: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        *,
        asset_base: str,
    ) -> Outcome:
        """One API request (``route`` relative to ``/api/v1/``)."""
        now = self.clock.now()
        latency, fault = self.faults.pick(route)
        kind = fault.kind if fault is not None else None
        if kind in (Fault.CONNECTION_REFUSED, Fault.RESET_BEFORE):
            return Outcome(
                "connection_refused" if kind == Fault.CONNECTION_REFUSED else "reset_before",
                None,
                latency,
            )
        parsed = parse_body(body)
        key_hash = _auth.bearer_hash(headers)
        with self.lock:
            if fault is not None and not fault.processed:
                outcome = fault_outcome(fault, None, latency)
                processed = False
            else:
                reply = _routes.dispatch(
                    self, method, route, query, parsed, key_hash, now, asset_base
                )
                reply = attrs.evolve(reply, headers=(*reply.headers, ("date", self.http_date(now))))
                outcome = (
                    fault_outcome(fault, reply, latency)
                    if fault is not None
                    else Outcome("respond", reply, latency)
                )
                processed = True
            self.api_request_count += 1
            self.requests.append(
                RequestRecord(
                    method=method,
                    host=host,
                    path=API_PREFIX + route,
                    route=route,
                    query=dict(query),
                    body=parsed if parsed is not BAD_JSON else None,
                    time=now,
                    key_hash=key_hash,
                    headers=_auth.redacted(headers),
                    status=outcome.reply.status if outcome.reply is not None else None,
                    fault=kind,
                    processed=processed,
                )
            )
        return outcome

    def handle_asset(
        self,
        method: str,
        host: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> Outcome:
        """One download from the asset host."""
        now = self.clock.now()
        latency, fault = self.faults.pick(None)
        kind = fault.kind if fault is not None else None
        if kind in (Fault.CONNECTION_REFUSED, Fault.RESET_BEFORE):
            return Outcome(
                "connection_refused" if kind == Fault.CONNECTION_REFUSED else "reset_before",
                None,
                latency,
            )
        with self.lock:
            found = _assets.find(self.tasks, method, path, query, now, self.result_ttl)
        # Drawn outside the lock: a big file must not hold up the API.
        reply = found if isinstance(found, Reply) else _assets.file_reply(*found, method)
        outcome = (
            fault_outcome(fault, reply if fault.processed else None, latency)
            if fault is not None
            else Outcome("respond", reply, latency)
        )
        with self.lock:
            self.requests.append(
                RequestRecord(
                    method=method,
                    host=host,
                    path=path,
                    route=None,
                    query=dict(query),
                    body=None,
                    time=now,
                    key_hash=_auth.bearer_hash(headers),
                    headers=_auth.redacted(headers),
                    status=outcome.reply.status if outcome.reply is not None else None,
                    fault=kind,
                )
            )
        return outcome
