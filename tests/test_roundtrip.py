"""Full round trips: generate -> status -> download, on the async and sync clients,
in-process (async in virtual time, sync on a ManualClock) and over ``fake.serve()`` (a
real socket through uvicorn, in scaled real time: marked slow)."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from virtual_time import LoopClock

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana, Fault, ManualClock

pytestmark = pytest.mark.anyio

SCALE = 1000.0  # over a socket: images take 10-20 ms, videos 60-300 ms of real time


def check_png(data: bytes, size: tuple[int, int]) -> None:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert struct.unpack(">II", data[16:24]) == size
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a test-only extra
        return
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.size == size


def check_mp4(data: bytes) -> None:
    assert data[4:8] == b"ftyp"
    assert b"moov" in data and b"mdat" in data


def assert_no_key_on_asset_host(fake: FakeNanoBanana, asset_host: str) -> None:
    downloads = [r for r in fake.requests if r.is_asset]
    assert downloads, "no download reached the asset host"
    assert all(r.host == asset_host for r in downloads)
    assert all("authorization" not in r.headers and r.key_hash is None for r in downloads)


# -- in-process ------------------------------------------------------------------------


@pytest.mark.virtual_time
async def test_async_roundtrip_in_process() -> None:
    fake = FakeNanoBanana(clock=LoopClock(), seed=1)
    async with fake.async_client() as client:
        task = await client.images.generate("A sunset", aspect_ratio="16:9", num_images=2)
        while not (status := await client.images.status(task.task_id)).done:
            await fake.clock.asleep(2.0)
        vtask = await client.videos.generate("A cat", duration=6)
        while not (vstatus := await client.videos.status(vtask.task_id)).done:
            await fake.clock.asleep(20.0)
    assert status.status == "completed" and len(status.image_urls) == 2
    assert vstatus.status == "succeeded" and vstatus.video_url is not None
    async with fake.async_http_client() as http:
        for url in status.image_urls:
            check_png((await http.get(url)).content, (1024, 576))
        check_mp4((await http.get(vstatus.video_url)).content)
    assert_no_key_on_asset_host(fake, fake.asset_host)
    assert [c.credits for c in fake.charges] == [2, 15]


def test_sync_roundtrip_in_process() -> None:
    fake = FakeNanoBanana(clock=ManualClock(), seed=2)
    with fake.client() as client:
        task = client.images.generate("A sunset", model="nano-banana-pro", resolution="2K")
        while not (status := client.images.status(task.task_id)).done:
            fake.clock.sleep(2.0)
        assert client.account.credits().credits == 1000 - 6
    assert status.image_url is not None
    with fake.http_client() as http:
        check_png(http.get(status.image_url).content, (2048, 2048))
    assert_no_key_on_asset_host(fake, fake.asset_host)


@pytest.mark.virtual_time
async def test_async_task_wait_and_client_download(tmp_path: Path) -> None:
    fake = FakeNanoBanana(clock=LoopClock(), seed=3)
    async with fake.async_client() as client:
        status = await (await client.images.generate("A fox", num_images=2)).wait(timeout=600)
        paths = [await client.download(url, tmp_path) for url in status.image_urls]
    assert len({p.name for p in paths}) == 2
    for path in paths:
        check_png(path.read_bytes(), (1024, 1024))
    assert_no_key_on_asset_host(fake, fake.asset_host)


def test_sync_task_wait_and_client_download(tmp_path: Path) -> None:
    fake = FakeNanoBanana(clock=ManualClock(), seed=4)
    with fake.client() as client:
        status = client.videos.generate("A dog").wait(timeout=600)
        assert status.video_url is not None
        path = client.download(status.video_url, tmp_path)
    check_mp4(path.read_bytes())
    assert_no_key_on_asset_host(fake, fake.asset_host)


async def test_sync_and_async_clients_share_one_simulator() -> None:
    fake = FakeNanoBanana(clock=ManualClock())
    with fake.client() as sync_client:
        sync_task = sync_client.images.generate("one")
    async with fake.async_client() as client:
        status = await client.images.status(sync_task.task_id)
        await client.images.generate("two")
    assert status.task_id == sync_task.task_id
    assert fake.account().credits == 998


# -- over a real socket ----------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[FakeNanoBanana, str]]:
    fake = FakeNanoBanana(time_scale=SCALE, seed=5, result_ttl=None)  # however late the download
    with fake.serve() as url:
        yield fake, url


@pytest.mark.slow
async def test_async_roundtrip_over_serve(served: tuple[FakeNanoBanana, str]) -> None:
    fake, url = served
    assert url.startswith("http://127.0.0.1:") and url.endswith("/api/v1")
    async with nb.AsyncClient(api_key=fake.api_key, base_url=url, _clock=fake.clock) as client:  # type: ignore[arg-type]
        task = await client.images.generate("A sunset", aspect_ratio="9:16", output_format="png")
        while not (status := await client.images.status(task.task_id)).done:
            await fake.clock.asleep(2.0)
    assert status.image_url is not None
    asset = httpx.URL(status.image_url)
    assert asset.host == "localhost" and asset.port == httpx.URL(url).port
    async with httpx.AsyncClient() as http:
        check_png((await http.get(status.image_url)).content, (576, 1024))
    assert_no_key_on_asset_host(fake, "localhost")
    assert {r.host for r in fake.requests if not r.is_asset} == {"127.0.0.1"}


@pytest.mark.slow
def test_sync_roundtrip_over_serve(served: tuple[FakeNanoBanana, str], tmp_path: Path) -> None:
    fake, url = served
    with nb.Client(api_key=fake.api_key, base_url=url, _clock=fake.clock) as client:  # type: ignore[arg-type]
        vtask = client.videos.generate("A cat", model="veo-3.1-fast", duration=8)
        while not (vstatus := client.videos.status(vtask.task_id)).done:
            fake.clock.sleep(20.0)
        assert vstatus.video_url is not None
        path = client.download(vstatus.video_url, tmp_path)
    check_mp4(path.read_bytes())
    assert_no_key_on_asset_host(fake, "localhost")
    assert [c.credits for c in fake.charges] == [20]


@pytest.mark.slow
def test_serve_drops_the_connection_after_processing(
    served: tuple[FakeNanoBanana, str],
) -> None:
    fake, url = served
    fake.inject(Fault.RESET_AFTER, route="images/generate", times=1)
    with nb.Client(api_key=fake.api_key, base_url=url, _clock=fake.clock, max_retries=3) as client:  # type: ignore[arg-type]
        with pytest.raises(nb.APIConnectionError):
            client.images.generate("p")
    assert len(fake.charges) == 1 and len(fake.requests) == 1  # charged, never resent


@pytest.mark.slow
async def test_serve_read_timeout_really_times_out(served: tuple[FakeNanoBanana, str]) -> None:
    fake, url = served
    fake.inject(Fault.READ_TIMEOUT, route="account/credits", times=1)
    async with nb.AsyncClient(
        api_key=fake.api_key,
        base_url=url,
        _clock=fake.clock,  # type: ignore[arg-type]
        timeout=2.0,  # real seconds: the answer to the retry must come within it
        max_retries=1,
    ) as client:
        credits = await client.account.credits()  # first try hangs, the retry answers
    assert credits.credits == 1000
    assert [r.fault for r in fake.requests] == ["read_timeout", None]


@pytest.mark.slow
def test_serve_rate_limit_answers_429_with_retry_after() -> None:
    fake = FakeNanoBanana(rate_limit=(2, 60.0), clock=ManualClock())  # time stands still
    with fake.serve() as url:
        headers = {"Authorization": f"Bearer {fake.api_key}"}
        with httpx.Client(base_url=url + "/", headers=headers) as http:
            assert http.get("models").status_code == 200
            assert http.get("account/credits").status_code == 200
            refused = http.get("models")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert refused.headers["retry-after"] == "60"
