"""Polling near the limit: a stream of tasks under a strict 60/min window, and a batch.

Everything runs on the simulator in virtual time (``_streams``: Trio's ``MockClock``, so
twenty minutes of API time take seconds and no figure depends on the machine's load).
The simulator enforces a strict sliding window, 60 requests in any 60 s per key, and the
client its own 60/min budget (the default). Every figure is in API seconds.

**Stream** (one per duration distribution in ``_streams.WORKLOADS``, and a mixed load):
tasks arrive at random (Poisson, conditioned on the count) at 27 a minute for 20 minutes
(90% of what 2 requests a task allow). Each task is submitted on arrival and then waited
for by one of three pollers, on the same arrivals and durations:

- ``ours``: ``await task``;
- ``oracle``: reads the task's true end from the simulator and polls exactly once at that
  moment, through the same client and budget: the physical limit for this budget;
- ``fixed_1s``: polls every second until done.

Reported per workload: p50 and p95 of arrival -> result for each poller, requests per task,
429s. Target (issue 15): ours' p95 <= 1.15 x the oracle's, <= 2.3 requests a task, no 429.
The arrival sequences of fourteen seeds are pooled (``SEEDS``); each row also gives the range
of the ratio over the sequences alone. Every run is deterministic (the simulator's seed
also seeds the client's jitter), so the same code gives the same figures; the runs are
spread over the machine's cores.

Beside it, informational: the oracle made to spend ours' requests (``_streams.run(...,
extra=...)``: a share of its tasks, ours' requests a task minus 2, also get a poll that
finds them running). Ours' p95 over that one says how much of the gap to the oracle is
the queueing that ours' extra requests cause (whoever sends them) rather than where ours
places its polls.

The **mixed** load: per minute 13 images of the default model (10-20 s), 7 Pro images whose
duration depends on the resolution (1K 15-25 s, 4K 35-55 s), 5 videos of two models
(60-150 s, 150-300 s) and 4 credits calls; the same targets for the tasks, and the credits
calls' p95 (they queue behind the polls).

**Batch**: 200 prompts submitted at once, each then awaited. The lower bound is the window
that admits the 400th request (2 requests a task at the limit): 60 * (ceil(400 / 60) - 1) =
360 s. Target: makespan <= 1.02 x that, <= 2.3 requests a task, no 429.

    python benchmarks/bench_polling.py [--quick] [--json PATH]
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

import anyio
from _harness import main, quantile, row
from _streams import (
    PER_MINUTE,
    POLICIES,
    RATE,
    WORKLOADS,
    Arrival,
    Result,
    VirtualClock,
    arrivals,
    mixed_arrivals,
)
from _streams import run as run_stream

from nanobanana.testing import FakeNanoBanana

SEEDS = tuple(range(13, 27))
"""The arrival sequences pooled (20 minutes each). One sequence's p95 rests on its 27
slowest tasks, and one alone lands anywhere in 1.11-1.39 x the oracle's on the uniform
stream. Eight pooled were still not enough: sequences 13-20 read uniform 1.24, fast 1.13,
sequences 21-26 read 1.16 and 1.19. Fourteen give 540 x 14 tasks a stream."""
KNOWN_QUANTILES = (0.9, 0.93, 1.0)
"""Where the ``known`` poller may put its first poll (quantiles of the true distribution);
its best is reported. Measured over 0.8-1.0 (eight sequences): the best is 1.0 for the
bounded uniform streams (10-20 s, 2-5 s), 0.9-0.93 for the others."""
P95_TARGET = 1.15
REQUESTS_TARGET = 2.3
BATCH_TARGET = 1.02


def run_seed(policy: str, sequence: int) -> int:
    """The seed of a poller's run on the ``sequence``-th arrival sequence (its simulator's,
    and its client's jitter): one per poller and sequence, so that a poller rerun alone
    (``paired.py``) gives the figures it gives here."""
    return 1000 * (POLICIES.index(policy) + 1) + sequence


def pooled_figures(results: list[Result], kind: str | None = None) -> dict[str, float]:
    latencies = [x for r in results for x in r.latencies(kind)]
    tasks = sum(r.tasks for r in results)
    return {
        "p50": statistics.median(latencies),
        "p95": quantile(latencies, 0.95),
        "requests_per_task": sum(r.task_requests for r in results) / tasks if tasks else 0.0,
        "429s": float(sum(r.rate_limited for r in results)),
        "tasks": float(tasks),
    }


def _runs(calls: list[tuple[Any, ...]], pool: Executor | None) -> list[Result]:
    """``run_stream(*call)`` for each call, in the pool's processes when there is one (each
    run is deterministic, so where it runs changes nothing)."""
    if pool is None:
        return [run_stream(*call) for call in calls]
    return list(pool.map(run_stream, *zip(*calls, strict=True)))


def stream(
    name: str,
    jobs_by_seed: list[list[Arrival]],
    pool: Executor | None = None,
    known: tuple[float, ...] = KNOWN_QUANTILES,
) -> dict[str, Any]:
    """Every poller on every arrival sequence: pooled figures, and the raw results."""
    out: dict[str, Any] = {"results": {}}
    calls = [
        (jobs, policy, run_seed(policy, k))
        for policy in POLICIES
        for k, jobs in enumerate(jobs_by_seed)
    ]
    done = iter(_runs(calls, pool))
    for policy in POLICIES:
        results = [next(done) for _ in jobs_by_seed]
        out["results"][policy] = results
        out[policy] = pooled_figures(results)
        if name == "mixed":
            out[policy]["credits_p95"] = pooled_figures(results, "credits")["p95"]
    # Per arrival sequence, ours' p95 over the oracle's: how far one 20-minute sequence
    # alone can land from the pooled figure.
    out["per_sequence"] = [
        quantile(o.latencies(), 0.95) / quantile(r.latencies(), 0.95)
        for o, r in zip(out["results"]["ours"], out["results"]["oracle"], strict=True)
    ]
    extra = max(0.0, out["ours"]["requests_per_task"] - 2.0)
    matched = _runs(
        [(jobs, "oracle", 2000 + k, extra) for k, jobs in enumerate(jobs_by_seed)], pool
    )
    out["oracle_matched"] = pooled_figures(matched)
    if name != "mixed":
        out["known"] = _best_known(jobs_by_seed, pool, known)
    durations = [j.duration for jobs in jobs_by_seed for j in jobs if j.kind != "credits"]
    out["duration_p95"] = quantile(durations, 0.95)
    return out


def _best_known(
    jobs_by_seed: list[list[Arrival]], pool: Executor | None, grid: tuple[float, ...]
) -> dict[str, Any]:
    """The ``known`` poller at each quantile of ``grid``: the pooled figures of the one
    with the lowest p95, its quantile, and every quantile's p95."""
    calls = [(jobs, "known", 3000 + k, 0.0, q) for q in grid for k, jobs in enumerate(jobs_by_seed)]
    done = iter(_runs(calls, pool))
    pooled = {q: pooled_figures([next(done) for _ in jobs_by_seed]) for q in grid}
    best = min(grid, key=lambda q: pooled[q]["p95"])
    return {**pooled[best], "q": best, "p95_by_q": {str(q): pooled[q]["p95"] for q in grid}}


