"""A simulator's tasks kept in a file, so a later simulator (another process) knows them.

``FakeNanoBanana(state=PATH)`` reads the tasks an earlier simulator wrote to PATH, then
appends every task it creates, one JSON line each, flushed at once: a process killed
mid-batch loses none of them. This is what lets ``nanobanana --fake batch --journal J``
resume: the journal keeps task ids, and the simulator of the rerun must know those ids
(a real server does).

What is kept: each task as planned (id, kind, model, parameters, start, duration,
outcome, price, result token). What is not: requests, charges, rate windows, faults and
keys. Loaded tasks belong to the new simulator's ``api_key`` and their price is taken off
its balance. Simulated time does not pass while no simulator runs: the new one starts at
the latest instant the file records (or now, if that is later): a task's start, or the
moment a status answer first showed a task ended (a ``seen`` line). So what the earlier
run saw finish is finished for the new one, and a task it left running goes on from where
it was.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._records import TaskInfo

__all__ = ["StateFile"]

_HEADER = {"nanobanana_fake_state": 1}


class StateFile:
    """The JSON-lines file of ``FakeNanoBanana(state=...)``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._records = list(self._read())

    def _read(self) -> Iterator[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        lines = text.splitlines()
        if not lines:
            return
        try:
            header = json.loads(lines[0])
        except ValueError:
            header = None
        if header != _HEADER:
            raise ValueError(f"{self.path} is not a nanobanana simulator state file")
        for line in lines[1:]:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # the last line of a killed process may be cut short
            if isinstance(record, dict) and (
                isinstance(record.get("task_id"), str) or isinstance(record.get("seen"), float)
            ):
                yield record

    def latest(self) -> datetime | None:
        """The latest simulated instant the file records (a task's start, or when a task
        was seen ended), if any."""
        instants = [
            float(r[field])
            for r in self._records
            for field in ("created", "seen")
            if isinstance(r.get(field), (int, float))
        ]
        return datetime.fromtimestamp(max(instants), timezone.utc) if instants else None

    def tasks(self, key_hash: str, created_at: Callable[[datetime], float]) -> list[TaskInfo]:
        """The recorded tasks for a simulator: owned by ``key_hash``; ``created_at(wall)``
        maps a simulated date-time to that simulator's clock."""
        tasks: list[TaskInfo] = []
        for r in self._records:
            if "task_id" not in r:
                continue  # a "seen" line
            try:
                start = datetime.fromtimestamp(r["created"], timezone.utc)
                tasks.append(
                    TaskInfo(
                        task_id=r["task_id"],
                        kind=r["kind"],
                        model=r["model"],
                        key_hash=key_hash,
                        created=created_at(start),
                        duration=float(r["duration"]),
                        fails=bool(r["fails"]),
                        error=r["error"],
                        credits=int(r["credits"]),
                        params=dict(r["params"]),
                        outputs=int(r["outputs"]),
                        extension=r["extension"],
                        token=r["token"],
                        final_progress=int(r["final_progress"]),
                    )
                )
            except (KeyError, TypeError, ValueError, OverflowError):
                continue  # a line this version cannot read: that task is unknown
        return tasks

    def append(self, task: TaskInfo, start: datetime) -> None:
        """Record a new task that started at simulated date-time ``start``."""
        record = {
            "task_id": task.task_id,
            "kind": task.kind,
            "model": task.model,
            "created": start.timestamp(),
            "duration": task.duration,
            "fails": task.fails,
            "error": task.error,
            "credits": task.credits,
            "params": dict(task.params),
            "outputs": task.outputs,
            "extension": task.extension,
            "token": task.token,
            "final_progress": task.final_progress,
        }
        self._write(json.dumps(record, separators=(",", ":")) + "\n")

    def seen(self, instant: datetime) -> None:
        """Record that a status answer at simulated date-time ``instant`` first showed a
        task ended: a later simulator must not start before it."""
        self._write(json.dumps({"seen": instant.timestamp()}) + "\n")

    def _write(self, line: str) -> None:
        with self._lock:
            new = not self.path.exists() or self.path.stat().st_size == 0
            if new and self.path.parent != Path():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                if new:
                    handle.write(json.dumps(_HEADER) + "\n")
                handle.write(line)
                handle.flush()
