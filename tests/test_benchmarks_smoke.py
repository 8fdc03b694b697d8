"""Smoke test of benchmarks/: every module imports, and the A/B harness does its sums right.

No timing is asserted here; the figures themselves come from `nox -s bench`.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
MODULES = [
    "bench_overhead",
    "bench_decode",
    "bench_scale",
    "bench_import",
    "bench_polling",
    "paired",
    "_streams",
    "_charts",
    "run_all",
]


@pytest.fixture(scope="module")
def harness() -> Any:
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("_harness")
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.parametrize("name", MODULES)
def test_benchmark_module_imports(harness: Any, name: str) -> None:
    module = importlib.import_module(name)
    if name.startswith("bench_"):
        assert callable(module.run)


def test_ab_alternates_and_reports_the_ratio_of_medians(harness: Any) -> None:
    calls: list[str] = []
    a_values = iter([10.0, 1.0, 2.0, 3.0, 100.0])  # one warmup, then 4 rounds
    b_values = iter([10.0, 3.0, 5.0, 7.0, 9.0])

    def a() -> float:
        calls.append("a")
        return next(a_values)

    def b() -> float:
        calls.append("b")
        return next(b_values)

    res = harness.ab(a, b, rounds=4, warmup=1)
    # warmup, then the order flips every round so drift hits both sides alike
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b", "b", "a"]
    assert res.a == (1.0, 2.0, 3.0, 100.0)
    assert res.b == (3.0, 5.0, 7.0, 9.0)
    assert res.a_median == 2.5
    assert res.b_median == 6.0
    assert res.ratio == pytest.approx(6.0 / 2.5)  # B / A: above 1 means B is slower
    assert res.paired_ratios == (3.0, 2.5, 7.0 / 3.0, 0.09)


def test_ab_ratio_edge_cases(harness: Any) -> None:
    same = harness.ab(lambda: 4.0, lambda: 4.0, rounds=3, warmup=0)
    assert same.ratio == 1.0
    assert harness.ab(lambda: 0.0, lambda: 0.0, rounds=1, warmup=0).ratio == 1.0
    assert math.isinf(harness.ab(lambda: 0.0, lambda: 1.0, rounds=1, warmup=0).ratio)
    with pytest.raises(ValueError, match="rounds"):
        harness.ab(lambda: 1.0, lambda: 1.0, rounds=0)


@pytest.mark.anyio
async def test_ab_async_matches_ab(harness: Any) -> None:
    async def a() -> float:
        return 2.0

    async def b() -> float:
        return 2.2

    res = await harness.ab_async(a, b, rounds=3)
    assert res.a_median == 2.0
    assert res.ratio == pytest.approx(1.1)


def test_time_per_call_divides_by_n(harness: Any) -> None:
    count = 0

    def fn() -> None:
        nonlocal count
        count += 1

    per_call = harness.time_per_call(fn, 50)()
    assert count == 50
    assert per_call >= 0.0


def test_rows_targets_and_table(harness: Any) -> None:
    assert harness.meets(1.05, "<=", 1.10) is True
    assert harness.meets(1.2, "<=", 1.10) is False
    assert harness.meets(None, "<=", 1.10) is None
    r = harness.row(
        "overhead.async", 1234.5, "calls/s", target="<= 1.10", baseline=1300.0, ratio=1.05, ok=True
    )
    assert {"name", "value", "unit", "target", "baseline", "ratio", "ok"} <= set(r)
    missing = {"name": "someone_elses_row", "value": 3}
    table = harness.format_table([r, missing, harness.row("x", None, "", ok=False, note="why")])
    assert "overhead.async" in table
    assert "someone_elses_row" in table
    assert "MISS" in table
    assert "x: why" in table
    assert (
        json.dumps(harness.jsonable({"a": [math.nan, math.inf, 1.0]})) == '{"a": [null, null, 1.0]}'
    )
    md = harness.format_markdown([r, missing])
    assert md.splitlines()[2].startswith("| `overhead.async` | 1,234 | calls/s | 1,300 | 1.05 |")
    assert "≤ 1.10 | ok |" in md.splitlines()[2]
    assert "`someone_elses_row`" in md


def test_decode_benchmark_rows_have_the_shape_of_the_table(harness: Any) -> None:
    bench_decode = importlib.import_module("bench_decode")
    rows = bench_decode._measure("image", bench_decode.IMAGE_BODY, bench_decode.ImageStatus, 5, 1)
    assert [r["name"] for r in rows] == [
        "decode.image.json_loads",
        "decode.image.parse_response",
        "decode.image.structure_only",
    ]
    assert all(r["value"] > 0 for r in rows)


def test_run_all_finds_the_benchmarks(harness: Any) -> None:
    run_all = importlib.import_module("run_all")
    names = [name for name, _, _ in run_all.available()]
    assert {"bench_decode", "bench_import", "bench_overhead", "bench_scale"} <= set(names)
    assert [n for n, _, _ in run_all.available(["decode"])] == ["bench_decode"]
    info = run_all.machine_info()
    assert info["logical_cores"] and info["python"] and info["cpu_model"]


def test_alternate_rotates_the_sides_and_pairs_the_rounds(harness: Any) -> None:
    calls: list[str] = []

    def side(name: str) -> Any:
        def sample() -> float:
            calls.append(name)
            return {"a": 2.0, "b": 3.0, "c": 5.0}[name] * (1 + len(calls) / 100)

        return sample

    out = harness.alternate({k: side(k) for k in "abc"}, rounds=3, warmup=1)
    # warm-up, then every side in every position once: a b c, b c a, c a b
    assert calls == list("abc" + "abc" + "bca" + "cab")
    assert [len(v) for v in out.values()] == [3, 3, 3]
    ratios = harness.paired(out["c"], out["a"])
    assert len(ratios.ratios) == 3
    assert ratios.low <= ratios.median <= ratios.high
    assert harness.paired([3.0, 6.0], [1.0, 2.0]).ratios == (3.0, 3.0)
    assert harness.quantile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert harness.quantile([0.0, 10.0], 0.95) == 9.5


def test_a_tiny_stream_runs_in_virtual_time_for_every_poller(harness: Any) -> None:
    streams = importlib.import_module("_streams")
    workload = streams.WORKLOADS[0]  # uniform 10-20 s
    jobs = streams.arrivals(workload, 1.0, seed=3)  # 27 tasks in a minute
    assert len(jobs) == 27 and all(10.0 <= j.duration <= 20.0 for j in jobs)
    for i, policy in enumerate(streams.POLICIES):
        result = streams.run(jobs, policy, seed=500 + i)
        assert result.tasks == 27
        assert result.rate_limited == 0
        assert all(latency >= 0 for latency in result.latencies())
        if policy == "oracle":  # one poll a task, exactly at its end
            assert result.task_requests == 2 * 27
    # The oracle made to spend more: every task also polled once while it runs.
    wasteful = streams.run(jobs, "oracle", seed=501, extra=1.0)
    assert wasteful.task_requests == 3 * 27 and wasteful.rate_limited == 0
    mixed = streams.mixed_arrivals(1.0, seed=3)
    assert {j.kind for j in mixed} == {"image", "video", "credits"}
    # The poller that knows the distribution: at its 100% point (20 s) every task has
    # ended, so one poll a task; at its 50% point the tasks longer than 15 s need a second,
    # at their end (fewer when a poll waited in the budget's queue past its task's end).
    top = streams.run(jobs, "known", seed=502, known=1.0)
    assert top.task_requests == 2 * 27 and top.rate_limited == 0
    middle = streams.run(jobs, "known", seed=503, known=0.5)
    running = sum(1 for j in jobs if j.duration > 15.0)
    assert 0 < running < 27 and 2 * 27 < middle.task_requests <= 2 * 27 + running


@pytest.mark.parametrize("name", ["fast", "mixed"])
def test_ours_alone_gives_the_figures_the_full_run_gives_it(harness: Any, name: str) -> None:
    # benchmarks/paired.py runs ours without the other pollers, with the seeds the full
    # run gives it: the same sequences, the same figures, to the last digit.
    paired = importlib.import_module("paired")
    polling = importlib.import_module("bench_polling")
    seeds = (3, 4)
    jobs = [paired.jobs_of(name, 1.0, s) for s in seeds]
    full = polling.stream(name, jobs, None, (0.93,))
    alone = paired.ours(name, seeds, minutes=1.0, workers=1)
    assert polling.pooled_figures(alone) == polling.pooled_figures(full["results"]["ours"])
    # And the ratio it prints is over the oracle's p95 that the last full run recorded.
    recorded = paired.recorded(paired.RESULTS)
    assert set(recorded) == set(paired.STREAMS)
    assert all(row["p95"]["oracle"] > 0 for row in recorded.values())


def test_ours_alone_runs_with_a_constant_changed_and_then_restored(harness: Any) -> None:
    # ``paired.py --set``: the variant's figures are its own (here without a price floor,
    # which moves fast tasks' first polls), and the constant is back afterwards, so the
    # next run measures the package as it is.
    paired = importlib.import_module("paired")
    polling = importlib.import_module("bench_polling")
    from nanobanana import _durations

    before = _durations.PRICE_FLOOR
    plain = polling.pooled_figures(paired.ours("fast", (3,), minutes=2.0, workers=1))
    varied = paired.ours(
        "fast",
        (3,),
        minutes=2.0,
        workers=1,
        settings=[paired.setting("_durations.PRICE_FLOOR=0.0")],
    )
    assert polling.pooled_figures(varied) != plain
    assert before == _durations.PRICE_FLOOR
    # A typo is refused, not measured as the unchanged package.
    for spec, says in [
        ("_durations.TREND_TT=2", "has no TREND_TT"),
        ("_nomodule.X=1", "no module nanobanana._nomodule"),
        ("_durations.TREND_T=two", "not a Python literal"),
        ("TREND_T", "expected MODULE.NAME=VALUE"),
        # Bound once at import: changing the attribute later would measure nothing new.
        (
            "_durations.FIRST_POLL_QUANTILE=0.9",
            r"line \d+ of nanobanana/_durations.py",
        ),
        (
            "_async._scheduler.POLL_SLOTS=16",
            r"line \d+ of nanobanana/_async/_scheduler.py",
        ),
    ]:
        with pytest.raises(ValueError, match=says):
            paired.setting(spec)


def test_a_constant_read_as_the_module_loads_is_found(harness: Any) -> None:
    # What ``--set`` refuses: a read that happens once, at import (a default, a class
    # attribute, a constant made from it, a decorator's argument), not one in a body.
    import ast

    paired = importlib.import_module("paired")
    source = """
