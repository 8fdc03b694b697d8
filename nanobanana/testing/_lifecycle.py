"""Tasks from birth to their final status: ids, drawn durations, failures, the content
filter, and the status a task shows at a given instant.

A task is planned once, when it is created (its duration and whether it fails are drawn
then), and its status is computed from that plan and the time asked: nothing runs in the
background.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

from ._records import TaskInfo
from ._wire import Refusal

__all__ = ["DEFAULT_DURATIONS", "Distribution", "Ids", "Lifecycle", "status_data"]

Distribution: TypeAlias = float | tuple[float, float] | Callable[[random.Random], float]
"""A task duration in API seconds: a fixed number, a (low, high) uniform range, or a
callable drawing from the simulator's seeded ``random.Random``."""

DEFAULT_DURATIONS: Mapping[str, Distribution] = {
    "image": (10.0, 20.0),
    "video": (60.0, 300.0),
}

_ALPHABET = string.ascii_lowercase + string.digits


class Ids:
    """Keys, task ids and result tokens.

    Reproducible with a seed; otherwise seeded from ``os.urandom``, so two simulators (two
    runs of ``nanobanana --fake``, two processes) never hand out the same task id and a
    rerun never overwrites the files of an earlier one.
    """

    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(None if seed is None else seed + 1)

    def _draw(self, n: int) -> str:
        return "".join(self._rng.choice(_ALPHABET) for _ in range(n))

    def key(self) -> str:
        """A new API key."""
        return "nb_sk_fake_" + self._draw(24)

    def task_id(self, taken: Mapping[str, object]) -> str:
        """A task id not in ``taken`` (a seeded simulator may have loaded a state file
        written by a run with the same seed)."""
        while True:
            task_id = "clx" + self._draw(22)
            if task_id not in taken:
                return task_id

    def token(self) -> str:
        """A new result-URL token."""
        return self._draw(16)


class Lifecycle:
    """The tasks, and how new ones are planned. Not locked: the service calls it under
    its lock (``durations``, ``failure_rate`` and ``content_filter`` may change any time)."""

    def __init__(
        self,
        ids: Ids,
        *,
        seed: int | None,
        durations: Mapping[str, Distribution] | None,
        failure_rate: float | Mapping[str, float],
        content_filter: Sequence[str],
    ) -> None:
        self.ids = ids
        self.durations: dict[str, Distribution] = {**DEFAULT_DURATIONS, **(durations or {})}
        self.failure_rate = failure_rate
        self.content_filter: tuple[str, ...] = tuple(content_filter)
        self.tasks: dict[str, TaskInfo] = {}
        self.on_task: Callable[[TaskInfo], None] | None = None
        """Called with every task a generate request creates."""
        self.on_seen_ended: Callable[[float], None] | None = None
        """Called with the instant a status answer first shows some task ended."""
        self._seen_ended: set[str] = set()
        self._rng = random.Random(seed)

    def screen(self, *texts: Any) -> None:
        """451 when a text contains a filtered term (case-insensitive)."""
        for text in texts:
            if not isinstance(text, str):
                continue
            lowered = text.lower()
            for term in self.content_filter:
                if term.lower() in lowered:
                    raise Refusal(451, "CONTENT_FILTERED", "Content was rejected by safety filters")

    def _draw(self, dist: Distribution) -> float:
        if callable(dist):
            value = float(dist(self._rng))
        elif isinstance(dist, tuple):
            low, high = dist
            value = self._rng.uniform(float(low), float(high))
        else:
            value = float(dist)
        return max(0.0, value)

    def _failure_rate(self, kind: str, model: str) -> float:
        rate = self.failure_rate
        if isinstance(rate, Mapping):
            return float(rate.get(model, rate.get(kind, 0.0)))
        return float(rate)

    def create(
        self,
        kind: Literal["image", "video"],
        model: str,
        key_hash: str,
        now: float,
        price: int,
        params: Mapping[str, Any],
        *,
        outputs: int,
        extension: str,
    ) -> TaskInfo:
        """Plan a new task (duration, outcome) and keep it."""
        duration = self._draw(self.durations.get(model, self.durations[kind]))
        rate = self._failure_rate(kind, model)
        fails = rate > 0 and self._rng.random() < rate
        final_progress = 100
        if fails:
            share = self._rng.uniform(0.3, 1.0)
            duration *= share
            final_progress = min(99, int(100 * share))
        task = TaskInfo(
            task_id=self.ids.task_id(self.tasks),
            kind=kind,
            model=model,
            key_hash=key_hash,
            created=now,
            duration=duration,
            fails=fails,
            error=(
                "Generation failed: the provider returned an error (simulated)" if fails else None
            ),
            credits=price,
            params=dict(params),
            outputs=outputs,
            extension=extension,
            token=self.ids.token(),
            final_progress=final_progress,
        )
        self.tasks[task.task_id] = task
        if self.on_task is not None:
            self.on_task(task)
        return task

    def answered(self, task: TaskInfo, now: float) -> None:
        """A status answer about ``task`` went out at ``now``."""
        if now < task.ends or task.task_id in self._seen_ended:
            return
        self._seen_ended.add(task.task_id)
        if self.on_seen_ended is not None:
            self.on_seen_ended(now)

    def clear(self) -> None:
        """Forget every task."""
        self.tasks.clear()
        self._seen_ended.clear()


def status_data(
    task: TaskInfo,
    now: float,
    *,
    urls: Callable[[TaskInfo], list[str]],
    iso: Callable[[float], str],
) -> dict[str, Any]:
    """The ``data`` of a status answer at instant ``now``; ``urls`` gives the result URLs,
    ``iso`` formats a simulated instant."""
    url_key = "image_url" if task.kind == "image" else "video_url"
    if now < task.ends:
        elapsed = max(0.0, now - task.created)
        progress = min(99, int(100 * elapsed / task.duration)) if task.duration > 0 else 99
        return {
            "task_id": task.task_id,
            "status": "pending" if task.kind == "image" else "processing",
            "progress": progress,
            url_key: None,
            "completed_at": None,
        }
    if task.fails:
        return {
            "task_id": task.task_id,
            "status": "failed",
            "progress": task.final_progress,
            url_key: None,
            "completed_at": iso(task.ends),
            "error": task.error,
        }
    found = urls(task)
    data: dict[str, Any] = {
        "task_id": task.task_id,
        "status": "completed" if task.kind == "image" else "succeeded",
        "progress": 100,
        url_key: found[0],
        "completed_at": iso(task.ends),
    }
    if len(found) > 1:
        data["image_urls"] = found
    return data
