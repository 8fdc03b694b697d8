"""The server's clock, as the client can know it: the offset between the two clocks,
bounded by what answers say (a task's ``completed_at``, a response's ``Date``).

Durations read off ``completed_at`` need it: the server stamps a task's end on its own
clock, and the client knows only when it sent a poll and when the answer came. Pure:
times come in as arguments. ``_durations.DurationTracker`` owns one and feeds it.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

__all__ = ["OFFSET_DRIFT", "ClockOffset", "timestamp"]

OFFSET_DRIFT = 1e-4
"""Seconds per second by which a bound on the server's clock offset loosens as it ages:
clocks drift (NTP slews them by at most 5e-4)."""


class ClockOffset:
    """The server's clock minus the client's (seconds), read off tasks' ``completed_at``
    and the ``Date`` of status answers.

    A poll answered at client time ``r`` that finds a task ended, with ``completed_at``
    ``c`` (server seconds; the task ended at ``c`` or within the second after, when the
    server writes whole seconds), bounds the offset from below: the task ended before the
    answer, so ``offset >= c - r``. A task that ended just before its poll makes the bound
    tight, and over many tasks some do (a second poll planned from progress lands just
    after its task's end): the estimate is the tightest bound seen, the second tightest
    once there are eight (one wrong ``completed_at`` cannot move it). Bounds are kept
    however old (first polls may find tasks long ended for a while: drifting durations),
    loosened by ``OFFSET_DRIFT`` a second of age, so a clock that drifts is followed.
    Its error makes ends come out a little late, never early. A task that a poll sent at
    ``s`` found running ended after ``s``: ``offset < c + 1 - s``; an estimate above that
    (a server clock stepped back) is dropped for that bound. A ``Date`` ``D`` answered at
    ``r`` bounds it the same way (``offset >= D - r``), from every answer: tight within a
    few of them, whenever the polls come.
    """

    __slots__ = ("_best", "_completed", "_count", "_whole")

    def __init__(self) -> None:
        self._best: list[tuple[float, float]] = []
        """The two tightest bounds (as aged now) and when they were noted."""
        self._count = 0
        self._completed = False
        """Whether a completion time was seen."""
        self._whole = True
        """Whether every completion time seen so far was a whole second."""

    @property
    def known(self) -> bool:
        """Whether a completion time was seen (durations can be read from them)."""
        return self._completed

    def _bound(self, bound: float, at: float) -> None:
        """Note a lower bound on the offset, noted at client time ``at``."""
        self._count += 1
        self._best.append((bound, at))
        self._best.sort(key=lambda b: b[0] - OFFSET_DRIFT * (at - b[1]))
        del self._best[:-2]

    def date(self, date: float, answered: float) -> None:
        """Note a response's ``Date`` (server seconds, whole: it rounds down) answered at
        client time ``answered``: the server's clock read at least ``date`` before then.
        Every response bounds the offset, not only those finding a task just ended: a
        bound from completion times alone stays loose while first polls come late, and
        reads every duration long by as much, which keeps them late."""
        self._bound(date - answered, answered)

    def _aged(self, now: float) -> list[float]:
        return sorted((b - OFFSET_DRIFT * max(0.0, now - at) for b, at in self._best), reverse=True)

    def offset(self, now: float) -> float | None:
        """The estimate at client time ``now``; None before any completion time."""
        aged = self._aged(now)
        if not aged:
            return None
        return aged[1] if self._count >= 8 and len(aged) > 1 else aged[0]

    def end(
        self, completed: float, answered: float, running_at: float | None
    ) -> tuple[float, float]:
        """Note a task seen ended at ``completed`` (server seconds) by a poll answered at
        ``answered`` (client seconds), and found running by one sent at ``running_at``
        (None: none did); the client times between which it ended (a second apart when
        the server writes whole seconds: it rounds down)."""
        self._whole = self._whole and completed == math.floor(completed)
        self._completed = True
        self._bound(completed - answered, answered)
        late = completed + (1.0 if self._whole else 0.0)
        offset = self.offset(answered)
        assert offset is not None
        if running_at is not None and offset > late - running_at:
            # Ended after a poll that found it running: the offset is less than that.
            self._best, self._count = [(late - running_at, answered)], 1
            offset = late - running_at
        return completed - offset, late - offset


def timestamp(value: Any) -> float | None:
    """A status's ``completed_at`` as seconds of the server's clock; None when absent or
    not a date-time."""
    if not isinstance(value, datetime):
        return None
    try:
        when = value.timestamp()
    except (OverflowError, OSError, ValueError):
        return None
    return when if math.isfinite(when) else None
