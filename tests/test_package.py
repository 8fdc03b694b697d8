"""The package's public names: one list for users, type checkers and the lazy loader."""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import nanobanana as nb

INIT = Path(nb.__file__)


def _type_checking_imports() -> set[str]:
    tree = ast.parse(INIT.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom)
                names.update(alias.asname or alias.name for alias in stmt.names)
    return names


def test_every_public_name_is_exported_typed_and_loadable() -> None:
    public = set(nb.__all__) - {"__version__"}
    assert public == set(nb._LAZY), "nanobanana.__all__ and the lazy table disagree"
    assert public == _type_checking_imports(), "the TYPE_CHECKING imports and __all__ disagree"
    for name in sorted(public):
        module = importlib.import_module(nb._LAZY[name], "nanobanana")
        assert getattr(nb, name) is getattr(module, name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        nb.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


# What naming a client class may load beyond httpx: the client modules and the light
# helpers their signatures and module code need. Everything else (attrs, anyio, the
# protocol, models, resources, limiter, polling, the request loop) loads with the first
# client made: see benchmarks/bench_import.py (ready-to-call against import httpx).
READY_TO_CALL_MODULES = {
    "nanobanana",
    "nanobanana._async",
    "nanobanana._async._client",
    "nanobanana._config",
    "nanobanana._exceptions",
    "nanobanana._log",
    "nanobanana._secrets",
    "nanobanana._sync",
    "nanobanana._sync._client",
    "nanobanana._version",
}


@pytest.mark.slow
def test_naming_the_clients_loads_no_more_than_the_classes_need() -> None:
    code = (
        "import json, sys, httpx; before = set(sys.modules); "
        "import nanobanana as nb; nb.AsyncClient; nb.Client; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    env = {k: v for k, v in os.environ.items() if k != "NANOBANANA_LOG"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    loaded = set(json.loads(out.stdout))
    ours = {m for m in loaded if m.split(".")[0] == "nanobanana"}
    others = {m for m in loaded - ours if m.split(".")[0] not in sys.stdlib_module_names}
    assert ours <= READY_TO_CALL_MODULES, sorted(ours - READY_TO_CALL_MODULES)
    assert not others, sorted(others)  # no attrs, cattrs, anyio...


@pytest.mark.slow
def test_the_first_client_loads_what_a_call_needs() -> None:
    """The other side: making a client imports the request path, so no call pays for it."""
    code = (
        "import json, sys, nanobanana as nb; "
        "nb.AsyncClient(api_key='x'); nb.Client(api_key='x'); "
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    for side in ("_async", "_sync"):
        for module in ("_send", "_resources", "_raw"):
            assert f"nanobanana.{side}.{module}" in loaded
    assert {"nanobanana._protocol", "nanobanana._models", "attrs"} <= loaded
