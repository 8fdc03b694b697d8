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

    python benchmarks/paired.py [STREAM ...] [--set MODULE.NAME=VALUE ...]
                                [--results PATH] [--workers N]

Prints, per stream: ours' p95 ÷ the oracle's (the goal-4 figure), requests a task and
429s, beside the ratio recorded in the results file. ``--set`` runs ours with a constant
of ``nanobanana.MODULE`` changed (a Python literal; repeatable), e.g. ``--set
_durations.TREND_T=2``: what a variant of the poller would score, without editing the
package. Only a constant read where it is used can be changed so: one bound when the
package loads (read outside a function's body, e.g. as a default argument; or imported
by name elsewhere) is refused, as is a name the module lacks, rather than measured as the unchanged package.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
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


Setting = tuple[str, str, Any]
"""(module of nanobanana, constant, value): one ``--set``."""


def setting(spec: str) -> Setting:
    """``MODULE.NAME=VALUE`` read and checked: the module imports, has the constant, and
    the value is a Python literal (ValueError otherwise, naming what is wrong)."""
    target, sep, text = spec.partition("=")
    module, _, constant = target.strip().rpartition(".")
    if not sep or not module or not constant:
        raise ValueError(f"{spec!r}: expected MODULE.NAME=VALUE, e.g. _durations.TREND_T=2")
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        raise ValueError(f"{spec!r}: {text.strip()!r} is not a Python literal") from None
    try:
        found = importlib.import_module(f"nanobanana.{module}")
    except ImportError:
        raise ValueError(f"{spec!r}: no module nanobanana.{module}") from None
    if not hasattr(found, constant):
        raise ValueError(f"{spec!r}: nanobanana.{module} has no {constant}")
    bound = bound_at_load(module, constant)
    if bound:
        raise ValueError(
            f"{spec!r}: {constant} is bound when the package loads ({', '.join(bound)}), "
            "so changing it afterwards would change nothing"
        )
    return module, constant, value


def bound_at_load(module: str, constant: str) -> list[str]:
    """Where the package reads ``nanobanana.MODULE.CONSTANT`` once, as it loads: in its
    module, outside a function's body (a default argument, a class attribute, another
    constant made from it); elsewhere, a ``from ... import`` of it. Setting the module's
    attribute later reaches none of them (read from the source)."""
    package = Path(importlib.import_module("nanobanana").__file__ or "").parent
    home = package.joinpath(*module.split(".")).with_suffix(".py")
    found: list[str] = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(package.parent).as_posix()
        if path == home:
            found += [f"line {line} of {where}" for line in _read_at_load(tree, constant)]
            continue
        here = path.relative_to(package.parent).with_suffix("").parts
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and _absolute(node, here) == f"nanobanana.{module}"
                and any(a.name == constant for a in node.names)
            ):
                found.append(f"imported on line {node.lineno} of {where}")
    return found


def _absolute(node: ast.ImportFrom, here: tuple[str, ...]) -> str:
    """The module a ``from ... import`` in the module ``here`` (its dotted parts) names."""
    if not node.level:
        return node.module or ""
    base = here[: len(here) - node.level]  # a module's package is its name less the last part
    return ".".join([*base, *([node.module] if node.module else [])])


def _read_at_load(node: ast.AST, name: str, deferred: bool = False) -> list[int]:
    """The lines where ``name`` is read while the module runs: everywhere but a function's
    (or lambda's) body; its defaults and decorators run when it is defined (annotations
    are not evaluated: the package uses ``from __future__ import annotations``)."""
    if isinstance(node, ast.Name):
        read = node.id == name and isinstance(node.ctx, ast.Load)
        return [node.lineno] if read and not deferred else []
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        now: list[ast.AST] = [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
        if not isinstance(node, ast.Lambda):
            now += node.decorator_list
        later = node.body if isinstance(node.body, list) else [node.body]
        return [
            *(line for n in now for line in _read_at_load(n, name, deferred)),
            *(line for n in later for line in _read_at_load(n, name, True)),
        ]
    if isinstance(node, ast.AnnAssign):  # its annotation is not evaluated
        parts = [node.target, *([node.value] if node.value else [])]
        return [line for n in parts for line in _read_at_load(n, name, deferred)]
    if isinstance(node, ast.arg):  # an annotation only
        return []
    return [line for n in ast.iter_child_nodes(node) for line in _read_at_load(n, name, deferred)]


@contextlib.contextmanager
def applied(settings: Sequence[Setting]) -> Iterator[None]:
    """The constants of ``settings`` changed for the duration, then restored."""
    saved = []
    try:
        for module, constant, value in settings:
            found = importlib.import_module(f"nanobanana.{module}")
            saved.append((found, constant, getattr(found, constant)))
            setattr(found, constant, value)
        yield
    finally:
        for found, constant, value in reversed(saved):
            setattr(found, constant, value)


def run_with(settings: Sequence[Setting], jobs: list[Arrival], policy: str, seed: int) -> Result:
    """``_streams.run`` with ``settings`` applied (in whichever process runs it)."""
    with applied(settings):
        return run_stream(jobs, policy, seed)


def ours(
    name: str,
    seeds: Sequence[int] = SEEDS,
    minutes: float = MINUTES,
    workers: int | None = None,
    settings: Sequence[Setting] = (),
) -> list[Result]:
    """Ours on each sequence, with the seeds ``bench_polling.stream`` gives it (and the
    constants of ``settings`` changed)."""
    calls = [
        (tuple(settings), jobs_of(name, minutes, s), "ours", run_seed("ours", k))
        for k, s in enumerate(seeds)
    ]
    if workers == 1:
        return [run_with(*call) for call in calls]
    with ProcessPoolExecutor(workers or os.cpu_count()) as pool:
        return list(pool.map(run_with, *zip(*calls, strict=True)))


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
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="MODULE.NAME=VALUE",
        help="run ours with a constant of nanobanana.MODULE changed (repeatable)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="a full run's JSON")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.streams) - set(STREAMS))
    if unknown:
        parser.error(f"no stream {', '.join(unknown)}; the streams: {', '.join(STREAMS)}")
    try:
        settings = [setting(spec) for spec in args.settings]
    except ValueError as exc:
        parser.error(str(exc))
    if settings:
        print("ours with " + ", ".join(f"{m}.{c}={v!r}" for m, c, v in settings), flush=True)
    rows = recorded(args.results)
    for name in args.streams or STREAMS:
        got = pooled_figures(ours(name, workers=args.workers, settings=settings))
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
