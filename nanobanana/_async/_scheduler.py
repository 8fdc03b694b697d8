"""One poll scheduler per client: which waiting task polls next, earliest due first.

The client owns it (``client._poll_scheduler``), with what the client learns from its
polls: the first-poll tracker, when its tasks were submitted, how its handles ended.
Clients made by ``with_options`` share it, as they share the budget.

Waiters do not each run a loop that races the others for the budget. A waiter registers
``(due, seq)`` in one heap and sleeps until its due time; then it asks for a *turn*. At
most ``POLL_SLOTS`` turns (8) are out at a time, and a turn covers one status request,
from the moment it queues in the limiter until its answer. So at most eight polls ever
wait in the FIFO limiter, and a submission queued there is never stuck behind a crowd of
polls. When a turn ends, the earliest-due waiter that is due gets the next one.

There is no background task: a waiter's own timer, and the release of a turn, are the
only things that hand out turns, each in O(log n) and waking only the waiter it serves.
A cancelled waiter gives its turn back or withdraws its entry on the way out.

Critical sections hold a ``threading.Lock`` and never wait inside it, so one scheduler
serves the tasks of an event loop and many threads alike.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
from typing import Any

from .._concurrency import AsyncEvent
from .._outcomes import Outcomes
from .._polling import DurationTracker, Submissions

__all__ = ["AsyncPollScheduler"]

POLL_SLOTS = 8
"""Polls that may be queued or in flight in the limiter at once, per client.

Small, so a submission never waits behind more than a few polls; not smaller, because a
turn is held for the poll's whole wait in the limiter queue: with 2 slots, under a busy
budget, polls trickled through at two per queue wait and results came back late
(benchmarks/bench_polling.py: stream p95 ~44 s with 2 slots, ~36 s with 8)."""


class _Entry:
    __slots__ = ("due", "event", "granted", "live", "seq")

    def __init__(self, due: float, seq: int) -> None:
        self.due = due
        self.seq = seq
        self.event = AsyncEvent()
        self.granted = False
        self.live = True

    def __lt__(self, other: _Entry) -> bool:
        return (self.due, self.seq) < (other.due, other.seq)


class AsyncPollScheduler:
    """Hands out poll turns, earliest due first, at most ``slots`` at a time.

    Also holds the client's memory of its tasks: ``tracker`` (adaptive first polls),
    ``submissions`` (when each was sent) and ``outcomes`` (how each handle ended).
    """

    def __init__(self, clock: Any, slots: int = POLL_SLOTS) -> None:
        self._clock = clock
        self._slots = slots
        self._active = 0
        self._heap: list[_Entry] = []
        self._live = 0
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self.tracker: DurationTracker = DurationTracker()
        self.submissions: Submissions = Submissions()
        self.outcomes: Outcomes = Outcomes()

    def now(self) -> float:
        """The client's clock (API seconds)."""
        now: float = self._clock.now()
        return now

    @property
    def waiting(self) -> int:
        """Waiters registered and not yet served."""
        return self._live

    @property
    def active(self) -> int:
        """Turns currently out (polls queued in the limiter or in flight)."""
        return self._active

    def _dispatch(self) -> None:
        """Grant turns to due waiters, earliest first (call with the lock held)."""
        heap = self._heap
        now = self._clock.now()
        while heap and self._active < self._slots:
            top = heap[0]
            if not top.live:
                heapq.heappop(heap)
                continue
            if top.due > now:
                break
            heapq.heappop(heap)
            top.live = False
            top.granted = True
            self._live -= 1
            self._active += 1
            top.event.set()
        if len(heap) > 64 and len(heap) > 2 * self._live:
            # Many withdrawn entries: rebuild so the heap stays proportional to the waiters.
            self._heap = [e for e in heap if e.live]
            heapq.heapify(self._heap)

    def _withdraw(self, entry: _Entry) -> bool:
        """Remove ``entry``; True when it had been granted a turn (which the caller owns)."""
        with self._lock:
            if entry.granted:
                return True
            if entry.live:
                entry.live = False
                self._live -= 1
            return False

    def release(self) -> None:
        """End a turn and hand the next one to the earliest-due waiter."""
        with self._lock:
            self._active -= 1
            self._dispatch()

    async def turn(self, due: float, deadline: float) -> bool:
        """Wait until ``due`` and for a turn; False when ``deadline`` passes first.

        True means the caller holds a turn and must call ``release()`` when its poll ends.
        """
        # Sleep until due before registering: a waiter that is not due yet needs no entry
        # and no event (most of a waiting task's memory, with thousands waiting at once).
        now = self._clock.now()
        if due > now:
            await self._clock.asleep(min(due, deadline) - now)
            # It has waited for its time. A clock read back a hair short of ``due`` (float
            # rounding, a timer firing early) must not leave it waiting for time that a
            # manual clock never lets pass by itself.
            due = min(due, self._clock.now())
        entry = _Entry(due, next(self._seq))
        with self._lock:
            heapq.heappush(self._heap, entry)
            self._live += 1
        try:
            while True:
                with self._lock:
                    if not entry.granted:
                        self._dispatch()
                    if entry.granted:
                        return True
                now = self._clock.now()
                if now >= deadline:
                    return self._withdraw(entry)
                wait = (entry.due if entry.due > now else deadline) - now
                await entry.event.wait(None if math.isinf(wait) else self._clock.to_real(wait))
        except BaseException:
            if self._withdraw(entry):
                self.release()
            raise