K = 3
DOUBLE = K * 2                        # 3
def f(x: K = K):                      # 4: the default (the annotation is not evaluated)
    return K                          # read when called
class C:
    limit: int = K                    # 7
    def g(self, y=lambda z=K: K):     # 8: the lambda's default, not its body
        return K
@decorate(K)                          # 10
def h(): ...
"""
    assert paired._read_at_load(ast.parse(source), "K") == [3, 4, 7, 8, 10]
    # Elsewhere, a from-import of it, relative or not, resolved to the module it names.
    imported = paired.bound_at_load("_policy", "DEFAULT_POLICIES")
    assert any(w.endswith("of nanobanana/_durations.py") for w in imported)
    assert all(w.startswith("imported on line") for w in imported)
    assert paired.bound_at_load("_durations", "TREND_T") == []


@pytest.mark.parametrize("name", ["uniform", "long_tail", "bimodal", "fast", "videos", "drift"])
def test_the_known_poller_is_told_the_true_quantiles(harness: Any, name: str) -> None:
    # What the known poller reads (``Workload.point``) is the distribution the durations
    # are drawn from: 20,000 draws put each quantile within 1% of the sample's.
    import random

    workload = importlib.import_module("_streams").WORKLOAD[name]
    for phase in (0.0, 0.5):
        rng = random.Random(7)
        draws = sorted(workload.draw(rng, phase) for _ in range(20_000))
        for q in (0.1, 0.5, 0.9, 0.93):
            sample = draws[int(q * len(draws))]
            assert workload.point(q, phase) == pytest.approx(sample, rel=0.01)
        assert workload.point(1.0, phase) >= draws[-1]


def test_the_charts_are_drawn_from_the_rows(harness: Any, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    charts = importlib.import_module("_charts")
    rows = [
        {"name": "overhead.async.raw_httpx.wall", "value": 100.0},
        {
            "name": "overhead.async.ours.wall",
            "value": 103.0,
            "ratio": 1.03,
            "ratios": [1.0, 1.03, 1.05],
        },
        {
            "name": "overhead.async.openai.wall",
            "value": 150.0,
            "ratio": 1.5,
            "ratios": [1.4, 1.5, 1.6],
        },
        {
            "name": "polling.charts",
            "value": None,
            "charts": {
                "latencies": {"ours": [1.0, 2.0], "oracle": [1.0, 1.5], "fixed_1s": [3.0, 4.0]},
                "request_times": {"ours": [0.0, 1.0, 70.0], "oracle": [0.0], "fixed_1s": []},
                "rate": [60, 60.0],
                "per_minute": 27.0,
            },
        },
    ]
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"rows": rows}))
    written = charts.draw(results)
    assert sorted(p.name for p in written) == [
        "overhead.png",
        "stream_latency_cdf.png",
        "stream_requests.png",
    ]
    assert all(p.stat().st_size > 1000 for p in written)
