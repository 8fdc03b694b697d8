"""The ``nanobanana`` logger. ``NANOBANANA_LOG=debug`` turns on request logging.

Log lines carry the method, path, status, attempt and time waited for the budget:
never the API key, never a prompt above DEBUG.
"""

from __future__ import annotations

import logging
import os

__all__ = ["logger"]

logger = logging.getLogger("nanobanana")


def _configure_from_env() -> None:
    level = os.environ.get("NANOBANANA_LOG", "").strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        return
    logger.setLevel(level)
    if not any(getattr(h, "_nanobanana", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        handler._nanobanana = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


_configure_from_env()
