"""Batch fan-out: generate_many against the simulator, async and sync.

Async tests run in virtual time (tests/virtual_time.py): a timeout around the loop, or a
pause after leaving it, is in API seconds and means the same on any machine. The sync
twin runs its workers in threads, in real (scaled) time.
"""

from __future__ import annotations

import collections
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from virtual_time import LoopClock

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana, Fault

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


def _generates(fake: FakeNanoBanana) -> list[object]:
    return [r for r in fake.api_requests if r.route in ("images/generate", "videos/generate")]


def _accounted(items: list[nb.BatchItem], n: int) -> None:
    indexes = [item.index for item in items]
    assert sorted(indexes) == list(range(n)), "every request exactly once"


@pytest.mark.slow
async def test_500_prompts_with_filtered_and_failing_tasks(anyio_backend: str) -> None:
    fake = FakeNanoBanana(
        clock=LoopClock(), seed=5, failure_rate=0.05, content_filter=["forbidden"], credits=10_000
    )
    prompts = [
        f"forbidden scene {i}" if i % 20 == 7 else f"a watercolor of lighthouse {i}"
        for i in range(500)
    ]
    async with fake.async_client() as client:
        items = [item async for item in client.images.generate_many(prompts)]
    _accounted(items, 500)
    filtered = [i for i in items if isinstance(i.error, nb.ContentFilteredError)]
    failed = [i for i in items if isinstance(i.error, nb.TaskFailedError)]
    ok = [i for i in items if i.ok]
    assert len(filtered) == 25
    assert all(i.task_id is None and "forbidden" in i.request.prompt for i in filtered)
    assert 10 <= len(failed) <= 45  # 5% of 475, seeded
    assert all(i.task_id and i.status is not None and i.status.failed for i in failed)
    assert len(ok) + len(failed) + len(filtered) == 500
    assert all(i.status is not None and i.status.image_url for i in ok)
    # one charge per task, none twice
    charged = collections.Counter(c.task_id for c in fake.charges)
    assert set(charged) == {i.task_id for i in items if i.task_id}
    assert max(charged.values()) == 1
    assert fake.double_charges() == []
    assert len(_generates(fake)) == 500  # one generate per request, none retried


def test_sync_twin_yields_the_same_items(tmp_path: Path) -> None:
    # result_ttl=None: threads in scaled time; a late download must not find it expired
    fake = FakeNanoBanana(time_scale=2000, seed=2, content_filter=["forbidden"], result_ttl=None)
    prompts = [f"a cat {i}" for i in range(20)] + ["forbidden", ""]
    with fake.client() as client:
        batch = client.images.generate_many(prompts, save_to=tmp_path)
        assert isinstance(batch, nb.Batch)
        items = list(batch)
    _accounted(items, 22)
    ok = [i for i in items if i.ok]
    assert len(ok) == 20
    for item in ok:
        assert len(item.paths) == 1 and item.paths[0].read_bytes().startswith(b"\x89PNG")
    errors = {i.index: type(i.error) for i in items if not i.ok}
    assert errors == {20: nb.ContentFilteredError, 21: nb.InvalidParameterError}


async def test_invalid_input_is_an_item_and_nothing_is_sent(anyio_backend: str) -> None:
    fake = FakeNanoBanana(clock=LoopClock())
    requests: list[object] = [
        "   ",
        nb.ImageRequest("x", num_images=9),
        nb.ImageRequest("y", model="nano-banana", resolution="4K"),
        42,
        {"prompt": "z", "colour": "red"},
        nb.VideoRequest("wrong kind"),
    ]
    async with fake.async_client() as client:
        items = [i async for i in client.images.generate_many(requests)]
    _accounted(items, len(requests))
    assert all(isinstance(i.error, nb.InvalidParameterError) for i in items)
    assert all(not i.submitted for i in items)
    assert _generates(fake) == []
    assert fake.charges == []


