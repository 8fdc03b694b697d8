"""One budget across processes: 4 processes × 2 clients each, one key, through Redis.

The simulator (``FakeNanoBanana(rate_limit=(60, W)).serve()``) runs in this process on a
loopback port and enforces a strict sliding window: at most 60 requests in any ``W``
seconds, counted by arrival, answering 429 beyond that. ``redis-server`` is started on a
free loopback port in a temp dir. Four worker processes each make one
``RedisRateLimiter(redis_url, requests=60, per=W)`` and two ``AsyncClient``s of the same
key over real HTTP (``max_retries=0``, so a 429 would surface rather than be retried away),
and run 8 callers per client, each calling ``account.credits()`` in a closed loop until
the deadline. All four start together on a signal.

Time scaling: the window itself is scaled (``W`` = 3 s real, 2 s with ``--quick``) with
``time_scale=1``, so the simulator's clock, Redis's clock and the limiter's window agree.

Figures (from the simulator's own request log):

- ``redis.429s``: responses with status 429. Target ``== 0``.
- ``redis.throughput``: achieved ÷ permitted throughput, steady state. With arrivals
  ``t[0] <= t[1] <= ...`` of the admitted requests and ``k`` whole budgets
  (``k * 60 < count``), achieved = ``k * 60 / (t[k*60] - t[0])`` and permitted = ``60 / W``;
  a strict window makes ``t[k*60] - t[0] >= k * W``, so the ratio is at most 1.
  Target ``>= 0.90``.
- ``redis.max_in_window``: the most arrivals in any ``W`` span (must be ``<= 60``).
- ``redis.process_share``: the smallest process's share ÷ an even share (informational:
  fairness across processes is not promised).

    python benchmarks/bench_redis.py [--quick] [--json PATH]
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _harness import main, meets, row

ROOT = Path(__file__).resolve().parent.parent
N = 60
PROCESSES = 4
CLIENTS_PER_PROCESS = 2
CALLERS_PER_CLIENT = 8
THROUGHPUT_TARGET = 0.90


# -- redis-server on a free loopback port ---------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis_server(binary: str) -> Iterator[str]:
    """A throwaway ``redis-server`` (no persistence); yields its URL."""
    with tempfile.TemporaryDirectory(prefix="nanobanana-bench-redis-") as directory:
        for _ in range(5):
            port = _free_port()
            proc = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory,
                 "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            deadline = time.monotonic() + 5
            while proc.poll() is None and not _ping(port) and time.monotonic() < deadline:
                time.sleep(0.01)
            if proc.poll() is None and _ping(port):
                break
            proc.kill()
            proc.wait()
        else:
            raise RuntimeError("redis-server did not start")
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


# -- one worker process ----------------------------------------------------------------------


def worker(redis_url: str, base_url: str, api_key: str, per: float, duration: float) -> None:
    """Two AsyncClients sharing one RedisRateLimiter; prints a JSON summary at the end."""
    import anyio

    import nanobanana as nb
    from nanobanana.limiters import RedisRateLimiter

    limiter = RedisRateLimiter(redis_url, requests=N, per=per)
    counts = {"ok": 0, "429": 0, "other": 0}

    async def run() -> None:
        clients = [
            nb.AsyncClient(api_key=api_key, base_url=base_url, rate_limit=limiter, max_retries=0)
            for _ in range(CLIENTS_PER_PROCESS)
        ]
        print("ready", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)
        deadline = time.monotonic() + duration

        async def caller(client: nb.AsyncClient) -> None:
            while time.monotonic() < deadline:
                try:
                    await client.account.credits()
                    counts["ok"] += 1
                except nb.RateLimitError:
                    counts["429"] += 1
                except nb.NanoBananaError:
                    counts["other"] += 1

        try:
            async with anyio.create_task_group() as tg:
                for client in clients:
                    for _ in range(CALLERS_PER_CLIENT):
                        tg.start_soon(caller, client)
        finally:
            for client in clients:
                await client.aclose()

    anyio.run(run)
    limiter.close()
    print(json.dumps(counts), flush=True)


# -- the run ---------------------------------------------------------------------------------


def max_in_window(times: list[float], per: float) -> int:
    ts = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(ts):
        while ts[j] <= t - per:
            j += 1
        best = max(best, i - j + 1)
    return best


def measure(per: float, windows: float) -> dict[str, Any]:
    from nanobanana.testing import FakeNanoBanana

    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server")
    fake = FakeNanoBanana(rate_limit=(N, per), time_scale=1.0, credits=10**9)
    duration = windows * per
    env = dict(os.environ)
    env.pop("NANOBANANA_LOG", None)
    with redis_server(binary) as redis_url, fake.serve() as base_url:
        args = [redis_url, base_url, fake.api_key, str(per), str(duration)]
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--worker", *args],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(PROCESSES)
        ]
        try:
            for p in procs:
                assert p.stdout is not None
                line = p.stdout.readline().strip()
                if line != "ready":
                    raise RuntimeError(f"a worker did not start: {line!r}")
            for p in procs:
                assert p.stdin is not None
                p.stdin.write("go\n")
                p.stdin.flush()
            outs = [p.communicate(timeout=duration + 60)[0] for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        if any(p.returncode != 0 for p in procs):
            raise RuntimeError("a worker failed")
        summaries = [json.loads(out.strip().splitlines()[-1]) for out in outs]
        records = [r for r in fake.api_requests if r.route is not None]
    admitted = sorted(r.time for r in records if r.status == 200)
    k = (len(admitted) - 1) // N
    span = admitted[k * N] - admitted[0] if k > 0 else float("nan")
    achieved = k * N / span if k > 0 else float("nan")
    shares = [s["ok"] for s in summaries]
    return {
        "429s": sum(1 for r in records if r.status == 429),
        "429s_seen_by_workers": sum(s["429"] for s in summaries),
        "other_errors": sum(s["other"] for s in summaries),
        "requests": len(records),
        "achieved": achieved,
        "permitted": N / per,
        "budgets": k,
        "max_in_window": max_in_window(admitted, per),
        "min_share": min(shares) / (sum(shares) / len(shares)) if sum(shares) else 0.0,
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    per, windows = (2.0, 3.5) if quick else (3.0, 5.5)
    try:
        m = measure(per, windows)
    except FileNotFoundError:
        return [
            row(
                "redis.throughput",
                None,
                "ratio",
                target=f">= {THROUGHPUT_TARGET}",
                note="redis-server is not installed (apt-get install redis-server): not run",
            )
        ]
    ratio = m["achieved"] / m["permitted"]
    setup = (
        f"{PROCESSES} processes × {CLIENTS_PER_PROCESS} AsyncClients × {CALLERS_PER_CLIENT} "
        f"callers, one key, RedisRateLimiter({N}, per={per:g}) vs a strict {N}/{per:g}s "
        f"simulator over HTTP, {windows:g} windows"
    )
    return [
        row(
            "redis.429s",
            m["429s"],
            "responses",
            target="== 0",
            ok=m["429s"] == 0 and m["429s_seen_by_workers"] == 0,
            note=f"{setup}; {m['requests']} requests, {m['other_errors']} other errors",
        ),
        row(
            "redis.throughput",
            m["achieved"],
            "req/s",
            baseline=m["permitted"],
            ratio=ratio,
            target=f">= {THROUGHPUT_TARGET}",
            ok=meets(ratio, ">=", THROUGHPUT_TARGET),
            note=(
                f"steady state over {m['budgets']} budgets of {N}: achieved ÷ permitted "
                f"({N}/{per:g}s)"
            ),
        ),
        row(
            "redis.max_in_window",
            m["max_in_window"],
            "requests",
            target=f"<= {N}",
            ok=m["max_in_window"] <= N,
            note=f"most admitted arrivals in any {per:g} s span",
        ),
        row(
            "redis.process_share",
            m["min_share"],
            "ratio",
            note="smallest process's requests ÷ an even share (informational)",
        ),
    ]


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _, _, url, base, key, per_s, duration_s = sys.argv
        worker(url, base, key, float(per_s), float(duration_s))
        raise SystemExit(0)
    raise SystemExit(main(run))
