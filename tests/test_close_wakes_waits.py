"""Closing a client ends at once every wait sleeping on it: a wait's sleep until its next
poll, its queueing for a poll turn or for a slot of the budget. Each ends with the error
its next poll would have raised (the closed client's ``APIConnectionError``, nothing
sent), on asyncio, Trio and the blocking client (threads).

"At once" is measured on the clock, never in real time: on ``FrozenClock`` the API time
stands still and every sleep would last an hour of real time, so a wait that ends did
not sleep, and the time it reads afterwards is the time it started at. ``HANG`` only
turns a hang (the old code's: the wait slept until its next poll) into a failure.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

import nanobanana as nb
from nanobanana._async._scheduler import AsyncPollScheduler
from nanobanana._concurrency import Stopped, StopSignal
from nanobanana.testing import FakeNanoBanana, ManualClock

HANG = 60.0
"""Real seconds after which something that should end at once counts as hung."""

HOUR = 3600.0
"""Real seconds every sleep on a FrozenClock would take."""

FIRST_POLL_NOW = nb.PollPolicy(initial_delay=0.0, interval=30.0)
"""A wait whose first poll is due at once, the next 30 s (an hour of real time) later."""


class FrozenClock(ManualClock):
    """API time stands still (``advance`` moves it); a sleep on it takes an hour of
    real time. Records the threads that asked how long a wait would take (what a waiter
    does just before it sleeps or queues)."""

    def __init__(self) -> None:
        super().__init__(start=1000.0)
        self._asked: set[int] = set()
        self._changed = threading.Condition()

    def to_real(self, seconds: float) -> float:
        if seconds <= 0:
            return 0.0
        with self._changed:
            self._asked.add(threading.get_ident())
            self._changed.notify_all()
        return HOUR

    def sleep(self, seconds: float) -> None:
        time.sleep(self.to_real(seconds))
        super().sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        await anyio.sleep(self.to_real(seconds))
        await super().asleep(seconds)

    def wait_asked(self, threads: list[threading.Thread]) -> None:
        """Until every thread of ``threads`` is about to wait (a hang guard: HANG)."""
        with self._changed:
            ok = self._changed.wait_for(
                lambda: all(t.ident in self._asked for t in threads), timeout=HANG
            )
        assert ok, "the waiters never started waiting"


def closed_error(results: list[Any]) -> nb.APIConnectionError:
    """The one error every waiter got: the closed client's, nothing sent."""
    assert results, "no waiter ended"
    first = results[0]
    assert isinstance(first, nb.APIConnectionError), results
    assert not isinstance(first, nb.TaskTimeoutError)
    assert "client is closed" in str(first)
    assert "not sent" in str(first)
    assert first.may_have_been_processed is False
    for other in results:
        assert type(other) is type(first)
        assert str(other) == str(first)
    return first


def routes(fake: FakeNanoBanana) -> list[str]:
    return [r.route for r in fake.api_requests]


class HeldGenerate(httpx.AsyncBaseTransport):
    """The simulator's transport, holding a generate request's answer while ``holding``
    until ``release`` is set."""

    def __init__(self, fake: FakeNanoBanana) -> None:
        self._inner = fake.transport
        self.holding = False
        self.arrived = anyio.Event()
        self.release = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.holding and request.method == "POST":
            self.arrived.set()
            await self.release.wait()
        return await self._inner.handle_async_request(request)


# -- async: asyncio and Trio ---------------------------------------------------------------