async def test_requests_objects_and_mappings_are_accepted(anyio_backend: str) -> None:
    fake = FakeNanoBanana(clock=LoopClock())
    requests = [
        nb.ImageRequest("a", model="nano-banana-pro", resolution="2K", num_images=2),
        {"prompt": "b", "aspect_ratio": "16:9"},
        "c",
    ]
    async with fake.async_client() as client:
        items = [i async for i in client.images.generate_many(requests)]
    assert all(i.ok for i in items)
    by_index = {i.index: i for i in items}
    assert by_index[0].request.resolution == "2K"  # type: ignore[union-attr]
    assert len(by_index[0].status.image_urls) == 2  # type: ignore[union-attr]
    assert by_index[1].request == nb.ImageRequest("b", aspect_ratio="16:9")


async def test_async_iterable_input_and_on_progress(anyio_backend: str) -> None:
    fake = FakeNanoBanana(clock=LoopClock())
    seen: list[int] = []

    async def prompts() -> AsyncIterator[str]:
        for i in range(12):
            yield f"prompt {i}"

    async with fake.async_client() as client:
        async with client.images.generate_many(
            prompts(), on_progress=lambda item: seen.append(item.index)
        ) as batch:
            items = [i async for i in batch]
    _accounted(items, 12)
    assert seen == [i.index for i in items]


async def test_preflight_refuses_a_batch_over_the_balance(anyio_backend: str) -> None:
    fake = FakeNanoBanana(clock=LoopClock(), credits=5)
    async with fake.async_client() as client:
        with pytest.raises(nb.BudgetExceededError) as caught:
            async for _ in client.images.generate_many([f"p{i}" for i in range(10)]):
                pass
    assert "10" in str(caught.value) and "5" in str(caught.value)
    assert caught.value.needed == 10 and caught.value.available == 5
    # a local refusal, not an answer of the API (it was never asked)
    assert not isinstance(caught.value, nb.APIStatusError)
    assert isinstance(caught.value, nb.NanoBananaError)
    assert _generates(fake) == []
    # one cost request for the one parameter set, one balance request
    routes = [r.route for r in fake.api_requests]
    assert routes.count("account/calculate-cost") == 1
    assert routes.count("account/credits") == 1


def test_preflight_refuses_a_batch_over_max_credits() -> None:
    fake = FakeNanoBanana(time_scale=2000)
    requests = [nb.ImageRequest(f"p{i}", model="nano-banana-pro") for i in range(4)]
    requests += [nb.ImageRequest(f"q{i}") for i in range(3)]
    with fake.client() as client:
        with pytest.raises(nb.BudgetExceededError, match=r"27 credits.*max_credits=20"):
            list(client.images.generate_many(requests, max_credits=20))
        assert _generates(fake) == []
        # within the budget: runs
        items = list(client.images.generate_many(requests, max_credits=27))
    assert all(i.ok for i in items)
    assert sum(c.credits for c in fake.charges) == 27


async def test_max_credits_without_preflight_stops_as_it_runs(anyio_backend: str) -> None:
    fake = FakeNanoBanana(clock=LoopClock())

    def endless() -> Iterator[str]:
        for i in range(40):
            yield f"prompt {i}"

    async with fake.async_client() as client:
        items = [
            i
            async for i in client.images.generate_many(
                endless(), preflight=False, max_credits=6, concurrency=3
            )
        ]
    _accounted(items, 40)
    assert sum(c.credits for c in fake.charges) == 6
    assert sum(i.ok for i in items) == 6
    stopped = [i for i in items if isinstance(i.error, nb.NotSubmittedError)]
    assert len(stopped) == 34
    assert all(isinstance(i.error.reason, nb.BudgetExceededError) for i in stopped)  # type: ignore[union-attr]
    assert "max_credits=6" in str(stopped[0].error)


