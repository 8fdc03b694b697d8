"""Task handles and waiting, against the simulator (asyncio and Trio).

Async tests run in virtual time (tests/virtual_time.py) and sync ones on a ManualClock,
so every poll count and every time below is exact, however busy the machine.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import anyio
import httpx
import pytest
from virtual_time import LoopClock

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana, ManualClock

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


def _fake(clock: Any = None, **kw: Any) -> FakeNanoBanana:
    """The simulator; in virtual time unless given a clock (create it inside the test)."""
    fake = FakeNanoBanana(clock=clock or LoopClock(), seed=kw.pop("seed", 7), **kw)
    fake.durations["image"] = (10.0, 20.0)
    fake.durations["video"] = (60.0, 120.0)
    return fake


def _status_polls(fake: FakeNanoBanana) -> int:
    return sum(1 for r in fake.api_requests if r.route in ("images/status", "videos/status"))


def _times(fake: FakeNanoBanana, route: str) -> list[float]:
    """When the server saw each request of ``route`` (API seconds)."""
    return [r.time for r in fake.api_requests if r.route == route]


async def test_await_task_returns_the_final_status() -> None:
    fake = _fake()
    fake.durations["image"] = 12.0
    async with fake.async_client() as client:
        task = await client.images.generate("a red fox")
        assert isinstance(task, nb.AsyncImageTask)
        status = await task
        assert isinstance(status, nb.ImageStatus)
        assert status.status == "completed" and status.image_url
        assert status.task_id == task.task_id
        # No task of this profile has ended yet, so this one is a probe: polled once early
        # (30-80% of the images' default 15 s), then once when its progress says it ends
        # (12 s): two polls, not one a second, and the result a moment after the end.
        (submitted,) = _times(fake, "images/generate")
        first, last = (t - submitted for t in _times(fake, "images/status"))
        assert 0.3 * 15.0 <= first <= 0.8 * 15.0
        assert 12.0 <= last <= 13.0


async def test_progress_callback_sees_every_status_including_the_final_one() -> None:
    fake = _fake()
    fake.durations["image"] = 30.0
    async with fake.async_client() as client:
        task = await client.images.generate("a red fox")
        seen: list[nb.ImageStatus] = []
        policy = nb.PollPolicy(initial_delay=1.0, interval=2.0, backoff=1.0)
        status = await task.wait(on_progress=seen.append, poll_policy=policy)
        assert len(seen) == _status_polls(fake) >= 13  # 1 s, then every 2 s (±20%) to 30 s
        assert all(s.status == "pending" for s in seen[:-1])
        assert seen[-1] == status and status.status == "completed"


async def test_async_progress_callback_is_awaited() -> None:
    fake = _fake()
    async with fake.async_client() as client:
        task = await client.images.generate("a red fox")
        seen: list[str] = []

        async def on_progress(status: nb.ImageStatus) -> None:
            seen.append(status.status)

        await task.wait(on_progress=on_progress)
        assert seen[-1] == "completed"


async def test_failed_task_raises_task_failed_error() -> None:
    fake = _fake(failure_rate=1.0)
    async with fake.async_client() as client:
        task = await client.images.generate("a red fox")
        with pytest.raises(nb.TaskFailedError) as info:
            await task
        assert info.value.task_id == task.task_id
        assert isinstance(info.value.status, nb.ImageStatus)
        assert info.value.status.status == "failed"
        assert info.value.error


async def test_timeout_raises_with_the_task_id_and_the_task_can_be_awaited_again() -> None:
    fake = _fake()
    fake.durations["image"] = 100.0
    async with fake.async_client() as client:
        task = await client.images.generate("a slow fox")
        with pytest.raises(nb.TaskTimeoutError) as info:
            await task.wait(timeout=30.0)
        assert info.value.task_id == task.task_id
        assert isinstance(info.value, TimeoutError)
        status = await client.images.wait(info.value.task_id)
        assert status.status == "completed"


async def test_default_deadline_is_finite() -> None:
    fake = _fake()
    fake.durations["image"] = 10_000.0
    async with fake.async_client() as client:
        task = await client.images.generate("a fox that never finishes")
        start = fake.clock.now()
        with pytest.raises(nb.TaskTimeoutError):
            await task
        assert fake.clock.now() - start == pytest.approx(600.0, abs=1e-3)


async def test_wait_by_id_for_images_and_videos() -> None:
    fake = _fake()
    async with fake.async_client() as client:
        image = await client.images.generate("a red fox")
        video = await client.videos.generate("a cat walking")
        assert isinstance(video, nb.AsyncVideoTask)
        image_status = await client.images.wait(image.task_id)
        video_status = await client.videos.wait(video.task_id)
        assert image_status.status == "completed"
        assert isinstance(video_status, nb.VideoStatus)
        assert video_status.status == "succeeded" and video_status.video_url


async def test_a_policy_given_to_the_client_applies_and_a_per_wait_policy_overrides() -> None:
    fake = _fake()
    fake.durations["image"] = 30.0
    policy = nb.PollPolicy(initial_delay=2.0, interval=2.0, backoff=1.0)
    async with fake.async_client(poll_policy=policy) as client:
        task = await client.images.generate("a red fox")
        await task
        # every 2 s (±20%) from the submission until the first poll after the end, at 30 s
        (submitted,) = _times(fake, "images/generate")
        polls = _times(fake, "images/status")
        gaps = [b - a for a, b in zip([submitted, *polls], polls, strict=False)]
        assert all(1.6 - 1e-6 <= gap <= 2.4 + 1e-6 for gap in gaps), gaps
        assert polls[-2] < submitted + 30.0 <= polls[-1]
        task2 = await client.images.generate("a red fox")
        await task2.wait(poll_policy=nb.PollPolicy(initial_delay=40.0, interval=5.0))
        # the wait's own policy: one poll, 40 s (±20%) after the submission
        submitted2 = _times(fake, "images/generate")[-1]
        (poll2,) = _times(fake, "images/status")[len(polls) :]
        assert 32.0 <= poll2 - submitted2 <= 48.0


def test_sync_client_blocking_wait() -> None:
    fake = _fake(ManualClock())
    with fake.client() as client:
        task = client.images.generate("a red fox")
        assert isinstance(task, nb.ImageTask)
        seen: list[str] = []
        status = task.wait(on_progress=lambda s: seen.append(s.status))
        assert status.status == "completed" and seen[-1] == "completed"
        vtask = client.videos.generate("a cat walking")
        assert isinstance(vtask, nb.VideoTask)
        assert client.videos.wait(vtask.task_id).status == "succeeded"


def test_sync_failed_and_timeout() -> None:
    fake = _fake(ManualClock(), failure_rate=1.0)
    with fake.client() as client:
        task = client.images.generate("a red fox")
        with pytest.raises(nb.TaskFailedError):
            task.wait()
    fake2 = _fake(ManualClock())
    fake2.durations["image"] = 100.0
    with fake2.client() as client:
        task = client.images.generate("a red fox")
        with pytest.raises(nb.TaskTimeoutError) as info:
            task.wait(timeout=20.0)
        assert info.value.task_id == task.task_id


# -- HTTP-level cases the simulator does not produce -------------------------------------


def _mock_client(handler: Any, **kw: Any) -> nb.AsyncClient:
    return nb.AsyncClient(
        api_key="nb_sk_test_0123456789abcdef",
        base_url="https://api.test/api/v1",
        rate_limit=None,
        _clock=LoopClock(),
        _transport=httpx.MockTransport(handler),
        **kw,
    )


def _envelope(data: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(200, json={"success": True, "data": data}, headers=headers)


async def test_unknown_status_is_treated_as_running_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="nanobanana")
    word = f"queued_at_provider_{uuid.uuid4().hex[:8]}"  # once per process: a new word
    answers = iter([word, word, "completed"])

    def handler(request: httpx.Request) -> httpx.Response:
        return _envelope({"task_id": "abc", "status": next(answers)})

    async with _mock_client(handler) as client:
        policy = nb.PollPolicy(initial_delay=0.5, interval=0.5)
        status = await client.images.wait("abc", poll_policy=policy)
    assert status.status == "completed"
    logged = [r for r in caplog.records if word in r.getMessage()]
    assert len(logged) == 1


async def test_retry_after_on_a_status_response_is_honoured() -> None:
    clock = LoopClock()
    times: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        times.append(clock.now())
        if len(times) == 1:
            return _envelope({"task_id": "abc", "status": "pending"}, {"Retry-After": "40"})
        return _envelope({"task_id": "abc", "status": "completed"})

    client = nb.AsyncClient(
        api_key="nb_sk_test_0123456789abcdef",
        base_url="https://api.test/api/v1",
        rate_limit=None,
        _clock=clock,
        _transport=httpx.MockTransport(handler),
    )
    async with client:
        await client.images.wait("abc", poll_policy=nb.PollPolicy(initial_delay=0.0, interval=1.0))
    assert len(times) == 2
    assert times[1] - times[0] == pytest.approx(40.0, abs=1e-3)


def _hanging(clock: ManualClock, sent: list[tuple[float, float]]) -> dict[str, Any]:
    """A client's arguments: every status request hangs until its read timeout."""

    def handler(request: httpx.Request) -> httpx.Response:
        read = request.extensions["timeout"]["read"]
        sent.append((clock.now(), read))
        clock.advance(read)
        raise httpx.ReadTimeout("hung", request=request)

    return {
        "api_key": "nb_sk_test_0123456789abcdef",
        "base_url": "https://api.test/api/v1",
        "rate_limit": None,
        "_clock": clock,
        "_transport": httpx.MockTransport(handler),
    }


