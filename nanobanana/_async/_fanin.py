"""Fan-in over task handles: as_completed, gather (stub: the task-futures issue implements it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any


def as_completed(tasks: Iterable[Any]) -> AsyncIterator[Any]:
    raise NotImplementedError


async def gather(*tasks: Any, return_exceptions: bool = False) -> list[Any]:
    raise NotImplementedError
