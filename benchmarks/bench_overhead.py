"""Per-call overhead: the same status call through the SDK and through raw httpx.

The server is the simulator (``nanobanana.testing.FakeNanoBanana``) served over HTTP on a
loopback socket (``fake.serve()``), with its rate limit off, in a *separate process*: the
client side is what is measured, so the server must not share the client's GIL or CPU
(this machine has 2 cores: one for the server, one for the client). One image task is
created and completed first; every measured call then asks for its status (a complete
answer with a URL and a completion time).

Four ways to make that call, one at a time (no concurrency), ``N`` calls per sample:

- async floor (A): ``httpx.AsyncClient.send(httpx.Request("GET", url, params=...,
  headers=...))`` then ``json.loads(response.content)["data"]``: the least httpx work for
  that request (``send`` skips the merging of client defaults that ``client.get`` does);
- async SDK (B): ``await nb.AsyncClient(rate_limit=None).images.status(task_id)`` -> ImageStatus;
- sync floor (A): the same with ``httpx.Client``;
- sync SDK (B): ``nb.Client(rate_limit=None).images.status(task_id)``.

Both sides use the same connection settings (a default httpx pool, keep-alive, the same
headers). A and B alternate over several rounds; each figure is the median of its rounds:

    ratio = SDK seconds per call / raw seconds per call        target <= 1.10

i.e. the SDK may spend at most 10% more time per call than raw httpx + json.loads
(equivalently: SDK calls/s >= raw calls/s / 1.10).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from _harness import ab, ab_async, main, meets, row, time_per_call, time_per_call_async

import nanobanana as nb

TARGET = 1.10
HERE = Path(__file__).resolve().parent


# -- the server, in its own process ---------------------------------------------------------


def _fake(**kw: Any) -> Any:
    from nanobanana.testing import FakeNanoBanana

    try:
        return FakeNanoBanana(rate_limit=None, **kw)
    except (TypeError, ValueError):  # a limit that cannot be switched off: make it huge
        return FakeNanoBanana(rate_limit=(10**9, 60.0), **kw)


def serve_forever() -> None:
    """The child process: serve the simulator, print its address, stop when stdin closes."""
    fake = _fake(time_scale=1000.0, seed=7)
    with fake.serve() as base_url:
        print(json.dumps({"base_url": str(base_url), "api_key": fake.api_key}), flush=True)
        sys.stdin.read()  # the parent closes our stdin to stop us


@contextlib.contextmanager
def served() -> Iterator[tuple[str, str]]:
    """Start the server process; yield (base_url, api_key); stop it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), *filter(None, [env.get("PYTHONPATH")])])
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the simulator server did not start (exit {proc.wait()})")
        info = json.loads(line)
        yield info["base_url"], info["api_key"]
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the measurements ---------------------------------------------------------------------


def _completed_task(base_url: str, api_key: str) -> str:
    with nb.Client(api_key=api_key, base_url=base_url, rate_limit=None) as client:
        task = client.images.generate("A sunset over mountains")
        deadline = time.monotonic() + 30
        while True:
            status = client.images.status(task.task_id)
            if status.done or time.monotonic() > deadline:
                return task.task_id
            time.sleep(0.01)


def _raw_headers(api_key: str) -> dict[str, str]:
    # what the SDK sends, so both sides carry the same bytes
    return {
        "Authorization": f"Bearer {api_key}",
        "User-Agent": f"nanobanana-python/{nb.__version__}",
        "Accept": "application/json",
    }


def measure_sync(base_url: str, api_key: str, task_id: str, n: int, rounds: int) -> Any:
    params = {"task_id": task_id}
    url, headers = f"{base_url}/images/status", _raw_headers(api_key)
    with (
        httpx.Client() as raw,
        nb.Client(api_key=api_key, base_url=base_url, rate_limit=None) as sdk,
    ):

        def raw_call() -> Any:
            response = raw.send(httpx.Request("GET", url, params=params, headers=headers))
            return json.loads(response.content)["data"]

        def sdk_call() -> Any:
            return sdk.images.status(task_id)

        assert raw_call()["task_id"] == sdk_call().task_id == task_id
        return ab(time_per_call(raw_call, n), time_per_call(sdk_call, n), rounds=rounds)


async def _measure_async(base_url: str, api_key: str, task_id: str, n: int, rounds: int) -> Any:
    params = {"task_id": task_id}
    url, headers = f"{base_url}/images/status", _raw_headers(api_key)
    async with (
        httpx.AsyncClient() as raw,
        nb.AsyncClient(api_key=api_key, base_url=base_url, rate_limit=None) as sdk,
    ):

        async def raw_call() -> Any:
            response = await raw.send(httpx.Request("GET", url, params=params, headers=headers))
            return json.loads(response.content)["data"]

        async def sdk_call() -> Any:
            return await sdk.images.status(task_id)

        assert (await raw_call())["task_id"] == (await sdk_call()).task_id == task_id
        return await ab_async(
            time_per_call_async(raw_call, n), time_per_call_async(sdk_call, n), rounds=rounds
        )


def measure_async(base_url: str, api_key: str, task_id: str, n: int, rounds: int) -> Any:
    return asyncio.run(_measure_async(base_url, api_key, task_id, n, rounds))


def _rows(flavour: str, res: Any, n: int, rounds: int) -> list[dict[str, Any]]:
    return [
        row(
            f"overhead.{flavour}.raw_httpx",
            1.0 / res.a_median,
            "calls/s",
            note=f"{n:,} sequential calls per sample, median of {rounds} samples"
            if flavour == "async"
            else "",
        ),
        row(
            f"overhead.{flavour}.sdk",
            1.0 / res.b_median,
            "calls/s",
            baseline=1.0 / res.a_median,
            ratio=res.ratio,
            target=f"<= {TARGET:.2f}",
            ok=meets(res.ratio, "<=", TARGET),
            note=(
                "ratio = SDK seconds per call ÷ raw seconds per call; "
                f"SDK {res.b_median * 1e6:.0f} µs vs raw {res.a_median * 1e6:.0f} µs per call; "
                f"per-round ratios {min(res.paired_ratios):.2f}-{max(res.paired_ratios):.2f}"
            ),
        ),
    ]


def run(quick: bool = False) -> list[dict[str, Any]]:
    n = 2_000
    rounds = 3 if quick else 7
    with served() as (base_url, api_key):
        task_id = _completed_task(base_url, api_key)
        res_async = measure_async(base_url, api_key, task_id, n, rounds)
        res_sync = measure_sync(base_url, api_key, task_id, n, rounds)
    return _rows("async", res_async, n, rounds) + _rows("sync", res_sync, n, rounds)


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve_forever()
    else:
        raise SystemExit(main(run))