async def test_a_wait_with_a_timeout_never_lets_its_polls_outlast_it() -> None:
    # The wait's polls (attempts and retries' pauses) end by the wait's deadline, not
    # after the client's 60 s read timeout times its retries.
    clock, sent = ManualClock(), []
    async with nb.AsyncClient(**_hanging(clock, sent)) as client:
        with pytest.raises(nb.TaskTimeoutError):
            await client.images.wait("abc", timeout=5.0)
    assert sent and all(at + read <= 5.1 for at, read in sent)
    assert clock.now() <= 5.1


def test_a_sync_wait_with_a_timeout_never_lets_its_polls_outlast_it() -> None:
    clock, sent = ManualClock(), []
    with nb.Client(**_hanging(clock, sent)) as client, pytest.raises(nb.TaskTimeoutError):
        client.images.wait("abc", timeout=5.0)
    assert sent and all(at + read <= 5.1 for at, read in sent)
    assert clock.now() <= 5.1


async def test_video_provider_failure_words_are_failures() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"task_id": "v1", "status": "cancelled", "error": "provider cancelled it"}
        return httpx.Response(200, content=json.dumps({"success": True, "data": body}))

    async with _mock_client(handler) as client:
        with pytest.raises(nb.TaskFailedError) as info:
            await client.videos.wait("v1")
    assert info.value.error == "provider cancelled it"
    assert info.value.task_id == "v1"