def _stream_rows(name: str, label: str, m: dict[str, Any]) -> list[dict[str, Any]]:
    ours, oracle, fixed = m["ours"], m["oracle"], m["fixed_1s"]
    ratio = ours["p95"] / oracle["p95"]
    extra = {}
    if name == "mixed":
        extra["credits_p95"] = {p: m[p]["credits_p95"] for p in POLICIES}
    note = (
        f"{label}; {ours['tasks']:.0f} tasks; p50 ours {ours['p50']:.1f} s, oracle "
        f"{oracle['p50']:.1f} s, fixed 1 s {fixed['p50']:.1f} s; p95 oracle "
        f"{oracle['p95']:.1f} s, fixed 1 s {fixed['p95']:.1f} s ({fixed['requests_per_task']:.2f} "
        f"req/task); durations p95 {m['duration_p95']:.1f} s; one sequence alone: "
        f"{min(m['per_sequence']):.2f}-{max(m['per_sequence']):.2f}"
    )
    if name == "mixed":
        c = extra["credits_p95"]
        note += (
            f"; credits calls p95 ours {c['ours']:.1f} s, oracle {c['oracle']:.1f} s, "
            f"fixed 1 s {c['fixed_1s']:.1f} s"
        )
    matched = m["oracle_matched"]
    return [
        row(
            f"polling.stream.{name}.p95",
            ours["p95"],
            "s",
            baseline=oracle["p95"],
            ratio=ratio,
            target=f"<= {P95_TARGET} (x oracle)",
            ok=ratio <= P95_TARGET,
            note=note,
            p50={p: m[p]["p50"] for p in POLICIES},
            p95={p: m[p]["p95"] for p in POLICIES},
            requests_per_task={p: m[p]["requests_per_task"] for p in POLICIES},
            per_sequence=[round(x, 3) for x in m["per_sequence"]],
            **extra,
        ),
        row(
            f"polling.stream.{name}.p95_vs_oracle_at_our_requests",
            ours["p95"],
            "s",
            baseline=matched["p95"],
            ratio=ours["p95"] / matched["p95"],
            note=f"the oracle spending ours' requests ({matched['requests_per_task']:.2f} "
            f"req/task): p95 {matched['p95']:.1f} s (informational)",
        ),
        *_known_rows(name, m),
        row(
            f"polling.stream.{name}.requests_per_task",
            ours["requests_per_task"],
            "req/task",
            baseline=oracle["requests_per_task"],
            target=f"<= {REQUESTS_TARGET}",
            ok=ours["requests_per_task"] <= REQUESTS_TARGET and ours["429s"] == 0,
            note=f"429s: ours {ours['429s']:.0f}, oracle {oracle['429s']:.0f}, "
            f"fixed 1 s {fixed['429s']:.0f}",
            rate_limited=ours["429s"],
        ),
    ]


