"""The per-client poll scheduler: cancellation, scale, threads, fairness to submissions.

The async tests run in virtual time (tests/virtual_time.py): every wait, cancel scope and
deadline below is in API seconds, and each figure is the same on any machine.
"""

from __future__ import annotations

import asyncio
import math
import threading
from typing import Any

import anyio
import pytest
from virtual_time import LoopClock

import nanobanana as nb
from nanobanana._async import _scheduler
from nanobanana._window import default_margin
from nanobanana.testing import FakeNanoBanana, Fault

pytestmark = pytest.mark.virtual_time


def _fake(scale: float = 1.0, **kw: Any) -> FakeNanoBanana:
    """A simulator in virtual time (create it inside the test)."""
    fake = FakeNanoBanana(clock=LoopClock(scale), seed=kw.pop("seed", 3), **kw)
    fake.durations["image"] = (10.0, 20.0)
    return fake


def _polls(fake: FakeNanoBanana) -> int:
    return sum(1 for r in fake.api_requests if r.route == "images/status")


@pytest.mark.anyio
async def test_cancelled_wait_leaves_nothing_behind_and_keeps_the_task_id() -> None:
    fake = _fake()
    fake.durations["image"] = 200.0
    async with fake.async_client() as client:
        task = await client.images.generate("a red fox")
        with anyio.move_on_after(20.0):
            await task
        assert task.task_id
        before = _polls(fake)
        await anyio.sleep(100.0)  # a leftover loop would have polled
        assert _polls(fake) == before
        fake.durations["image"] = 1.0
        status = await task
        assert status.task_id == task.task_id and status.status == "completed"


@pytest.mark.anyio
async def test_cancelling_polls_in_flight_gives_their_turns_back() -> None:
    fake = _fake()
    async with fake.async_client(max_retries=0) as client:
        tasks = [await client.images.generate(f"fox {i}") for i in range(12)]
        slow = fake.inject(Fault.LATENCY, route="images/status", seconds=5000.0)
        now_policy = nb.PollPolicy(initial_delay=0.0, interval=1.0)
        with anyio.move_on_after(50.0):  # eight polls in flight, the rest waiting for a turn
            async with anyio.create_task_group() as tg:
                for task in tasks:
                    tg.start_soon(lambda t=task: t.wait(poll_policy=now_policy))
        slow.remove()
        with anyio.fail_after(600.0):  # a leaked turn would hold these for ever
            statuses = await nb.gather(*tasks)
        assert [s.status for s in statuses] == ["completed"] * 12


