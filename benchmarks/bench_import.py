"""Import time: ``import nanobanana`` against ``import httpx``, in fresh interpreters.

Each sample is one new interpreter (``sys.executable -c ...``) that times its own import
with ``time.perf_counter()`` around the ``import`` statement, so interpreter start-up
(identical on both sides, ~15 ms) does not water the ratio down. httpx (A) and nanobanana
(B) alternate, one interpreter each per round; the figure is the median of each side and

    ratio = median(import nanobanana) / median(import httpx)     target <= 1.2

Two statements are measured against ``import httpx``: ``import nanobanana`` and *ready to
call*, ``import nanobanana; nanobanana.AsyncClient; nanobanana.Client``: the package
resolves its public names on first use (PEP 562), so the second is the honest figure of
what a program pays before its first call. nanobanana imports httpx itself, so a ratio is
1 + (what nanobanana adds) / httpx. The wall time of whole ``python -c "..."`` processes
(start-up included) is reported for both, against ``python -c "import httpx"``.

Naming a client class does not load what a client is made of (resources, protocol,
models, attrs): its constructor does. So that nobody mistakes where that cost went, *first
client* (``nanobanana.AsyncClient(api_key="x")`` and ``nanobanana.Client(api_key="x")``
built, after the import) is reported too, informational, against ``import httpx`` and
against httpx building its own two clients (``httpx.AsyncClient()``, ``httpx.Client()``:
their SSL context is most of a client's construction, ours included).

The last rows name the modules ready-to-call, then the first client, load beyond
httpx's, by their own ("self") time under ``python -X importtime``: those are what to
make lazy.

Bytecode: a user's installed package has it compiled (pip does so at install), so every
side runs with its ``.pyc`` warm. Under ``PYTHONDONTWRITEBYTECODE`` nothing would ever be
cached and every sample would time the compiler; the interpreters then write their caches
under a temporary ``PYTHONPYCACHEPREFIX`` instead.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import ab, main, meets, row

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.2

_TIMED = "import time; _t = time.perf_counter(); {stmt}; print(time.perf_counter() - _t)"

HTTPX = "import httpx"
NANOBANANA = "import nanobanana"
READY = "import nanobanana; nanobanana.AsyncClient; nanobanana.Client"
"""Ready to make a call: ``__init__`` is lazy (PEP 562), so the import alone costs almost
nothing; naming both clients loads what a call needs."""
READY_MODULES = "nanobanana._async._client, nanobanana._sync._client"
"""The same modules as READY, named so ``-X importtime`` lists every one of them (the
imports a module ``__getattr__`` triggers are not all reported)."""
FIRST_CLIENT = (
    "import nanobanana; nanobanana.AsyncClient(api_key='x'); nanobanana.Client(api_key='x')"
)
"""Import, then make one client of each kind: where the constructor's imports land."""
HTTPX_CLIENTS = "import httpx; httpx.AsyncClient(); httpx.Client()"
"""httpx doing the same: most of a client's construction is its SSL context."""

_PYCACHE = Path(tempfile.gettempdir()) / "nanobanana-bench-pycache"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env.pop("NANOBANANA_LOG", None)
    env.pop("NANOBANANA_API_KEY", None)
    if env.pop("PYTHONDONTWRITEBYTECODE", None) and "PYTHONPYCACHEPREFIX" not in env:
        env["PYTHONPYCACHEPREFIX"] = str(_PYCACHE)  # warm caches, out of the source tree
    return env


