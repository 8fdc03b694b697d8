"""FakeNanoBanana: the simulated service, its clients, its records and its faults."""

from __future__ import annotations

import contextlib
import itertools
import os
import random
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

    Its clients (``async_client()``, ``client()``) reach it in-process, with no socket;
    ``serve()`` puts it on a loopback port for other programs. It keeps every request,
    charge and task for tests to look at.

    Args:
        rate_limit: ``(N, W)``: at most N API requests per key in any W seconds of API
            time; None: no limit.
        time_scale: API seconds per real second (``600``: a ten-minute video takes a
            second).
        seed: Makes durations, failures, ids, keys and probabilistic faults
            reproducible, and the poll and retry jitter of the clients it makes (each
            client made gets its own sequence, by the order they are made): on a
            virtual or manual clock, a run repeats request for request. None: ids never
            repeat across simulators.
        clock: Replaces the clock (and ``time_scale``): an object with ``now()``,
            ``to_real()``, ``asleep()`` and ``sleep()``, e.g. a ``ManualClock``.
        credits: The balance of ``api_key`` (and the default of ``add_key``).
        subscription: The plan of ``api_key``; None: no plan (subscription-only models
            answer 403).
        is_vip: The VIP flag of ``api_key``'s account.
        durations: Task durations by model id or kind (``"image"``, ``"video"``): a
            number, a ``(low, high)`` uniform range, or ``callable(random.Random)``.
            None: images 10-20 s, videos 60-300 s.
        failure_rate: The chance a task ends ``failed``: a float, or a mapping by model
            id or kind.
        content_filter: Terms (case-insensitive substrings of a prompt or negative
            prompt) answered with 451.
        result_ttl: API seconds a result URL stays valid after its task ends; None:
            forever.
        start: The date-time simulated time starts at (``completed_at``, plan end
            dates); None: now, or after the last task of ``state``.
        base_url: The API's in-process base URL.
        asset_base: The in-process base URL of result files.
        request_log: Keep only the last N records in ``requests``; None: every one.
        state: A file that keeps every task, so a later simulator given the same file
            (another process) knows them.

    Raises:
        ValueError: ``time_scale`` is not positive.
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
        self._seed = seed
        self._clients_made = itertools.count()
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
            # The client's limiter would sleep on the shared manual clock, each wait
            # moving every waiter's time ahead at once: a test's API time stays exact
            # without it. The server's own window still applies.
            kw.setdefault("rate_limit", None)
        if self._seed is not None:
            # A str seed is hashed the same in every process (unlike hash()).
            n = next(self._clients_made)
            kw.setdefault("_random", random.Random(f"nanobanana-client:{self._seed}:{n}"))
        return {
            "api_key": self.api_key,
            "base_url": self.base_url,
            "_clock": self.clock,
            "_transport": self.transport,
            **kw,
        }

    def async_client(self, **kw: Any) -> AsyncClient:
        """An ``nb.AsyncClient`` wired to this simulator in-process.

        With a ``ManualClock`` it defaults to ``rate_limit=None``: a client-side budget's
        waits would move the shared manual time ahead at once (the server's window still
        applies).

        Args:
            **kw: ``nb.AsyncClient`` arguments, over ``api_key``, ``base_url``, the
                clock and the transport filled in.

        Returns:
            The client (close it, or use it with ``async with``).
        """
        from nanobanana._async._client import AsyncClient

        return AsyncClient(**self._client_kwargs(kw))

    def client(self, **kw: Any) -> Client:
        """An ``nb.Client`` wired to this simulator in-process (see ``async_client``).

        Args:
            **kw: ``nb.Client`` arguments, over ``api_key``, ``base_url``, the clock and
                the transport filled in.

        Returns:
            The client (close it, or use it with ``with``).
        """
        from nanobanana._sync._client import Client

        return Client(**self._client_kwargs(kw))

    def http_client(self, **kw: Any) -> httpx.Client:
        """A plain ``httpx.Client`` through the in-process transport (for downloads).

        To give the SDK a configured httpx client of yours (``http_client=``), build it
        with ``transport=fake.transport`` like this one.

        Args:
            **kw: ``httpx.Client`` arguments.

        Returns:
            The httpx client.
        """
        return httpx.Client(transport=self.transport, **kw)

    def async_http_client(self, **kw: Any) -> httpx.AsyncClient:
        """A plain ``httpx.AsyncClient`` through the in-process transport.

        Args:
            **kw: ``httpx.AsyncClient`` arguments.

        Returns:
            The httpx client.
        """
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
        """A new key with its own account.

        Args:
            credits: Its balance; None: the simulator's ``credits``.
            total_credits: What ``credits()`` reports as given in all; None: ``credits``.
            subscription: A plan name, a ``SubscriptionPlan``, or None for no plan
                (subscription-only models answer 403).
            subscription_end: When a plan given by name ends; None: a year from
                ``start``.
            is_vip: The account's VIP flag.
            state: ``"valid"``, ``"disabled"`` / ``"expired"`` (403 on every route), or
                ``"missing_scope"`` (403 on the two generate routes).
            rate_limit: ``(N, W)`` for this key instead of the simulator's window.

        Returns:
            The new key.
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
        """A key's account, mutable: ``fake.account().credits = 0``.

        Args:
            key: The key; None: ``api_key``.

        Returns:
            The account itself (changes apply at once).

        Raises:
            KeyError: The simulator never made this key.
        """
        account = self._service.account(key or self.api_key)
        if account is None:
            raise KeyError("no such key in this simulator")
        return account

    def set_key_state(self, key: str, state: KeyState) -> None:
        """Disable, expire or restrict a key (or make it valid again).

        Args:
            key: The key.
            state: ``"valid"``, ``"disabled"``, ``"expired"`` or ``"missing_scope"``.

        Raises:
            KeyError: The simulator never made this key.
        """
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
        """Charges repeating an earlier one: the ledger's view of a double submission.

        Args:
            window: API seconds within which the same key and the same request body
                count as a repeat.

        Returns:
            The repeating charges (not the first of each), in order.
        """
        return self._service.double_charges(window)

    def now(self) -> float:
        """The current simulated time.

        Returns:
            API seconds of ``clock``.
        """
        return self.clock.now()

    def advance(self, seconds: float) -> float:
        """Move a ``ManualClock`` forward.

        Args:
            seconds: How far, in API seconds (>= 0).

        Returns:
            The new time.

        Raises:
            TypeError: The clock is not a ``ManualClock``: real (scaled) time cannot be
                pushed.
            ValueError: ``seconds`` is negative.
        """
        if not isinstance(self.clock, ManualClock):
            raise TypeError("fake.advance() needs FakeNanoBanana(clock=ManualClock())")
        return self.clock.advance(seconds)

    def wall(self, t: float | None = None) -> datetime:
        """The date-time the simulator reports for a simulated instant.

        Args:
            t: API seconds of ``clock``; None: now.

        Returns:
            A UTC date-time, as ``completed_at`` would show it.
        """
        return self._service.wall(self.clock.now() if t is None else t)

    def status(self, task_id: str) -> dict[str, Any]:
        """A task's status as the API would report it now (no request recorded).

        Args:
            task_id: The task's id.

        Returns:
            The ``data`` object of a status answer.

        Raises:
            KeyError: No task has this id.
        """
        with self._service.lock:
            task = self._service.tasks[task_id]
        return self._service.status_data(task, self.clock.now(), self.asset_base)

    def asset_urls(self, task_id: str) -> list[str]:
        """The result URLs of a task, as its final status lists them.

        Args:
            task_id: The task's id.

        Returns:
            The URLs (signed, valid for ``result_ttl`` after the task ends).

        Raises:
            KeyError: No task has this id.
        """
        with self._service.lock:
            return self._service.asset_urls(self._service.tasks[task_id], self.asset_base)

    def reset(self) -> None:
        """Forget requests, charges, tasks, rate-limit windows and faults (keys stay)."""
        self._service.reset()

    # -- settings that tests may change on the fly ---------------------------------------

    @property
    def failure_rate(self) -> float | Mapping[str, float]:
        """The chance a new task ends ``failed`` (a float, or by model id or kind); settable."""
        return self._service.lifecycle.failure_rate

    @failure_rate.setter
    def failure_rate(self, value: float | Mapping[str, float]) -> None:
        with self._service.lock:
            self._service.lifecycle.failure_rate = value

    @property
    def content_filter(self) -> tuple[str, ...]:
        """The terms answered with 451; settable (any sequence of strings)."""
        return self._service.lifecycle.content_filter

    @content_filter.setter
    def content_filter(self, terms: Sequence[str]) -> None:
        with self._service.lock:
            self._service.lifecycle.content_filter = tuple(terms)

    @property
    def result_ttl(self) -> float | None:
        """API seconds a result URL stays valid after its task ends (None: forever); settable."""
        return self._service.result_ttl

    @result_ttl.setter
    def result_ttl(self, value: float | None) -> None:
        self._service.result_ttl = value

    @property
    def rate_limit(self) -> tuple[int, float] | None:
        """The server's window, ``(N, W)`` (None: no limit); settable."""
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
        """Inject a fault: the next matching requests get it instead of (or besides) a
        normal answer. Faults act in injection order; latency adds up.

        Args:
            kind: A ``Fault`` constant: ``"latency"``, ``"connection_refused"``,
                ``"reset_before"``, ``"reset_after"``, ``"read_timeout"``, ``"http_500"``,
                ``"http_502_html"``, ``"http_503"``, ``"http_429"`` or
                ``"malformed_json"``.
            route: The route it applies to, e.g. ``"images/generate"``, or ``"assets"``
                for downloads; None: every API route.
            times: How many requests it acts on; None: every one.
            probability: The chance it acts on a matching request (drawn from ``seed``);
                None: always.
            **params: The kind's parameters: ``seconds`` (latency), ``processed``
                (whether the service handled the request before the fault: charged,
                counted), ``retry_after`` (429 and 503).

        Returns:
            The fault's handle: ``remove()`` it, read ``fired``.

        Raises:
            ValueError: An unknown kind or route, a negative ``times``, or a
                ``probability`` outside [0, 1].
            TypeError: A parameter the kind does not take.
        """
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
        """Serve this simulator through uvicorn on a free loopback port, in a thread.

        Result URLs point at ``http://localhost:PORT`` (the same port under another host
        name, so the asset host really differs from the API's).

        Yields:
            The API's base URL, ``http://127.0.0.1:PORT/api/v1``.
        """
        from ._server import serve

        with serve(self._service, self.clock) as url:
            yield url

    def __repr__(self) -> str:
        return f"<FakeNanoBanana base_url={self.base_url!r} tasks={len(self._service.tasks)}>"
