"""Smoke test of an installed nanobanana, against its own simulator (no key, no network).

`nox -s build` runs it with the interpreter of a fresh venv where only the built wheel
(with the `testing` extra) is installed, from outside the source tree, so it proves the
wheel itself works: its files, its entry point, and its declared dependency floors.

    python scripts/smoke_wheel.py
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import anyio

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana

PNG = b"\x89PNG"


async def with_async_client(fake: FakeNanoBanana, out: Path) -> None:
    async with fake.async_client() as client:
        task = await client.images.generate("A sunset over mountains", aspect_ratio="16:9")
        status = await task
        paths = await client.images.save(status, out)
        assert paths and paths[0].read_bytes().startswith(PNG), paths
        tasks = [await client.images.generate(p) for p in ("A fox", "A koi pond")]
        statuses = await nb.gather(*tasks)
        assert [s.task_id for s in statuses] == [t.task_id for t in tasks]
        items = [item async for item in client.images.generate_many(["A crane", "A heron"])]
        assert sorted(item.index for item in items) == [0, 1] and all(i.ok for i in items)


def with_sync_client(fake: FakeNanoBanana, out: Path) -> None:
    with fake.client() as client:
        assert client.account.credits().credits > 0
        assert client.models.list().image_models
        assert client.account.calculate_cost("image", model="nano-banana-pro").credits_needed
        vstatus = client.videos.generate("A cat walking in a garden").wait()
        assert client.videos.save(vstatus, out)[0].suffix == ".mp4"
        try:
            client.images.generate("   ")
        except nb.InvalidParameterError:
            pass
        else:
            raise AssertionError("a blank prompt was not refused")
        journal = out / "journal.sqlite"
        first = list(client.images.generate_many(["A", "B"], journal=str(journal)))
        charged = len(fake.charges)
        again = list(client.images.generate_many(["A", "B"], journal=str(journal)))
        assert all(i.ok for i in first + again) and len(fake.charges) == charged


def over_a_socket(fake: FakeNanoBanana) -> None:
    with fake.serve() as base_url, nb.Client(api_key=fake.api_key, base_url=base_url) as client:
        assert client.account.credits().credits > 0


def command_line() -> None:
    script = shutil.which("nanobanana", path=str(Path(sys.executable).parent))
    assert script, "the nanobanana entry point is not installed"
    done = subprocess.run(
        [script, "--fake", "--json", "credits"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and '"credits"' in done.stdout, done


def main() -> int:
    where = Path(nb.__file__).resolve()
    assert "site-packages" in where.parts, f"not the installed wheel: {where}"
    fake = FakeNanoBanana(time_scale=600, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        anyio.run(with_async_client, fake, out)
        with_sync_client(fake, out)
    over_a_socket(fake)
    command_line()
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("httpx", "anyio", "attrs", "cattrs", "uvicorn")
    )
    print(
        f"nanobanana {nb.__version__} OK on Python {sys.version.split()[0]} "
        f"({os.path.dirname(where)}); {versions}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
