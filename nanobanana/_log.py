"""The ``nanobanana`` logger. ``NANOBANANA_LOG=debug`` turns on request logging.

Log lines carry the method, path, status, attempt and time waited for the budget:
never the API key, never a prompt above DEBUG.
"""

from __future__ import annotations

import logging
import os

__all__ = ["logger", "scrub_error"]

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


def scrub_error(error: BaseException, secret: str) -> None:
    """Take ``secret`` (the API key) out of an exception's message, in place.

    Our own messages never contain it, but a server or a proxy in front of it may echo
    request headers in an error body, and a body snippet ends up in the message.
    """
    if not secret:
        return
    mask = secret[:6] + "..." if secret.startswith("nb_sk_") else "..."
    if any(isinstance(a, str) and secret in a for a in error.args):
        error.args = tuple(a.replace(secret, mask) if isinstance(a, str) else a for a in error.args)
    message = getattr(error, "message", None)
    if isinstance(message, str) and secret in message:
        error.message = message.replace(secret, mask)  # type: ignore[attr-defined]


_configure_from_env()