async def test_credits_running_out_stops_new_submissions(anyio_backend: str) -> None:
    fake = FakeNanoBanana(clock=LoopClock(), credits=7)
    async with fake.async_client() as client:
        items = [
            i
            async for i in client.images.generate_many(
                [f"p{i}" for i in range(30)], preflight=False, concurrency=4
            )
        ]
    _accounted(items, 30)
    assert sum(i.ok for i in items) == 7  # the in-flight ones were awaited
    refused = [i for i in items if isinstance(i.error, nb.InsufficientCreditsError)]
    not_sent = [i for i in items if isinstance(i.error, nb.NotSubmittedError)]
    assert 1 <= len(refused) <= 4
    assert len(refused) + len(not_sent) == 23
    assert all(isinstance(i.error.reason, nb.InsufficientCreditsError) for i in not_sent)  # type: ignore[union-attr]
    assert len(_generates(fake)) == 7 + len(refused)


async def test_a_disabled_key_stops_the_batch(anyio_backend: str) -> None:
    fake = FakeNanoBanana(clock=LoopClock())
    fake.set_key_state(fake.api_key, "disabled")
    async with fake.async_client() as client:
        items = [
            i
            async for i in client.images.generate_many(
                [f"p{i}" for i in range(20)], preflight=False, concurrency=2
            )
        ]
    _accounted(items, 20)
    denied = [i for i in items if isinstance(i.error, nb.PermissionDeniedError)]
    assert 1 <= len(denied) <= 2
    assert len(_generates(fake)) == len(denied)
    assert all(isinstance(i.error, (nb.PermissionDeniedError, nb.NotSubmittedError)) for i in items)


async def test_subscription_model_403_is_only_that_requests_failure(anyio_backend: str) -> None:
    fake = FakeNanoBanana(clock=LoopClock(), subscription=None)
    requests = [nb.ImageRequest("a", model="nano-banana-2"), "b", "c"]
    async with fake.async_client() as client:
        items = [i async for i in client.images.generate_many(requests, preflight=False)]
    by_index = {i.index: i for i in items}
    assert isinstance(by_index[0].error, nb.PermissionDeniedError)
    assert by_index[1].ok and by_index[2].ok


async def test_unknown_fate_is_reported_and_never_resubmitted(
    anyio_backend: str, tmp_path: Path
) -> None:
    fake = FakeNanoBanana(clock=LoopClock())
    fake.inject(Fault.HTTP_500, route="images/generate", times=1, processed=True)
    journal = tmp_path / "j.sqlite"
    prompts = [f"p{i}" for i in range(5)]
    async with fake.async_client() as client:
        first = [i async for i in client.images.generate_many(prompts, journal=journal)]
        attention = [i for i in first if i.needs_attention]
        assert len(attention) == 1 and not attention[0].submitted
        assert sum(i.ok for i in first) == 4
        generates = len(_generates(fake))
        second = [i async for i in client.images.generate_many(prompts, journal=journal)]
    assert len(_generates(fake)) == generates  # nothing resubmitted
    again = [i for i in second if i.needs_attention]
    assert [i.index for i in again] == [attention[0].index]
    assert "not resubmitted" in str(again[0].error)
    assert sum(i.ok for i in second) == 4


