"""Result downloads (stub: the task-futures issue implements it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


async def download(client: Any, url: str, dest: str | os.PathLike[str]) -> Path:
    raise NotImplementedError


async def save_results(
    resource: Any, status_or_task: Any, directory: str | os.PathLike[str]
) -> list[Path]:
    raise NotImplementedError
