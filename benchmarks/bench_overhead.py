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
``openai.OpenAI``). Three measures, each a ratio to raw:

**Wall and client CPU** (the headline rows). ``CALLS`` calls a side, the sides
*interleaved call by call* in rotating order (raw ours openai, ours openai raw, ...), each
call timed on its own: its wall time (``perf_counter``) and the CPU time of this client
process (``process_time``; the server burns its CPU in its own process). Interleaving by
call puts a side's calls within milliseconds of the others', so a neighbour's load, the
CPU's clock and the host's steal fall on every side alike; samples of 1,000 calls per
side, taken one side after the other, were seconds apart and swung more than the
overhead measured (per-round ratios 0.84-1.25 on a busy 2-core VM). The calls are cut
into blocks of ``BLOCK`` calls a side; the figure is the **median of the block ratios**
(side's time ÷ raw's, same block) and its spread their quartiles. Each timed call ends
with a young-generation collection (``gc.collect(0)``, the automatic collector off): the
garbage a call leaves, reference cycles included, is freed in that call's time. Left to
itself, the collector runs in whichever call passes its threshold and frees every side's
garbage there, charging one side's cycles to another. The wall rows include the server's answer
time and still move with the machine's load; the CPU rows are the steadier.

**Instructions** (load-independent). The client runs under valgrind's callgrind (the
server, as above, in its own process, natively): instructions executed in user space by
the client process, whatever else the machine does. It runs with
``--dump-before=getppid`` and the client calls ``os.getppid()`` (nothing else in it does)
at each boundary: callgrind then writes the count since the previous boundary to a file
of its own and starts again from zero, so start-up, imports, the clients' construction
and the warm-up fall in segments that are thrown away, and one segment is exactly
``CG_CALLS`` calls of one side (plus one ``os.getppid()``, a few hundred instructions).
Each side gets ``CG_ROUNDS`` segments (order rotating, a ``gc.collect()`` before each,
not counted), async then sync in the same process, ``PYTHONHASHSEED=0``; the figure is
the median of the per-round ratios. Segments of the same side agree to within a
percent or two (the event loop may turn once more or less while waiting for the
server). Without valgrind these rows are skipped with a note; ``perf stat -e
instructions`` would be cheaper but is often not available in a VM.

    ratio = ours per call / raw per call        target <= 1.05 (wall, CPU, instructions)

openai-python is a bench-only dependency (``nox -s bench`` installs it); without it the
peer rows are left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from _harness import main, meets, paired, row

import nanobanana as nb

TARGET = 1.05
HERE = Path(__file__).resolve().parent
CALLS = 2_000
"""Calls a side for the wall and CPU rows, interleaved call by call."""
BLOCK = 20
"""Calls a side per block ratio."""
WARMUP = 50
CG_CALLS = 40
CG_ROUNDS = 3
"""Calls a segment, and rounds, of the client under callgrind (about 50x slower)."""
CG_WARMUP = 5
CG_TIMEOUT = 900

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


Calls = dict[str, Callable[[], Any]]
AsyncCalls = dict[str, Callable[[], Awaitable[Any]]]


def _sync_calls(stack: contextlib.ExitStack, base_url: str, api_key: str, task_id: str) -> Calls:
    """The sides' sync calls, their clients entered on ``stack``; each checked once."""
    params = {"task_id": task_id}
    url, headers = f"{base_url}/images/status", _raw_headers(api_key)
    envelope = _openai_models()
    raw = stack.enter_context(httpx.Client())
    ours = stack.enter_context(nb.Client(api_key=api_key, base_url=base_url, rate_limit=None))

    def raw_call() -> Any:
        response = raw.send(httpx.Request("GET", url, params=params, headers=headers))
        return json.loads(response.content)["data"]

    def ours_call() -> Any:
        return ours.images.status(task_id)

    calls: Calls = {"raw": raw_call, "ours": ours_call}
    if envelope is not None:
        import openai

        peer = stack.enter_context(openai.OpenAI(api_key=api_key, base_url=base_url))
        options: Any = {"params": params}

        def openai_call() -> Any:
            return peer.get("images/status", cast_to=envelope, options=options).data

        calls["openai"] = openai_call
    for call in calls.values():
        got = call()
        assert (got["task_id"] if isinstance(got, dict) else got.task_id) == task_id
    return calls


