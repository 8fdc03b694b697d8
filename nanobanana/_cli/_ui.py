"""Output of the command line: rich for people, JSON lines for machines.

rich is imported only here, and only when human output is asked for: ``--json`` and
``--help`` work without it; anything else without it stops with a clear message.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["RichMissing", "UI"]


class RichMissing(Exception):
    """rich is not installed (the ``cli`` extra)."""


class UI:
    """Where the command line writes: results on stdout, progress and messages on stderr."""

    def __init__(self, *, json_mode: bool, quiet: bool = False) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        self._out: Any = None
        self._err: Any = None
        if not json_mode:
            try:
                from rich.console import Console
            except ImportError as exc:
                raise RichMissing(
                    "the nanobanana command line needs rich for its output: "
                    "pip install 'nanobanana[cli]' (or use --json)"
                ) from exc
            self._out = Console(highlight=False, soft_wrap=True)
            self._err = Console(stderr=True, highlight=False, soft_wrap=True)

    # -- plain output ---------------------------------------------------------------------

    def data(self, value: Any) -> None:
        """One JSON document on stdout (json mode)."""
        sys.stdout.write(json.dumps(value, default=str, sort_keys=False) + "\n")
        sys.stdout.flush()

    def print(self, text: str, *, style: str | None = None) -> None:
        """A result line on stdout (human mode)."""
        if self._out is not None:
            self._out.print(text, style=style)

    def note(self, text: str, *, style: str | None = None) -> None:
        """A message on stderr (progress, warnings); silent in json mode unless an error."""
        if self._err is not None and not self.quiet:
            self._err.print(text, style=style)

    def error(self, text: str) -> None:
        """An error on stderr, in both modes."""
        if self._err is not None:
            self._err.print(f"[bold red]error:[/] {_escape(text)}")
        else:
            sys.stderr.write(f"nanobanana: error: {text}\n")

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(_escape("" if v is None else str(v)) for v in row))
        self._out.print(table)

    def fields(self, title: str, values: Mapping[str, Any]) -> None:
        self.table(title, ("field", "value"), [(k, v) for k, v in values.items()])

    # -- progress -------------------------------------------------------------------------

    def progress(self, *, transient: bool = False) -> Any:
        """A rich Progress on stderr (a do-nothing stand-in in json mode)."""
        if self._err is None:
            return _NoProgress()
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        return Progress(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=self._err,
            transient=transient,
        )


class _NoProgress:
    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def update(self, *args: Any, **kwargs: Any) -> None:
        return None

    def advance(self, *args: Any, **kwargs: Any) -> None:
        return None

    @property
    def console(self) -> Any:
        return None


def _escape(text: str) -> str:
    try:
        from rich.markup import escape
    except ImportError:  # pragma: no cover - json mode without rich
        return text
    return escape(text)