async def test_a_handle_names_its_kind() -> None:
    fake = _fake()
    async with fake.async_client() as client:
        image = await client.images.generate("a red fox")
        video = await client.videos.generate("a cat walking")
    assert (image.kind, video.kind) == ("image", "video")
    assert (nb.AsyncImageTask.kind, nb.ImageTask.kind, nb.VideoTask.kind) == (
        "image",
        "image",
        "video",
    )


async def test_a_clone_from_with_options_shares_the_poll_scheduler() -> None:
    # Waiting by id on the original client plans the first poll from the submission
    # the clone made (the clone's submissions are the original's): one poll, after the
    # policy's first delay. A client that did not know the submission would poll at once.
    fake = FakeNanoBanana(clock=ManualClock(), seed=7)
    fake.durations["image"] = 30.0
    async with fake.async_client() as client:
        clone = client.with_options(max_retries=1)
        task = await clone.images.generate("a red fox")
        submitted = fake.clock.now()
        policy = nb.PollPolicy(initial_delay=50.0, interval=1000.0, backoff=1.0)
        status = await client.images.wait(task.task_id, poll_policy=policy)
    assert status.status == "completed"
    polls = [r for r in fake.api_requests if r.route == "images/status"]
    assert len(polls) == 1
    assert 40.0 <= polls[0].time - submitted <= 60.0  # 50 s, jittered by at most 20%


def test_waiting_again_on_an_ended_sync_task_sends_nothing() -> None:
    fake = _fake(ManualClock())
    with fake.client() as client:
        task = client.images.generate("a red fox")
        first = task.wait()
        polls = _status_polls(fake)
        assert task.wait() == first
        assert _status_polls(fake) == polls


async def test_a_seeded_simulator_repeats_a_run_request_for_request() -> None:
    # The seed covers the clients the simulator makes, so the poll jitter (first polls,
    # polls after a running status) repeats too: on a virtual clock the whole timeline
    # of a concurrent run is the same every time, which a test or a benchmark can rely on.
    async def timeline(seed: int) -> list[tuple[float, str | None]]:
        fake = _fake(seed=seed)
        async with fake.async_client() as client, anyio.create_task_group() as tg:

            async def one(delay: float) -> None:
                await anyio.sleep(delay)
                await (await client.images.generate("a red fox"))

            for i in range(12):
                tg.start_soon(one, 0.7 * i)
        start = fake.api_requests[0].time
        # To 10 us: the server's clock (its Date and completed_at) is read against the
        # client's as seconds since 1970, where a double carries about 0.2 us.
        return [(round(r.time - start, 5), r.route) for r in fake.api_requests]

    first = await timeline(11)
    assert len(first) >= 24  # a submission and at least one poll a task
    assert await timeline(11) == first
    assert await timeline(12) != first