async def _async_calls(
    stack: contextlib.AsyncExitStack, base_url: str, api_key: str, task_id: str
) -> AsyncCalls:
    """The sides' async calls, their clients entered on ``stack``; each checked once."""
    params = {"task_id": task_id}
    url, headers = f"{base_url}/images/status", _raw_headers(api_key)
    envelope = _openai_models()
    raw = await stack.enter_async_context(httpx.AsyncClient())
    ours = await stack.enter_async_context(
        nb.AsyncClient(api_key=api_key, base_url=base_url, rate_limit=None)
    )

    async def raw_call() -> Any:
        response = await raw.send(httpx.Request("GET", url, params=params, headers=headers))
        return json.loads(response.content)["data"]

    async def ours_call() -> Any:
        return await ours.images.status(task_id)

    calls: AsyncCalls = {"raw": raw_call, "ours": ours_call}
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
    return calls


def _order(names: list[str], n: int) -> Iterator[str]:
    """Call by call, the sides rotating (A B C, B C A, C A B, ...)."""
    k = len(names)
    for i in range(n):
        for j in range(k):
            yield names[(i + j) % k]


@contextlib.contextmanager
def _collected_per_call() -> Iterator[Callable[[int], int]]:
    """The collector off, and ``gc.collect`` to run after each timed call, in its time.

    What a call costs includes freeing its garbage, and an answer caught in a reference
    cycle (httpx's response and its stream) is freed only by the collector. Left to run
    on its own, a collection comes when allocations pass a threshold, in whichever side's
    call that happens, and frees every side's garbage there: one side's cycles are paid in
    the other's time. A young-generation collection after every call frees exactly what
    that call left (and costs well under a microsecond when there is nothing to free)."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield gc.collect
    finally:
        if enabled:
            gc.enable()


def interleave(calls: Calls, n: int) -> dict[str, list[Sample]]:
    """``n`` calls a side, one at a time, the sides interleaved call by call; each call's
    (wall, CPU) seconds. ``WARMUP`` untimed calls a side first."""
    names = list(calls)
    for name in _order(names, WARMUP):
        calls[name]()
    out: dict[str, list[Sample]] = {name: [] for name in names}
    wall, cpu = time.perf_counter, time.process_time
    with _collected_per_call() as collect:
        for name in _order(names, n):
            call = calls[name]
            w0, c0 = wall(), cpu()
            call()
            collect(0)
            c1, w1 = cpu(), wall()
            out[name].append((w1 - w0, c1 - c0))
    return out


async def interleave_async(calls: AsyncCalls, n: int) -> dict[str, list[Sample]]:
    """:func:`interleave` for coroutine functions, in the caller's event loop."""
    names = list(calls)
    for name in _order(names, WARMUP):
        await calls[name]()
    out: dict[str, list[Sample]] = {name: [] for name in names}
    wall, cpu = time.perf_counter, time.process_time
    with _collected_per_call() as collect:
        for name in _order(names, n):
            call = calls[name]
            w0, c0 = wall(), cpu()
            await call()
            collect(0)
            c1, w1 = cpu(), wall()
            out[name].append((w1 - w0, c1 - c0))
    return out


def measure_sync(base_url: str, api_key: str, task_id: str, n: int) -> dict[str, list[Sample]]:
    with contextlib.ExitStack() as stack:
        return interleave(_sync_calls(stack, base_url, api_key, task_id), n)


async def _measure_async(
    base_url: str, api_key: str, task_id: str, n: int
) -> dict[str, list[Sample]]:
    async with contextlib.AsyncExitStack() as stack:
        return await interleave_async(await _async_calls(stack, base_url, api_key, task_id), n)


def measure_async(base_url: str, api_key: str, task_id: str, n: int) -> dict[str, list[Sample]]:
    return asyncio.run(_measure_async(base_url, api_key, task_id, n))


# -- instructions: the client under callgrind -------------------------------------------------


