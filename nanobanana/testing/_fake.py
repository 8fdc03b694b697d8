"""FakeNanoBanana: the simulated service, its clients, its records and its faults."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Generator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import httpx

from nanobanana._clock import Clock

from . import _auth
from ._faults import FaultHandle
from ._lifecycle import Distribution
from ._manual import ManualClock
from ._records import Account, Charge, KeyState, RequestRecord, SubscriptionPlan, TaskInfo
from ._service import ClockLike, Service
from ._state import StateFile
from ._transport import FakeTransport

if TYPE_CHECKING:
    from nanobanana._async._client import AsyncClient
    from nanobanana._sync._client import Client

__all__ = ["FakeNanoBanana"]

DEFAULT_BASE_URL = "https://api.nanobanana.test/api/v1"
DEFAULT_ASSET_BASE = "https://assets.nanobanana.test"


class FakeNanoBanana:
    """A faithful, in-memory simulator of the Nano Banana API.

    ``time_scale`` is API seconds per real second (``600``: a ten-minute video takes a
    second); ``clock`` replaces the clock altogether (an object with ``now()``,
    ``to_real()``, ``asleep()`` and ``sleep()``). ``rate_limit=(N, W)`` admits at most N
    API requests per key in any W seconds of API time (None: no limit). ``seed`` makes
    durations, failures, ids and probabilistic faults reproducible. ``request_log=N`` keeps
    only the last N records in ``requests``. ``state=PATH`` keeps every task in a file, so
    a later simulator given the same file (another process) knows them (see ``_state``).
    """

    def __init__(
        self,
        *,
        rate_limit: tuple[int, float] | None = (60, 60.0),
        time_scale: float = 1.0,
        seed: int | None = None,
        clock: ClockLike | None = None,
        credits: int = 1000,
        subscription: str | None = "pro",
        is_vip: bool = False,
        durations: Mapping[str, Distribution] | None = None,
        failure_rate: float | Mapping[str, float] = 0.0,
        content_filter: Sequence[str] = (),
        result_ttl: float | None = 3600.0,
        start: datetime | None = None,
        base_url: str = DEFAULT_BASE_URL,
        asset_base: str = DEFAULT_ASSET_BASE,
        request_log: int | None = None,
        state: str | os.PathLike[str] | None = None,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.clock: ClockLike = clock if clock is not None else Clock(scale=time_scale)
        state_file = StateFile(state) if state is not None else None
        if state_file is not None:
            latest = state_file.latest()
            if latest is not None:
                start = max(start or datetime.now(timezone.utc), latest)
        self._service = Service(
            clock=self.clock,
            rate_limit=rate_limit,
            seed=seed,
            durations=durations,
            failure_rate=failure_rate,
            content_filter=content_filter,
            result_ttl=result_ttl,
            start=start,
            request_log=request_log,
        )
        self.base_url: str = base_url.rstrip("/")
        self.asset_base: str = asset_base.rstrip("/")
        self.transport: FakeTransport = FakeTransport(
            self._service,
            self.clock,
            api_base=httpx.URL(self.base_url + "/"),
            asset_base=self.asset_base,
        )
        self._default_credits = credits
        self.api_key: str = self.add_key(credits=credits, subscription=subscription, is_vip=is_vip)
        if state_file is not None:
            self._attach(state_file)

    def _attach(self, state: StateFile) -> None:
        """Load the tasks of ``state`` (as the main key's) and record every new one there."""
        service = self._service
        epoch, t0 = service.epoch, service.t0
        account = self.account()
        for task in state.tasks(
            _auth.key_hash(self.api_key), lambda wall: t0 + (wall - epoch).total_seconds()
        ):
            if task.task_id not in service.tasks:
                service.tasks[task.task_id] = task
                account.credits = max(0, account.credits - task.credits)
        service.lifecycle.on_task = lambda task: state.append(task, service.wall(task.created))
        service.lifecycle.on_seen_ended = lambda now: state.seen(service.wall(now))

    # -- clients -----------------------------------------------------------------------

    def _client_kwargs(self, kw: dict[str, Any]) -> dict[str, Any]:
        if isinstance(self.clock, ManualClock):
            # The client's limiter waits for API time to pass; a manual clock only moves
            # when told, so a client-side budget could wait forever. The server's own
            # window still applies.
            kw.setdefault("rate_limit", None)
        return {
            "api_key": self.api_key,
            "base_url": self.base_url,
            "_clock": self.clock,
            "_transport": self.transport,
            **kw,
        }

    def async_client(self, **kw: Any) -> AsyncClient:
        """An ``nb.AsyncClient`` wired to this simulator in-process; ``kw`` override."""
        from nanobanana._async._client import AsyncClient

        return AsyncClient(**self._client_kwargs(kw))

    def client(self, **kw: Any) -> Client:
        """An ``nb.Client`` wired to this simulator in-process; ``kw`` override."""
        from nanobanana._sync._client import Client

        return Client(**self._client_kwargs(kw))

    def http_client(self, **kw: Any) -> httpx.Client:
        """A plain ``httpx.Client`` through the in-process transport (for downloads)."""
        return httpx.Client(transport=self.transport, **kw)

    def async_http_client(self, **kw: Any) -> httpx.AsyncClient:
        """A plain ``httpx.AsyncClient`` through the in-process transport."""
        return httpx.AsyncClient(transport=self.transport, **kw)

    # -- keys and accounts ---------------------------------------------------------------

    def add_key(
        self,
        *,
        credits: int | None = None,
        total_credits: int | None = None,
        subscription: str | SubscriptionPlan | None = "pro",
        subscription_end: datetime | None = None,
        is_vip: bool = False,
        state: KeyState = "valid",
        rate_limit: tuple[int, float] | None = None,
    ) -> str:
        """A new key with its own account; returns the key.

        ``state``: ``"valid"``, ``"disabled"`` / ``"expired"`` (403 on every route),
        ``"missing_scope"`` (403 on the two generate routes). ``subscription``: a plan
        name, a ``SubscriptionPlan``, or None for no plan (subscription-only models get
        403). ``rate_limit`` overrides the fake's window for this key.
        """
        if credits is None:
            credits = self._default_credits
        if isinstance(subscription, str):
            end = subscription_end or (self._service.epoch + timedelta(days=365))
            plan: SubscriptionPlan | None = SubscriptionPlan(subscription, end)
        else:
            plan = subscription
        key = self._service.new_key()
        self._service.add_account(
            key,
            Account(
                credits=credits,
                total_credits=credits if total_credits is None else total_credits,
                subscription=plan,
                is_vip=is_vip,
                state=state,
                rate_limit=rate_limit,
            ),
        )
        return key

    def account(self, key: str | None = None) -> Account:
        """The (mutable) account of ``key`` (default: ``api_key``)."""
        account = self._service.account(key or self.api_key)
        if account is None:
            raise KeyError("no such key in this simulator")
        return account

    def set_key_state(self, key: str, state: KeyState) -> None:
        """Disable, expire or restrict a key (or make it valid again)."""
        with self._service.lock:
            self.account(key).state = state

    # -- what happened -------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request seen so far (API and asset host), in arrival order. A copy.

        With ``request_log=N``, only the last N."""
        with self._service.lock:
            return list(self._service.requests)

    @property
    def api_requests(self) -> list[RequestRecord]:
        """Requests to the API only (no downloads)."""
        return [r for r in self.requests if r.route is not None]

    @property
    def api_request_count(self) -> int:
        """How many API requests arrived (every one, even past a bounded ``request_log``)."""
        with self._service.lock:
            return self._service.api_request_count

    @property
    def charges(self) -> list[Charge]:
        """Every credit charge, in order. A copy."""
        return self._service.charges()

    @property
    def tasks(self) -> dict[str, TaskInfo]:
        """Every task, by id. A copy."""
        with self._service.lock:
            return dict(self._service.tasks)

    def double_charges(self, window: float = 60.0) -> list[Charge]:
        """Charges repeating an earlier one (same key, same request body) within ``window``
        API seconds: the ledger's view of a double submission."""
        return self._service.double_charges(window)

    def now(self) -> float:
        """The current simulated time (API seconds of ``clock``)."""
        return self.clock.now()

    def advance(self, seconds: float) -> float:
        """Move a ``ManualClock`` forward by ``seconds``; returns the new time.

        TypeError with any other clock: real (scaled) time cannot be pushed.
        """
        if not isinstance(self.clock, ManualClock):
            raise TypeError("fake.advance() needs FakeNanoBanana(clock=ManualClock())")
        return self.clock.advance(seconds)

    def wall(self, t: float | None = None) -> datetime:
        """The UTC date-time the simulator reports for simulated instant ``t`` (default now)."""
        return self._service.wall(self.clock.now() if t is None else t)

    def status(self, task_id: str) -> dict[str, Any]:
        """A task's status as the API would report it now (no request recorded)."""
        with self._service.lock:
            task = self._service.tasks[task_id]
        return self._service.status_data(task, self.clock.now(), self.asset_base)

    def asset_urls(self, task_id: str) -> list[str]:
        """The result URLs of a task (as its final status will list them)."""
        with self._service.lock:
            return self._service.asset_urls(self._service.tasks[task_id], self.asset_base)

    def reset(self) -> None:
        """Forget requests, charges, tasks, rate-limit windows and faults (keys stay)."""
        self._service.reset()

    # -- settings that tests may change on the fly ---------------------------------------

    @property
    def failure_rate(self) -> float | Mapping[str, float]:
        return self._service.lifecycle.failure_rate

    @failure_rate.setter
    def failure_rate(self, value: float | Mapping[str, float]) -> None:
        with self._service.lock:
            self._service.lifecycle.failure_rate = value

    @property
    def content_filter(self) -> tuple[str, ...]:
        return self._service.lifecycle.content_filter

    @content_filter.setter
    def content_filter(self, terms: Sequence[str]) -> None:
        with self._service.lock:
            self._service.lifecycle.content_filter = tuple(terms)

    @property
    def result_ttl(self) -> float | None:
        return self._service.result_ttl

    @result_ttl.setter
    def result_ttl(self, value: float | None) -> None:
        self._service.result_ttl = value

    @property
    def rate_limit(self) -> tuple[int, float] | None:
        return self._service.rate_limit

    @rate_limit.setter
    def rate_limit(self, value: tuple[int, float] | None) -> None:
        self._service.rate_limit = value

    @property
    def durations(self) -> dict[str, Distribution]:
        """Duration distributions by model id, or ``"image"`` / ``"video"``; mutable."""
        return self._service.lifecycle.durations

    @property
    def asset_host(self) -> str:
        """The host name result URLs point to (in-process)."""
        return httpx.URL(self.asset_base).host

    # -- faults --------------------------------------------------------------------------

    def inject(
        self,
        kind: str,
        *,
        route: str | None = None,
        times: int | None = None,
        probability: float | None = None,
        **params: float | bool | None,
    ) -> FaultHandle:
        """Inject a fault (see ``Fault``); returns a handle with ``remove()``."""
        handle = FaultHandle(self, kind, route, times, probability, params)
        self._service.faults.add(handle)
        return handle

    def _remove_fault(self, handle: FaultHandle) -> None:
        self._service.faults.remove(handle)

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._service.faults.clear()

    # -- over a socket -------------------------------------------------------------------

    @contextlib.contextmanager
    def serve(self) -> Generator[str, None, None]:
        """Serve this simulator through uvicorn on a free loopback port; yields the API
        base URL (``http://127.0.0.1:PORT/api/v1``). Results are on ``http://localhost:PORT``."""
        from ._server import serve

        with serve(self._service, self.clock) as url:
            yield url

    def __repr__(self) -> str:
        return f"<FakeNanoBanana base_url={self.base_url!r} tasks={len(self._service.tasks)}>"
