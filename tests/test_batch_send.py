"""The batch sends through the resources' own submit path with ``_send.request``'s ``on_send``
hook: the hook runs once the budget's permit is taken and before the request leaves; if it
refuses, nothing is sent and the permit comes back unsent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

import nanobanana as nb
from nanobanana import _protocol
from nanobanana._async._send import request
from nanobanana._options import NO_OPTIONS
from nanobanana._sync._send import request as sync_request
from nanobanana.testing import FakeNanoBanana

pytestmark = pytest.mark.anyio


class _Permit:
    def __init__(self, log: list[str]) -> None:
        self._log = log

    def release(self, *, sent: bool = True) -> None:
        self._log.append(f"release(sent={sent})")


class RecordingLimiter:
    """Logs every acquire and release; ``gate`` (if set) holds acquire until it opens."""

    def __init__(self, log: list[str], gate: anyio.Event | None = None) -> None:
        self.log = log
        self.gate = gate
        self.waiting = anyio.Event()

    async def acquire(self) -> _Permit:
        self.log.append("acquire")
        self.waiting.set()
        if self.gate is not None:
            await self.gate.wait()
        return _Permit(self.log)

    def pause(self, seconds: float) -> None:
        pass


class SyncRecordingLimiter:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def acquire(self) -> _Permit:
        self.log.append("acquire")
        return _Permit(self.log)

    def pause(self, seconds: float) -> None:
        pass


CREDITS = {"success": True, "data": {"credits": 5, "total_credits": 5, "is_vip": False}}


def _transport(log: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        log.append("send")
        return httpx.Response(200, json=CREDITS)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_on_send_runs_after_the_permit_and_before_the_request(flavour: str) -> None:
    log: list[str] = []

    def hook() -> None:
        log.append("on_send")

    if flavour == "async":
        async with nb.AsyncClient(
            api_key="nb_sk_x",
            rate_limit=RecordingLimiter(log),
            http_client=httpx.AsyncClient(transport=_transport(log)),
        ) as client:
            await request(client, _protocol.credits(), NO_OPTIONS, on_send=hook)
    else:
        with nb.Client(
            api_key="nb_sk_x",
            rate_limit=SyncRecordingLimiter(log),
            http_client=httpx.Client(transport=_transport(log)),
        ) as sync:
            sync_request(sync, _protocol.credits(), NO_OPTIONS, on_send=hook)
    assert log == ["acquire", "on_send", "send", "release(sent=True)"]


@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_a_refusing_on_send_sends_nothing_and_frees_the_permit(flavour: str) -> None:
    log: list[str] = []

    class Refused(Exception):
        pass

    def hook() -> None:
        log.append("on_send")
        raise Refused

    if flavour == "async":
        async with nb.AsyncClient(
            api_key="nb_sk_x",
            rate_limit=RecordingLimiter(log),
            http_client=httpx.AsyncClient(transport=_transport(log)),
        ) as client:
            with pytest.raises(Refused):
                await request(client, _protocol.credits(), NO_OPTIONS, on_send=hook)
    else:
        with nb.Client(
            api_key="nb_sk_x",
            rate_limit=SyncRecordingLimiter(log),
            http_client=httpx.Client(transport=_transport(log)),
        ) as sync:
            with pytest.raises(Refused):
                sync_request(sync, _protocol.credits(), NO_OPTIONS, on_send=hook)
    assert log == ["acquire", "on_send", "release(sent=False)"]


async def test_a_request_whose_turn_comes_after_close_is_never_sent(tmp_path: Path) -> None:
    """Closed while its generate request waits for the budget: the wait ends with the
    close (a stopping batch does not wait for a turn), no permit is taken and nothing is
    sent or charged; a rerun submits it."""
    fake = FakeNanoBanana(time_scale=2000)
    log: list[str] = []
    limiter = RecordingLimiter(log, gate=anyio.Event())
    journal = tmp_path / "run.sqlite"
    async with fake.async_client(rate_limit=limiter) as client:
        batch = client.images.generate_many(["a lighthouse"], preflight=False, journal=journal)
        await batch.__aenter__()
        await limiter.waiting.wait()  # the generate request waits for its turn
        async with anyio.create_task_group() as tg:
            tg.start_soon(batch.aclose)
            await anyio.wait_all_tasks_blocked()  # closing: waiting for the worker
            assert limiter.gate is not None
            limiter.gate.set()  # the turn would come now, after the close
    assert log == ["acquire"]  # the wait was given up: no permit, so nothing to release
    assert [r.route for r in fake.api_requests] == []
    assert fake.charges == []
    # nothing was sent, so the journal lets a rerun submit it (once)
    async with fake.async_client(rate_limit=None) as client:
        items = [i async for i in client.images.generate_many(["a lighthouse"], journal=journal)]
    assert [i.ok for i in items] == [True]
    assert len(fake.charges) == 1


async def test_the_journal_says_sending_before_the_request_leaves(tmp_path: Path) -> None:
    """If the process died while the request was on the wire, the rerun must not resubmit
    it: so the row is 'sending' by the time the server sees the request."""
    fake = FakeNanoBanana(time_scale=2000)
    seen: list[str | None] = []
    holder: dict[str, Any] = {}

    class Probe(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("images/generate"):
                # white-box: the journal holds an exclusive lock, so read it through the batch
                row = holder["batch"]._engine.run.journal.get(0)
                seen.append(None if row is None else row.state)
            return await fake.transport.handle_async_request(request)

    async with fake.async_client(_transport=Probe()) as client:
        batch = client.images.generate_many(["a lighthouse"], journal=tmp_path / "run.sqlite")
        holder["batch"] = batch
        items = [i async for i in batch]
    assert seen == ["sending"]
    assert [i.ok for i in items] == [True]


async def test_the_submit_path_refuses_a_request_of_the_other_kind() -> None:
    """The batch hands ``_submit`` requests it built from any input: the resource checks
    the kind, so a video request never becomes an image task (nothing is sent)."""
    fake = FakeNanoBanana(time_scale=2000)
    async with fake.async_client() as client:
        with pytest.raises(nb.InvalidParameterError, match=r"takes nb\.ImageRequest"):
            await client.images._submit(nb.VideoRequest("a cat"), NO_OPTIONS)
        with pytest.raises(nb.InvalidParameterError, match=r"takes nb\.VideoRequest"):
            await client.videos._submit(nb.ImageRequest("a cat"), NO_OPTIONS)
    assert fake.api_requests == []