def _known_rows(name: str, m: dict[str, Any]) -> list[dict[str, Any]]:
    """Informational: ours beside the best a poller knowing the distribution reaches."""
    if "known" not in m:
        return []
    known, oracle = m["known"], m["oracle"]
    grid = ", ".join(f"{q}: {p95 / oracle['p95']:.2f}" for q, p95 in known["p95_by_q"].items())
    return [
        row(
            f"polling.stream.{name}.p95_vs_best_known_distribution",
            m["ours"]["p95"],
            "s",
            baseline=known["p95"],
            ratio=m["ours"]["p95"] / known["p95"],
            note=f"a poller that knows the durations' distribution, not each task's end: "
            f"first poll at its {known['q']} quantile (the best of {len(known['p95_by_q'])}), "
            f"p95 {known['p95']:.1f} s = {known['p95'] / oracle['p95']:.2f} x the oracle's, "
            f"{known['requests_per_task']:.2f} req/task; x the oracle's by quantile: {grid} "
            f"(informational)",
            known_over_oracle=known["p95"] / oracle["p95"],
            known_q=known["q"],
        )
    ]


async def _batch(n: int, seed: int) -> dict[str, float]:
    clock = VirtualClock()
    fake = FakeNanoBanana(rate_limit=RATE, clock=clock, seed=seed, credits=10**9)
    fake.durations["image"] = (10.0, 20.0)
    ends: list[float] = []
    async with fake.async_client(max_retries=5) as client:
        start = clock.now()

        async def one() -> None:
            task = await client.images.generate("a lighthouse at dusk")
            await task
            ends.append(clock.now())

        async with anyio.create_task_group() as tg:
            for _ in range(n):
                tg.start_soon(one)
    api = fake.api_requests
    lower = RATE[1] * (math.ceil(2 * n / RATE[0]) - 1)
    return {
        "makespan": max(ends) - start,
        "lower_bound": lower,
        "requests_per_task": len(api) / n,
        "429s": float(sum(1 for r in api if r.status == 429)),
    }


def batch(n: int, seed: int) -> dict[str, float]:
    import trio.testing

    result: dict[str, float] = anyio.run(
        _batch,
        n,
        seed,
        backend="trio",
        backend_options={"clock": trio.testing.MockClock(autojump_threshold=0)},
    )
    return result


def _charts_data(streams: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What benchmarks/_charts.py draws: the uniform stream's latencies per poller, and
    the times of ours' requests (first arrival sequence)."""
    uniform = streams["uniform"]["results"]
    return {
        "latencies": {
            p: sorted(round(x, 2) for r in uniform[p] for x in r.latencies()) for p in POLICIES
        },
        "request_times": {p: [round(t, 2) for t, *_ in uniform[p][0].requests] for p in POLICIES},
        "rate": list(RATE),
        "per_minute": PER_MINUTE,
    }


def run_benchmark(quick: bool = False) -> list[dict[str, Any]]:
    minutes = 6.0 if quick else 20.0
    seeds = SEEDS[:1] if quick else SEEDS
    grid = (0.93,) if quick else KNOWN_QUANTILES
    streams: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        pool = None if quick else stack.enter_context(ProcessPoolExecutor(os.cpu_count()))
        for workload in WORKLOADS:
            jobs = [arrivals(workload, minutes, s) for s in seeds]
            streams[workload.name] = stream(workload.name, jobs, pool, grid)
            rows += _stream_rows(workload.name, workload.label, streams[workload.name])
        mixed = [mixed_arrivals(minutes, s) for s in seeds]
        streams["mixed"] = stream("mixed", mixed, pool)
    rows += _stream_rows("mixed", "images, videos and credits calls", streams["mixed"])

    b = batch(100 if quick else 200, 101)
    ratio = b["makespan"] / b["lower_bound"]
    rows += [
        row(
            "polling.batch.makespan_over_lower_bound",
            ratio,
            "x",
            target=f"<= {BATCH_TARGET}",
            ratio=ratio,
            ok=ratio <= BATCH_TARGET,
            note=f"makespan {b['makespan']:.0f} s, lower bound {b['lower_bound']:.0f} s",
        ),
        row(
            "polling.batch.requests_per_task",
            b["requests_per_task"],
            "req/task",
            target=f"<= {REQUESTS_TARGET}",
            ok=b["requests_per_task"] <= REQUESTS_TARGET and b["429s"] == 0,
            note=f"429s: {b['429s']:.0f}",
        ),
    ]
    rows.append(
        row(
            "polling.charts",
            None,
            "",
            note="data for benchmarks/_charts.py",
            charts=_charts_data(streams),
        )
    )
    return rows


def run(quick: bool = False) -> list[dict[str, Any]]:
    return run_benchmark(quick)


if __name__ == "__main__":
    raise SystemExit(main(run))
