"""Stopping a batch: leaving the loop in any way stops it at once, lets go of its journal,
and a rerun of the same journal in this process resumes without paying twice."""

from __future__ import annotations

import collections
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import httpx
import pytest

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana

pytestmark = pytest.mark.anyio

HOURS = nb.PollPolicy(initial_delay=0.0, interval=3600.0, backoff=1.0, max_interval=3600.0)
"""First poll at once, then one an hour: a poller that is not stopped sleeps for an hour."""

NOW = nb.PollPolicy(initial_delay=0.0, interval=1.0)

HANG = 60.0
"""Real seconds after which a test gives up waiting: reached only if something hangs."""

FAST = "nano-banana-pro"


class _JumpClock:
    """Real time, which a test may push forward (to end tasks that take hours)."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        return time.monotonic() + self._offset

    def to_real(self, seconds: float) -> float:
        return max(0.0, seconds)

    async def asleep(self, seconds: float) -> None:
        await anyio.sleep(self.to_real(seconds))

    def sleep(self, seconds: float) -> None:
        time.sleep(self.to_real(seconds))

    def jump(self, seconds: float) -> None:
        self._offset += seconds


def _end_every_task(fake: FakeNanoBanana, clock: _JumpClock) -> None:
    """Ten hours later, and from now on tasks end at once."""
    clock.jump(11 * 3600.0)
    fake.durations["image"] = 0.0


def _slow_fake() -> tuple[FakeNanoBanana, _JumpClock]:
    """Real time; FAST tasks end at once, every other image takes ten hours."""
    clock = _JumpClock()
    fake = FakeNanoBanana(clock=clock, durations={"image": 36_000.0, FAST: 0.0}, result_ttl=None)
    return fake, clock


def _join_new_threads(before: set[threading.Thread]) -> None:
    """Every thread started since ``before`` ends (bounded: a hang fails, it never stalls)."""
    deadline = time.monotonic() + HANG
    for thread in set(threading.enumerate()) - before:
        while True:
            try:
                thread.join(max(0.0, deadline - time.monotonic()))
                break
            except RuntimeError:  # listed while still being started (CPython 3.13)
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        assert not thread.is_alive()


def _prompts(n: int) -> list[object]:
    """One request that ends first, then ``n`` others."""
    return [nb.ImageRequest("fast", model=FAST)] + [f"slow {i}" for i in range(n)]


def _generates(fake: FakeNanoBanana) -> int:
    return sum(r.route == "images/generate" for r in fake.api_requests)


def _no_double_charge(fake: FakeNanoBanana, n: int) -> None:
    """Every request was charged once, and once only, over all the runs."""
    per_task = collections.Counter(c.task_id for c in fake.charges)
    assert len(per_task) == n and set(per_task.values()) == {1}
    assert fake.double_charges() == []
    assert _generates(fake) == n


def _resumed(items: list[nb.BatchItem], n: int) -> None:
    assert sorted(i.index for i in items) == list(range(n))
    assert all(i.error is None for i in items), [i.error for i in items if i.error]


class _Gate(httpx.AsyncBaseTransport, httpx.BaseTransport):
    """The simulator's transport, but generate requests for "slow" prompts wait for
    ``open()`` first: they are on the wire, their fate not known yet."""

    def __init__(self, inner: httpx.AsyncBaseTransport | httpx.BaseTransport) -> None:
        self._inner = inner
        self._sync = threading.Event()
        self._async = anyio.Event()
        self.held = 0
        self.holding = threading.Event()

    def open(self) -> None:
        self._sync.set()
        self._async.set()

    def _holds(self, request: httpx.Request) -> bool:
        return request.url.path.endswith("/generate") and b"slow" in request.content

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._holds(request):
            self.held += 1
            self.holding.set()
            await self._async.wait()
        inner = self._inner
        assert isinstance(inner, httpx.AsyncBaseTransport)
        return await inner.handle_async_request(request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._holds(request):
            self.held += 1
            self.holding.set()
            self._sync.wait()
        inner = self._inner
        assert isinstance(inner, httpx.BaseTransport)
        return inner.handle_request(request)


class _OnWaiting(logging.Handler):
    """Calls ``action`` when a new run says it waits for a stopping one to let go."""

    def __init__(self, action: object) -> None:
        super().__init__(logging.INFO)
        self.action = action
        self.fired = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "to let go" in record.getMessage():
            self.fired += 1
            self.action()  # type: ignore[operator]


@pytest.fixture
def on_waiting() -> Iterator[list[_OnWaiting]]:
    log = logging.getLogger("nanobanana")
    level = log.level
    log.setLevel(logging.INFO)
    handlers: list[_OnWaiting] = []
    yield handlers
    for handler in handlers:
        log.removeHandler(handler)
    log.setLevel(level)


def _watch_for_waiting(handlers: list[_OnWaiting], action: object) -> _OnWaiting:
    handler = _OnWaiting(action)
    logging.getLogger("nanobanana").addHandler(handler)
    handlers.append(handler)
    return handler


# -- leave, then run the same journal again: it resumes -----------------------------------


async def test_break_then_rerun_resumes(anyio_backend: str, tmp_path: Path) -> None:
    fake = FakeNanoBanana(time_scale=2000)
    journal = tmp_path / "j.sqlite"
    prompts = [f"a lighthouse {i}" for i in range(12)]
    async with fake.async_client() as client:
        async for _item in client.images.generate_many(prompts, journal=journal, concurrency=4):
            break  # no async with, no aclose(): the dropped batch lets go by itself
        items = [i async for i in client.images.generate_many(prompts, journal=journal)]
    _resumed(items, 12)
    _no_double_charge(fake, 12)


def test_sync_break_then_rerun_resumes(tmp_path: Path) -> None:
    fake = FakeNanoBanana(time_scale=2000)
    journal = tmp_path / "j.sqlite"
    prompts = [f"a lighthouse {i}" for i in range(12)]
    with fake.client() as client:
        for _item in client.images.generate_many(prompts, journal=journal, concurrency=4):
            break
        items = list(client.images.generate_many(prompts, journal=journal))
        with client.images.generate_many(prompts, journal=journal) as batch:
            for _item in batch:
                break
        again = list(client.images.generate_many(prompts, journal=journal))
    _resumed(items, 12)
    _resumed(again, 12)
    _no_double_charge(fake, 12)


async def test_rerun_waits_for_a_batch_still_winding_down(
    anyio_backend: str, tmp_path: Path, on_waiting: list[_OnWaiting]
) -> None:
    fake = FakeNanoBanana(time_scale=2000)
    gate = _Gate(fake.transport)
    journal = tmp_path / "j.sqlite"
    prompts = _prompts(3)
    async with fake.async_client(_transport=gate) as client:
        async for item in client.images.generate_many(prompts, journal=journal, concurrency=2):
            assert item.index == 0
            with anyio.fail_after(HANG):
                while not gate.holding.is_set():
                    await anyio.sleep(0.001)
            break
        # The dropped batch is stopping, but "slow 0" (maybe "slow 1" too) is on the wire:
        # the batch holds the journal until its answer is journaled. The rerun waits for
        # that; the gate opens then.
        assert gate.held >= 1
        waiting = _watch_for_waiting(on_waiting, gate.open)
        try:
            with anyio.fail_after(HANG):
                items = [i async for i in client.images.generate_many(prompts, journal=journal)]
        finally:
            gate.open()
    assert waiting.fired == 1
    _resumed(items, 4)
    _no_double_charge(fake, 4)  # what was on the wire was polled, not sent again


def test_sync_rerun_waits_for_a_batch_still_winding_down(
    tmp_path: Path, on_waiting: list[_OnWaiting]
) -> None:
    fake = FakeNanoBanana(time_scale=2000)
    gate = _Gate(fake.transport)
    journal = tmp_path / "j.sqlite"
    prompts = _prompts(3)
    with fake.client(_transport=gate) as client:
        for item in client.images.generate_many(prompts, journal=journal, concurrency=2):
            assert item.index == 0
            assert gate.holding.wait(HANG)
            break
        assert gate.held >= 1
        waiting = _watch_for_waiting(on_waiting, gate.open)
        try:
            items = list(client.images.generate_many(prompts, journal=journal))
        finally:
            gate.open()
    assert waiting.fired == 1
    _resumed(items, 4)
    _no_double_charge(fake, 4)


async def test_cancel_scope_exit_then_rerun_resumes(anyio_backend: str, tmp_path: Path) -> None:
    fake = FakeNanoBanana(time_scale=2000)
    journal = tmp_path / "j.sqlite"
    prompts = [f"a lighthouse {i}" for i in range(8)]
    async with fake.async_client() as client:
        batch = client.images.generate_many(prompts, journal=journal, concurrency=4)
        with anyio.CancelScope() as scope:
            async for _item in batch:
                scope.cancel()  # the next step of the loop is cancelled
        assert scope.cancelled_caught
        # ``batch`` is still referenced and was never closed: it stopped when cancelled
        assert set(batch.unreported.values()) <= {c.task_id for c in fake.charges}
        with anyio.fail_after(HANG):
            items = [i async for i in client.images.generate_many(prompts, journal=journal)]
    _resumed(items, 8)
    _no_double_charge(fake, 8)


async def test_closing_an_async_generator_around_the_loop_lets_go(
    anyio_backend: str, tmp_path: Path
) -> None:
    fake = FakeNanoBanana(time_scale=2000)
    journal = tmp_path / "j.sqlite"
    prompts = [f"a lighthouse {i}" for i in range(8)]
    async with fake.async_client() as client:

        async def results() -> AsyncIterator[nb.BatchItem]:
            async for item in client.images.generate_many(prompts, journal=journal):
                yield item

        stream = results()
        await stream.__anext__()
        await stream.aclose()
        with anyio.fail_after(HANG):
            items = [i async for i in client.images.generate_many(prompts, journal=journal)]
    _resumed(items, 8)
    _no_double_charge(fake, 8)


async def test_a_batch_still_running_keeps_its_journal(anyio_backend: str, tmp_path: Path) -> None:
    fake, _ = _slow_fake()
    journal = tmp_path / "j.sqlite"
    prompts = _prompts(2)
    async with fake.async_client(poll_policy=HOURS) as client:
        async with client.images.generate_many(prompts, journal=journal) as first:
            item = await first.__anext__()
            with anyio.fail_after(HANG):
                while len(fake.charges) < 3:  # every request of the first run submitted
                    await anyio.sleep(0.001)
            charged = {c.task_id for c in fake.charges}
            with pytest.raises(nb.JournalError, match="still running"):
                async for _ in client.images.generate_many(prompts, journal=journal):
                    pass
            assert {c.task_id for c in fake.charges} == charged
        assert set(first.unreported.values()) == charged - {item.task_id}


# -- stopping is prompt, even while polls sleep for hours --------------------------------


class _Permit:
    def release(self, *, sent: bool = True) -> None:
        pass


class _Turnstile:
    """A limiter that lets ``n`` requests through, then holds every other one until
    ``open()``: a request waiting for its turn in an exhausted budget."""

    def __init__(self, n: int) -> None:
        self.left = n
        self.blocked = threading.Event()
        self._open = threading.Event()
        self._async_open: anyio.Event | None = None

    def open(self) -> None:
        self._open.set()
        if self._async_open is not None:
            self._async_open.set()

    def pause(self, seconds: float) -> None:
        pass

    def _take(self) -> bool:
        if self.left > 0:
            self.left -= 1
            return True
        self.blocked.set()
        return False


class _AsyncTurnstile(_Turnstile):
    async def acquire(self) -> _Permit:
        if not self._take():
            self._async_open = self._async_open or anyio.Event()
            await self._async_open.wait()
        return _Permit()


class _SyncTurnstile(_Turnstile):
    def acquire(self) -> _Permit:
        if not self._take():
            self._open.wait()
        return _Permit()


async def test_leaving_does_not_wait_for_a_turn_in_the_budget(anyio_backend: str) -> None:
    fake, _ = _slow_fake()
    # One task at a time: the "fast" one's generate and poll get through, then the next
    # generate waits for its turn (always the third request: no race decides which).
    limiter = _AsyncTurnstile(2)
    try:
        async with fake.async_client(poll_policy=HOURS, rate_limit=limiter) as client:
            with anyio.fail_after(HANG):
                async with client.images.generate_many(
                    _prompts(2), concurrency=1, preflight=False
                ) as batch:
                    async for item in batch:
                        assert item.index == 0
                        while not limiter.blocked.is_set():  # a "slow" one waits its turn
                            await anyio.sleep(0.001)
                        break
            limiter.open()  # its turn comes after the batch stopped: it is not sent
            await anyio.sleep(0.01)
    finally:
        limiter.open()
    assert _generates(fake) == 1  # "fast"; the next one waited for its turn, unsent
    assert batch.unreported == {}


def test_sync_leaving_does_not_wait_for_a_turn_in_the_budget() -> None:
    fake, _ = _slow_fake()
    limiter = _SyncTurnstile(2)  # as above: the third request, a generate, waits
    before = set(threading.enumerate())
    seen: dict[str, object] = {}

    def consume() -> None:
        with fake.client(poll_policy=HOURS, rate_limit=limiter) as client:
            batch = client.images.generate_many(_prompts(2), concurrency=1, preflight=False)
            with batch:
                for item in batch:
                    assert limiter.blocked.wait(HANG)  # a "slow" one waits for its turn
                    seen["first"] = item
                    break
            seen["unreported"] = batch.unreported

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    try:
        consumer.join(HANG)
        assert not consumer.is_alive(), "leaving the batch waited for the budget"
    finally:
        limiter.open()  # the thread still waiting gets its turn now, and sends nothing
    _join_new_threads(before)
    assert _generates(fake) == 1  # "fast"; the next one waited for its turn, unsent
    first, unreported = seen["first"], seen["unreported"]
    assert isinstance(first, nb.BatchItem) and first.index == 0
    assert unreported == {}


def test_sync_exit_is_prompt_while_polls_sleep_for_hours(tmp_path: Path) -> None:
    fake, clock = _slow_fake()
    journal = tmp_path / "j.sqlite"
    seen: dict[str, object] = {}
    before = set(threading.enumerate())

    def consume() -> None:
        with fake.client(poll_policy=HOURS) as client:
            with client.images.generate_many(_prompts(4), journal=journal) as batch:
                for item in batch:
                    seen["first"] = item
                    break
            seen["requests"] = len(fake.requests)
            seen["unreported"] = batch.unreported

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    consumer.join(HANG)
    assert not consumer.is_alive(), "leaving the batch hung"
    unreported, first = seen["unreported"], seen["first"]
    assert isinstance(first, nb.BatchItem) and first.index == 0
    assert isinstance(unreported, dict) and 0 not in unreported
    assert set(unreported.values()) == {c.task_id for c in fake.charges} - {first.task_id}
    # the batch's threads end too (none sleeps out its hour), and send nothing more
    _join_new_threads(before)
    assert len(fake.requests) == seen["requests"]
    _end_every_task(fake, clock)
    with fake.client(poll_policy=NOW) as client:
        items = list(client.images.generate_many(_prompts(4), journal=journal))
    assert {i.index: i.task_id for i in items if i.index in unreported} == unreported
    _resumed(items, 5)
    _no_double_charge(fake, 5)


async def test_async_exit_is_prompt_while_polls_sleep_for_hours(
    anyio_backend: str, tmp_path: Path
) -> None:
    fake, _ = _slow_fake()
    async with fake.async_client(poll_policy=HOURS) as client:
        with anyio.fail_after(HANG):
            async with client.images.generate_many(_prompts(4)) as batch:
                async for item in batch:
                    assert item.index == 0
                    break
        after = len(fake.requests)
        await anyio.sleep(0.05)
        assert len(fake.requests) == after
    charged = {c.task_id for c in fake.charges}
    assert set(batch.unreported.values()) == charged - {item.task_id}
    assert 0 not in batch.unreported


class _CtrlC:
    """Presses Ctrl-C in the main thread until it gets a KeyboardInterrupt, once.

    One signal may arrive just before the main thread blocks on a lock, and go
    unnoticed (a race of CPython's, not ours): the next one interrupts the wait.
    """

    def __init__(self) -> None:
        self.pressed = threading.Event()
        self._main = threading.main_thread().ident

    def _handler(self, signum: int, frame: object) -> None:
        if not self.pressed.is_set():
            self.pressed.set()
            raise KeyboardInterrupt

    def _press(self) -> None:
        assert self._main is not None
        while not self.pressed.wait(0.02):
            signal.pthread_kill(self._main, signal.SIGINT)

    def __enter__(self) -> _CtrlC:
        self._previous = signal.signal(signal.SIGINT, self._handler)
        threading.Thread(target=self._press, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.pressed.set()
        signal.signal(signal.SIGINT, self._previous)


def test_keyboard_interrupt_in_the_sync_loop_stops_the_batch(tmp_path: Path) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("a KeyboardInterrupt reaches the main thread only")
    fake, clock = _slow_fake()
    journal = tmp_path / "j.sqlite"
    with fake.client(poll_policy=NOW) as client:
        batch = client.images.generate_many(_prompts(4), journal=journal)
        first = next(batch)
        with pytest.raises(KeyboardInterrupt), _CtrlC():
            next(batch)  # the next item is hours away: Ctrl-C it
        # never closed, yet it lets go of the journal: a rerun resumes (nothing sent twice)
        _end_every_task(fake, clock)
        items = list(client.images.generate_many(_prompts(4), journal=journal))
    _resumed(items, 5)
    _no_double_charge(fake, 5)
    unreported = batch.unreported
    assert 0 not in unreported and first.task_id not in unreported.values()
    assert {i.index: i.task_id for i in items if i.index in unreported} == unreported


def test_a_batch_run_to_its_end_has_nothing_unreported() -> None:
    fake = FakeNanoBanana(time_scale=2000)
    with fake.client() as client:
        batch = client.images.generate_many([f"p{i}" for i in range(5)])
        items = list(batch)
    assert len(items) == 5 and batch.unreported == {}


async def test_an_input_that_fails_is_reported_after_its_items(anyio_backend: str) -> None:
    fake = FakeNanoBanana(time_scale=2000)

    def prompts() -> Iterator[str]:
        yield from ("a", "b", "c")
        raise OSError("the prompt file went away")

    got: list[nb.BatchItem] = []

    async def consume() -> None:
        async with fake.async_client() as client:
            async for item in client.images.generate_many(prompts(), preflight=False):
                got.append(item)

    with pytest.raises(OSError, match="went away"):
        await consume()
    assert sorted(i.index for i in got) == [0, 1, 2] and all(i.ok for i in got)


def test_sync_an_input_that_fails_is_reported_after_its_items() -> None:
    fake = FakeNanoBanana(time_scale=2000)

    def prompts() -> Iterator[str]:
        yield from ("a", "b", "c")
        raise OSError("the prompt file went away")

    got: list[nb.BatchItem] = []

    def consume() -> None:
        with fake.client() as client:
            got.extend(client.images.generate_many(prompts(), preflight=False))

    with pytest.raises(OSError, match="went away"):
        consume()
    assert sorted(i.index for i in got) == [0, 1, 2] and all(i.ok for i in got)
