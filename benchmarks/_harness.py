"""A/B measurement helpers shared by every benchmark in this folder.

Every figure the benchmarks report is a ratio against a baseline measured in the same
run: A (the baseline) and B (what we measure) alternate over several rounds, the order
flipping every round (A B, B A, A B, ...) so slow drift of the machine (CPU frequency,
a neighbour's load, a warming cache) falls on both sides alike. Each side's figure is
the median of its rounds, and

    ratio = median(B) / median(A)

so for a time per operation a ratio above 1 means B is slower than A (1.10 = B takes 10%
more time per operation than A).

A benchmark module exposes ``run(quick: bool = False) -> list[dict]``, one dict per row
of the table (see :func:`row`), and ends with ``if __name__ == "__main__": main(run)``
so it can run on its own: ``python benchmarks/bench_x.py [--quick] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import attrs

__all__ = [
    "ABResult",
    "Paired",
    "ab",
    "ab_async",
    "alternate",
    "alternate_async",
    "paired",
    "quantile",
    "format_markdown",
    "format_table",
    "main",
    "meets",
    "row",
    "time_per_call",
    "time_per_call_async",
]

Number = float


@attrs.frozen
class ABResult:
    """The samples of both sides of an A/B comparison and their medians.

    ``ratio`` is ``b / a`` of the medians: above 1, B's figure is larger (slower, when the
    figure is a time per operation).
    """

    a: tuple[float, ...]
    b: tuple[float, ...]

    @property
    def a_median(self) -> float:
        return statistics.median(self.a)

    @property
    def b_median(self) -> float:
        return statistics.median(self.b)

    @property
    def ratio(self) -> float:
        a = self.a_median
        if a == 0:
            return math.inf if self.b_median > 0 else 1.0
        return self.b_median / a

    @property
    def paired_ratios(self) -> tuple[float, ...]:
        """b/a of each round (the rounds are adjacent in time, so this pairs them)."""
        return tuple(b / a if a else math.inf for a, b in zip(self.a, self.b, strict=True))

    def spread(self, side: str = "b") -> float:
        """(max - min) / median of one side's samples: how noisy the run was."""
        samples = self.a if side == "a" else self.b
        med = statistics.median(samples)
        return (max(samples) - min(samples)) / med if med else 0.0


def _order(rounds: int) -> Iterable[tuple[int, str]]:
    for i in range(rounds):
        yield from ((i, "a"), (i, "b")) if i % 2 == 0 else ((i, "b"), (i, "a"))


def ab(
    a: Callable[[], float],
    b: Callable[[], float],
    *,
    rounds: int = 7,
    warmup: int = 1,
) -> ABResult:
    """Alternate ``a`` and ``b`` for ``rounds`` rounds; each call returns one sample.

    A sample is whatever the callables measure (typically seconds per operation, see
    :func:`time_per_call`). ``warmup`` rounds run first and are thrown away.
    """
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    for _ in range(warmup):
        a()
        b()
    samples: dict[str, list[float]] = {"a": [], "b": []}
    for _, side in _order(rounds):
        samples[side].append(float((a if side == "a" else b)()))
    return ABResult(tuple(samples["a"]), tuple(samples["b"]))


async def ab_async(
    a: Callable[[], Awaitable[float]],
    b: Callable[[], Awaitable[float]],
    *,
    rounds: int = 7,
    warmup: int = 1,
) -> ABResult:
    """:func:`ab` for coroutine functions, run inside the caller's event loop."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    for _ in range(warmup):
        await a()
        await b()
    samples: dict[str, list[float]] = {"a": [], "b": []}
    for _, side in _order(rounds):
        samples[side].append(float(await (a if side == "a" else b)()))
    return ABResult(tuple(samples["a"]), tuple(samples["b"]))


def time_per_call(fn: Callable[[], object], n: int) -> Callable[[], float]:
    """A sampler: call ``fn`` ``n`` times, return the seconds per call."""

    def sample() -> float:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - start) / n

    return sample


def time_per_call_async(
    fn: Callable[[], Awaitable[object]], n: int
) -> Callable[[], Awaitable[float]]:
    """An async sampler: await ``fn()`` ``n`` times in sequence, return the seconds per call."""

    async def sample() -> float:
        start = time.perf_counter()
        for _ in range(n):
            await fn()
        return (time.perf_counter() - start) / n

    return sample


# -- more than two sides, paired by round ----------------------------------------------------

S = TypeVar("S")


def _rotation(names: Sequence[str], rounds: int) -> Iterable[str]:
    """Round i runs the sides rotated by i (A B C, B C A, C A B, ...): every side takes
    every position equally often, so drift and warm caches fall on all of them alike."""
    k = len(names)
    for i in range(rounds):
        yield from (names[(i + j) % k] for j in range(k))


def alternate(
    samplers: Mapping[str, Callable[[], S]], *, rounds: int = 7, warmup: int = 1
) -> dict[str, list[S]]:
    """Run each sampler once per round, rotating their order; the samples by side.

    ``samples[name][i]`` is side ``name``'s sample of round ``i``: the sides' samples of
    one round are adjacent in time, which is what :func:`paired` divides.
    """
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    names = list(samplers)
    for _ in range(warmup):
        for name in names:
            samplers[name]()
    out: dict[str, list[S]] = {name: [] for name in names}
    for name in _rotation(names, rounds):
        out[name].append(samplers[name]())
    return out


async def alternate_async(
    samplers: Mapping[str, Callable[[], Awaitable[S]]], *, rounds: int = 7, warmup: int = 1
) -> dict[str, list[S]]:
    """:func:`alternate` for coroutine functions, run inside the caller's event loop."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    names = list(samplers)
    for _ in range(warmup):
        for name in names:
            await samplers[name]()
    out: dict[str, list[S]] = {name: [] for name in names}
    for name in _rotation(names, rounds):
        out[name].append(await samplers[name]())
    return out


