"""A blocking ``Client`` called on the thread of a running event loop, while that loop's
``AsyncClient`` tasks wait for the same key's budget, never hangs: it goes past the
loop's waiters (they cannot run while it blocks them), or, when the loop's own requests
hold every slot and so nothing could ever free, raises ``nb.LimiterDeadlockError``.

Each scenario runs its event loop in a thread of its own, joined with a timeout: if the
hang comes back, the test fails instead of hanging the suite.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable

import anyio
import pytest

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana

BACKENDS = ["asyncio", "trio"]
HANG = 30.0
"""Real seconds after which a scenario that should take milliseconds counts as hung."""


def run_bounded(main: Callable[[], Awaitable[None]], backend: str) -> None:
    """Run ``main`` in an event loop on a thread of its own; fail if it does not end."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            anyio.run(main, backend=backend)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, name="event-loop", daemon=True)
    thread.start()
    thread.join(HANG)
    assert not thread.is_alive(), "the event loop hung: a blocking call waits for itself"
    if errors:
        raise errors[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_blocking_call_goes_past_the_waiters_of_the_loop_it_blocks(backend: str) -> None:
    # A window of 2 s real time: both slots stay held from the second call until the
    # blocking one, however slow a first call in a fresh process (or a busy machine) is
    # (at 50 ms, the first slot was free again before the task queued for it).
    limit = nb.RateLimit(2, per=40.0)
    fake = FakeNanoBanana(time_scale=20.0, rate_limit=(2, 40.0))
    order: list[str] = []

    async def main() -> None:
        aclient = fake.async_client(rate_limit=limit)
        sclient = fake.client(rate_limit=limit)

        async def task() -> None:
            await aclient.account.credits()
            order.append("async")

        await aclient.account.credits()
        await aclient.account.credits()  # both slots are held for a window
        async with anyio.create_task_group() as tg:
            tg.start_soon(task)
            await anyio.wait_all_tasks_blocked()  # the task waits for the budget
            sclient.account.credits()  # blocks this loop, and so the task
            order.append("sync")

    run_bounded(main, backend)
    assert order == ["sync", "async"]
    assert [r.status for r in fake.api_requests] == [200] * 4  # the strict window held


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_blocking_call_raises_when_the_loop_it_blocks_holds_every_slot(backend: str) -> None:
    limit = nb.RateLimit(1, per=1.0)
    fake = FakeNanoBanana(time_scale=20.0, rate_limit=(1, 1.0))
    fake.inject("latency", route="account/credits", times=1, seconds=1.0)
    caught: list[nb.LimiterDeadlockError] = []

    async def main() -> None:
        aclient = fake.async_client(rate_limit=limit)
        sclient = fake.client(rate_limit=limit)
        async with anyio.create_task_group() as tg:
            tg.start_soon(aclient.account.credits)
            await anyio.wait_all_tasks_blocked()  # its answer is on the way: one slot, held
            with pytest.raises(nb.LimiterDeadlockError) as info:
                sclient.account.credits()  # that answer cannot come while this blocks
            caught.append(info.value)
        # the way out the error names: the blocking call in a worker thread
        await anyio.to_thread.run_sync(sclient.account.credits)

    run_bounded(main, backend)
    assert len(fake.api_requests) == 2  # the refused call sent nothing
    assert [r.status for r in fake.api_requests] == [200, 200]
    message = str(caught[0])
    assert "AsyncClient" in message
    assert "worker thread" in message
    assert isinstance(caught[0], RuntimeError)
