"""The sync twin is generated: regenerate into a temp folder and compare with what is committed."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_committed_sync_matches_generator(tmp_path: Path) -> None:
    out = tmp_path / "_sync"
    committed = ROOT / "nanobanana" / "_sync"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "unasync.py"), "--out", str(out)], check=True
    )
    generated = {p.name: p.read_text() for p in out.glob("*.py")}
    current = {p.name: p.read_text() for p in committed.glob("*.py")}
    assert set(generated) == set(current), "run `nox -s generate`: files differ"
    stale = [name for name in generated if generated[name] != current[name]]
    assert not stale, f"nanobanana/_sync is stale ({stale}): run `nox -s generate`"


@pytest.mark.slow
def test_check_mode_reports_a_hand_edit(tmp_path: Path) -> None:
    out = tmp_path / "_sync"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "unasync.py"), "--out", str(out)], check=True
    )
    target = out / "_client.py"
    target.write_text(target.read_text() + "\n# a hand edit\n")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "unasync.py"), "--check", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "stale" in proc.stdout


def test_sync_client_has_no_async_code() -> None:
    for path in (ROOT / "nanobanana" / "_sync").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            assert not isinstance(
                node, (ast.AsyncFunctionDef, ast.AsyncWith, ast.AsyncFor, ast.Await)
            ), f"{path.name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.split(".")[0] == "anyio" for n in names), path.name
