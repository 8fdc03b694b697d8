"""Scale: 10,000 image tasks submitted and awaited at once on one event loop.

The simulator runs in-process (``fake.async_client(rate_limit=None)``: no socket, no
rate limit on either side), with time scaled (image durations 10-20 s of API time at
``TIME_SCALE`` API seconds per real second). One coroutine per task does
``task = await client.images.generate(prompt)`` then ``await task`` (the client's poll
scheduler decides when each task polls); all of them start together in one anyio task
group on asyncio.

Reported:

- wall time of the whole run, and process CPU time per task (``time.process_time``; the
  simulator runs in the same process, so its CPU is included: an upper bound);
- errors (any exception from generate or await): target 0;
- **peak RSS growth per in-flight task**, target <= 5 KB. Method: a warm-up of 200 tasks
  through the same client first (imports, caches, code paths), then ``gc.collect()`` and
  the RSS is read (``RSS0``). During the run a thread samples the RSS every 5 ms
  (``/proc/self/statm``, psutil elsewhere) together with the number of tasks in flight
  (started, not yet returned). Peak growth = max(RSS) - RSS0; per task = peak growth /
  the peak number in flight. RSS is the honest "what the machine pays" figure, but an
  upper bound on the SDK's share: it also holds the simulator's state (its request log,
  its task table, its response bodies) and the allocator's slack;
- the Python heap at the moment every task has been submitted and is being awaited, by
  origin (``tracemalloc``, a second run of the same size, since tracing slows everything
  down and its own bookkeeping inflates RSS): bytes per in-flight task allocated by the
  SDK (``nanobanana/`` less ``nanobanana/testing``), by the simulator, by httpx/httpcore,
  by anyio/asyncio and by the rest. That splits the RSS figure into what is ours.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from _harness import main, meets, row

N_TASKS = 10_000
TIME_SCALE = 20.0
"""API seconds per real second: image tasks (10-20 s) take 0.5-1 s of real time."""
TARGET_KB = 5.0
WARMUP = 200
HEAP_FRAMES = 12
HEAP_TASKS = 2_000

try:
    _PAGE = os.sysconf("SC_PAGE_SIZE")
except (AttributeError, ValueError, OSError):  # pragma: no cover - not Linux
    _PAGE = 4096


def rss_bytes() -> int:
    """The resident set size of this process, now."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:  # pragma: no cover - not Linux
        import psutil

        return int(psutil.Process().memory_info().rss)


class Sampler:
    """A thread that records (max RSS, in-flight count at that time, max in-flight)."""

    def __init__(self, in_flight: Callable[[], int], every: float = 0.005) -> None:
        self._in_flight = in_flight
        self._every = every
        self._stop = threading.Event()
        self.peak_rss = 0
        self.in_flight_at_peak = 0
        self.peak_in_flight = 0
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self._every)

    def sample(self) -> None:
        rss = rss_bytes()
        flying = self._in_flight()
        if rss > self.peak_rss:
            self.peak_rss = rss
            self.in_flight_at_peak = flying
        self.peak_in_flight = max(self.peak_in_flight, flying)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def _fake(seed: int) -> Any:
    from nanobanana.testing import FakeNanoBanana

    return FakeNanoBanana(
        rate_limit=None,
        time_scale=TIME_SCALE,
        seed=seed,
        credits=10**9,
        durations={"image": (10.0, 20.0)},
        # The simulator stands in for a remote server: keep its request log bounded so
        # what grows with the tasks in flight is the client's state and the task table.
        request_log=1000,
    )