class _GarbledOnce(httpx.AsyncBaseTransport):
    """The simulator, with the first generate answer's ``credits_used`` not a number: the
    task exists (its id reads) though its answer does not decode."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.garbled: str | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.garbled is None and request.url.path.endswith("/generate"):
            body = json.loads(await response.aread())
            body["data"]["credits_used"] = "two"
            self.garbled = body["data"]["task_id"]
            return httpx.Response(response.status_code, json=body)
        return response


async def test_a_task_whose_answer_reads_only_in_part_is_waited_for_not_lost(
    anyio_backend: str, tmp_path: Path
) -> None:
    fake = FakeNanoBanana(clock=LoopClock())
    garbling = _GarbledOnce(fake.transport)
    journal = tmp_path / "j.sqlite"
    async with fake.async_client(_transport=garbling) as client:
        first = [i async for i in client.images.generate_many(["a", "b"], journal=journal)]
        assert garbling.garbled is not None
        assert all(i.ok for i in first)
        assert garbling.garbled in [i.task_id for i in first]
        second = [i async for i in client.images.generate_many(["a", "b"], journal=journal)]
    assert len(_generates(fake)) == 2  # the rerun found both in the journal
    assert sorted(i.task_id for i in second) == sorted(i.task_id for i in first)
    assert all(i.ok for i in second)


class _Unforeseen(Exception):
    """An error no step of a batch expects (a bug of ours, or of a library under us)."""


class _BrokenAssets(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The simulator, whose asset host answers a body its Content-Encoding does not undo
    (``fail``: raises that error instead); the API is the simulator's own."""

    def __init__(self, fake: FakeNanoBanana, fail: BaseException | None = None) -> None:
        self.fake = fake
        self.fail = fail

    def _broken(self, request: httpx.Request) -> httpx.Response:
        if self.fail is not None:
            raise self.fail
        return httpx.Response(
            200,
            headers={"Content-Encoding": "gzip", "Content-Type": "image/png"},
            stream=httpx.ByteStream(b"this body is not gzip at all"),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == self.fake.asset_host:
            return self._broken(request)
        return self.fake.transport.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == self.fake.asset_host:
            return self._broken(request)
        return await self.fake.transport.handle_async_request(request)


def _charged_once(fake: FakeNanoBanana, item: nb.BatchItem) -> None:
    """``item`` keeps the one task its request was charged for."""
    (charge,) = fake.charges
    assert item.task_id is not None and item.task_id == charge.task_id
    assert item.credits_used is not None and item.submitted_at is not None


@pytest.mark.parametrize("fail", [None, _Unforeseen("no such luck")], ids=["not_gzip", "raises"])
async def test_a_download_that_fails_keeps_the_task_of_its_item(
    anyio_backend: str, tmp_path: Path, fail: BaseException | None
) -> None:
    """A body that does not decode (httpx's DecodingError, which the batch did not
    expect) made an item without the task it had paid for: now it is an
    APIConnectionError of that item, beside its task id and status. An error nothing
    expects keeps the task id too. Either way the journal keeps the task: a rerun
    downloads its result without submitting again."""
    fake = FakeNanoBanana(clock=LoopClock())
    request = nb.ImageRequest("a fox", aspect_ratio="16:9")
    journal, out = tmp_path / "j.sqlite", tmp_path / "out"
    async with fake.async_client(_transport=_BrokenAssets(fake, fail)) as client:
        batch = client.images.generate_many([request], save_to=out, journal=journal)
        (item,) = [i async for i in batch]
        assert batch.unreported == {}
    _charged_once(fake, item)
    assert item.request == request and item.paths == ()
    if fail is None:
        assert isinstance(item.error, nb.APIConnectionError)
        assert "could not be decoded" in str(item.error)
        assert item.status is not None and item.status.succeeded
    else:
        assert item.error is fail
    assert not out.exists() or list(out.iterdir()) == []  # nothing half-written
    async with fake.async_client() as client:
        (again,) = [
            i async for i in client.images.generate_many([request], save_to=out, journal=journal)
        ]
    assert again.ok and again.task_id == item.task_id and len(again.paths) == 1
    assert len(_generates(fake)) == 1


async def test_an_error_before_the_task_is_journaled_keeps_it_in_the_journal(
    anyio_backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The generate answered with a task id, and an error nothing expects came before the
    journal had it: the item keeps the task, and so does the journal (it said "sending",
    which a rerun cannot resume: it would need attention), so a rerun waits for it."""
    from nanobanana._journal import Journal

    submitted = Journal.submitted
    failures = [_Unforeseen("the first write failed")]

    def flaky(self: Journal, *args: object, **kw: object) -> None:
        if failures:
            raise failures.pop()
        submitted(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Journal, "submitted", flaky)
    fake = FakeNanoBanana(clock=LoopClock())
    journal = tmp_path / "j.sqlite"
    async with fake.async_client() as client:
        (item,) = [i async for i in client.images.generate_many(["a fox"], journal=journal)]
        assert isinstance(item.error, _Unforeseen)
        _charged_once(fake, item)
        (again,) = [i async for i in client.images.generate_many(["a fox"], journal=journal)]
    assert again.ok and again.task_id == item.task_id and not again.needs_attention
    assert len(_generates(fake)) == 1


async def test_a_generate_never_processed_is_tried_again(anyio_backend: str) -> None:
    fake = FakeNanoBanana(clock=LoopClock())
    fake.inject(Fault.HTTP_429, route="images/generate", times=4, retry_after=1.0)
    fake.inject(Fault.CONNECTION_REFUSED, route="images/generate", times=3)
    async with fake.async_client() as client:
        items = [i async for i in client.images.generate_many(["a", "b"], concurrency=1)]
    assert all(i.ok for i in items)
    assert len(fake.charges) == 2


async def test_a_batch_on_a_closed_client_sends_nothing_and_retries_nothing(
    anyio_backend: str, tmp_path: Path
) -> None:
    """httpx's RuntimeError came out of each request as an unexpected error; now each item
    says the client is closed (APIConnectionError, nothing sent), without the batch's
    pauses between retries, and a rerun on an open client submits them."""
    fake = FakeNanoBanana(clock=LoopClock())
    journal = tmp_path / "j.sqlite"
    client = fake.async_client()
    await client.aclose()
    started = fake.now()
    batch = client.images.generate_many(["a", "b"], preflight=False, journal=journal)
    items = [i async for i in batch]
    assert fake.now() == started  # no pause: a closed client does not open again
    assert all(isinstance(i.error, nb.APIConnectionError) for i in items)
    assert all("client is closed" in str(i.error) for i in items)
    assert all(i.task_id is None and not i.needs_attention for i in items)
    assert fake.api_requests == [] and fake.charges == []
    async with fake.async_client() as client:
        again = [i async for i in client.images.generate_many(["a", "b"], journal=journal)]
    assert all(i.ok for i in again) and len(fake.charges) == 2


async def test_leaving_early_stops_submitting(anyio_backend: str) -> None:
    fake = FakeNanoBanana(clock=LoopClock())
    async with fake.async_client() as client:
        async with client.images.generate_many(
            [f"p{i}" for i in range(100)], concurrency=3
        ) as batch:
            async for _item in batch:
                break
        charged = len(fake.charges)
        await anyio.sleep(25.0)  # tasks end and free their places: nothing more is submitted
        assert len(fake.charges) == charged
    assert charged <= 3 + 1


async def test_a_timeout_around_the_loop_is_safe(anyio_backend: str) -> None:
    fake = FakeNanoBanana(clock=LoopClock())
    fake.durations["image"] = 10.0
    got: list[nb.BatchItem] = []
    async with fake.async_client() as client:
        async with client.images.generate_many([f"p{i}" for i in range(50)]) as batch:
            with anyio.move_on_after(20.0) as timeout:  # the first eight end at about 15 s
                async for item in batch:
                    got.append(item)
        charged = len(fake.charges)
    assert timeout.cancelled_caught
    assert 0 < len(got) < 50
    assert charged < 50


async def test_a_plain_loop_left_early_is_safe_and_stops_submitting(anyio_backend: str) -> None:
    fake = FakeNanoBanana(clock=LoopClock())
    async with fake.async_client() as client:
        async for _item in client.images.generate_many(
            [f"p{i}" for i in range(100)], concurrency=3
        ):
            break  # no async with, no aclose: the dropped batch winds down by itself
        # A request that left before the loop was left may be answered (and charged) after
        # it. Nothing new is started: once the tasks end and free their places, the three
        # in flight and the one started when the first ended are all that was submitted.
        await anyio.sleep(25.0)
        assert len(fake.charges) <= 4


def test_sync_plain_loop_left_early_stops_submitting() -> None:
    fake = FakeNanoBanana(time_scale=500)
    with fake.client() as client:
        for _item in client.images.generate_many([f"p{i}" for i in range(100)], concurrency=3):
            break
        # The workers are threads: one may still be sending the request it had its turn
        # for. Nothing new is started: 25 API seconds on, the three tasks in flight and the
        # one started when the first ended are all that was ever submitted.
        time.sleep(0.05)
        assert len(fake.charges) <= 4


def test_sync_break_inside_with_stops_submitting() -> None:
    fake = FakeNanoBanana(time_scale=500)
    with fake.client() as client:
        with client.images.generate_many([f"p{i}" for i in range(100)], concurrency=3) as batch:
            for _item in batch:
                break
        charged = len(fake.charges)
    assert charged <= 4


async def test_video_batch(anyio_backend: str, tmp_path: Path) -> None:
    fake = FakeNanoBanana(clock=LoopClock())
    requests = [nb.VideoRequest("a cat walking", duration=4), "a dog running"]
    async with fake.async_client() as client:
        items = [i async for i in client.videos.generate_many(requests, save_to=tmp_path)]
    assert all(i.ok for i in items)
    assert all(isinstance(i.status, nb.VideoStatus) for i in items)
    assert all(p.suffix == ".mp4" and p.stat().st_size > 0 for i in items for p in i.paths)


def test_bad_arguments_are_refused_at_once() -> None:
    fake = FakeNanoBanana()
    with fake.client() as client:
        with pytest.raises(nb.InvalidParameterError):
            client.images.generate_many(["a"], concurrency=0)
        with pytest.raises(nb.InvalidParameterError):
            client.images.generate_many(["a"], max_credits=-1)
        with pytest.raises(nb.InvalidParameterError):
            client.images.generate_many("a single prompt")  # type: ignore[arg-type]


def test_sync_twin_stops_on_budget_and_fatal_errors(tmp_path: Path) -> None:
    fake = FakeNanoBanana(time_scale=2000, credits=7)
    with fake.client() as client:
        items = list(
            client.images.generate_many(
                (f"p{i}" for i in range(20)), preflight=False, concurrency=3, max_credits=5
            )
        )
        assert sum(i.ok for i in items) == 5
        assert all(
            isinstance(i.error.reason, nb.BudgetExceededError)  # type: ignore[union-attr]
            for i in items
            if isinstance(i.error, nb.NotSubmittedError)
        )
        items = list(client.images.generate_many([f"q{i}" for i in range(10)], preflight=False))
    _accounted(items, 10)
    assert sum(i.ok for i in items) == 2  # the last 2 credits, then 402 stops the batch
    assert all(
        isinstance(i.error, (nb.InsufficientCreditsError, nb.NotSubmittedError))
        for i in items
        if not i.ok
    )


def test_sync_twin_journal_unknown_fate_and_videos(tmp_path: Path) -> None:
    fake = FakeNanoBanana(time_scale=20_000, result_ttl=None)  # results never expire
    fake.inject(Fault.READ_TIMEOUT, route="videos/generate", times=1, processed=True)
    journal = tmp_path / "v.sqlite"
    requests = [nb.VideoRequest(f"a wave {i}", duration=4) for i in range(4)]
    with fake.client(timeout=0.5) as client:
        first = list(client.videos.generate_many(requests, journal=journal, save_to=tmp_path))
        again = list(client.videos.generate_many(requests, journal=journal, save_to=tmp_path))
    for items in (first, again):
        _accounted(items, 4)
        assert sum(i.needs_attention for i in items) == 1
        assert sum(i.ok for i in items) == 3
    assert sum(r.route == "videos/generate" for r in fake.api_requests) == 4


@pytest.mark.parametrize("fail", [None, _Unforeseen("no such luck")], ids=["not_gzip", "raises"])
def test_sync_twin_keeps_the_task_of_an_item_whose_download_fails(
    tmp_path: Path, fail: BaseException | None
) -> None:
    fake = FakeNanoBanana(time_scale=2000, result_ttl=None)
    journal, out = tmp_path / "j.sqlite", tmp_path / "out"
    with fake.client(_transport=_BrokenAssets(fake, fail)) as client:
        (item,) = list(client.images.generate_many(["a fox"], save_to=out, journal=journal))
    _charged_once(fake, item)
    assert item.paths == ()
    if fail is None:
        assert isinstance(item.error, nb.APIConnectionError)
    else:
        assert item.error is fail
    with fake.client() as client:
        (again,) = list(client.images.generate_many(["a fox"], save_to=out, journal=journal))
    assert again.ok and again.task_id == item.task_id and len(again.paths) == 1
    assert len(_generates(fake)) == 1