@attrs.frozen
class Paired:
    """Per-round ratios ``b[i] / a[i]``: their median and their spread (min, max)."""

    ratios: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.ratios)

    @property
    def low(self) -> float:
        return min(self.ratios)

    @property
    def high(self) -> float:
        return max(self.ratios)

    def text(self) -> str:
        return f"{self.median:.3f} (rounds {self.low:.3f}-{self.high:.3f}, n={len(self.ratios)})"


def paired(b: Sequence[float], a: Sequence[float]) -> Paired:
    """The ratios of the rounds: ``b[i] / a[i]`` (B over the baseline A)."""
    return Paired(tuple(y / x if x else math.inf for x, y in zip(a, b, strict=True)))


def quantile(values: Iterable[float], q: float) -> float:
    """The ``q`` quantile with linear interpolation (NaN for no values)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    pos = q * (len(ordered) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


# -- rows and the table -------------------------------------------------------------------

_OPS: Mapping[str, Callable[[float, float], bool]] = {
    "<=": lambda x, limit: x <= limit,
    "<": lambda x, limit: x < limit,
    ">=": lambda x, limit: x >= limit,
    ">": lambda x, limit: x > limit,
    "==": lambda x, limit: x == limit,
}


def meets(x: float | None, op: str, limit: float) -> bool | None:
    """Whether ``x op limit`` holds; None when there is no figure."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return _OPS[op](x, limit)


def row(
    name: str,
    value: Number | None,
    unit: str,
    *,
    target: str | None = None,
    baseline: Number | None = None,
    ratio: Number | None = None,
    ok: bool | None = None,
    note: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """One row of the table.

    ``value`` is the figure in ``unit``; ``baseline`` the same quantity for the baseline of
    the same run (when there is one); ``ratio`` the figure checked against ``target``
    (``value / baseline`` unless said otherwise in ``note``); ``target`` says what passes,
    e.g. ``"<= 1.10"``; ``ok`` is True/False against the target, None for an informational
    figure.
    """
    out: dict[str, Any] = {
        "name": name,
        "value": value,
        "unit": unit,
        "target": target,
        "baseline": baseline,
        "ratio": ratio,
        "ok": ok,
    }
    if note:
        out["note"] = note
    out.update(extra)
    return out


def _fmt(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if math.isnan(x) or math.isinf(x):
            return str(x)
        ax = abs(x)
        if ax == 0:
            return "0"
        if ax >= 1000:
            return f"{x:,.0f}"
        if ax >= 100:
            return f"{x:.1f}"
        if ax >= 1:
            return f"{x:.2f}"
        if ax >= 0.01:
            return f"{x:.3f}"
        return f"{x:.2e}"
    return str(x)


def _ok_text(ok: Any) -> str:
    if ok is True:
        return "ok"
    if ok is False:
        return "MISS"
    return "-"


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """A plain-text table of rows (tolerates rows missing any of the keys)."""
    header = ("benchmark", "value", "unit", "baseline", "ratio", "target", "ok")
    body = [
        (
            str(r.get("name", "?")),
            _fmt(r.get("value")),
            str(r.get("unit", "") or ""),
            _fmt(r.get("baseline")),
            _fmt(r.get("ratio")),
            str(r.get("target") or ""),
            _ok_text(r.get("ok")),
        )
        for r in rows
    ]
    widths = [
        max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)
    ]
    right = {1, 3, 4}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)
        ).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out.extend(line(b) for b in body)
    notes = [(r.get("name", "?"), r["note"]) for r in rows if r.get("note")]
    if notes:
        out.append("")
        out.extend(f"  {name}: {note}" for name, note in notes)
    return "\n".join(out)


def format_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as a Markdown table (for benchmarks/README.md)."""
    out = [
        "| benchmark | value | unit | baseline | ratio | target | ok |",
        "|---|---:|---|---:|---:|---|---|",
    ]
    for r in rows:
        cells = (
            f"`{r.get('name', '?')}`",
            _fmt(r.get("value")),
            str(r.get("unit", "") or ""),
            _fmt(r.get("baseline")),
            _fmt(r.get("ratio")),
            str(r.get("target") or "").replace("<=", "≤").replace(">=", "≥"),
            _ok_text(r.get("ok")),
        )
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out)


def jsonable(x: Any) -> Any:
    """``x`` with NaN/inf turned into None, so the JSON file stays standard JSON."""
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    return x


def main(run: Callable[..., list[dict[str, Any]]], argv: Sequence[str] | None = None) -> int:
    """The command line of a single benchmark module: ``[--quick] [--json PATH]``."""
    parser = argparse.ArgumentParser(description=(run.__module__ or "benchmark"))
    parser.add_argument("--quick", action="store_true", help="a short run (fewer calls/rounds)")
    parser.add_argument("--json", metavar="PATH", help="also write the rows to PATH as JSON")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = run(quick=args.quick)
    elapsed = time.perf_counter() - start
    print(format_table(rows))
    print(f"\n({elapsed:.1f} s)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(jsonable(rows), f, indent=2)
    return 0 if all(r.get("ok") is not False for r in rows) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit("this module is a helper; run benchmarks/run_all.py or a bench_*.py")
