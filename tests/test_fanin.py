"""nb.as_completed and nb.gather for async and sync handles (async ones in virtual time,
tests/virtual_time.py; the sync iterator polls from one thread, on a ManualClock)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from virtual_time import LoopClock

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana, Fault, ManualClock

pytestmark = pytest.mark.virtual_time


def _fake(clock: Any = None, **kw: Any) -> FakeNanoBanana:
    """The simulator; in virtual time unless given a clock (create it inside the test)."""
    fake = FakeNanoBanana(clock=clock or LoopClock(), seed=kw.pop("seed", 5), **kw)
    fake.durations["image"] = (10.0, 20.0)
    return fake


def _status_polls(fake: FakeNanoBanana) -> int:
    return sum(1 for r in fake.api_requests if r.route in ("images/status", "videos/status"))


@pytest.mark.anyio
async def test_as_completed_yields_tasks_in_completion_order() -> None:
    # A manual clock: submissions take no API time, so the order depends on the durations
    # alone (on a scaled clock, a busy machine spaced the submissions apart).
    fake = FakeNanoBanana(clock=ManualClock(), seed=5)
    async with fake.async_client() as client:
        durations = [40.0, 10.0, 25.0]
        tasks = []
        for d in durations:
            fake.durations["image"] = d
            tasks.append(await client.images.generate(f"fox {d}"))
        order = []
        async for task in nb.as_completed(tasks):
            status = await task  # the client kept the outcome: no new request
            order.append(task)
            assert status.status == "completed"
        assert order == [tasks[1], tasks[2], tasks[0]]


@pytest.mark.anyio
async def test_gather_keeps_the_order_given() -> None:
    fake = _fake()
    async with fake.async_client() as client:
        tasks = [await client.images.generate(f"fox {i}") for i in range(5)]
        statuses = await nb.gather(*tasks)
        assert [s.task_id for s in statuses] == [t.task_id for t in tasks]
        assert {s.status for s in statuses} == {"completed"}


@pytest.mark.anyio
async def test_gather_raises_the_first_failure_or_returns_it() -> None:
    fake = _fake()
    async with fake.async_client() as client:
        ok = await client.images.generate("fine")
        fake.failure_rate = 1.0
        bad = await client.images.generate("doomed")
        with pytest.raises(nb.TaskFailedError) as info:
            await nb.gather(ok, bad)
        assert info.value.task_id == bad.task_id
        results = await nb.gather(ok, bad, return_exceptions=True)
        assert isinstance(results[0], nb.ImageStatus)
        assert isinstance(results[1], nb.TaskFailedError)


@pytest.mark.anyio
async def test_as_completed_can_stop_early_and_leaves_nothing_running() -> None:
    fake = _fake()
    async with fake.async_client() as client:
        tasks = [await client.images.generate(f"fox {i}") for i in range(4)]
        async for _ in nb.as_completed(tasks):
            break
        before = len(fake.api_requests)
        await anyio.sleep(100.0)
        assert len(fake.api_requests) == before


@pytest.mark.anyio
async def test_mixed_images_and_videos() -> None:
    fake = _fake()
    fake.durations["video"] = 60.0
    async with fake.async_client() as client:
        image = await client.images.generate("fox")
        video = await client.videos.generate("cat walking")
        image_status, video_status = await nb.gather(image, video)
        assert isinstance(image_status, nb.ImageStatus)
        assert isinstance(video_status, nb.VideoStatus)


@pytest.mark.anyio
async def test_no_tasks() -> None:
    assert await nb.gather() == []
    assert [t async for t in nb.as_completed([])] == []


def test_sync_as_completed_and_gather() -> None:
    fake = _fake(ManualClock())
    with fake.client() as client:
        tasks = []
        for d in (30.0, 10.0):
            fake.durations["image"] = d
            tasks.append(client.images.generate(f"fox {d}"))
        order = list(nb.as_completed(tasks))
        assert order == [tasks[1], tasks[0]]
        statuses = nb.gather(*tasks)
        assert isinstance(statuses, list)
        assert [s.task_id for s in statuses] == [t.task_id for t in tasks]
        assert nb.gather() == []


@pytest.mark.anyio
async def test_mixing_sync_and_async_handles_is_refused() -> None:
    fake = _fake(ManualClock())
    async with fake.async_client() as aclient:
        atask = await aclient.images.generate("fox")
    with fake.client() as client:
        stask = client.images.generate("fox")
    with pytest.raises(TypeError):
        nb.as_completed([atask, stask])  # type: ignore[list-item]


@pytest.mark.anyio
async def test_a_timeout_seen_by_as_completed_is_raised_once_then_the_task_is_polled_again() -> (
    None
):
    fake = FakeNanoBanana(clock=ManualClock(), seed=5)
    fake.durations["image"] = 700.0  # past the default deadline of a wait (600 s)
    async with fake.async_client() as client:
        task = await client.images.generate("a slow fox")
        assert [t async for t in nb.as_completed([task])] == [task]
        polls = _status_polls(fake)
        with pytest.raises(nb.TaskTimeoutError) as info:
            await task  # the timeout as_completed saw: no request
        assert info.value.task_id == task.task_id
        assert info.value.last_status is not None and not info.value.last_status.done
        assert _status_polls(fake) == polls
        status = await task  # reported once: this wait polls until the task ends
        assert status.status == "completed"
        assert _status_polls(fake) > polls


def test_sync_fan_in_over_no_tasks() -> None:
    assert list(nb.as_completed([])) == []
    assert nb.gather() == [] and isinstance(nb.gather(), list)


def _fail_one_poll(fake: FakeNanoBanana) -> None:
    """The next status answer malformed, which no retry fixes: one task's poll ends in an
    error (a 5xx would be polled again later, as a wait does)."""
    fake.inject(Fault.MALFORMED_JSON, route="images/status", times=1)


@pytest.mark.anyio
async def test_a_failed_poll_takes_its_tasks_place_in_gather_and_the_others_go_on() -> None:
    fake = FakeNanoBanana(clock=ManualClock(), seed=5)
    async with fake.async_client() as client:
        tasks = []
        for d in (10.0, 20.0, 30.0):
            fake.durations["image"] = d
            tasks.append(await client.images.generate(f"fox {d}"))
        _fail_one_poll(fake)
        results = await nb.gather(*tasks, return_exceptions=True)
        errors = [i for i, r in enumerate(results) if isinstance(r, nb.NanoBananaError)]
        assert len(errors) == 1 and isinstance(results[errors[0]], nb.UnexpectedResponseError)
        assert [r.task_id for r in results if isinstance(r, nb.ImageStatus)] == [
            t.task_id for i, t in enumerate(tasks) if i not in errors
        ]
        status = await tasks[errors[0]]  # the error was reported once: this polls again
        assert status.status == "completed"


@pytest.mark.anyio
async def test_as_completed_yields_a_task_whose_poll_failed_and_await_raises_its_error() -> None:
    fake = FakeNanoBanana(clock=ManualClock(), seed=5)
    async with fake.async_client() as client:
        tasks = [await client.images.generate(f"fox {i}") for i in range(3)]
        _fail_one_poll(fake)
        seen, raised = [], []
        async for task in nb.as_completed(tasks):
            seen.append(task)
            try:
                await task
            except nb.UnexpectedResponseError:
                raised.append(task)
        assert sorted(t.task_id for t in seen) == sorted(t.task_id for t in tasks)
        assert len(raised) == 1


def test_sync_gather_returns_a_failed_polls_error_in_its_place() -> None:
    fake = FakeNanoBanana(clock=ManualClock(), seed=5)
    with fake.client() as client:
        tasks = [client.images.generate(f"fox {i}") for i in range(3)]
        _fail_one_poll(fake)
        results = nb.gather(*tasks, return_exceptions=True)
        assert sum(isinstance(r, nb.UnexpectedResponseError) for r in results) == 1
        assert sum(isinstance(r, nb.ImageStatus) for r in results) == 2