def _mark() -> None:
    """A segment boundary: callgrind runs with ``--dump-before=getppid``, so this call
    writes the instructions counted since the previous boundary to a file of its own
    and zeroes the counters (nothing else in the client calls getppid)."""
    os.getppid()


def callgrind_client(spec: dict[str, Any]) -> None:
    """The client process under callgrind: warm up, then ``rounds`` rounds of ``n`` calls
    a side (order rotating), a boundary after each; prints the segments' labels."""
    base_url, api_key, task_id = spec["base_url"], spec["api_key"], spec["task_id"]
    n, rounds = spec["n"], spec["rounds"]
    labels: list[str] = []

    def segments(flavour: str, names: list[str]) -> Iterator[str]:
        for name in _rotation(names, rounds):
            # Not counted: what came before (imports, clients, warm-up, the previous
            # segment's garbage), so every segment starts from an empty young generation.
            gc.collect()
            _mark()
            labels.append("-")
            yield name
            _mark()
            labels.append(f"{flavour}/{name}")

    async def run_async() -> None:
        async with contextlib.AsyncExitStack() as stack:
            calls = await _async_calls(stack, base_url, api_key, task_id)
            for name in _order(list(calls), CG_WARMUP):
                await calls[name]()
            for name in segments("async", list(calls)):
                for _ in range(n):
                    await calls[name]()

    asyncio.run(run_async())
    with contextlib.ExitStack() as stack:
        calls = _sync_calls(stack, base_url, api_key, task_id)
        for name in _order(list(calls), CG_WARMUP):
            calls[name]()
        for name in segments("sync", list(calls)):
            for _ in range(n):
                calls[name]()
    print(json.dumps(labels), flush=True)


def _rotation(names: list[str], rounds: int) -> Iterator[str]:
    k = len(names)
    for i in range(rounds):
        yield from (names[(i + j) % k] for j in range(k))