@pytest.mark.parametrize("anyio_backend", ["asyncio"], indirect=True)
@pytest.mark.anyio
async def test_asyncio_task_cancel() -> None:
    fake = _fake()
    fake.durations["image"] = 200.0
    async with fake.async_client() as client:
        task = await client.images.generate("a red fox")
        waiter = asyncio.ensure_future(task.wait())
        await asyncio.sleep(20.0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        before = _polls(fake)
        await asyncio.sleep(100.0)
        assert _polls(fake) == before
        fake.durations["image"] = 1.0
        assert (await task).status == "completed"


@pytest.mark.slow
@pytest.mark.anyio
async def test_thousand_concurrent_waits_on_one_client() -> None:
    # 1,000 tasks submitted and awaited at once through the real 60/min budget: about
    # 33 minutes of API time. Every task costs one submission and one poll, the strict
    # window never answers 429, the budget never idles while polls wait for it, and the
    # default deadline (10 min) does not fail tasks whose polls were only held up by it.
    # (scale: a waiter in the limiter looks again once a real second, i.e. a window here)
    fake = _fake(scale=60.0)
    async with fake.async_client() as client:
        results: list[nb.ImageStatus] = []

        async def one(i: int) -> None:
            task = await client.images.generate(f"fox {i}")
            results.append(await task)

        async with anyio.create_task_group() as tg:
            for i in range(1000):
                tg.start_soon(one, i)
        elapsed = fake.clock.now()
    assert len(results) == 1000
    assert {r.status for r in results} == {"completed"}
    assert len({r.task_id for r in results}) == 1000
    api = fake.api_requests
    assert not [r for r in api if r.status == 429]
    assert len(api) <= 2.05 * 1000
    # N requests per window and a margin: the budget is the only thing that took time
    rounds = -(-len(api) // 60)  # ceil
    assert elapsed <= (rounds - 1) * (60.0 + default_margin(60.0)) + 20.0 + 1.0


@pytest.mark.anyio
async def test_submissions_are_not_starved_by_many_waiting_polls() -> None:
    # 60 waits polling every second on a saturated 60/min budget: a new submission still
    # gets through after at most a handful of polls (the scheduler's slots), not after all.
    fake = _fake()
    fake.durations["image"] = 1000.0
    async with fake.async_client() as client:
        tasks: list[nb.AsyncImageTask] = []
        async with anyio.create_task_group() as tg:

            async def submit(i: int) -> None:
                tasks.append(await client.images.generate(f"fox {i}"))

            for i in range(60):
                tg.start_soon(submit, i)
        every_second = nb.PollPolicy(initial_delay=1.0, interval=1.0, backoff=1.0)
        async with anyio.create_task_group() as tg:
            for task in tasks:
                tg.start_soon(lambda t=task: t.wait(poll_policy=every_second))
            await anyio.sleep(5.0)
            start = len(fake.api_requests)
            await client.images.generate("urgent")
            tg.cancel_scope.cancel()
        routes = [r.route for r in fake.api_requests[start:]]
        assert "images/generate" in routes
        # At most the polls holding the scheduler's slots (POLL_SLOTS, 8) go first, and
        # one granted its slot beside it: a generate leaves from a task of its own (so a
        # cancelled caller never drops its answer), one scheduling step after its turn.
        assert routes.index("images/generate") <= _scheduler.POLL_SLOTS + 1


def test_sync_waits_from_many_threads() -> None:
    # Threads live in real time: a scaled clock, and only what no scheduling changes.
    fake = FakeNanoBanana(time_scale=1000.0, seed=3)
    fake.durations["image"] = 5.0  # done before the first poll (about 15 s), however late
    with fake.client() as client:
        tasks = [client.images.generate(f"fox {i}") for i in range(20)]
        results: list[Any] = []
        errors: list[BaseException] = []

        def wait(task: nb.ImageTask) -> None:
            try:
                results.append(task.wait())
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=wait, args=(t,)) for t in tasks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert len(results) == 20 and {r.status for r in results} == {"completed"}
        assert _polls(fake) == 20  # one poll each: none before its planned time


class _ShortSleepClock:
    """A clock that never passes time by itself (like ManualClock), whose sleeps land one
    float step short of where they aim (``now + (due - now)`` need not be ``due``)."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def to_real(self, seconds: float) -> float:
        return 0.0

    def sleep(self, seconds: float) -> None:
        self.t = math.nextafter(self.t + seconds, -math.inf)


def test_a_turn_comes_when_a_sleep_lands_a_hair_short_of_its_due_time() -> None:
    from nanobanana._sync._scheduler import PollScheduler

    scheduler = PollScheduler(_ShortSleepClock())
    got: list[bool] = []
    waiter = threading.Thread(
        target=lambda: got.append(scheduler.turn(0.1 + 0.2, math.inf)), daemon=True
    )
    waiter.start()
    waiter.join(30)  # only a hang gets near this
    assert not waiter.is_alive(), "the waiter spun on a clock that never moves"
    assert got == [True]
    scheduler.release()


@pytest.mark.anyio
async def test_due_waiters_get_turns_oldest_task_first() -> None:
    # One turn, held; three polls fall due, submitted at 30, 10 and 20 s, and register
    # in that order: as turns come back, the task submitted first polls first.
    from nanobanana._async._scheduler import AsyncPollScheduler

    clock = LoopClock()
    scheduler = AsyncPollScheduler(clock, slots=1)
    assert await scheduler.turn(clock.now(), math.inf)
    order: list[float] = []

    async def waiter(rank: float) -> None:
        assert await scheduler.turn(clock.now(), math.inf, rank)
        order.append(rank)
        await anyio.sleep(1.0)  # the poll
        scheduler.release()

    async with anyio.create_task_group() as tg:
        for rank in (30.0, 10.0, 20.0):
            tg.start_soon(waiter, rank)
            await anyio.sleep(0.1)  # registered, in this order
        assert scheduler.waiting == 3
        scheduler.release()
    assert order == [10.0, 20.0, 30.0]


@pytest.mark.anyio
async def test_a_poll_due_after_its_deadline_gets_no_turn() -> None:
    from nanobanana._async._scheduler import AsyncPollScheduler

    clock = LoopClock()
    scheduler = AsyncPollScheduler(clock)
    start = clock.now()
    assert not await scheduler.turn(start + 10.0, start + 5.0)
    assert clock.now() - start == pytest.approx(5.0)
    assert scheduler.waiting == 0
    assert scheduler.active == 0
