"""The batch journal: one SQLite row per request, so a rerun resumes without paying twice.

Pure and blocking (stdlib ``sqlite3``), called from both clients. One connection in WAL
mode, guarded by a lock, so many tasks or threads may write; every state change is
committed at once with ``synchronous=FULL`` (it survives ``kill -9`` and power loss).
The connection holds an exclusive lock on the file for its lifetime: two runs of the same
journal at once would be the one way to submit a request twice, so the second one is
refused (the lock dies with the process, so a killed run never blocks its rerun).
Within one process the journals open are known by path: a second ``Journal`` of a file
this process holds raises ``JournalBusy``, which names the holder, so a new run can wait
for a run that is stopping (``closing``) to let go (``when_closed``) instead of failing.

Every failure of the file is a ``JournalError`` naming the path: its directory cannot be
created, it is not a database, it is damaged (all told when it is opened, before a batch
sends anything), or a write fails later on.

A row's states, and what a rerun does with each, are ``_journal_rows``' (pure).

``read_journal`` reads a journal for a report without taking it from anyone: read-only
when no batch holds it; a copy of the file and its log when one does (its lock keeps
every reader out), so a running batch is never disturbed.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from ._exceptions import JournalBusy, JournalError
from ._journal_rows import JournalRow, RowState

__all__ = ["Journal", "JournalSnapshot", "read_journal"]

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    idx INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL,
    task_id TEXT,
    credits_used INTEGER,
    status TEXT,
    paths TEXT,
    error TEXT,
    updated_at REAL NOT NULL,
    submitted_at REAL,
    ended_at REAL
);
"""

_ADDED_COLUMNS = {"submitted_at": "REAL", "ended_at": "REAL"}
"""Columns added after the first release (nullable): a journal written before them gets
them when a batch opens it, and reads as None there until then."""

_COLUMNS = (
    "idx, fingerprint, request, state, task_id, credits_used, status, paths, error,"
    " submitted_at, ended_at"
)


_open: weakref.WeakValueDictionary[str, Journal] = weakref.WeakValueDictionary()
"""The journals open in this process, by real path (one never closed is forgotten when
it is collected, as its connection and lock are)."""
_open_lock = threading.Lock()


