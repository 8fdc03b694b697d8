"""Every example in examples/ runs against the simulator (slow: scripts, subprocesses)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from virtual_time import LoopClock

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _is_png(path: Path) -> bool:
    from PIL import Image

    with Image.open(path) as image:
        image.verify()
        return image.format == "PNG"


def test_prompts_file_has_about_twenty_prompts() -> None:
    batch = _load("batch")
    prompts = batch.read_prompts(EXAMPLES / "prompts.txt")
    assert 15 <= len(prompts) <= 30
    assert all(p.strip() and not p.startswith("#") for p in prompts)


@pytest.mark.virtual_time
async def test_batch_example(anyio_backend: str, tmp_path: Path) -> None:
    batch = _load("batch")
    fake = FakeNanoBanana(clock=LoopClock())
    prompts = batch.read_prompts(EXAMPLES / "prompts.txt")
    async with fake.async_client() as client:
        failed = await batch.run(client, prompts, tmp_path, None)
        assert failed == 0
        spent = len(fake.charges)
        assert await batch.run(client, prompts, tmp_path, None) == 0  # resumes: pays nothing
    assert len(fake.charges) == spent == len(prompts)
    pngs = list(tmp_path.glob("*.png"))
    assert len(pngs) == len(prompts) and all(_is_png(p) for p in pngs)


def test_batch_example_script_with_fake(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "batch.py"),
            str(EXAMPLES / "prompts.txt"),
            str(tmp_path),
            "--fake",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "20 of 20 succeeded" in proc.stdout
    assert len(list(tmp_path.glob("*.png"))) == 20


def test_sync_script_example(tmp_path: Path) -> None:
    script = _load("sync_script")
    fake = FakeNanoBanana(time_scale=2000, result_ttl=None)  # however late the download
    with fake.client() as client:
        written = script.run(client, tmp_path)
    assert len(written) == 4
    assert all(_is_png(p) for p in written)


@pytest.mark.virtual_time
async def test_fastapi_example_handlers_share_one_client(anyio_backend: str) -> None:
    app_module = _load("fastapi_app")
    fake = FakeNanoBanana(clock=LoopClock())
    made: list[nb.AsyncClient] = []

    def make_client() -> nb.AsyncClient:
        made.append(fake.async_client())
        return made[-1]

    state = types.SimpleNamespace()
    async with app_module.lifespan(state, make_client):
        created = [await app_module.create_image(state.client, f"p{i}") for i in range(3)]
        done = await app_module.generate_and_wait(state.client, "a fox")
        status = await app_module.image_status(state.client, created[0]["task_id"])
    assert len(made) == 1  # one client for every request
    assert all(c["task_id"] and c["credits_used"] == 1 for c in created)
    assert done["image_url"].startswith("https://")
    assert status["task_id"] == created[0]["task_id"]


def test_fastapi_example_app_with_fastapi() -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    app_module = _load("fastapi_app")
    fake = FakeNanoBanana(time_scale=2000)
    app = app_module.create_app(fake.async_client)
    with TestClient(app) as http:
        created = http.post("/images", params={"prompt": "a fox"}).json()
        assert created["task_id"]
        assert http.get(f"/images/{created['task_id']}").status_code == 200
        assert http.get("/images/nope").status_code == 404