async def run_waiter(results: list[Any], wait: Any) -> None:
    try:
        results.append(await wait())
    except BaseException as exc:
        results.append(exc)
        if isinstance(exc, anyio.get_cancelled_exc_class()):
            raise


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_aclose_ends_every_wait_sleeping_until_its_next_poll_at_once(
    tmp_path: Path,
) -> None:
    """Before: each wait slept until its next poll (for a video, tens of seconds: a web
    app's shutdown hung that long), then found the client closed."""
    clock = FrozenClock()
    fake = FakeNanoBanana(clock=clock, durations={"video": 120})
    client = fake.async_client()
    task = await client.videos.generate("a fox running")
    other = await client.videos.generate("a hare running")
    results: list[Any] = []
    with anyio.fail_after(HANG):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_waiter, results, lambda: task)  # await task
            tg.start_soon(run_waiter, results, task.wait)
            tg.start_soon(run_waiter, results, lambda: client.videos.wait(other.task_id))
            tg.start_soon(run_waiter, results, lambda: client.videos.save(task, tmp_path))
            await anyio.wait_all_tasks_blocked()
            started = clock.now()
            await client.aclose()
    error = closed_error(results)
    assert len(results) == 4
    assert clock.now() == started  # nobody slept until a poll
    assert routes(fake) == ["videos/generate"] * 2  # no poll sent
    with pytest.raises(nb.APIConnectionError) as next_poll:
        await client.videos.status(task.task_id)
    assert str(error) == str(next_poll.value)  # the error the next poll gives


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_aclose_ends_waits_queued_for_a_poll_turn_or_a_slot_of_the_budget() -> None:
    """Ten waits whose first polls are due at once, on a budget of one request an hour:
    one poll is sent, eight queue in the limiter (the scheduler's turns), one waits for a
    turn. Before: they queued until the budget had a slot (an hour), then found the
    client closed."""
    clock = FrozenClock()
    fake = FakeNanoBanana(clock=clock, durations={"image": 120})
    async with fake.async_client() as submitter:
        ids = [(await submitter.images.generate(f"a fox, take {i}")).task_id for i in range(10)]
    client = fake.async_client(rate_limit=nb.RateLimit(1, per=3600.0))
    results: list[Any] = []
    with anyio.fail_after(HANG):
        async with anyio.create_task_group() as tg:
            for task_id in ids:
                tg.start_soon(
                    run_waiter,
                    results,
                    lambda task_id=task_id: client.images.wait(task_id, poll_policy=FIRST_POLL_NOW),
                )
            await anyio.wait_all_tasks_blocked()
            assert client._poll_scheduler.waiting == 1  # one waits for a turn
            assert client._poll_scheduler.active == 8  # eight queue in the limiter
            started = clock.now()
            await client.aclose()
    closed_error(results)
    assert len(results) == 10
    assert clock.now() == started
    assert routes(fake).count("images/status") == 1  # the one poll the budget allowed
    assert client._poll_scheduler.active == 0 and client._poll_scheduler.waiting == 0


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_aclose_of_the_owner_ends_the_waits_of_its_with_options_clones() -> None:
    """Clones made by with_options share the pool, and so its close; a clone given an
    http_client of its own does not: its wait goes on."""
    clock = FrozenClock()
    fake = FakeNanoBanana(clock=clock, durations={"image": 120})
    client = fake.async_client()
    clone = client.with_options(timeout=20.0).with_options(max_retries=1)
    own_pool = fake.async_http_client()
    apart = client.with_options(http_client=own_pool)
    task = await clone.images.generate("a fox")
    results: list[Any] = []
    apart_results: list[Any] = []
    with anyio.fail_after(HANG):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_waiter, results, lambda: task)
            tg.start_soon(run_waiter, results, lambda: clone.images.wait(task.task_id))
            tg.start_soon(run_waiter, apart_results, lambda: apart.images.wait(task.task_id))
            await anyio.wait_all_tasks_blocked()
            await client.aclose()
            await anyio.wait_all_tasks_blocked()
            assert len(results) == 2  # the clones' waits ended...
            assert apart_results == []  # ...not the one on a pool of its own
            tg.cancel_scope.cancel()
    closed_error(results)
    assert routes(fake) == ["images/generate"]
    await own_pool.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_aclose_with_a_given_http_client_leaves_the_waits_on_it() -> None:
    """A client on your http_client stays open when closed (the pool is yours): its
    waits go on, as its requests do."""
    clock = FrozenClock()
    fake = FakeNanoBanana(clock=clock, durations={"image": 120})
    pool = fake.async_http_client()
    client = fake.async_client(http_client=pool)
    task = await client.images.generate("a fox")
    results: list[Any] = []
    with anyio.fail_after(HANG):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_waiter, results, lambda: task)
            await anyio.wait_all_tasks_blocked()
            await client.aclose()
            await anyio.wait_all_tasks_blocked()
            assert results == []
            tg.cancel_scope.cancel()
    await pool.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_aclose_ends_waits_only_after_the_generate_answers_on_their_way() -> None:
    """Closing still waits for a generate request on the wire: it returns its task; the
    waits end once the pool is closed, not before (nor in the middle of the answer)."""
    clock = FrozenClock()
    fake = FakeNanoBanana(clock=clock, durations={"image": 120})
    held = HeldGenerate(fake)
    client = fake.async_client(_transport=held)
    task = await client.images.generate("a fox")
    held.holding = True
    results: list[Any] = []
    generated: list[Any] = []
    with anyio.fail_after(HANG):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_waiter, results, lambda: task)
            tg.start_soon(run_waiter, generated, lambda: client.images.generate("a hare"))
            await held.arrived.wait()
            tg.start_soon(client.aclose)
            await anyio.wait_all_tasks_blocked()
            assert results == [] and generated == []  # closing waits for the answer first
            held.release.set()
    assert [type(g) for g in generated] == [nb.AsyncImageTask]
    closed_error(results)
    assert clock.now() == 1000.0


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_a_wait_on_a_closed_client_ends_without_moving_a_manual_clock() -> None:
    """A ManualClock keeps exact answers: a wait that a close ends never moved the time.
    Before: the wait slept until its first poll (the manual time jumped there), then
    found the client closed."""
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock, durations={"image": 30})
    client = fake.async_client()
    task = await client.images.generate("a fox")
    await client.aclose()
    before = clock.now()
    with pytest.raises(nb.APIConnectionError, match="client is closed"):
        await task
    assert clock.now() == before
    assert routes(fake) == ["images/generate"]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_a_stop_signal_ends_a_wait_for_a_poll_turn() -> None:
    """The scheduler's queue: a waiter behind a turn held gives up its place at once."""
    scheduler = AsyncPollScheduler(ManualClock(), slots=1)
    stop = StopSignal()
    assert await scheduler.turn(0.0, float("inf"))
    ended: list[BaseException] = []

    async def queued() -> None:
        try:
            await scheduler.turn(0.0, float("inf"), stop=stop)
        except Stopped as exc:
            ended.append(exc)

    with anyio.fail_after(HANG):
        async with anyio.create_task_group() as tg:
            tg.start_soon(queued)
            await anyio.wait_all_tasks_blocked()
            assert scheduler.waiting == 1
            stop.fire()
    assert len(ended) == 1
    assert scheduler.waiting == 0
    scheduler.release()
    assert scheduler.active == 0


