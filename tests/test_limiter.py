"""The built-in limiter as users see it: one budget per key across clients, tasks and
threads; FIFO; cancellation-safe; paused by a 429.

Async tests run in virtual time (tests/virtual_time.py): every arrival time below is exact,
so they check both sides of the budget: never more than N in a window, and each slot used
again the moment it comes back. Tests with threads live in real time (a window is a
fraction of a second) and check what no scheduling can change: the strict window, and
that every request gets through.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from virtual_time import LoopClock

import nanobanana as nb
from nanobanana._clock import Clock
from nanobanana._window import default_margin

CREDITS = b'{"success":true,"data":{"credits":100,"total_credits":100,"is_vip":false}}'


def fresh_key() -> str:
    """A key of its own per test, so no budget is shared between tests."""
    return "nb_sk_" + uuid.uuid4().hex[:16]


def max_in_any_window(arrivals: list[float], per: float) -> int:
    times = sorted(arrivals)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] > per:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class Server:
    """Records when each request arrives (the strict server's view, on ``clock``) and
    answers after ``latency`` seconds; ``respond`` may override the answer. Its clients
    share the clock: ``LoopClock()`` in virtual time, a real ``Clock()`` with threads."""

    def __init__(
        self,
        clock: Any,
        latency: float = 0.0,
        respond: Callable[[httpx.Request, int], httpx.Response | None] | None = None,
    ) -> None:
        self.clock = clock
        self.latency = latency
        self.respond = respond
        self.arrivals: list[float] = []
        self.answered: list[float] = []
        self.tags: list[str] = []
        self._lock = threading.Lock()

    def _record(self, request: httpx.Request) -> int:
        with self._lock:
            self.arrivals.append(self.clock.now())
            self.tags.append(request.url.params.get("task_id", ""))
            return len(self.arrivals)

    def _answer(self, request: httpx.Request, number: int) -> httpx.Response:
        if self.respond is not None:
            response = self.respond(request, number)
            if response is not None:
                return response
        return httpx.Response(200, content=CREDITS)

    async def ahandle(self, request: httpx.Request) -> httpx.Response:
        number = self._record(request)
        if self.latency:
            await self.clock.asleep(self.latency)
        with self._lock:
            self.answered.append(self.clock.now())
        return self._answer(request, number)

    def handle(self, request: httpx.Request) -> httpx.Response:
        number = self._record(request)
        if self.latency:
            self.clock.sleep(self.latency)
        with self._lock:
            self.answered.append(self.clock.now())
        return self._answer(request, number)

    def async_client(self, key: str, **kw: Any) -> nb.AsyncClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.ahandle))
        return nb.AsyncClient(api_key=key, http_client=http, _clock=self.clock, **kw)

    def client(self, key: str, **kw: Any) -> nb.Client:
        http = httpx.Client(transport=httpx.MockTransport(self.handle))
        return nb.Client(api_key=key, http_client=http, _clock=self.clock, **kw)


PER = 60.0  # virtual time: the API's own window
MARGIN = default_margin(PER)
REAL_PER = 0.12  # real time (threads): a window is a fraction of a second


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_burst_at_start_is_capped_and_the_next_waits_a_window_after_an_answer() -> None:
    server = Server(LoopClock(), latency=1.0)
    client = server.async_client(fresh_key(), rate_limit=nb.RateLimit(5, per=PER))
    async with anyio.create_task_group() as tg:
        for _ in range(12):
            tg.start_soon(client.account.credits)
    assert len(server.arrivals) == 12
    assert max_in_any_window(server.arrivals, PER) <= 5
    # five at once; each slot is used again exactly a window (and the margin) after its
    # answer: never sooner (safe), never later (no budget wasted)
    first_answer = min(server.answered)
    assert server.arrivals[:5] == [0.0] * 5
    assert server.arrivals[5:10] == pytest.approx([first_answer + PER + MARGIN] * 5, abs=2e-3)
    assert server.arrivals[10:] == pytest.approx([2 * (1.0 + PER + MARGIN)] * 2, abs=4e-3)


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_every_client_of_a_key_shares_one_budget_and_other_keys_do_not() -> None:
    clock = LoopClock()
    server = Server(clock, latency=0.5)
    key = fresh_key()
    limit = nb.RateLimit(4, per=PER)
    a, b = server.async_client(key, rate_limit=limit), server.async_client(key, rate_limit=limit)
    other = Server(clock)
    c = other.async_client(fresh_key(), rate_limit=limit)
    async with anyio.create_task_group() as tg:
        for client in (a, b) * 5:
            tg.start_soon(client.account.credits)
        for _ in range(4):
            tg.start_soon(c.account.credits)
    assert max_in_any_window(server.arrivals, PER) <= 4
    assert len(server.arrivals) == 10
    # a different key has a budget of its own: its burst went at once
    assert other.arrivals == [0.0] * 4


def test_the_default_budget_is_shared_by_async_and_sync_clients_of_a_key() -> None:
    clock = Clock(scale=1200.0)  # the default 60 s window takes 50 ms of real time
    key = fresh_key()
    server = Server(clock)

    async def spend_it() -> None:
        aclient = nb.AsyncClient(
            api_key=key, _clock=clock, _transport=httpx.MockTransport(server.ahandle)
        )
        async with anyio.create_task_group() as tg:
            for _ in range(60):
                tg.start_soon(aclient.account.credits)

    anyio.run(spend_it)
    sclient = nb.Client(api_key=key, _clock=clock, _transport=httpx.MockTransport(server.handle))
    sclient.account.credits()  # the 61st waits for a slot of the same budget
    assert len(server.arrivals) == 61
    # API seconds: a window after the first answer, however late the machine ran
    assert server.arrivals[-1] - min(server.answered[:60]) >= 60.0


@pytest.mark.anyio
async def test_sync_and_async_clients_of_a_key_never_exceed_the_budget_together() -> None:
    server = Server(Clock(), latency=0.005)  # threads: real time
    key = fresh_key()
    limit = nb.RateLimit(4, per=REAL_PER)
    aclient = server.async_client(key, rate_limit=limit)
    sclient = server.client(key, rate_limit=limit)
    async with anyio.create_task_group() as tg:
        for _ in range(6):
            tg.start_soon(aclient.account.credits)
        for _ in range(6):
            tg.start_soon(anyio.to_thread.run_sync, sclient.account.credits)
    assert len(server.arrivals) == 12  # and every one got through
    assert max_in_any_window(server.arrivals, REAL_PER) <= 4


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_waiters_are_served_first_come_first_served() -> None:
    server = Server(LoopClock())
    client = server.async_client(fresh_key(), rate_limit=nb.RateLimit(1, per=PER))

    async def poll(i: int) -> None:
        try:
            await client.images.status(f"t{i}")
        except nb.NanoBananaError:
            pass  # the body is a credits body: we only care about the order

    async with anyio.create_task_group() as tg:
        for i in range(6):
            tg.start_soon(poll, i)
            await anyio.sleep(0.5)  # each is queued before the next starts
    assert server.tags == [f"t{i}" for i in range(6)]


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_a_waiter_cancelled_in_the_queue_takes_no_slot_and_blocks_nobody() -> None:
    server = Server(LoopClock())
    client = server.async_client(fresh_key(), rate_limit=nb.RateLimit(2, per=PER))
    await client.account.credits()
    await client.account.credits()  # both slots now held for a window
    done: list[float] = []

    async def call() -> None:
        await client.account.credits()
        done.append(anyio.current_time())

    async def doomed() -> None:
        with anyio.move_on_after(10.0):
            await client.account.credits()

    async with anyio.create_task_group() as tg:
        tg.start_soon(doomed)  # first in the queue, gives up
        await anyio.sleep(1.0)
        tg.start_soon(call)
        await anyio.sleep(1.0)
        tg.start_soon(call)
    assert len(server.arrivals) == 4  # the cancelled waiter never sent anything
    # both later callers went the moment the two slots freed: the cancelled one held neither
    assert done == pytest.approx([PER + MARGIN] * 2, abs=2e-3)


@pytest.mark.parametrize("anyio_backend", ["asyncio"], indirect=True)
@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_asyncio_task_cancellation_in_the_queue_is_clean() -> None:
    server = Server(LoopClock())
    client = server.async_client(fresh_key(), rate_limit=nb.RateLimit(1, per=PER))
    await client.account.credits()
    # (not on a whole second: a queued waiter looks at the budget every second, and on
    # Python 3.10 anyio may take a cancellation that lands in that same instant for its own)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(client.account.credits(), timeout=2.5)
    task = asyncio.ensure_future(client.account.credits())
    await asyncio.sleep(0.25)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await client.account.credits()  # next in line: waits only for the one held slot
    assert server.arrivals == pytest.approx([0.0, PER + MARGIN], abs=2e-3)


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_a_429_pauses_every_waiter_of_the_key() -> None:
    pause = 15.0

    def respond(request: httpx.Request, number: int) -> httpx.Response | None:
        if number == 1:
            return httpx.Response(
                429,
                headers={"Retry-After": str(pause)},
                json={
                    "success": False,
                    "error": {"code": "RATE_LIMIT_EXCEEDED", "message": "slow"},
                },
            )
        return None

    server = Server(LoopClock(), respond=respond)
    client = server.async_client(fresh_key(), rate_limit=nb.RateLimit(50, per=PER))
    await client.account.credits()  # 429, paused, retried after Retry-After
    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(client.account.credits)
    first = server.arrivals[0]
    assert len(server.arrivals) == 7
    assert all(t >= first + pause for t in server.arrivals[1:])


def test_client_from_threads_never_exceeds_the_budget() -> None:
    server = Server(Clock(), latency=0.003)
    key = fresh_key()
    limit = nb.RateLimit(4, per=REAL_PER)
    clients = [server.client(key, rate_limit=limit) for _ in range(2)]
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            for _ in range(2):
                clients[i % 2].account.credits()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(server.arrivals) == 16
    assert max_in_any_window(server.arrivals, REAL_PER) <= 4


@pytest.mark.anyio
async def test_rate_limit_none_switches_it_off() -> None:
    server = Server(Clock())
    client = server.async_client(fresh_key(), rate_limit=None)
    async with anyio.create_task_group() as tg:
        for _ in range(100):
            tg.start_soon(client.account.credits)
    assert len(server.arrivals) == 100


class CountingLimiter:
    def __init__(self) -> None:
        self.acquired = 0
        self.released: list[bool] = []

    async def acquire(self) -> nb.Permit:
        self.acquired += 1
        limiter = self

        class _Permit:
            def release(self, *, sent: bool = True) -> None:
                limiter.released.append(sent)

        return _Permit()

    def pause(self, seconds: float) -> None:
        pass


@pytest.mark.anyio
async def test_a_limiter_object_is_used_as_it_is() -> None:
    server = Server(Clock())
    limiter = CountingLimiter()
    client = server.async_client(fresh_key(), rate_limit=limiter)
    await client.account.credits()
    assert limiter.acquired == 1
    assert limiter.released == [True]
    assert isinstance(limiter, nb.AsyncLimiter)


class Factory:
    """A limiter factory (like RedisRateLimiter): bound once per key, for AsyncClient."""

    def __init__(self) -> None:
        self.bound: list[tuple[str, str]] = []
        self.limiter = CountingLimiter()

    def bind_async(self, api_key: str) -> CountingLimiter:
        self.bound.append((api_key, "async"))
        return self.limiter


@pytest.mark.anyio
async def test_a_limiter_factory_is_bound_to_the_key_and_kind() -> None:
    server = Server(Clock())
    factory = Factory()
    key = fresh_key()
    client = server.async_client(key, rate_limit=factory)
    await client.account.credits()
    assert factory.bound == [(key, "async")]
    assert factory.limiter.acquired == 1


class NoPause:
    """A limiter without pause(): the client could not hold it after a 429."""

    async def acquire(self) -> nb.Permit:  # pragma: no cover - never called
        raise AssertionError


class BlockingFactory:
    """A limiter factory for Client only (bind_sync)."""

    def __init__(self) -> None:
        self.bound: list[str] = []

    def bind_sync(self, api_key: str) -> nb.Limiter:
        self.bound.append(api_key)
        return BlockingLimiter()


class BlockingLimiter:
    def __init__(self) -> None:
        self.acquired = 0

    def acquire(self) -> nb.Permit:
        self.acquired += 1
        return self

    def release(self, *, sent: bool = True) -> None:
        pass

    def pause(self, seconds: float) -> None:
        pass


def test_a_limiter_without_pause_is_refused_before_anything_is_sent() -> None:
    server = Server(Clock())
    with pytest.raises(nb.InvalidParameterError, match=r"pause\(seconds\)"):
        server.async_client(fresh_key(), rate_limit=NoPause())
    assert server.arrivals == []


def test_each_client_binds_a_factory_through_its_own_method() -> None:
    server = Server(Clock())
    factory, key = BlockingFactory(), fresh_key()
    with server.client(key, rate_limit=factory) as client:
        client.account.credits()
    assert factory.bound == [key]
    # an AsyncClient needs bind_async, which this factory lacks
    with pytest.raises(nb.InvalidParameterError, match=r"bind_async\(api_key\)"):
        server.async_client(fresh_key(), rate_limit=factory)


def test_a_client_refuses_a_limiter_of_the_other_kind() -> None:
    with pytest.raises(nb.InvalidParameterError):
        nb.Client(api_key=fresh_key(), rate_limit=CountingLimiter())  # type: ignore[arg-type]
    with pytest.raises(nb.InvalidParameterError):
        nb.AsyncClient(api_key=fresh_key(), rate_limit="60/minute")  # type: ignore[arg-type]


def test_rate_limit_validates_its_arguments() -> None:
    with pytest.raises(ValueError):
        nb.RateLimit(0)
    with pytest.raises(ValueError):
        nb.RateLimit(60, per=0)
    assert nb.RateLimit() == nb.RateLimit(60, per=60.0)
