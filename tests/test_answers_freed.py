"""An API answer is freed as soon as nobody holds it, by reference counting, not left
for the garbage collector: with 10,000 tasks in flight, generate answers read in a task
of their own outlived a collection and waited for the next full one, ~6 KB a task
(benchmarks/bench_scale.py measures the memory; this checks the cause).

httpx's response and its stream refer to each other; the SDK cuts that cycle once the
answer is read. Each test runs with the collector off, so what is freed was freed by
reference counting alone.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nanobanana.testing import FakeNanoBanana, ManualClock

pytestmark = pytest.mark.anyio


class Recording(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The simulator's transport, keeping a weak reference to every answer it gives."""

    def __init__(self, fake: FakeNanoBanana) -> None:
        self._inner = fake.transport
        self.answers: list[weakref.ref[httpx.Response]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        self.answers.append(weakref.ref(response))
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        self.answers.append(weakref.ref(response))
        return response

    def alive(self) -> int:
        return sum(ref() is not None for ref in self.answers)


@pytest.fixture
def no_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.fixture
def fake() -> FakeNanoBanana:
    return FakeNanoBanana(clock=ManualClock(), durations={"image": 10.0})


@pytest.mark.usefixtures("no_gc")
async def test_async_answers_are_freed_when_dropped(fake: FakeNanoBanana, tmp_path: Path) -> None:
    transport = Recording(fake)
    async with fake.async_client(_transport=transport) as client:
        task = await client.images.generate("a lighthouse at dusk")
        status = await task
        assert status.succeeded
        assert len(await client.images.save(status, tmp_path)) == 1
        await client.account.credits()
        assert len(transport.answers) >= 4  # generate, a poll or more, the file, credits
        del task, status
        assert transport.alive() == 0


@pytest.mark.usefixtures("no_gc")
def test_blocking_answers_are_freed_when_dropped(fake: FakeNanoBanana, tmp_path: Path) -> None:
    transport = Recording(fake)
    with fake.client(_transport=transport) as client:
        task = client.images.generate("a lighthouse at dusk")
        status = task.wait()
        assert status.succeeded
        assert len(client.images.save(status, tmp_path)) == 1
        client.account.credits()
        assert len(transport.answers) >= 4
        del task, status
        assert transport.alive() == 0


@pytest.mark.usefixtures("no_gc")
async def test_a_raw_answer_lives_while_its_holder_keeps_it(fake: FakeNanoBanana) -> None:
    """Cutting the cycle frees nothing anyone still holds: a raw response stays readable."""
    transport = Recording(fake)
    async with fake.async_client(_transport=transport) as client:
        raw = await client.with_raw_response.account.credits()
        assert transport.alive() == 1
        assert raw.http_response.json()["data"]["credits"] >= 0
        assert raw.parse().credits >= 0
        del raw
        assert transport.alive() == 0
