"""One poll scheduler per client: which waiting task polls next, oldest task first.

The client owns it (``client._poll_scheduler``), with what the client learns from its
polls: the first-poll tracker, when its tasks were submitted, how its handles ended.
Clients made by ``with_options`` share it, as they share the budget.

Waiters do not each run a loop that races the others for the budget. A waiter sleeps
until its due time; then it registers ``(rank, seq)`` in one heap and asks for a *turn*.
At most ``POLL_SLOTS`` turns (8) are out at a time, and a turn covers one status request,
from the moment it queues in the limiter until its answer. So at most eight polls ever
wait in the limiter, and a submission queued there is never stuck behind a crowd of
polls. When a turn ends, the due waiter of the lowest rank gets the next one: the task
submitted first (``PollState.rank``), so the task that has waited longest for its result
is not held behind younger ones. (The budget itself stays first come, first served:
ranking every request by its task's age there, or submissions before polls, only moves
queueing between a task's submission and its poll, and measured worse:
benchmarks/bench_polling.py, 4 arrival sequences: polls by task age, worst stream 1.66 x
the oracle's p95 (drift); submissions strictly first, 1.40 (fast). Polls ranked by their
due time with submissions, or a few seconds ahead or behind them, or only the polls
planned from progress ahead: no change beyond the noise, +-0.03.)

There is no background task: a waiter's own timer, and the release of a turn, are the
only things that hand out turns, each in O(log n) and waking only the waiter it serves.
A cancelled waiter gives its turn back or withdraws its entry on the way out; so does one
whose client was closed meanwhile (``stop``, the client's close signal, ends its sleep or
its queueing at once).

Critical sections hold a ``threading.Lock`` and never wait inside it, so one scheduler
serves the tasks of an event loop and many threads alike.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
from typing import Any

from .._concurrency import AsyncWakeup, StopSignal
from .._durations import DurationTracker
from .._outcomes import Outcomes
from .._polling import Submissions
from ._stopping import StoppableClock, wait_or_stop

__all__ = ["AsyncPollScheduler"]

POLL_SLOTS = 8
"""Polls that may be queued or in flight in the limiter at once, per client.

Small, so a submission never waits behind more than a few polls; not smaller, because a
turn is held for the poll's whole wait in the limiter queue: with 2 slots, under a busy
budget, polls trickled through at two per queue wait and results came back late
(benchmarks/bench_polling.py: stream p95 ~44 s with 2 slots, ~36 s with 8)."""


class _Entry:
    __slots__ = ("event", "granted", "live", "rank", "seq")

    def __init__(self, rank: float, seq: int) -> None:
        self.rank = rank
        self.seq = seq
        self.event = AsyncWakeup()  # a close from another thread may wake it too
        self.granted = False
        self.live = True

    def __lt__(self, other: _Entry) -> bool:
        return (self.rank, self.seq) < (other.rank, other.seq)


class AsyncPollScheduler:
    """Hands out poll turns to due waiters, lowest rank first, at most ``slots`` at a time.

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
        """Grant turns to waiters, lowest rank first (call with the lock held). Every
        entry is due: a waiter registers once its time has come."""
        heap = self._heap
        while heap and self._active < self._slots:
            top = heap[0]
            heapq.heappop(heap)
            if not top.live:
                continue
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
        """End a turn and hand the next one to the waiter of the lowest rank."""
        with self._lock:
            self._active -= 1
            self._dispatch()

    async def turn(
        self,
        due: float,
        deadline: float,
        rank: float | None = None,
        stop: StopSignal | None = None,
    ) -> bool:
        """Wait until ``due`` and for a turn; False when ``deadline`` passes first.

        ``rank``: the waiter's place among due waiters (lowest first; None: ``due``).
        True means the caller holds a turn and must call ``release()`` when its poll ends.
        ``stop`` (the caller's client's close; clients sharing this scheduler may not share
        it) ends the wait at once when it fires, raising its error, without moving the
        clock; a turn granted meanwhile goes to the next waiter.
        """
        stops = () if stop is None else (stop,)
        # Sleep until due before registering: a waiter that is not due yet needs no entry
        # and no event (most of a waiting task's memory, with thousands waiting at once).
        now = self._clock.now()
        if due > now:
            clock = StoppableClock(self._clock, *stops) if stops else self._clock
            if deadline < due:  # the deadline comes first: no poll
                await clock.asleep(deadline - now)
                return False
            await clock.asleep(due - now)
            # It has waited for its time (a clock read back a hair short of ``due``, float
            # rounding or a timer firing early, does not make it wait again: a manual
            # clock never lets that time pass by itself).
        entry = _Entry(due if rank is None else rank, next(self._seq))
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
                wait = deadline - now
                real = None if math.isinf(wait) else self._clock.to_real(wait)
                await wait_or_stop(entry.event, real, *stops)
        except BaseException:
            if self._withdraw(entry):
                self.release()
            raise
