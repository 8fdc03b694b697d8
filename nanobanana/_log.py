"""The ``nanobanana`` logger. ``NANOBANANA_LOG=debug`` turns on request logging.

Log lines carry the method, path, status, attempt and time waited for the budget:
never the API key, never a prompt above DEBUG.
"""

from __future__ import annotations

import logging
import os

__all__ = ["INTERRUPT", "logger", "note_interrupt", "scrub_error"]

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


INTERRUPT = "nanobanana_interrupt"
"""The attribute (True) of a log record of ``note_interrupt``: the command line leaves
them out, its own report of a Ctrl-C names the tasks."""


def note_interrupt(exc: BaseException, message: str) -> None:
    """Say what an interrupt (Ctrl-C) cut short left behind, where the user sees it: a
    WARNING line, and a note on the exception (Python 3.11+ shows it under the
    traceback). Once per message, however many layers the exception passes."""
    note = f"nanobanana: {message}"
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list) and note in notes:
        return
    logger.warning("%s", message, extra={INTERRUPT: True})
    add_note = getattr(exc, "add_note", None)  # 3.11+
    if add_note is not None:
        add_note(note)


def scrub_error(error: BaseException, secret: str) -> None:
    """Mask ``secret`` (the API key) in an exception and everything chained to it, in place.

    Our own messages never contain it, but a server or a proxy in front of it may echo
    request headers in an error body, and httpx's errors may quote a header. Every string
    argument, ``message`` and note of the error, its ``__cause__``/``__context__`` chain
    and exceptions held in its arguments lose the key, any run of 8 or more of its
    characters, and any ``Bearer``/``nb_sk_`` token (see ``_secrets.mask_secret``).
    """
    from ._secrets import mask_secret  # on the error path only: its patterns cost an import

    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        exc = pending.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        exc.args = tuple(mask_secret(a, secret) if isinstance(a, str) else a for a in exc.args)
        message = getattr(exc, "message", None)
        if isinstance(message, str):
            try:
                exc.message = mask_secret(message, secret)  # type: ignore[attr-defined]
            except AttributeError:  # read-only (an ExceptionGroup's): its args hold it
                pass
        notes = getattr(exc, "__notes__", None)
        if isinstance(notes, list):
            notes[:] = [mask_secret(n, secret) if isinstance(n, str) else n for n in notes]
        nested = getattr(exc, "exceptions", ())  # an exception group's members
        if not isinstance(nested, (tuple, list)):
            nested = ()
        pending += [e for e in (*exc.args, *nested) if isinstance(e, BaseException)]
        pending += [e for e in (exc.__cause__, exc.__context__) if e is not None]


_configure_from_env()