class Workload:
    """``n`` concurrent generate-then-await coroutines, counted while in flight."""

    def __init__(self, client: Any, n: int) -> None:
        self.client = client
        self.n = n
        self.in_flight = 0
        self.submitted = 0
        self.done = 0
        self.errors: Counter[str] = Counter()
        self.on_all_submitted: Callable[[], None] | None = None

    async def one(self, i: int) -> None:
        self.in_flight += 1
        try:
            task = await self.client.images.generate(f"A lighthouse at dusk, variant {i}")
            self.submitted += 1
            if self.submitted == self.n and self.on_all_submitted is not None:
                self.on_all_submitted()
            status = await task
            if not status.succeeded:
                self.errors[f"status {status.status}"] += 1
            self.done += 1
        except Exception as exc:
            self.errors[type(exc).__name__] += 1
        finally:
            self.in_flight -= 1

    async def run(self) -> None:
        async with anyio.create_task_group() as tg:
            for i in range(self.n):
                tg.start_soon(self.one, i)


class Bare:
    """The baseline: ``n`` coroutines in the same task group that only wait for a gate."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.in_flight = 0
        self.gate = anyio.Event()

    async def one(self) -> None:
        self.in_flight += 1
        try:
            if self.in_flight == self.n:
                self.gate.set()
            await self.gate.wait()
            await anyio.sleep(0.05)  # let the sampler see every one of them in flight
        finally:
            self.in_flight -= 1

    async def run(self) -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(self.n):
                tg.start_soon(self.one)


def part_rss(n: int, bare: bool) -> dict[str, Any]:
    """One measured run (in its own interpreter): the SDK workload, or the bare baseline."""
    fake = _fake(seed=1)
    # The warm-up runs through another client of the same simulator: it warms imports,
    # caches and code paths, and leaves the measured client's poll tracker at its default.
    warm = fake.async_client(rate_limit=None)
    client = fake.async_client(rate_limit=None)

    async def go() -> dict[str, Any]:
        async with warm, client:
            await Workload(warm, WARMUP).run()
            await Bare(WARMUP).run()
            gc.collect()
            work: Workload | Bare = Bare(n) if bare else Workload(client, n)
            before = fake.api_request_count
            rss0 = rss_bytes()
            cpu0 = time.process_time()
            t0 = time.perf_counter()
            with Sampler(lambda: work.in_flight) as sampler:
                await work.run()
            wall = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            out: dict[str, Any] = {
                "wall": wall,
                "cpu": cpu,
                "rss0": rss0,
                "peak_rss": sampler.peak_rss,
                "peak_in_flight": sampler.peak_in_flight,
                "requests": fake.api_request_count - before,
            }
            if isinstance(work, Workload):
                out.update(errors=dict(work.errors), done=work.done)
            return out

    return anyio.run(go, backend="asyncio")


def _origin(tb: Any) -> str:
    """Who caused an allocation: the innermost frame in our code, else the library's."""
    for frame in reversed(tb):  # tracemalloc lists the oldest frame first
        f = frame.filename.replace("\\", "/")
        if "/nanobanana/testing/" in f:
            return "simulator"
        if "/nanobanana/" in f:
            return "sdk"
        if "/benchmarks/" in f:
            return "task"
    return "other"


def part_heap(n: int) -> dict[str, Any]:
    """The Python heap when every task has been submitted, by who caused each allocation."""
    fake = _fake(seed=2)
    warm = fake.async_client(rate_limit=None)
    client = fake.async_client(rate_limit=None)
    found: dict[str, Any] = {}

    async def go() -> None:
        async with warm, client:
            await Workload(warm, WARMUP).run()
            gc.collect()
            work = Workload(client, n)
            tracemalloc.start(HEAP_FRAMES)
            base = tracemalloc.take_snapshot()

            def at_peak() -> None:
                snap = tracemalloc.take_snapshot()
                by_origin: Counter[str] = Counter()
                for stat in snap.compare_to(base, "traceback"):
                    by_origin[_origin(stat.traceback)] += stat.size_diff
                found["by_origin"] = dict(by_origin)
                found["in_flight"] = work.in_flight
                tracemalloc.stop()  # the rest of the run need not crawl

            work.on_all_submitted = at_peak
            try:
                await work.run()
            finally:
                tracemalloc.stop()
            found["errors"] = dict(work.errors)

    anyio.run(go, backend="asyncio")
    return found


