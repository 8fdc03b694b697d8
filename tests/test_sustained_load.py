"""Sustained load against the simulator's strict window (60 in any 60 s, time-scaled):
zero 429s and at least 97% of the permitted throughput, for async tasks over two clients
of one key and for ``Client`` driven from threads.

The sustained rate is measured on the server's arrival times, after the first window:
``(R - N) / (t[R-1] - t[N-1])`` over ``N / W``. The permitted pattern (N at once, then N
more every W seconds) scores exactly 1.0, and so does perfect pacing at N/W; the opening
burst is neither credited nor penalised. Time is scaled, so every real millisecond the
machine stalls costs 0.3% of a window here: the figure is a floor for real use.

Zero 429s and the strict window are checked on every run. The throughput figure is
timing, and another process hogging the CPU lowers it (at 4 runnable processes on 2
cores we have seen 94%): a run that misses it is measured once more, and the better of
the two must reach 97%.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import anyio
import pytest

from nanobanana.testing import FakeNanoBanana

N, W = 60, 60.0
SCALE = 200.0  # a 60 s window takes 0.3 real seconds; 600 requests about 2.7 s
TARGET = 0.97
TOTAL = 600


def warm_up() -> None:
    """Pay the process's first-call costs (cattrs building its decoders, httpx's first
    request) on a throwaway simulator: a cold start is not the limiter's doing, and at
    this time scale 10 ms of it would be 4% of a window."""
    fake = FakeNanoBanana(rate_limit=None)
    with fake.client() as client:
        client.account.credits()
        client.models.list()


def report(fake: FakeNanoBanana) -> tuple[int, int, float]:
    """(requests seen, 429s, sustained rate ÷ permitted rate)."""
    records = [r for r in fake.requests if r.route is not None]
    times = sorted(r.time for r in records)
    too_many = sum(1 for r in records if r.status == 429)
    rate = (len(times) - N) / (times[-1] - times[N - 1])
    return len(records), too_many, rate / (N / W)


def check(run: Callable[[], FakeNanoBanana]) -> None:
    """Run the load (twice if the first run misses the throughput target) and check it."""
    ratios = []
    for _ in range(2):
        warm_up()
        fake = run()
        seen, too_many, ratio = report(fake)
        assert seen == TOTAL
        assert too_many == 0
        assert strict_max(fake) <= N
        ratios.append(ratio)
        if ratio >= TARGET:
            return
    pytest.fail(f"achieved {max(ratios):.1%} of the permitted throughput (runs: {ratios})")


def strict_max(fake: FakeNanoBanana) -> int:
    times = sorted(r.time for r in fake.requests if r.route is not None)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= W:  # the simulator's window: (now - W, now]
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def fifty_tasks_over_two_clients() -> FakeNanoBanana:
    fake = FakeNanoBanana(rate_limit=(N, W), time_scale=SCALE)
    clients = [fake.async_client(), fake.async_client()]  # one key: one budget
    todo = iter(range(TOTAL))

    async def caller(i: int) -> None:
        client = clients[i % 2]
        for n in todo:
            if n % 3 == 0:
                await client.models.list()
            else:
                await client.account.credits()

    async with anyio.create_task_group() as tg:
        for i in range(50):
            tg.start_soon(caller, i)
    for client in clients:
        await client.aclose()
    return fake


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_fifty_tasks_over_two_async_clients_never_see_a_429(backend: str) -> None:
    # A real event loop of its own (anyio.run), not the test runner's: pytest's Trio
    # runner is a guest run whose every wake-up crosses threads, which a scaled window
    # would count against the limiter.
    check(lambda: anyio.run(fifty_tasks_over_two_clients, backend=backend))


def eight_threads_over_two_clients() -> FakeNanoBanana:
    fake = FakeNanoBanana(rate_limit=(N, W), time_scale=SCALE)
    clients = [fake.client(), fake.client()]
    lock = threading.Lock()
    left = [TOTAL]
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        client = clients[i % 2]
        try:
            while True:
                with lock:
                    if left[0] == 0:
                        return
                    left[0] -= 1
                client.account.credits()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for client in clients:
        client.close()
    return fake


def test_eight_threads_over_two_sync_clients_never_see_a_429() -> None:
    check(eight_threads_over_two_clients)
