"""Sustained load against the simulator's strict window (60 in any 60 s): zero 429s, never
a 61st request in any window, and no budget wasted, for async tasks over two clients of
one key and for ``Client`` driven from threads.

The async run is in virtual time (tests/virtual_time.py), so its throughput is exact: a
slot is idle only for the safety margin, so the sustained rate after the first window is
``N / (W + margin)``, 99.6% of the permitted ``N / W`` (measured on the server's arrival
times: ``(R - N) / (t[R-1] - t[N-1])``; the opening burst is neither credited nor
penalised). The threaded run lives in real (scaled) time, where a figure would measure the
machine: it checks what no scheduling can change. The real-time figure is a benchmark
(``ratelimit.*.throughput`` in benchmarks/bench_ratelimit.py, ``nox -s bench``).
"""

from __future__ import annotations

import threading

import anyio
import pytest
from virtual_time import LoopClock

from nanobanana._window import default_margin
from nanobanana.testing import FakeNanoBanana

N, W = 60, 60.0


def report(fake: FakeNanoBanana) -> tuple[int, int, float]:
    """(requests seen, 429s, sustained rate ÷ permitted rate)."""
    records = fake.api_requests
    times = sorted(r.time for r in records)
    too_many = sum(1 for r in records if r.status == 429)
    rate = (len(times) - N) / (times[-1] - times[N - 1])
    return len(records), too_many, rate / (N / W)


def strict_max(fake: FakeNanoBanana) -> int:
    """The most requests the server saw in any window (its window: ``(now - W, now]``)."""
    times = sorted(r.time for r in fake.api_requests)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= W:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_fifty_tasks_over_two_async_clients_never_see_a_429_and_waste_no_budget() -> None:
    total = 180  # the first burst, then two windows of slots coming back
    fake = FakeNanoBanana(rate_limit=(N, W), clock=LoopClock())
    clients = [fake.async_client(), fake.async_client()]  # one key: one budget
    todo = iter(range(total))

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
    seen, too_many, ratio = report(fake)
    assert seen == total
    assert too_many == 0
    assert strict_max(fake) == N
    assert ratio == pytest.approx(W / (W + default_margin(W)), rel=1e-4)


def test_eight_threads_over_two_sync_clients_never_see_a_429() -> None:
    total = 240
    fake = FakeNanoBanana(rate_limit=(N, W), time_scale=2000.0)  # a window: 30 ms
    clients = [fake.client(), fake.client()]
    lock = threading.Lock()
    left = [total]
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
    for client in clients:
        client.close()
    assert not errors
    seen, too_many, _ = report(fake)
    assert seen == total
    assert too_many == 0
    assert strict_max(fake) <= N
