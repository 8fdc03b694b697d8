"""Per-call overhead: the same status call through the SDK, raw httpx and openai-python.

The server is the simulator (``nanobanana.testing.FakeNanoBanana``, rate limit off) served
over HTTP on a loopback socket (``fake.serve()``) in a *separate process*: the client side
is what is measured, so the server must not share the client's GIL or CPU. One image task
is created and completed first; every measured call then asks for its status (a complete
answer with a URL, a progress and a completion time).

Three ways to make that call, one at a time (no concurrency), ``N`` calls per sample:

- **raw** (the floor): ``httpx.AsyncClient.send(httpx.Request("GET", url, params=...,
  headers=...))`` then ``json.loads(response.content)["data"]``: the least httpx work for
  that request (``send`` skips the merging of client defaults that ``client.get`` does);
- **ours**: ``await nb.AsyncClient(rate_limit=None).images.status(task_id)`` -> ImageStatus
  (the envelope checks, the typed decode, retries armed, the response size cap);
- **openai**: openai-python's generic request path on the same endpoint,
  ``await openai.AsyncOpenAI(base_url=..., api_key=...).get("images/status",
  cast_to=<pydantic model of the envelope, on openai.BaseModel>, options={"params": ...})``: the peer.

and the same three with the sync clients (``httpx.Client``, ``nb.Client``,
``openai.OpenAI``). Each sample measures both the **wall time** per call
(``perf_counter``) and the **CPU time** per call of this client process
(``process_time``): the server burns its CPU in its own process, so the client's CPU time
is what the client costs, and it does not swing with the machine's load the way wall
time does. The sides alternate over ``ROUNDS`` rounds, the order rotating every round
(raw ours openai, ours openai raw, ...); a round's samples are adjacent in time, so each
figure is the **median of the per-round ratios** (side ÷ raw of the same round) and the
spread is their min-max over the rounds:

    ratio = ours per call / raw per call        target <= 1.05 (wall and CPU)

openai-python is a bench-only dependency (``nox -s bench`` installs it); without it the
peer rows are left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from _harness import alternate, alternate_async, main, meets, paired, row

import nanobanana as nb

TARGET = 1.05
HERE = Path(__file__).resolve().parent
N = 1_000
ROUNDS = 9

Sample = tuple[float, float]
"""(wall seconds per call, client CPU seconds per call)."""


# -- the server, in its own process ---------------------------------------------------------


def serve_forever() -> None:
    """The child process: serve the simulator, print its address, stop when stdin closes."""
    from nanobanana.testing import FakeNanoBanana

    fake = FakeNanoBanana(rate_limit=None, time_scale=1000.0, seed=7)
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


# -- the peer: openai-python's generic path ---------------------------------------------------


def _openai_models() -> Any:
    """The pydantic models of the envelope (None when openai-python is not installed)."""
    try:
        import openai
    except ImportError:
        return None

    # openai-python requires its own pydantic base for cast_to (it builds the model
    # leniently, as it does for every response of its own API).
    class Status(openai.BaseModel):
        task_id: str
        status: str
        progress: int | None = None
        image_url: str | None = None
        image_urls: list[str] | None = None
        completed_at: datetime | None = None
        error: str | None = None

    class Envelope(openai.BaseModel):
        success: bool
        data: Status

    return Envelope


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


def _sampler(fn: Callable[[], object], n: int) -> Callable[[], Sample]:
    def sample() -> Sample:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            fn()
        return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n

    return sample


def _sampler_async(fn: Callable[[], Awaitable[object]], n: int) -> Callable[[], Awaitable[Sample]]:
    async def sample() -> Sample:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            await fn()
        return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n

    return sample


def measure_sync(
    base_url: str, api_key: str, task_id: str, n: int, rounds: int
) -> dict[str, list[Sample]]:
    params = {"task_id": task_id}
    url, headers = f"{base_url}/images/status", _raw_headers(api_key)
    envelope = _openai_models()
    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(httpx.Client())
        ours = stack.enter_context(nb.Client(api_key=api_key, base_url=base_url, rate_limit=None))

        def raw_call() -> Any:
            response = raw.send(httpx.Request("GET", url, params=params, headers=headers))
            return json.loads(response.content)["data"]

        def ours_call() -> Any:
            return ours.images.status(task_id)

        calls: dict[str, Callable[[], Any]] = {"raw": raw_call, "ours": ours_call}
        if envelope is not None:
            import openai

            peer = stack.enter_context(openai.OpenAI(api_key=api_key, base_url=base_url))
            options: Any = {"params": params}

            def openai_call() -> Any:
                return peer.get("images/status", cast_to=envelope, options=options).data

            calls["openai"] = openai_call
        assert {getattr(c(), "task_id", None) or c()["task_id"] for c in calls.values()} == {
            task_id
        }
        return alternate({k: _sampler(c, n) for k, c in calls.items()}, rounds=rounds)


async def _measure_async(
    base_url: str, api_key: str, task_id: str, n: int, rounds: int
) -> dict[str, list[Sample]]:
    params = {"task_id": task_id}
    url, headers = f"{base_url}/images/status", _raw_headers(api_key)
    envelope = _openai_models()
    async with contextlib.AsyncExitStack() as stack:
        raw = await stack.enter_async_context(httpx.AsyncClient())
        ours = await stack.enter_async_context(
            nb.AsyncClient(api_key=api_key, base_url=base_url, rate_limit=None)
        )

        async def raw_call() -> Any:
            response = await raw.send(httpx.Request("GET", url, params=params, headers=headers))
            return json.loads(response.content)["data"]

        async def ours_call() -> Any:
            return await ours.images.status(task_id)

        calls: dict[str, Callable[[], Awaitable[Any]]] = {"raw": raw_call, "ours": ours_call}
        if envelope is not None:
            import openai

            peer = await stack.enter_async_context(
                openai.AsyncOpenAI(api_key=api_key, base_url=base_url)
            )
            options: Any = {"params": params}

            async def openai_call() -> Any:
                return (await peer.get("images/status", cast_to=envelope, options=options)).data

            calls["openai"] = openai_call
        for call in calls.values():
            got = await call()
            assert (got["task_id"] if isinstance(got, dict) else got.task_id) == task_id
        return await alternate_async(
            {k: _sampler_async(c, n) for k, c in calls.items()}, rounds=rounds
        )


def measure_async(
    base_url: str, api_key: str, task_id: str, n: int, rounds: int
) -> dict[str, list[Sample]]:
    return asyncio.run(_measure_async(base_url, api_key, task_id, n, rounds))


def _rows(
    flavour: str, samples: dict[str, list[Sample]], n: int, rounds: int
) -> list[dict[str, Any]]:
    raw_wall = [w for w, _ in samples["raw"]]
    raw_cpu = [c for _, c in samples["raw"]]
    out = [
        row(
            f"overhead.{flavour}.raw_httpx.wall",
            statistics.median(raw_wall) * 1e6,
            "µs/call",
            note=f"{n:,} sequential calls per sample, {rounds} rounds; min-max "
            f"{min(raw_wall) * 1e6:.0f}-{max(raw_wall) * 1e6:.0f} µs",
        ),
        row(
            f"overhead.{flavour}.raw_httpx.cpu",
            statistics.median(raw_cpu) * 1e6,
            "µs/call",
            note=f"client process CPU; min-max {min(raw_cpu) * 1e6:.0f}-{max(raw_cpu) * 1e6:.0f} µs",
        ),
    ]
    for side in ("ours", "openai"):
        if side not in samples:
            continue
        for i, what in ((0, "wall"), (1, "cpu")):
            values = [s[i] for s in samples[side]]
            base = raw_wall if i == 0 else raw_cpu
            ratios = paired(values, base)
            is_ours = side == "ours"
            out.append(
                row(
                    f"overhead.{flavour}.{side}.{what}",
                    statistics.median(values) * 1e6,
                    "µs/call",
                    baseline=statistics.median(base) * 1e6,
                    ratio=ratios.median,
                    target=f"<= {TARGET:.2f}" if is_ours else None,
                    ok=meets(ratios.median, "<=", TARGET) if is_ours else None,
                    note=f"median of per-round ratios {ratios.median:.3f}, "
                    f"spread {ratios.low:.3f}-{ratios.high:.3f}",
                    ratios=list(ratios.ratios),
                )
            )
    return out


def run(
    quick: bool = False, n: int | None = None, rounds: int | None = None
) -> list[dict[str, Any]]:
    n = n or (300 if quick else N)
    rounds = rounds or (3 if quick else ROUNDS)
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