# -- the blocking client: close() from another thread ----------------------------------------


def run_threads(fns: list[Any]) -> tuple[list[threading.Thread], list[Any]]:
    results: list[Any] = []

    def run(fn: Any) -> None:
        try:
            results.append(fn())
        except BaseException as exc:
            results.append(exc)

    threads = [threading.Thread(target=run, args=(fn,), daemon=True) for fn in fns]
    for thread in threads:
        thread.start()
    return threads, results


def join(threads: list[threading.Thread]) -> None:
    deadline = time.monotonic() + HANG  # a hang guard, not a time to meet
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "a wait did not end"


def test_close_from_another_thread_ends_blocking_waits_at_once(tmp_path: Path) -> None:
    """Before: each thread slept until its next poll (holding it), then found the client
    closed."""
    clock = FrozenClock()
    fake = FakeNanoBanana(clock=clock, durations={"video": 120})
    client = fake.client()
    task = client.videos.generate("a fox running")
    other = client.videos.generate("a hare running")
    threads, results = run_threads(
        [
            task.wait,
            lambda: client.videos.wait(other.task_id),
            lambda: client.videos.save(task, tmp_path),
            lambda: client.with_options(max_retries=0).videos.wait(task.task_id),
        ]
    )
    clock.wait_asked(threads)
    started = clock.now()
    client.close()
    join(threads)
    error = closed_error(results)
    assert len(results) == 4
    assert clock.now() == started
    assert routes(fake) == ["videos/generate"] * 2
    with pytest.raises(nb.APIConnectionError) as next_poll:
        client.videos.status(task.task_id)
    assert str(error) == str(next_poll.value)


def test_close_from_another_thread_ends_blocking_waits_queued_for_the_budget() -> None:
    """Threads whose polls queue for a budget of one request an hour (and for a turn:
    with a timeout, so that a thread waiting for one says so to the clock)."""
    clock = FrozenClock()
    fake = FakeNanoBanana(clock=clock, durations={"image": 120})
    with fake.client() as submitter:
        ids = [submitter.images.generate(f"a fox, take {i}").task_id for i in range(10)]
    client = fake.client(rate_limit=nb.RateLimit(1, per=3600.0))
    threads, results = run_threads(
        [
            lambda task_id=task_id: client.images.wait(
                task_id, timeout=36_000, poll_policy=FIRST_POLL_NOW
            )
            for task_id in ids
        ]
    )
    clock.wait_asked(threads)
    started = clock.now()
    client.close()
    join(threads)
    closed_error(results)
    assert len(results) == 10
    assert clock.now() == started
    assert routes(fake).count("images/status") == 1  # the one poll the budget allowed
    assert client._poll_scheduler.active == 0 and client._poll_scheduler.waiting == 0


def test_a_blocking_wait_on_a_closed_client_ends_without_moving_a_manual_clock() -> None:
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock, durations={"image": 30})
    client = fake.client()
    task = client.images.generate("a fox")
    client.close()
    before = clock.now()
    with pytest.raises(nb.APIConnectionError, match="client is closed"):
        task.wait()
    assert clock.now() == before
