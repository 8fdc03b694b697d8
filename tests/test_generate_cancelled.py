"""A generate request cancelled after it left: its caller goes at once, its answer is
still read, and the task it bought is named (never lost) or said to be unknown.

The transport holds the generate answer until the test lets it go, so every step is
ordered by events, not by time.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import anyio
import httpx
import pytest
from conftest import API_KEY

import nanobanana as nb

pytestmark = pytest.mark.anyio

CREATED = {
    "success": True,
    "data": {"task_id": "t-123", "status": "pending", "credits_used": 2, "credits_remaining": 8},
}


class HeldAnswers(httpx.AsyncBaseTransport):
    """Answers every generate request with ``answer`` once ``release`` is set."""

    def __init__(self, answer: httpx.Response | Exception) -> None:
        self.answer = answer
        self.posts = 0
        self.arrived = anyio.Event()
        self.release = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        self.posts += 1
        self.arrived.set()
        await self.release.wait()
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def make_client(transport: HeldAnswers) -> nb.AsyncClient:
    return nb.AsyncClient(
        api_key=API_KEY,
        base_url="https://api.test",
        rate_limit=None,
        max_retries=0,
        http_client=httpx.AsyncClient(transport=transport),
    )


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "nanobanana"]


async def cancel_mid_flight(client: nb.AsyncClient, transport: HeldAnswers) -> bool:
    """Start a generate, cancel it once its request reached the server; True when the
    caller was cancelled while the answer was still held."""
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:

            async def cancel_once_sent() -> None:
                await transport.arrived.wait()
                scope.cancel()

            tg.start_soon(cancel_once_sent)
            await client.images.generate("a cat")
    return scope.cancelled_caught and not transport.release.is_set()


async def test_a_cancelled_generate_returns_at_once_and_its_task_id_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="nanobanana")
    transport = HeldAnswers(httpx.Response(200, json=CREATED))
    async with make_client(transport) as client:
        assert await cancel_mid_flight(client, transport)
        assert warnings_of(caplog) == []  # nothing known yet
        transport.release.set()
        await client._run_to_end.wait()
        [message] = warnings_of(caplog)
    assert "images.generate was cancelled after its request was sent" in message
    assert "task t-123 (2 credits)" in message
    assert "client.images.wait('t-123')" in message
    assert transport.posts == 1  # never resent
    assert API_KEY not in message


async def test_closing_the_client_waits_for_the_answer_of_a_cancelled_generate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A script's usual shape: a timeout around the call, inside ``async with`` the
    # client. The pool is closed only once the answer was read and its task named.
    caplog.set_level(logging.INFO, logger="nanobanana")
    transport = HeldAnswers(httpx.Response(200, json=CREATED))
    async with anyio.create_task_group() as tg:
        client = make_client(transport)
        async with client:
            assert await cancel_mid_flight(client, transport)

            async def release_later() -> None:
                for _ in range(5):
                    await anyio.lowlevel.checkpoint()
                transport.release.set()

            tg.start_soon(release_later)
        # aclose has returned: the answer was read before the pool closed
        assert any("task t-123" in m for m in warnings_of(caplog))


async def test_an_answer_that_never_comes_says_the_task_id_is_unknown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="nanobanana")
    transport = HeldAnswers(httpx.ReadError("connection reset"))
    async with make_client(transport) as client:
        assert await cancel_mid_flight(client, transport)
        transport.release.set()
    [message] = warnings_of(caplog)
    assert "its answer never came (ReadError)" in message
    assert "it may have been charged; its task id is unknown" in message


async def test_an_answer_that_does_not_read_says_the_task_id_is_unknown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="nanobanana")
    transport = HeldAnswers(httpx.Response(502, text="<html>Bad gateway</html>"))
    async with make_client(transport) as client:
        assert await cancel_mid_flight(client, transport)
        transport.release.set()
    [message] = warnings_of(caplog)
    assert "its answer did not read" in message
    assert "its task id is unknown" in message


async def test_a_refused_generate_says_nothing_was_charged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="nanobanana")
    refused = {"success": False, "error": {"code": "INVALID_PARAMETER", "message": "bad prompt"}}
    transport = HeldAnswers(httpx.Response(400, json=refused))
    async with make_client(transport) as client:
        assert await cancel_mid_flight(client, transport)
        transport.release.set()
    records = [r for r in caplog.records if r.name == "nanobanana"]
    assert [r.levelno for r in records] == [logging.INFO]
    assert "nothing charged" in records[0].getMessage()


async def test_a_key_echoed_in_the_abandoned_answer_is_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="nanobanana")
    echoed = {"success": False, "error": {"code": "SERVER_ERROR", "message": f"bad {API_KEY}"}}
    transport = HeldAnswers(httpx.Response(500, json=echoed))
    async with make_client(transport) as client:
        assert await cancel_mid_flight(client, transport)
        transport.release.set()
    [message] = warnings_of(caplog)
    assert API_KEY not in message


async def test_a_generate_not_cancelled_returns_its_task_and_logs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="nanobanana")
    transport = HeldAnswers(httpx.Response(200, json=CREATED))
    transport.release.set()
    async with make_client(transport) as client:
        task = await client.images.generate("a cat")
    assert task.task_id == "t-123"
    assert warnings_of(caplog) == []


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_asyncio_task_cancellation_mid_generate_keeps_the_task_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # asyncio's own cancellation (Task.cancel, asyncio.wait_for, asyncio.timeout), which
    # anyio's shields do not hold back.
    caplog.set_level(logging.INFO, logger="nanobanana")
    transport = HeldAnswers(httpx.Response(200, json=CREATED))
    async with make_client(transport) as client:
        call: asyncio.Task[Any] = asyncio.ensure_future(client.images.generate("a cat"))
        await transport.arrived.wait()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert not transport.release.is_set()
        transport.release.set()
    [message] = warnings_of(caplog)
    assert "task t-123" in message


# -- closing the client while another task or thread has a generate on the wire ----------


async def test_closing_the_client_waits_for_a_generate_another_task_has_on_the_wire() -> None:
    transport = HeldAnswers(httpx.Response(200, json=CREATED))
    client = make_client(transport)
    tasks: list[nb.AsyncImageTask] = []
    closed = anyio.Event()
    async with anyio.create_task_group() as tg:

        async def generate() -> None:
            tasks.append(await client.images.generate("a cat"))

        async def close() -> None:
            await client.aclose()
            closed.set()

        tg.start_soon(generate)
        await transport.arrived.wait()
        tg.start_soon(close)
        for _ in range(20):  # every other task runs as far as it can
            await anyio.lowlevel.checkpoint()
        assert not closed.is_set()  # the pool stays open while the answer is on its way
        transport.release.set()
    assert [t.task_id for t in tasks] == ["t-123"]  # the caller got its task, not an error
    assert closed.is_set()


class HeldSyncAnswers(httpx.BaseTransport):
    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.arrived.set()
        self.release.wait(30)  # a hang guard, not a time to meet
        return httpx.Response(200, json=CREATED)


def test_closing_a_blocking_client_waits_for_another_threads_generate() -> None:
    transport = HeldSyncAnswers()
    client = nb.Client(
        api_key=API_KEY,
        base_url="https://api.test",
        rate_limit=None,
        max_retries=0,
        http_client=httpx.Client(transport=transport),
    )
    results: list[Any] = []

    def generate() -> None:
        try:
            results.append(client.images.generate("a cat").task_id)
        except BaseException as exc:  # reported below
            results.append(exc)

    worker = threading.Thread(target=generate)
    worker.start()
    assert transport.arrived.wait(30)
    closer = threading.Thread(target=client.close)
    closer.start()
    closer.join(0.2)  # on a slow machine it may not have begun: this can only pass then
    assert closer.is_alive()  # it waits for the answer on the wire
    transport.release.set()
    worker.join(30)
    closer.join(30)
    assert results == ["t-123"]
    assert not closer.is_alive()


def test_a_blocking_client_closed_from_inside_its_own_request_does_not_wait_for_itself() -> None:
    holder: list[nb.Client] = []

    def closing(request: httpx.Request) -> httpx.Response:
        holder[0].close()
        raise RuntimeError("the pool was closed under the request")

    client = nb.Client(
        api_key=API_KEY, rate_limit=None, max_retries=0, _transport=httpx.MockTransport(closing)
    )
    holder.append(client)
    with pytest.raises(nb.APIConnectionError):
        client.images.generate("a fox")
