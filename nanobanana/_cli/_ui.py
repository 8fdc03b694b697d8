"""Output of the command line: rich for people, JSON lines for machines.

rich is imported only here, and only when human output is asked for: ``--json`` and
``--help`` work without it; anything else without it stops with a clear message.

Results go to stdout, everything else to stderr. With ``--json`` an error is one JSON
object on stderr, ``{"error": {"type": ..., "message": ..., "exit_code": ...}}``. Progress
is a rich bar on a terminal, and plain lines (one per change) when stderr is a pipe or a
file, where a bar would only appear at the end.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .._log import INTERRUPT
from ._exit import error_object

__all__ = ["UI", "RichMissing", "WarningsToUI", "write_error"]


class RichMissing(Exception):
    """rich is not installed (the ``cli`` extra)."""


def write_error(message: str, *, kind: str, exit_code: int, json_mode: bool, **fields: Any) -> None:
    """An error on stderr without a UI (before one exists): JSON, or argparse's style."""
    if json_mode:
        error = error_object(message, kind=kind, code=exit_code, **fields)
        sys.stderr.write(json.dumps(error) + "\n")
    else:
        sys.stderr.write(f"nanobanana: error: {message}\n")
    sys.stderr.flush()


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
        """A message on stderr (progress, warnings); silent in json mode."""
        if self._err is not None and not self.quiet:
            self._err.print(text, style=style)

    def notice(self, text: str, *, kind: str = "notice") -> None:
        """Something the user must hear now (Ctrl-C is stopping...), in both modes: a
        yellow line, or ``{kind: {"message": text}}`` on stderr in json mode."""
        if self._err is not None:
            label = "" if kind == "notice" else f"{kind}: "
            self._err.print(f"[yellow]{_escape(label + text)}[/]")
        else:
            sys.stderr.write(json.dumps({kind: {"message": text}}) + "\n")
            sys.stderr.flush()

    def warn(self, text: str) -> None:
        """A warning on stderr (``{"warning": {"message": ...}}`` in json mode)."""
        self.notice(text, kind="warning")

    def error(self, text: str, *, kind: str = "Error", exit_code: int = 1, **fields: Any) -> None:
        """An error on stderr: ``{"error": {...}}`` in json mode (``fields`` added to it)."""
        if self._err is not None:
            self._err.print(f"[bold red]error:[/] {_escape(text)}")
        else:
            write_error(text, kind=kind, exit_code=exit_code, json_mode=True, **fields)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(_escape("" if v is None else str(v)) for v in row))
        self._out.print(table)

    def fields(self, title: str, values: Mapping[str, Any]) -> None:
        """A table of ``values``; a nested object's fields get rows of their own
        (``subscription.plan``)."""
        self.table(title, ("field", "value"), list(_rows(values)))

    # -- progress -------------------------------------------------------------------------

    def progress(self, *, transient: bool = False) -> Any:
        """Progress on stderr: a rich bar on a terminal, plain lines on a pipe or a file,
        nothing in json mode. Tasks take ``unit="%"`` when ``total`` is a percentage."""
        if self._err is None:
            return _NoProgress()
        if not self._err.is_terminal:
            return _LineProgress(self._err)
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


class WarningsToUI(logging.Handler):
    """The SDK's warnings, through the UI: a yellow line, or a JSON object with --json."""

    def __init__(self, ui: UI) -> None:
        super().__init__(logging.WARNING)
        self.ui = ui

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, INTERRUPT, False):
            return  # what a Ctrl-C left: the command's own report of it names the tasks
        try:
            self.ui.warn(record.getMessage())
        except Exception:
            self.handleError(record)


class _NoProgress:
    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def update(self, *args: Any, **kwargs: Any) -> None:
        return None

    @property
    def console(self) -> Any:
        return None


class _LineProgress:
    """The rich Progress calls the CLI makes, as one plain line per change.

    For a stderr that is not a terminal (CI logs, ``2> log``, a pipe): a live bar would
    print nothing until the end there."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self._tasks: list[dict[str, Any]] = []

    def __enter__(self) -> _LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> int:
        self._tasks.append(
            {"description": description, "total": total, "completed": 0, "line": None, **fields}
        )
        self.update(len(self._tasks) - 1)
        return len(self._tasks) - 1

    def update(
        self,
        task_id: int,
        *,
        completed: float | None = None,
        advance: float | None = None,
        **fields: Any,
    ) -> None:
        task = self._tasks[task_id]
        if completed is not None:
            task["completed"] = completed
        if advance is not None:
            task["completed"] += advance
        task.update(fields)
        done, total = int(task["completed"]), task["total"]
        if task.get("unit") == "%":
            count = f"{done}%"
        else:
            count = f"{done}/{int(total)}" if total is not None else str(done)
        line = f"{task['description']}: {count} {task.get('detail', '')}".rstrip()
        if line != task["line"]:
            task["line"] = line
            self.console.print(line)


def _escape(text: str) -> str:
    try:
        from rich.markup import escape
    except ImportError:  # pragma: no cover - json mode without rich
        return text
    return escape(text)


def _rows(values: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in values.items():
        if isinstance(value, Mapping):
            yield from _rows(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value
