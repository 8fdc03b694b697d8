"""The blocking twins are generated: regenerate into a temp folder and compare with what is
committed. The generator refuses a rule that never fires, a ruff of another version, and
output that still reads as async code or where a rename merged two things into one."""

from __future__ import annotations

import ast
import functools
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nanobanana"
UNASYNC = ROOT / "scripts" / "unasync.py"


@functools.cache
def unasync() -> ModuleType:
    spec = importlib.util.spec_from_file_location("unasync_script", UNASYNC)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def committed() -> dict[str, str]:
    """The generated files in the tree, by path relative to the package folder."""
    paths = [*PACKAGE.glob("_sync/*.py"), PACKAGE / "limiters" / "_sync_redis.py"]
    return {p.relative_to(PACKAGE).as_posix(): p.read_text() for p in paths}


@pytest.mark.slow
def test_committed_sync_matches_generator(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(UNASYNC), "--out", str(tmp_path)], check=True)
    generated = {p.relative_to(tmp_path).as_posix(): p.read_text() for p in tmp_path.rglob("*.py")}
    current = committed()
    assert set(generated) == set(current), "run `nox -s generate`: files differ"
    stale = [name for name in generated if generated[name] != current[name]]
    assert not stale, f"the generated code is stale ({stale}): run `nox -s generate`"


@pytest.mark.slow
def test_check_mode_reports_a_hand_edit(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(UNASYNC), "--out", str(tmp_path)], check=True)
    target = tmp_path / "_sync" / "_client.py"
    target.write_text(target.read_text() + "\n# a hand edit\n")
    proc = subprocess.run(
        [sys.executable, str(UNASYNC), "--check", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "stale" in proc.stdout


def test_sync_client_has_no_async_code() -> None:
    for name, code in committed().items():
        tree = ast.parse(code)
        for node in ast.walk(tree):
            assert not isinstance(
                node, (ast.AsyncFunctionDef, ast.AsyncWith, ast.AsyncFor, ast.Await)
            ), f"{name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.split(".")[0] == "anyio" for n in names), name


def test_the_generated_code_passes_the_checks() -> None:
    for name, code in committed().items():
        assert unasync().lint(code, name) == [], name


@pytest.mark.parametrize("part", ["renames", "prose"])
def test_a_rule_that_never_fires_fails_the_generator(part: str) -> None:
    u = unasync()
    if part == "renames":
        rules = u.RULES._replace(renames={**u.RULES.renames, "no_such_name": "other_name"})
    else:
        rules = u.RULES._replace(prose=[*u.RULES.prose, (r"no such phrase", "another phrase")])
    with pytest.raises(u.GenerationError, match=r"never fired.*'no[_ ]such"):
        u.generate(rules)


PLANTED = {
    "def f(x: int | str | int) -> None: ...": "union has int twice",
    "from typing import Union\n\nx: Union[int, str, int]": "union has int twice",
    "ok = isinstance(v, (list, tuple, list))": "union has list twice",
    "def f(r: object) -> bool:\n    return hasattr(r, '__iter__') or hasattr(r, '__iter__')": (
        "'or' has hasattr(r, '__iter__') twice"
    ),
    "y = a and b and a": "'and' has a twice",
    'def wait() -> None:\n    """Await the result."""': "async words left in prose: Await",
    "x = 1  # then await it": "async words left in prose: await",
    "x = 'The async client of the API'": "async words left in prose: async",
    "def _aiterate() -> None: ...": "the name '_aiterate' is async",
    "import asyncio": "the name 'asyncio' is async",
}


@pytest.mark.parametrize("code", PLANTED)
def test_the_checks_catch_what_a_rename_can_leave(code: str) -> None:
    problems = unasync().lint(code, "planted.py")
    assert any(PLANTED[code] in p for p in problems), problems


def test_the_checks_pass_what_is_fine() -> None:
    code = (
        "def f(x: int | str, waiter: object) -> bool:\n"
        '    """A waiter waits; nothing here is awaited."""\n'
        "    return isinstance(x, (int, str)) or not x\n"
    )
    problems = unasync().lint(code, "fine.py")
    assert problems == ["fine.py:2: async words left in prose: awaited"]
    assert unasync().lint(code.replace("awaited", "left waiting"), "fine.py") == []


def test_a_ruff_of_another_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    u = unasync()
    monkeypatch.setattr(u, "RUFF_VERSION", "0.0.1")
    with pytest.raises(u.GenerationError, match=r"formatted with ruff 0\.0\.1"):
        u.check_ruff()


def test_nox_installs_the_pinned_ruff() -> None:
    assert f'RUFF = "ruff=={unasync().RUFF_VERSION}"' in (ROOT / "noxfile.py").read_text()