def measure_instructions(
    base_url: str, api_key: str, task_id: str, n: int, rounds: int
) -> dict[str, dict[str, list[float]]] | str:
    """Instructions per call of each side's segments, by flavour and side; or why not."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return "valgrind is not installed"
    spec = {"base_url": base_url, "api_key": api_key, "task_id": task_id, "n": n, "rounds": rounds}
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONHASHSEED"] = "0"  # the same dict and set layouts every run
    with tempfile.TemporaryDirectory() as tmp:
        out_file = Path(tmp) / "cg.out"
        try:
            proc = subprocess.run(
                [
                    valgrind,
                    "--tool=callgrind",
                    "--dump-before=getppid",
                    f"--callgrind-out-file={out_file}",
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--callgrind-client",
                    json.dumps(spec),
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=CG_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return f"the client under callgrind took over {CG_TIMEOUT} s"
        if proc.returncode != 0 or not proc.stdout.strip():
            return f"the client under callgrind failed: {proc.stderr.strip()[-300:]}"
        labels: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
        totals = dict(_callgrind_part(f) for f in Path(tmp).glob("cg.out.*"))
    if sorted(totals) != list(range(1, len(labels) + 1)):
        return f"callgrind wrote parts {sorted(totals)} for {len(labels)} boundaries"
    out: dict[str, dict[str, list[float]]] = {}
    for part, label in enumerate(labels, start=1):
        if label != "-":
            flavour, side = label.split("/")
            out.setdefault(flavour, {}).setdefault(side, []).append(totals[part] / n)
    return out


def _callgrind_part(path: Path) -> tuple[int, int]:
    """(part number, instructions) of one callgrind dump."""
    part = total = None
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("part:"):
                part = int(line.split(":", 1)[1])
            elif line.startswith("totals:"):
                total = int(line.split(":", 1)[1].split()[0])
    if part is None or total is None:
        raise ValueError(f"not a callgrind dump: {path}")
    return part, total


# -- the rows -------------------------------------------------------------------------------


def _blocks(side: list[float], base: list[float], block: int) -> list[float]:
    """side ÷ base over consecutive blocks of ``block`` calls (interleaved, so each block
    of one side ran in the same stretch of time as the other's)."""
    return [
        sum(side[i : i + block]) / sum(base[i : i + block])
        for i in range(0, len(base) - block + 1, block)
    ]


def _rows(flavour: str, samples: dict[str, list[Sample]], n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    raw = {what: [s[i] for s in samples["raw"]] for i, what in enumerate(("wall", "cpu"))}
    for what in ("wall", "cpu"):
        values = raw[what]
        q1, _, q3 = statistics.quantiles(values, n=4)
        out.append(
            row(
                f"overhead.{flavour}.raw_httpx.{what}",
                statistics.fmean(values) * 1e6,
                "µs/call",
                note=f"mean of {n:,} calls interleaved call by call with the other sides "
                f"({'wall' if what == 'wall' else 'client process CPU'}); "
                f"per-call quartiles {q1 * 1e6:.0f}-{q3 * 1e6:.0f} µs",
            )
        )
    for side in ("ours", "openai"):
        if side not in samples:
            continue
        for i, what in enumerate(("wall", "cpu")):
            values = [s[i] for s in samples[side]]
            blocks = _blocks(values, raw[what], BLOCK)
            median = statistics.median(blocks)
            q1, _, q3 = statistics.quantiles(blocks, n=4)
            is_ours = side == "ours"
            out.append(
                row(
                    f"overhead.{flavour}.{side}.{what}",
                    statistics.fmean(values) * 1e6,
                    "µs/call",
                    baseline=statistics.fmean(raw[what]) * 1e6,
                    ratio=median,
                    target=f"<= {TARGET:.2f}" if is_ours else None,
                    ok=meets(median, "<=", TARGET) if is_ours else None,
                    note=f"median of {len(blocks)} block ratios ({BLOCK} calls a side) "
                    f"{median:.3f}, quartiles {q1:.3f}-{q3:.3f}",
                    spread=[q1, q3],
                )
            )
    return out


def _instruction_rows(
    counts: dict[str, dict[str, list[float]]] | str, n: int, rounds: int
) -> list[dict[str, Any]]:
    if isinstance(counts, str):
        return [row("overhead.instructions", None, "instr/call", note=f"skipped: {counts}")]
    out: list[dict[str, Any]] = []
    for flavour, sides in counts.items():
        raw = sides["raw"]
        out.append(
            row(
                f"overhead.{flavour}.raw_httpx.instructions",
                statistics.median(raw),
                "instr/call",
                note=f"client process under callgrind, {rounds} segments of {n} calls; "
                f"min-max {min(raw):,.0f}-{max(raw):,.0f}",
            )
        )
        for side in ("ours", "openai"):
            if side not in sides:
                continue
            ratios = paired(sides[side], raw)
            is_ours = side == "ours"
            out.append(
                row(
                    f"overhead.{flavour}.{side}.instructions",
                    statistics.median(sides[side]),
                    "instr/call",
                    baseline=statistics.median(raw),
                    ratio=ratios.median,
                    target=f"<= {TARGET:.2f}" if is_ours else None,
                    ok=meets(ratios.median, "<=", TARGET) if is_ours else None,
                    note=f"median of per-round ratios {ratios.median:.4f}, "
                    f"spread {ratios.low:.4f}-{ratios.high:.4f}",
                    ratios=list(ratios.ratios),
                )
            )
    return out


def run(quick: bool = False) -> list[dict[str, Any]]:
    n = 300 if quick else CALLS
    cg_n, cg_rounds = (10, 2) if quick else (CG_CALLS, CG_ROUNDS)
    with served() as (base_url, api_key):
        task_id = _completed_task(base_url, api_key)
        res_async = measure_async(base_url, api_key, task_id, n)
        res_sync = measure_sync(base_url, api_key, task_id, n)
        counts = measure_instructions(base_url, api_key, task_id, cg_n, cg_rounds)
    return (
        _rows("async", res_async, n)
        + _rows("sync", res_sync, n)
        + _instruction_rows(counts, cg_n, cg_rounds)
    )


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve_forever()
    elif "--callgrind-client" in sys.argv:
        callgrind_client(json.loads(sys.argv[sys.argv.index("--callgrind-client") + 1]))
    else:
        raise SystemExit(main(run))
