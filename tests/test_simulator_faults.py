"""Fault injection: every kind, per route, scripted or by probability, and what a client sees."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from virtual_time import LoopClock

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana, Fault, ManualClock

pytestmark = pytest.mark.anyio


def manual_fake(**kw: Any) -> FakeNanoBanana:
    return FakeNanoBanana(clock=ManualClock(), seed=11, **kw)


async def test_fault_kinds_are_strings() -> None:
    assert Fault.HTTP_500 == "http_500"
    assert Fault.HTTP_502_HTML == "http_502_html"
    assert Fault.READ_TIMEOUT == "read_timeout"
    assert len(Fault.ALL) == 10


async def test_connection_refused_never_reaches_the_service() -> None:
    fake = manual_fake()
    handle = fake.inject(Fault.CONNECTION_REFUSED, route="images/generate", times=1)
    async with fake.async_client(max_retries=0) as client:
        with pytest.raises(nb.APIConnectionError):
            await client.images.generate("p")
        assert fake.requests == [] and fake.charges == []
        assert handle.fired == 1
        await client.images.generate("p")  # the script is used up
    assert len(fake.charges) == 1


@pytest.mark.parametrize("kind", [Fault.CONNECTION_REFUSED, Fault.RESET_BEFORE])
async def test_a_generate_that_never_left_is_retried_and_charged_once(kind: str) -> None:
    fake = manual_fake()
    fake.inject(kind, route="images/generate", times=1)
    async with fake.async_client(max_retries=2) as client:
        task = await client.images.generate("p")
    assert [c.task_id for c in fake.charges] == [task.task_id]
    assert fake.double_charges() == []


async def test_reset_before_raises_a_connect_error_in_process() -> None:
    fake = manual_fake()
    fake.inject(Fault.RESET_BEFORE, times=1)
    async with fake.async_http_client() as http:
        with pytest.raises(httpx.ConnectError, match="before the request was sent"):
            await http.get(f"{fake.base_url}/models")


@pytest.mark.parametrize("kind", [Fault.RESET_AFTER, Fault.READ_TIMEOUT])
async def test_a_generate_lost_after_processing_is_charged_and_never_resent(kind: str) -> None:
    fake = manual_fake()
    fake.inject(kind, route="images/generate", times=1)
    async with fake.async_client(max_retries=3) as client:
        error = nb.APITimeoutError if kind == Fault.READ_TIMEOUT else nb.APIConnectionError
        with pytest.raises(error):
            await client.images.generate("p")
    (record,) = fake.requests
    assert record.fault == kind and record.status is None and record.processed
    (charge,) = fake.charges  # the server created and charged the task
    assert charge.task_id in fake.tasks


async def test_read_faults_are_retried_for_reads() -> None:
    fake = manual_fake()
    fake.inject(Fault.READ_TIMEOUT, route="account/credits", times=1)
    fake.inject(Fault.RESET_AFTER, route="account/credits", times=1)
    async with fake.async_client(max_retries=2) as client:
        credits = await client.account.credits()
    assert credits.credits == 1000
    assert [r.fault for r in fake.requests] == ["read_timeout", "reset_after", None]


@pytest.mark.parametrize(("processed", "charged"), [(True, 1), (False, 0)])
async def test_http_500_on_generate_processed_or_not(processed: bool, charged: int) -> None:
    fake = manual_fake()
    fake.inject(Fault.HTTP_500, route="images/generate", processed=processed)
    async with fake.async_client(max_retries=3) as client:
        with pytest.raises(nb.InternalServerError) as info:
            await client.images.generate("p")
    assert info.value.status_code == 500 and info.value.code == "INTERNAL_ERROR"
    assert len(fake.requests) == 1  # a 5xx on a generate is never retried
    assert len(fake.charges) == charged


async def test_http_502_html_body() -> None:
    fake = manual_fake()
    fake.inject(Fault.HTTP_502_HTML, route="models", times=1)
    async with fake.async_http_client() as http:
        r = await http.get(
            f"{fake.base_url}/models", headers={"Authorization": f"Bearer {fake.api_key}"}
        )
    assert r.status_code == 502
    assert r.headers["content-type"] == "text/html"
    assert b"<h1>502 Bad Gateway</h1>" in r.content
    async with fake.async_client(max_retries=0) as client:
        fake.inject(Fault.HTTP_502_HTML, route="models", times=1)
        with pytest.raises(nb.InternalServerError) as info:
            await client.models.list()
        assert info.value.status_code == 502


async def test_http_503_carries_retry_after_in_api_seconds() -> None:
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock)
    fake.inject(Fault.HTTP_503, route="account/credits", times=1, retry_after=7.5)
    async with fake.async_client(max_retries=2) as client:
        await client.account.credits()
    first, second = fake.requests
    assert first.status == 503 and not first.processed
    assert second.status == 200
    assert second.time - first.time >= 7.5  # the client waited the hint (simulated time)


async def test_injected_429_is_not_counted_and_a_generate_is_retried() -> None:
    fake = manual_fake(rate_limit=(2, 60.0))
    fake.inject(Fault.HTTP_429, route="images/generate", times=1, retry_after=2)
    async with fake.async_client(max_retries=2) as client:
        task = await client.images.generate("p")
        await client.account.credits()  # the injected 429 took no slot of the window
    assert [r.status for r in fake.requests] == [429, 200, 200]
    assert [c.task_id for c in fake.charges] == [task.task_id]


async def test_injected_429_without_retry_after() -> None:
    fake = manual_fake()
    fake.inject(Fault.HTTP_429, times=1)
    async with fake.async_client(max_retries=0) as client:
        with pytest.raises(nb.RateLimitError) as info:
            await client.account.credits()
    assert info.value.retry_after is None


async def test_malformed_json_after_processing() -> None:
    fake = manual_fake()
    fake.inject(Fault.MALFORMED_JSON, route="images/generate", times=1)
    async with fake.async_client(max_retries=2) as client:
        with pytest.raises(nb.UnexpectedResponseError):
            await client.images.generate("p")
    assert len(fake.charges) == 1 and len(fake.requests) == 1


async def test_latency_delays_the_answer_in_api_time() -> None:
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock)
    fake.inject(Fault.LATENCY, route="models", seconds=12.0)
    async with fake.async_client() as client:
        before = clock.now()
        await client.models.list()
        assert clock.now() - before == pytest.approx(12.0)
        before = clock.now()
        await client.account.credits()  # another route: no delay
        assert clock.now() == before


@pytest.mark.virtual_time
async def test_latency_scaled_and_beyond_the_read_timeout() -> None:
    # The loop's virtual time stands for real time; the fake's runs 1000 times faster.
    fake = FakeNanoBanana(clock=LoopClock(scale=1000.0))
    fake.inject(Fault.LATENCY, route="models", seconds=100.0)  # 0.1 s of real time
    async with fake.async_client() as client:
        start, api_start = anyio.current_time(), fake.now()
        await client.models.list()
        assert anyio.current_time() - start == pytest.approx(0.1, abs=1e-5)
        assert fake.now() - api_start == pytest.approx(100.0, abs=1e-2)
    async with fake.async_client(timeout=0.02, max_retries=0) as client:
        start = anyio.current_time()
        with pytest.raises(nb.APITimeoutError):
            await client.models.list()
        assert anyio.current_time() - start == pytest.approx(0.02, abs=1e-5)


async def test_probability_is_seeded_and_roughly_right() -> None:
    def run(seed: int) -> list[int]:
        fake = FakeNanoBanana(clock=ManualClock(), seed=seed, rate_limit=None)
        fake.inject(Fault.HTTP_500, route="models", probability=0.3)
        with fake.client(max_retries=0) as client:
            for _ in range(100):
                try:
                    client.models.list()
                except nb.InternalServerError:
                    pass
        return [i for i, r in enumerate(fake.requests) if r.status == 500]

    assert run(3) == run(3)
    assert run(3) != run(4)
    assert 15 <= len(run(3)) <= 45


async def test_unconditional_fault_until_removed_and_clear() -> None:
    fake = manual_fake()
    handle = fake.inject(Fault.HTTP_500)  # every API route
    async with fake.async_client(max_retries=0) as client:
        for _ in range(3):
            with pytest.raises(nb.InternalServerError):
                await client.account.credits()
        handle.remove()
        await client.account.credits()
        fake.inject(Fault.HTTP_503, route="models")
        fake.inject(Fault.HTTP_500, route="account/credits")
        fake.clear_faults()
        await client.models.list()
        await client.account.credits()
    assert handle.fired == 3


async def test_faults_target_their_route_only() -> None:
    fake = manual_fake(durations={"image": 1.0})
    fake.inject(Fault.HTTP_500, route="images/status")
    async with fake.async_client(max_retries=0) as client:
        task = await client.images.generate("p")
        await client.account.credits()
        with pytest.raises(nb.InternalServerError):
            await client.images.status(task.task_id)


async def test_asset_faults_hit_downloads_only() -> None:
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock, durations={"image": 1.0})
    fake.inject(Fault.HTTP_503, route="assets", times=1)
    fake.inject(Fault.RESET_AFTER, route="assets", times=1)
    async with fake.async_client() as client:
        task = await client.images.generate("p")
        clock.advance(1)
        url = (await client.images.status(task.task_id)).image_url
    assert url is not None
    async with fake.async_http_client() as http:
        assert (await http.get(url)).status_code == 503
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(url)
        assert (await http.get(url)).status_code == 200


async def test_bad_fault_specs_are_refused() -> None:
    fake = manual_fake()
    with pytest.raises(ValueError, match="unknown fault"):
        fake.inject("meteor_strike")
    with pytest.raises(ValueError, match="unknown route"):
        fake.inject(Fault.HTTP_500, route="/api/v1/models")
    with pytest.raises(TypeError):
        fake.inject(Fault.LATENCY)  # needs seconds=
    with pytest.raises(TypeError):
        fake.inject(Fault.CONNECTION_REFUSED, processed=True)
    with pytest.raises(TypeError):
        fake.inject(Fault.HTTP_500, retry_after=3)
    with pytest.raises(ValueError):
        fake.inject(Fault.HTTP_500, probability=1.5)
