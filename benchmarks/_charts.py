"""The charts of a benchmark run: PNG files beside results.json (matplotlib, bench-only).

    python benchmarks/_charts.py [RESULTS_JSON] [OUT_DIR]

- ``stream_latency_cdf.png``: arrival -> result of the uniform 10-20 s stream at 27/min
  under 60/min, ours against fixed 1 s polling and the oracle;
- ``stream_requests.png``: requests in the trailing 60 s, over the run, against the
  budget (ours, the oracle, fixed 1 s polling);
- ``overhead.png``: time per status call of raw httpx, ours and openai-python, async and
  sync, wall and client CPU (bars: median of the rounds; whiskers: their min-max).
"""

from __future__ import annotations

import bisect
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
COLOURS = {"ours": "#1f77b4", "oracle": "#2ca02c", "fixed_1s": "#d62728", "openai": "#ff7f0e"}
LABELS = {
    "ours": "nanobanana",
    "oracle": "oracle (polls at the true end)",
    "fixed_1s": "fixed 1 s polling",
}


def _row(rows: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((r for r in rows if r.get("name") == name), None)


def stream_charts(rows: list[dict[str, Any]], out: Path, plt: Any) -> list[Path]:
    found = _row(rows, "polling.charts")
    if not found or not found.get("charts"):
        return []
    data = found["charts"]
    written = []

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for policy, latencies in data["latencies"].items():
        n = len(latencies)
        ax.step(latencies, [(i + 1) / n for i in range(n)], where="post",
                color=COLOURS[policy], label=LABELS[policy])  # fmt: skip
    ax.axhline(0.95, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("arrival → result (s of API time)")
    ax.set_ylabel("share of tasks")
    ax.set_title("Uniform 10–20 s images, 27/min under a strict 60/min window")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    path = out / "stream_latency_cdf.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)

    per = data["rate"][1]
    budget = data["rate"][0]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for policy, times in data["request_times"].items():
        times = sorted(times)
        if not times:
            continue
        grid = [t * 5.0 for t in range(int(times[-1] / 5.0) + 1)]
        counts = [bisect.bisect_right(times, t) - bisect.bisect_right(times, t - per) for t in grid]
        ax.plot(grid, counts, color=COLOURS[policy], label=LABELS[policy], lw=1.2)
    ax.axhline(budget, color="black", lw=1.0, ls="--", label=f"budget: {budget} per {per:g} s")
    ax.set_xlabel("time (s of API time)")
    ax.set_ylabel(f"requests in the last {per:g} s")
    ax.set_title("Requests against the budget (uniform stream)")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    path = out / "stream_requests.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
    return written


def overhead_chart(rows: list[dict[str, Any]], out: Path, plt: Any) -> list[Path]:
    groups = []
    for mode in ("async", "sync"):
        for what in ("wall", "cpu"):
            raw = _row(rows, f"overhead.{mode}.raw_httpx.{what}")
            if raw is None or raw.get("value") is None:
                continue
            bars = [("raw httpx", raw["value"], 1.0, 1.0, "grey")]
            for side, label in (("ours", "nanobanana"), ("openai", "openai-python")):
                r = _row(rows, f"overhead.{mode}.{side}.{what}")
                if r is not None and (r.get("spread") or r.get("ratios")):
                    # the error bar: the row's spread (quartiles) or its rounds' min-max
                    lo, hi = r.get("spread") or (min(r["ratios"]), max(r["ratios"]))
                    bars.append((label, raw["value"] * r["ratio"], lo / r["ratio"], hi / r["ratio"],
                                 COLOURS["ours" if side == "ours" else "openai"]))  # fmt: skip
            groups.append((f"{mode}, {'wall' if what == 'wall' else 'client CPU'}", bars))
    if not groups:
        return []
    fig, axes = plt.subplots(1, len(groups), figsize=(3.0 * len(groups), 3.8), sharey=False)
    if len(groups) == 1:
        axes = [axes]
    for ax, (title, bars) in zip(axes, groups, strict=True):
        names = [b[0] for b in bars]
        values = [b[1] for b in bars]
        err = [[v - v * b[2] for v, b in zip(values, bars, strict=True)],
               [v * b[3] - v for v, b in zip(values, bars, strict=True)]]  # fmt: skip
        ax.bar(range(len(bars)), values, color=[b[4] for b in bars], yerr=err, capsize=3)
        ax.set_xticks(range(len(bars)), names, rotation=20, ha="right", fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("µs per call")
        for i, v in enumerate(values):
            ax.annotate(f"{v / values[0]:.2f}×", (i, v), ha="center", va="bottom", fontsize=8,
                        xytext=(0, 2), textcoords="offset points")  # fmt: skip
    fig.suptitle("One status call over loopback (server in another process)", fontsize=10)
    fig.tight_layout()
    path = out / "overhead.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def draw(results: Path, out: Path | None = None) -> list[Path]:
    """Every chart the rows of ``results`` allow; [] without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    rows = json.loads(results.read_text(encoding="utf-8"))["rows"]
    out = out or results.parent
    return stream_charts(rows, out, plt) + overhead_chart(rows, out, plt)


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "results.json"
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    for p in draw(source, target):
        print(f"wrote {p}")