def _child(part: str, n: int) -> dict[str, Any]:
    """Run one part in a fresh interpreter, so no run inherits another's freed memory."""
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--part", part, "--n", str(n)],
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [
                    str(Path(__file__).resolve().parent),
                    *filter(None, [os.environ.get("PYTHONPATH")]),
                ]
            ),
        },
    )
    if out.returncode != 0:
        raise RuntimeError(f"bench_scale --part {part} failed: {out.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(quick: bool = False) -> list[dict[str, Any]]:
    n = N_TASKS
    res = _child("sdk", n)
    bare = _child("bare", n)
    errors = sum(res["errors"].values())
    flying = max(1, res["peak_in_flight"])
    per_task = max(0, res["peak_rss"] - res["rss0"]) / flying / 1024
    bare_per_task = max(0, bare["peak_rss"] - bare["rss0"]) / max(1, bare["peak_in_flight"]) / 1024
    added = per_task - bare_per_task
    rows = [
        row(
            "scale.wall",
            res["wall"],
            "s",
            note=(
                f"{n:,} tasks (generate + await) at once, images 10-20 s API time at "
                f"x{TIME_SCALE:g}, rate limit off, in-process simulator; "
                f"{res['requests']:,} API requests"
            ),
        ),
        row(
            "scale.cpu_per_task",
            res["cpu"] / n * 1e3,
            "ms/task",
            note="process CPU time ÷ tasks; the in-process simulator's CPU is included",
        ),
        row(
            "scale.requests_per_task",
            res["requests"] / n,
            "req/task",
            note="1 generate + the status polls",
        ),
        row(
            "scale.errors",
            errors,
            "errors",
            target="== 0",
            ok=errors == 0 and res["done"] == n,
            note=f"{res['done']:,}/{n:,} succeeded; errors: {res['errors'] or 'none'}",
        ),
        row(
            "scale.rss_per_task.total",
            per_task,
            "KB/task",
            baseline=bare_per_task,
            ratio=per_task / bare_per_task if bare_per_task else None,
            note=(
                f"peak RSS growth {(res['peak_rss'] - res['rss0']) / 2**20:.1f} MiB ÷ "
                f"{flying:,} tasks in flight; baseline = a bare coroutine per task in the "
                "same task group (what any program with that many tasks pays)"
            ),
        ),
        row(
            "scale.rss_per_task.added",
            added,
            "KB/task",
            target=f"<= {TARGET_KB:g} KB",
            ok=meets(added, "<=", TARGET_KB),
            note="RSS per in-flight task above the bare coroutine: the SDK's state and the "
            "in-process simulator's (its request log and task table) together",
        ),
    ]
    heap_n = HEAP_TASKS
    heap = _child("heap", heap_n)
    by = heap.get("by_origin", {})
    flying_h = max(1, heap.get("in_flight", heap_n))
    for origin, label in (
        ("sdk", "SDK code (nanobanana/, what it allocates in anyio/httpx included)"),
        ("simulator", "the in-process simulator (nanobanana/testing)"),
        ("task", "the benchmark's own task per coroutine (anyio task group)"),
        ("other", "not traceable to any of the above"),
    ):
        rows.append(
            row(
                f"scale.heap_per_task.{origin}",
                by.get(origin, 0) / flying_h / 1024,
                "KB/task",
                note=(
                    f"tracemalloc, {heap_n:,} tasks all submitted and awaited; "
                    f"each allocation charged to the innermost frame in our code: {label}"
                ),
            )
        )
    return rows


def _part_main() -> None:
    part = sys.argv[sys.argv.index("--part") + 1]
    n = int(sys.argv[sys.argv.index("--n") + 1])
    out = part_heap(n) if part == "heap" else part_rss(n, bare=part == "bare")
    print(json.dumps(out))


if __name__ == "__main__":
    if "--part" in sys.argv:
        _part_main()
    else:
        sys.exit(main(run))
