"""Placeholder: the per-key sliding-window limiter lands with the resilience issue."""

from __future__ import annotations

from typing import Any, Literal

from ._limits import AsyncNoLimiter, NoLimiter


def resolve(rate_limit: Any, api_key: str, *, kind: Literal["async", "sync"], clock: Any) -> Any:
    if hasattr(rate_limit, "acquire"):
        return rate_limit
    return AsyncNoLimiter() if kind == "async" else NoLimiter()
