"""Run every benchmark, print one table, write benchmarks/results.json.

    python benchmarks/run_all.py            # the full run (what `nox -s bench` does)
    python benchmarks/run_all.py --quick    # a short run: fewer calls and rounds
    python benchmarks/run_all.py --only decode import

Each benchmark module runs in its own fresh interpreter (``run_all.py --one NAME``), so
one benchmark's memory, threads or event loop cannot colour the next one's figures (the
scale benchmark's RSS growth especially), and a crash or a hang in one is reported as an
error row instead of ending the run. A module is included when its file exists; the
rate-limit, polling and redis benchmarks belong to the helpers of those features.

Exit status: 0 when every benchmark ran (missed targets are shown as MISS), 1 when one
crashed or timed out, or with ``--strict`` when a target was missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _p in (str(HERE), str(ROOT)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from _harness import format_markdown, format_table, jsonable, row  # noqa: E402

# The order of the table. (module, seconds allowed for a full run, for a quick run)
BENCHMARKS: list[tuple[str, float, float]] = [
    ("bench_overhead", 900, 480),
    ("bench_decode", 120, 60),
    ("bench_scale", 240, 120),
    ("bench_import", 180, 90),
    ("bench_ratelimit", 240, 120),
    ("bench_polling", 3000, 120),  # 14 sequences of 20 minutes a stream: ~17 min on 2 cores
    ("bench_redis", 180, 90),
]


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu_model": cpu,
        "logical_cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "executable": sys.executable,
    }
    try:
        import psutil

        info["physical_cores"] = psutil.cpu_count(logical=False)
        info["memory_gib"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    from importlib import metadata

    for dist in ("nanobanana", "httpx", "anyio", "attrs", "cattrs", "uvicorn"):
        try:
            info[f"{dist}_version"] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            info[f"{dist}_version"] = None
    return info


def available(only: list[str] | None = None) -> list[tuple[str, float, float]]:
    found = [b for b in BENCHMARKS if (HERE / f"{b[0]}.py").exists()]
    if only:
        wanted = {o if o.startswith("bench_") else f"bench_{o}" for o in only}
        found = [b for b in found if b[0] in wanted]
    return found


def run_one(name: str, quick: bool, out: str) -> int:
    """In a child interpreter: import one module, call ``run``, write its rows to ``out``."""
    module = importlib.import_module(name)
    rows = module.run(quick=quick)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(jsonable(list(rows)), f)
    return 0


def run_isolated(name: str, quick: bool, timeout: float) -> dict[str, Any]:
    """Run one module in a fresh interpreter; its rows, or an error row."""
    with tempfile.TemporaryDirectory(prefix="nb-bench-") as tmp:
        out = os.path.join(tmp, "rows.json")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--one", name, "--out", out]
        if quick:
            cmd.append("--quick")
        start = time.perf_counter()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(HERE), str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
        )
        try:
            proc = subprocess.run(
                cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            seconds = time.perf_counter() - start
            return {
                "seconds": seconds,
                "error": f"timed out after {timeout:.0f} s",
                "stderr": (exc.stderr or b"")[-2000:].decode(errors="replace")
                if isinstance(exc.stderr, bytes)
                else str(exc.stderr or "")[-2000:],
                "rows": [row(f"{name}: TIMEOUT", None, "", ok=False)],
            }
        seconds = time.perf_counter() - start
        if proc.returncode != 0 or not os.path.exists(out):
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or ["?"]
            return {
                "seconds": seconds,
                "error": f"exit {proc.returncode}: {tail[0][:300]}",
                "stderr": proc.stderr[-4000:],
                "rows": [row(f"{name}: ERROR", None, "", ok=False, note=tail[0][:300])],
            }
        with open(out, encoding="utf-8") as f:
            rows = json.load(f)
        return {"seconds": seconds, "error": None, "rows": rows}


def errors_in(results: dict[str, Any]) -> list[str]:
    return [name for name, r in results.items() if r["error"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every nanobanana benchmark.")
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--only", nargs="*", metavar="NAME", help="e.g. decode import")
    parser.add_argument(
        "--out", default=str(HERE / "results.json"), help="where to write the JSON results"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--markdown",
        metavar="RESULTS_JSON",
        help="print the rows of a results file as a Markdown table, and exit",
    )
    parser.add_argument("--one", metavar="MODULE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.markdown:
        with open(args.markdown, encoding="utf-8") as f:
            print(format_markdown([r for r in json.load(f)["rows"] if "charts" not in r]))
        return 0

    if args.one:
        return run_one(args.one, args.quick, args.out)

    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    info = machine_info()
    print(
        f"nanobanana {info.get('nanobanana_version')} benchmarks"
        f"{' (quick)' if args.quick else ''} on {info['cpu_model']},"
        f" {info['logical_cores']} cores, Python {info['python']}",
        flush=True,
    )
    results: dict[str, Any] = {}
    all_rows: list[dict[str, Any]] = []
    for name, full_timeout, quick_timeout in available(args.only):
        print(f"  {name} ...", end="", flush=True)
        res = run_isolated(name, args.quick, quick_timeout if args.quick else full_timeout)
        status = "error: " + res["error"] if res["error"] else "done"
        print(f" {status} ({res['seconds']:.1f} s)", flush=True)
        if res["error"] and res.get("stderr"):
            print("    " + "\n    ".join(res["stderr"].strip().splitlines()[-8:]), flush=True)
        for r in res["rows"]:
            r.setdefault("benchmark", name)
        results[name] = res
        all_rows.extend(res["rows"])
    total = time.perf_counter() - t0

    table_rows = [r for r in all_rows if "charts" not in r]  # chart data: not a figure
    print()
    print(format_table(table_rows))
    print(f"\n{len(results)} benchmarks in {total:.0f} s")

    report = {
        "started": started.isoformat(timespec="seconds"),
        "seconds": round(total, 1),
        "quick": args.quick,
        "machine": info,
        "rows": all_rows,
        "benchmarks": {
            name: {"seconds": round(r["seconds"], 1), "error": r["error"]}
            for name, r in results.items()
        },
    }
    text = json.dumps(jsonable(report), indent=2, ensure_ascii=False) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    if not args.quick and not args.only and not errors_in(results):
        # the full run's figures and charts, kept in git (benchmarks/README.md shows them)
        latest = HERE / "results-latest.json"
        latest.write_text(text, encoding="utf-8")
        print(f"wrote {latest}")
        from _charts import draw

        for chart in draw(latest, HERE):
            print(f"wrote {chart}")

    errors = errors_in(results)
    missed = [r["name"] for r in all_rows if r.get("ok") is False]
    if errors:
        print("errors: " + ", ".join(errors))
        return 1
    if missed:
        print("missed targets: " + ", ".join(missed))
        if args.strict:
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