class Journal:
    """An open batch journal (see the module docs). Use as a context manager or ``close()``."""

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        self.path = Path(path)
        self.kind = kind
        self.closing = False
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._on_close: list[Callable[[], object]] = []
        self._closed = False
        try:
            if self.path.parent != Path():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._key = os.path.realpath(self.path)
        except OSError as exc:
            raise JournalError(
                f"cannot create the directory of the batch journal {self.path}: {exc}"
            ) from exc
        with _open_lock:
            holder = _open.get(self._key)
            if holder is not None:
                doing = (
                    "is stopping"
                    if holder.closing
                    else "is still running: close it first (leave its `with` block, or "
                    "call close()/aclose())"
                )
                raise JournalBusy(
                    f"the batch journal {self.path} is in use by another run: a batch of this "
                    f"process {doing}; one run per journal at a time",
                    holder,
                )
            _open[self._key] = self
        try:
            self._conn = self._connect(kind)
        except BaseException:
            self._forget()
            raise

    def _connect(self, kind: str) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                str(self.path), timeout=0.2, isolation_level=None, check_same_thread=False
            )
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"cannot open the batch journal {self.path}: {exc}") from exc
        try:
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("BEGIN EXCLUSIVE")  # takes the lock now, held until close()
            # A damaged page would otherwise surface mid-batch, request by request.
            problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
            if problems != ["ok"]:
                raise JournalError(
                    f"the batch journal {self.path} is damaged ({'; '.join(problems[:3])}): "
                    "move it away and start a new one (its task ids can still be read with "
                    "the sqlite3 tool)"
                )
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            present = {row[1] for row in conn.execute("PRAGMA table_info(requests)")}
            for column, type_ in _ADDED_COLUMNS.items():
                if column not in present:
                    conn.execute(f"ALTER TABLE requests ADD COLUMN {column} {type_}")
            found = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if not found:
                conn.execute("INSERT INTO meta VALUES ('version', ?)", (SCHEMA_VERSION,))
                conn.execute("INSERT INTO meta VALUES ('kind', ?)", (kind,))
            elif found.get("kind") != kind:
                raise JournalError(
                    f"the batch journal {self.path} was written by a batch of {found.get('kind')}s, "
                    f"not {kind}s: use another journal file"
                )
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            conn.close()
            if "locked" in str(exc):
                raise JournalError(
                    f"the batch journal {self.path} is in use by another run "
                    "(one run per journal at a time)"
                ) from exc
            raise JournalError(f"cannot use the batch journal {self.path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise JournalError(
                f"{self.path} is not a batch journal, or it is damaged: {exc} "
                "(move it away, or use another journal file)"
            ) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    # -- reading -----------------------------------------------------------------------

    def get(self, index: int) -> JournalRow | None:
        """The row of request ``index``, or None."""
        row = self._run(f"SELECT {_COLUMNS} FROM requests WHERE idx = ?", (index,))
        return None if not row else _decode(self.path, row[0])

    def counts(self) -> dict[RowState, int]:
        """How many requests are in each state."""
        rows = self._run("SELECT state, COUNT(*) FROM requests GROUP BY state")
        return {_state(self.path, state): int(n) for state, n in rows}

    def rows(self) -> list[JournalRow]:
        """Every row, by index (for tools and tests: a journal may be large)."""
        found = self._run(f"SELECT {_COLUMNS} FROM requests ORDER BY idx")
        return [_decode(self.path, r) for r in found]

    # -- writing (each call is one committed transaction) --------------------------------

    def begin(self, index: int, fingerprint: str, request: str) -> JournalRow:
        """The row of request ``index``, created ``pending`` when new."""
        self._run(
            "INSERT OR IGNORE INTO requests (idx, fingerprint, request, state, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (index, fingerprint, request, RowState.PENDING.value, time.time()),
        )
        row = self.get(index)
        assert row is not None
        return row

    def sending(self, index: int) -> None:
        """The generate request of ``index`` is about to leave: its fate is now the server's."""
        self._set(index, state=RowState.SENDING)

    def submitted(
        self, index: int, task_id: str, credits_used: int | None, *, at: float | None = None
    ) -> None:
        """The server answered with a task id (committed before anything else happens);
        ``at``: when (POSIX seconds)."""
        self._set(
            index,
            state=RowState.SUBMITTED,
            task_id=task_id,
            credits_used=credits_used,
            error=None,
            submitted_at=at,
        )

    def finished(
        self,
        index: int,
        *,
        succeeded: bool,
        status: str,
        paths: tuple[str, ...],
        error: str | None,
        at: float | None = None,
    ) -> None:
        """The task ended; ``status`` is its final status as JSON; ``at``: when the batch
        saw it end (POSIX seconds)."""
        self._set(
            index,
            state=RowState.SUCCEEDED if succeeded else RowState.FAILED,
            status=status,
            paths=json.dumps(list(paths)),
            error=error,
            ended_at=at,
        )

    def saved(self, index: int, paths: tuple[str, ...]) -> None:
        """Update the files saved for a finished request."""
        self._set(index, paths=json.dumps(list(paths)))

    def unknown(self, index: int, error: str) -> None:
        """The generate request's fate is unknown: never resubmit it."""
        self._set(index, state=RowState.UNKNOWN, error=error)

    def not_submitted(self, index: int, error: str) -> None:
        """The request was refused before processing, or never sent: a rerun may submit it."""
        self._set(index, state=RowState.NOT_SUBMITTED, error=error)

    def error(self, index: int, error: str) -> None:
        """Note an error without changing the state (a failed wait or download)."""
        self._set(index, error=error)

    def _set(self, index: int, **fields: Any) -> None:
        names = ", ".join(f"{name} = ?" for name in fields)
        values = (v.value if isinstance(v, RowState) else v for v in fields.values())
        self._run(
            f"UPDATE requests SET {names}, updated_at = ? WHERE idx = ?",
            (*values, time.time(), index),
        )

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (its own committed transaction); its rows."""
        with self._lock:
            if self._conn is None:
                raise JournalError(f"the batch journal {self.path} is closed")
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(f"the batch journal {self.path} failed: {exc}") from exc

    # -- lifecycle -----------------------------------------------------------------------

    def close_soon(self) -> None:
        """Say that its run is stopping: a new run in this process may wait for ``close()``."""
        self.closing = True

    def when_closed(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` (from any thread) once the journal is closed; now if it is."""
        with self._lock:
            closed = self._closed
            if not closed:
                self._on_close.append(callback)
        if closed:
            callback()

    def close(self) -> None:
        """Close the connection (and release the file)."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()
        self._forget()

    def _forget(self) -> None:
        """No longer open in this process: tell whoever waits for it."""
        with _open_lock:
            if _open.get(self._key) is self:
                del _open[self._key]
        with self._lock:
            self._closed = True
            callbacks, self._on_close = self._on_close, []
        for callback in callbacks:
            callback()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _state(path: Path, value: object) -> RowState:
    try:
        return RowState(value)
    except ValueError:
        raise JournalError(
            f"the batch journal {path} holds a request in the state {value!r}, which this "
            "version of nanobanana does not know (was it written by a newer one?)"
        ) from None


def _decode(path: Path, row: tuple[Any, ...]) -> JournalRow:
    """A row of ``SELECT {_COLUMNS}``."""
    idx, fp, request, state, task_id, credits_used, status, paths, error, sent, ended = row
    return JournalRow(
        index=int(idx),
        fingerprint=str(fp),
        request=str(request),
        state=_state(path, state),
        task_id=task_id,
        credits_used=credits_used,
        status=status,
        paths=tuple(json.loads(paths)) if paths else (),
        error=error,
        submitted_at=sent,
        ended_at=ended,
    )


# -- reading a journal for a report --------------------------------------------------------


@attrs.frozen
class JournalSnapshot:
    """What a journal held when it was read: its kind (``"image"``/``"video"``), every row
    by index, and whether a batch was running on it then (its rows may still change)."""

    path: Path
    kind: str
    rows: tuple[JournalRow, ...]
    running: bool


SNAPSHOT_ATTEMPTS = 5
"""Copies of a journal in use tried before giving up (one fails only when the batch moved
its log on while it was being copied)."""


def read_journal(path: str | os.PathLike[str]) -> JournalSnapshot:
    """Every row of the journal at ``path``, read without disturbing a batch that holds it.

    Without a write-ahead log beside it, no batch has it open: the file is read as it is.
    With one, a read-only connection reads it, unless a batch holds it (its lock refuses
    every other connection): then a copy of the file and of its log is read instead, taken
    again if the batch moved its log on meanwhile, and ``running`` is True.
    ``JournalError`` when it is missing, not a journal, or unreadable.
    """
    journal = Path(path)
    if not journal.is_file():
        raise JournalError(f"no batch journal at {journal}")
    if not journal.with_name(journal.name + "-wal").exists():
        # No log: nothing is written but to it, so the file alone is the whole journal
        # (immutable: no lock taken, no -shm file left behind).
        return _read(journal, journal, options="mode=ro&immutable=1", running=False)
    try:
        # A log and no lock: a batch was killed (its rerun replays the log).
        return _read(journal, journal, options="mode=ro", running=False)
    except _Locked:
        pass
    last: BaseException | None = None
    for _ in range(SNAPSHOT_ATTEMPTS):
        with tempfile.TemporaryDirectory(prefix="nanobanana-journal-") as tmp:
            try:
                copy = _copy_in_use(journal, Path(tmp))
                if copy is not None:
                    return _read(copy, journal, options="mode=ro", running=True)
            except (_Locked, JournalError) as exc:
                last = exc
    raise JournalError(
        f"could not read the batch journal {journal} while a batch is using it: {last}"
    )


class _Locked(Exception):
    """The journal is held by a running batch."""


def _read(file: Path, named: Path, *, options: str, running: bool) -> JournalSnapshot:
    """The rows of the journal ``file`` (``named`` in messages), through a connection
    with the URI ``options``, closed at once (a batch starting meanwhile waits for it)."""
    uri = f"{file.resolve().as_uri()}?{options}"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=0.2)
    except sqlite3.Error as exc:
        raise JournalError(f"cannot open the batch journal {named}: {exc}") from exc
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        present = {row[1] for row in conn.execute("PRAGMA table_info(requests)")}
        columns = ", ".join(
            c.strip() if c.strip() in present else "NULL" for c in _COLUMNS.split(",")
        )
        found = conn.execute(f"SELECT {columns} FROM requests ORDER BY idx").fetchall()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            raise _Locked from exc
        raise JournalError(f"{named} is not a batch journal, or it is damaged: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise JournalError(f"{named} is not a batch journal, or it is damaged: {exc}") from exc
    finally:
        conn.close()
    kind = meta.get("kind")
    if kind not in ("image", "video"):
        raise JournalError(f"{named} is not a batch journal (it names no kind of request)")
    rows = tuple(_decode(named, row) for row in found)
    return JournalSnapshot(named, str(kind), rows, running)


def _log_generation(wal: Path) -> bytes:
    """What tells one write-ahead log from the next: the checkpoint sequence and salts of
    its header (b"" when there is none)."""
    try:
        with wal.open("rb") as f:
            return f.read(24)[12:]
    except FileNotFoundError:
        return b""


def _copy_in_use(journal: Path, into: Path) -> Path | None:
    """A copy of a journal a batch holds, with its write-ahead log; None when the batch
    moved its log on while it was being copied (try again)."""
    wal = journal.with_name(journal.name + "-wal")
    copy = into / "journal.sqlite"
    before = _log_generation(wal)
    try:
        shutil.copyfile(journal, copy)
        if before:
            shutil.copyfile(wal, into / "journal.sqlite-wal")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise JournalError(f"cannot read the batch journal {journal}: {exc}") from exc
    if _log_generation(into / "journal.sqlite-wal") != before:
        return None
    return copy
