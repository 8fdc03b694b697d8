"""Ours alone on the polling benchmark's streams: an exact check of a change to how the
client polls, in minutes rather than the full run's half hour.

``bench_polling.py`` runs every poller (ours, the oracle, fixed 1 s polling, the known
poller at three quantiles) on fourteen arrival sequences of seven streams. A change to
the client moves only ours' figures, and every run is deterministic (virtual time, the
simulator's seed also seeding the client's jitter). So ours alone, on the same sequences
with the same seeds, gives what the full run would report for it, to the last digit; its
p95 over the oracle's p95 of the last full run (``results-latest.json``) is the ratio the
bench would print. The oracle's figures do not depend on ours: rerun the full bench when
the simulator, the streams or the budget change.

    python benchmarks/paired.py [STREAM ...] [--results PATH] [--workers N]

Prints, per stream: ours' p95 ÷ the oracle's (the goal-4 figure), requests a task and
429s, beside the ratio recorded in the results file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from _streams import WORKLOAD, Arrival, Result, arrivals, mixed_arrivals
from _streams import run as run_stream
from bench_polling import SEEDS, pooled_figures, run_seed

STREAMS = (*WORKLOAD, "mixed")
MINUTES = 20.0
RESULTS = Path(__file__).resolve().parent / "results-latest.json"


def jobs_of(name: str, minutes: float, seed: int) -> list[Arrival]:
    """The arrivals ``bench_polling`` makes for a stream and a seed."""
    if name == "mixed":
        return mixed_arrivals(minutes, seed)
    return arrivals(WORKLOAD[name], minutes, seed)


def ours(
    name: str,
    seeds: Sequence[int] = SEEDS,
    minutes: float = MINUTES,
    workers: int | None = None,
) -> list[Result]:
    """Ours on each sequence, with the seeds ``bench_polling.stream`` gives it."""
    calls = [(jobs_of(name, minutes, s), "ours", run_seed("ours", k)) for k, s in enumerate(seeds)]
    if workers == 1:
        return [run_stream(*call) for call in calls]
    with ProcessPoolExecutor(workers or os.cpu_count()) as pool:
        return list(pool.map(run_stream, *zip(*calls, strict=True)))


def recorded(path: Path) -> dict[str, dict[str, Any]]:
    """The stream rows of a full run's results, by stream."""
    rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
    prefix, suffix = "polling.stream.", ".p95"
    return {
        r["name"][len(prefix) : -len(suffix)]: r
        for r in rows
        if r["name"].startswith(prefix) and r["name"].endswith(suffix)
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("streams", nargs="*", metavar="STREAM", help=", ".join(STREAMS))
    parser.add_argument("--results", type=Path, default=RESULTS, help="a full run's JSON")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.streams) - set(STREAMS))
    if unknown:
        parser.error(f"no stream {', '.join(unknown)}; the streams: {', '.join(STREAMS)}")
    rows = recorded(args.results)
    for name in args.streams or STREAMS:
        got = pooled_figures(ours(name, workers=args.workers))
        oracle = rows[name]["p95"]["oracle"]
        print(
            f"{name:10s} p95 {got['p95']:7.2f} s  ÷ oracle {oracle:7.2f} s = "
            f"{got['p95'] / oracle:.4f}  (recorded {rows[name]['ratio']:.4f})  "
            f"{got['requests_per_task']:.3f} req/task  429s {got['429s']:.0f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
