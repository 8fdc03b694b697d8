"""Batch fan-out (stub: the batch issue implements it)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Any

from .._batch_models import BatchItem


def run_batch(
    resource: Any,
    kind: str,
    requests: Iterable[Any] | AsyncIterable[Any],
    *,
    concurrency: int | None = None,
    max_credits: int | None = None,
    journal: str | os.PathLike[str] | None = None,
    on_progress: Callable[[BatchItem], object] | None = None,
    save_to: str | os.PathLike[str] | None = None,
    preflight: bool = True,
) -> AsyncIterator[BatchItem]:
    raise NotImplementedError
