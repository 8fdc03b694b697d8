"""What a command reads from the user: its text arguments, a prompt given as ``-`` (standard
input), and a batch file of prompts or JSONL requests (a path, or ``-``).

The API takes JSON, so all of it must be UTF-8 text; input that is not is a
``UsageError`` that says where (exit 2, nothing sent).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ._exit import UsageError

__all__ = ["BatchFile", "check_text_args", "read_prompt"]

_PATH_ARGS = frozenset({"out", "file", "journal", "api_key_file"})
"""Arguments that name files: any bytes the file system takes are fine there."""

_ARG_NAMES = {"prompt": "PROMPT", "task_id": "ID", "kind": "KIND"}


def check_text_args(args: argparse.Namespace) -> None:
    """Every text argument must be UTF-8: the API takes JSON. (Python hands undecodable
    command-line bytes over as lone surrogates, which cannot be encoded.)"""
    for dest, value in vars(args).items():
        if isinstance(value, str) and dest not in _PATH_ARGS and not _is_utf8(value):
            name = _ARG_NAMES.get(dest, "--" + dest.replace("_", "-"))
            raise UsageError(f"{name} is not valid UTF-8 text (check the terminal's encoding)")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _stdin_bytes() -> bytes:
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is not None:
        data: bytes = buffer.read()
        return data
    return sys.stdin.read().encode("utf-8", "surrogateescape")


def read_prompt(value: str) -> str:
    """PROMPT, or with ``-`` the text on standard input (UTF-8)."""
    if value != "-":
        return value
    try:
        text = _stdin_bytes().decode("utf-8").removeprefix("\ufeff").strip()
    except UnicodeDecodeError:
        raise UsageError("the prompt on standard input is not valid UTF-8 text") from None
    if not text:
        raise UsageError("PROMPT is '-' but standard input holds no prompt")
    return text


class BatchFile:
    """The requests of a batch file (or of stdin, read once), parsed afresh on every
    iteration (constant memory for a file). ``check()`` parses every line and counts.

    A line is a prompt, or a JSON object with a request's fields; blank lines and lines
    starting with ``#`` are skipped. ``defaults`` fill the fields a line leaves out."""

    def __init__(
        self,
        name: str,
        open_lines: Callable[[], contextlib.AbstractContextManager[Iterable[bytes]]],
        defaults: dict[str, Any],
    ) -> None:
        self.name = name
        self._open_lines = open_lines
        self.defaults = defaults
        self.count = 0

    @classmethod
    def from_arg(cls, path: str, defaults: dict[str, Any]) -> BatchFile:
        """The batch file at ``path``, or standard input for ``-``."""
        if path == "-":
            lines = _stdin_bytes().splitlines()
            return cls("<stdin>", lambda: contextlib.nullcontext(lines), defaults)
        if not Path(path).is_file():
            raise OSError(f"no such file: {path}")
        return cls(path, lambda: open(path, "rb"), defaults)

    def _lines(self) -> Iterator[tuple[int, str]]:
        with self._open_lines() as raw_lines:
            for number, raw in enumerate(raw_lines, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise UsageError(f"{self.name}:{number}: not valid UTF-8 text") from None
                text = line.removeprefix("\ufeff").strip() if number == 1 else line.strip()
                if text and not text.startswith("#"):
                    yield number, text

    def _parse(self, number: int, text: str) -> Any:
        if text.startswith("{"):
            try:
                obj = json.loads(text)
            except ValueError as exc:
                raise UsageError(f"{self.name}:{number}: not a JSON object: {exc}") from None
            if not isinstance(obj, dict):
                raise UsageError(f"{self.name}:{number}: not a JSON object")
            if not all(_is_utf8(v) for v in obj.values() if isinstance(v, str)):
                raise UsageError(f"{self.name}:{number}: a value is not valid UTF-8 text")
            return {**self.defaults, **obj}
        if self.defaults:
            return {**self.defaults, "prompt": text}
        return text

    def check(self) -> None:
        self.count = 0
        for number, text in self._lines():
            self._parse(number, text)
            self.count += 1

    def __iter__(self) -> Iterator[Any]:
        for number, text in self._lines():
            yield self._parse(number, text)