def _import_seconds(stmt: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _TIMED.format(stmt=stmt)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def _process_seconds(stmt: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", stmt], cwd=ROOT, env=_env(), check=True)
    return time.perf_counter() - start


_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def importtime(mod: str, then: str = "") -> dict[str, tuple[int, int]]:
    """``{module: (self µs, cumulative µs)}`` from ``python -X importtime -c 'import mod'``
    (followed by the statement ``then``, whose imports are listed too)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {mod}; {then}"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, tuple[int, int]] = {}
    for line in out.stderr.splitlines():
        m = _LINE.match(line)
        if m:
            found[m.group(4)] = (int(m.group(1)), int(m.group(2)))
    return found


def extra_imports(
    runs: int = 5, mod: str = READY_MODULES, then: str = "", base_then: str = ""
) -> list[tuple[str, float]]:
    """Modules ``import mod; then`` loads that ``import httpx; base_then`` does not, by
    median self µs."""
    base = set(importtime("httpx", base_then))
    samples: dict[str, list[int]] = {}
    for _ in range(runs):
        for name, (self_us, _) in importtime(mod, then).items():
            if name not in base:
                samples.setdefault(name, []).append(self_us)
    ranked = [(name, statistics.median(v)) for name, v in samples.items()]
    ranked.sort(key=lambda kv: kv[1], reverse=True)
    return ranked


def _group(name: str) -> str:
    top = name.split(".")[0]
    return name if top == "nanobanana" else top


def _beyond_httpx(
    name: str, what: str, extra: list[tuple[str, float]], baseline: str = "httpx"
) -> dict[str, Any]:
    groups: dict[str, float] = {}
    for module, us in extra:
        groups[_group(module)] = groups.get(_group(module), 0.0) + us
    top = sorted(groups.items(), key=lambda kv: kv[1], reverse=True)[:8]
    total = sum(groups.values())
    return row(
        name,
        total / 1e3,
        "ms",
        note=f"self time (-X importtime) of the modules {what} loads and {baseline} "
        "does not: " + ", ".join(f"{module} {us / 1e3:.1f}" for module, us in top),
    )


def run(quick: bool = False) -> list[dict[str, Any]]:
    rounds = 10 if quick else 20
    # warm the bytecode caches so neither side pays a compile
    _import_seconds(HTTPX)
    _import_seconds(READY)
    _import_seconds(FIRST_CLIENT)
    _import_seconds(HTTPX_CLIENTS)
    _process_seconds(READY)
    res = ab(lambda: _import_seconds(HTTPX), lambda: _import_seconds(NANOBANANA), rounds=rounds)
    ready = ab(lambda: _import_seconds(HTTPX), lambda: _import_seconds(READY), rounds=rounds)
    first = ab(lambda: _import_seconds(HTTPX), lambda: _import_seconds(FIRST_CLIENT), rounds=rounds)
    first_vs_httpx = ab(
        lambda: _import_seconds(HTTPX_CLIENTS),
        lambda: _import_seconds(FIRST_CLIENT),
        rounds=rounds,
    )
    proc = ab(
        lambda: _process_seconds(HTTPX),
        lambda: _process_seconds(NANOBANANA),
        rounds=rounds,
        warmup=0,
    )
    proc_ready = ab(
        lambda: _process_seconds(HTTPX),
        lambda: _process_seconds(READY),
        rounds=rounds,
        warmup=0,
    )
    ok = meets(res.ratio, "<=", TARGET)
    rows = [
        row(
            "import.nanobanana",
            res.b_median * 1e3,
            "ms",
            baseline=res.a_median * 1e3,
            ratio=res.ratio,
            target=f"<= {TARGET}",
            ok=ok,
            note=(
                f"median of {rounds} fresh interpreters each; baseline = import httpx; "
                "ratio = nanobanana ÷ httpx (import statement only)"
            ),
        ),
        row(
            "import.ready_to_call",
            ready.b_median * 1e3,
            "ms",
            baseline=ready.a_median * 1e3,
            ratio=ready.ratio,
            target=f"<= {TARGET}",
            ok=meets(ready.ratio, "<=", TARGET),
            note="`import nanobanana; nanobanana.AsyncClient; nanobanana.Client` ÷ `import httpx`",
        ),
        row(
            "import.first_client",
            first.b_median * 1e3,
            "ms",
            baseline=first.a_median * 1e3,
            ratio=first.ratio,
            note="`import nanobanana; nanobanana.AsyncClient(api_key='x'); "
            "nanobanana.Client(api_key='x')` ÷ `import httpx`: where the constructors' "
            "imports land (informational)",
        ),
        row(
            "import.first_client.vs_httpx_clients",
            first_vs_httpx.b_median * 1e3,
            "ms",
            baseline=first_vs_httpx.a_median * 1e3,
            ratio=first_vs_httpx.ratio,
            note="the same ÷ `import httpx; httpx.AsyncClient(); httpx.Client()` (informational)",
        ),
        row(
            "import.process_wall.nanobanana",
            proc.b_median * 1e3,
            "ms",
            baseline=proc.a_median * 1e3,
            ratio=proc.ratio,
            note="whole `python -c 'import nanobanana'` process ÷ `python -c 'import httpx'`, "
            "start-up included (informational)",
        ),
        row(
            "import.process_wall.ready_to_call",
            proc_ready.b_median * 1e3,
            "ms",
            baseline=proc_ready.a_median * 1e3,
            ratio=proc_ready.ratio,
            note="whole process of the ready-to-call statement ÷ `python -c 'import httpx'` "
            "(informational)",
        ),
    ]
    runs = 3 if quick else 5
    rows.append(_beyond_httpx("import.beyond_httpx", "ready-to-call", extra_imports(runs)))
    rows.append(
        _beyond_httpx(
            "import.beyond_httpx.first_client",
            "the first client (import and construction)",
            extra_imports(
                runs,
                "nanobanana",
                FIRST_CLIENT.removeprefix("import nanobanana; "),
                HTTPX_CLIENTS.removeprefix("import httpx; "),
            ),
            baseline="httpx building its own two clients",
        )
    )
    return rows


if __name__ == "__main__":
    raise SystemExit(main(run))
