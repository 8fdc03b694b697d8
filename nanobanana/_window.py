"""The arithmetic of the per-key budget: a sliding window of N slots. Pure: no I/O, no clock.

The server allows at most ``N`` requests in any ``W`` seconds, counted by *arrival* time.
We cannot see arrival times, only when we send a request and when its answer comes back,
and the arrival lies somewhere between the two. So:

* each request holds one of ``N`` slots from the moment it is sent (``acquire``) until
  ``W`` seconds (plus a small safety margin) after its response arrives (``release``);
* a request that provably never left this process (``release(sent=False)``) frees its
  slot at once;
* waiters queue with FIFO tickets: only the oldest live ticket may take a slot;
* ``pause_until(t)`` (after a 429) holds every waiter until ``t``.

Why it is safe: two requests that use the same slot arrive at least ``W`` apart, since the
later one is sent ``W`` after the earlier one's response, which came after its arrival.
So any ``W``-second span of arrivals holds at most one request per slot: at most ``N``,
at the start (the first burst), with requests still in flight, and whatever the latency.

Why it is fast: a slot is idle only for the response latency plus the margin, so a
sustained run reaches ``W / (W + margin + latency)`` of the permitted ``N / W``.

Why a plain token bucket is not enough: capacity ``N`` refilled at ``N / W`` admits ``N``
at once and ``N`` more during the first ``W`` seconds (about ``2N`` in the first window).

The safety margin (``SAFETY_MARGIN`` of ``W``, 1%, at most ``MAX_MARGIN``, 0.25 s: so
0.25 s for the API's 60 s window, 10 ms for a 1 s window) covers what causality does not:
a request whose answer never came (a timeout, a reset) that still reaches the server a
little after we gave up; a server that stamps arrivals a little late, or counts its window
inclusively ``[t - W, t]``; clock-rate differences between client and server (50 ppm is
3 ms a minute); and timers that fire a hair early. That is a few milliseconds in all;
0.25 s is a wide cushion over it, at a cost of 0.4% of the API's throughput. The
property test in tests/test_window.py drives random traffic with such jitter against a
strict-window checker, and shows that without the margin the checker catches an N+1-th.

Two more facts live here, so the layers above only lock and wake:

* **Blocking waiters.** A waiter may say it blocks its owner (a thread): a sync client's
  wait does. While it waits, nothing else of that owner can run (an event loop on that
  thread is stuck in the blocking call), so the owner's other waiters cannot take a turn:
  the queue passes over them, and everyone behind goes on, the blocking waiter included.
  They keep their place for when their thread runs again. If every slot is in flight and
  every request in flight belongs to a blocked owner, no answer can ever come back: the
  blocking waiter is withdrawn with ``Deadlock`` instead of waiting forever.
* **When a window may be forgotten.** Once nothing is in flight, nobody waits, no slot is
  held and no pause runs, the window behaves exactly like a new one (``forgettable_at``).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Hashable

__all__ = [
    "MAX_MARGIN",
    "SAFETY_MARGIN",
    "Deadlock",
    "SlidingWindow",
    "default_margin",
]

SAFETY_MARGIN = 0.01
"""The extra hold after ``W``, as a fraction of ``W`` (1%)..."""
MAX_MARGIN = 0.25
"""...but never more than this many seconds."""


def default_margin(per: float) -> float:
    """The safety margin for a window of ``per`` seconds: 1% of it, at most 0.25 s.

    The one default of both limiters, the built-in one and ``RedisRateLimiter``: the
    causes it covers (above) are the same wherever the window's state lives.
    """
    return min(SAFETY_MARGIN * per, MAX_MARGIN)


_INF = math.inf


class Deadlock(Exception):
    """A blocking waiter can never be served: every slot is held by a request in flight
    whose owner is blocked waiting in this window. The ticket has been withdrawn."""


class SlidingWindow:
    """N slots, each held from send until ``per`` (+ margin) seconds after the response.

    Times are floats in one monotonic time base chosen by the caller; owners are any
    hashable values (the shared limiter uses thread ids). Not thread-safe: the shared
    limiter calls it under its own lock.
    """

    __slots__ = (
        "_blocked",
        "_free",
        "_held",
        "_in_flight",
        "_last_free",
        "_live",
        "_next_ticket",
        "_paused_until",
        "_queue",
        "margin",
        "per",
        "requests",
    )

    def __init__(self, requests: int, per: float, *, margin: float | None = None) -> None:
        if isinstance(requests, bool) or not isinstance(requests, int) or requests < 1:
            raise ValueError(f"requests must be a positive int, got {requests!r}")
        if not per > 0:
            raise ValueError(f"per must be a positive number of seconds, got {per!r}")
        self.requests = requests
        self.per = float(per)
        self.margin = float(default_margin(per) if margin is None else margin)
        if self.margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin!r}")
        # Times at which the free slots may be used again (-inf: never used). A heap, since
        # concurrent releases can arrive with slightly out-of-order ``now`` values.
        self._free: list[float] = [-_INF] * requests
        self._last_free = -_INF  # the latest time any slot frees
        self._in_flight = 0
        self._held: dict[Hashable, int] = {}  # owner -> slots its requests hold in flight
        self._paused_until = -_INF
        self._queue: deque[int] = deque()
        self._live: dict[int, tuple[Hashable, bool]] = {}  # waiting: ticket -> (owner, blocking)
        self._blocked: dict[Hashable, int] = {}  # owner -> its blocking tickets waiting
        self._next_ticket = 0

    # -- the queue ---------------------------------------------------------------------

    def enqueue(self, owner: Hashable = None, *, blocking: bool = False) -> int:
        """A new FIFO ticket, at the back of the queue, for a waiter of ``owner``.

        ``blocking``: the waiter blocks its owner while it waits (a sync call on a
        thread), so the owner's other waiters are passed over until it is done.
        """
        ticket = self._next_ticket
        self._next_ticket += 1
        self._queue.append(ticket)
        self._live[ticket] = (owner, blocking)
        if blocking:
            self._blocked[owner] = self._blocked.get(owner, 0) + 1
        return ticket

    def cancel(self, ticket: int) -> bool:
        """Withdraw a waiting ticket (its waiter gave up). True when the head changed, so
        the new head should be told it may go."""
        if ticket not in self._live:
            return False
        before = self.head()
        self._withdraw(ticket)
        return self.head() != before

    def head(self) -> int | None:
        """The ticket that is served next, or None when nobody waits: the oldest, passing
        over the waiters of a blocked owner (they cannot run until its blocking waiter is
        done, which is never passed over)."""
        self._prune()
        blocked, live = self._blocked, self._live
        if not blocked:
            return self._queue[0] if self._queue else None
        for ticket in self._queue:
            entry = live.get(ticket)
            if entry is not None and (entry[1] or entry[0] not in blocked):
                return ticket
        return None

    def _withdraw(self, ticket: int) -> None:
        owner, blocking = self._live.pop(ticket)
        if blocking:
            left = self._blocked[owner] - 1
            if left:
                self._blocked[owner] = left
            else:
                del self._blocked[owner]
        self._prune()

    def _prune(self) -> None:
        queue, live = self._queue, self._live
        while queue and queue[0] not in live:
            queue.popleft()

    def _stuck(self) -> bool:
        """No slot will ever free: all are in flight, held by blocked owners only."""
        return not self._free and all(owner in self._blocked for owner in self._held)

    @property
    def waiting(self) -> int:
        """Tickets still in the queue."""
        return len(self._live)

    # -- slots -------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Slots held by requests whose answer has not come back."""
        return self._in_flight

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def next_free(self) -> float:
        """The earliest time a slot may be taken, ignoring the queue (inf: every slot is in
        flight, so the time is unknown until a release)."""
        earliest = self._free[0] if self._free else _INF
        return max(earliest, self._paused_until)

    def try_acquire(self, ticket: int, now: float) -> float | None:
        """Take a slot for ``ticket`` at ``now``: None when taken (the ticket leaves the queue).

        Otherwise the time to try again: a finite time when the ticket is at the head and
        waits for a known moment; inf when it waits for a release or for its turn.
        Raises ``Deadlock`` (and withdraws the ticket) when it blocks its owner and can
        never be served.
        """
        entry = self._live.get(ticket)
        if entry is None:
            raise ValueError(f"ticket {ticket} is not waiting")
        owner, blocking = entry
        if blocking and self._stuck():
            self._withdraw(ticket)
            raise Deadlock(ticket)
        if self.head() != ticket:
            return _INF
        ready = self.next_free()
        if ready > now:
            return ready
        heapq.heappop(self._free)
        self._in_flight += 1
        self._held[owner] = self._held.get(owner, 0) + 1
        self._withdraw(ticket)
        return None

    def holds(self, owner: Hashable) -> bool:
        """Whether ``owner`` holds a slot (a request in flight)."""
        return owner in self._held

    def release(self, now: float, *, sent: bool = True, owner: Hashable = None) -> float:
        """A request of ``owner`` holding a slot ended at ``now``; the time its slot is
        free again.

        ``sent=False``: it never left this process, so the slot is free at once.
        """
        held = self._held.get(owner, 0)
        if held <= 0:
            raise RuntimeError("release() without a matching acquire")
        if held == 1:
            del self._held[owner]
        else:
            self._held[owner] = held - 1
        self._in_flight -= 1
        free_at = now + self.per + self.margin if sent else -_INF
        heapq.heappush(self._free, free_at)
        self._last_free = max(self._last_free, free_at)
        return free_at

    def forget_owners(self, now: float) -> None:
        """Every owner is gone, with its waiters and its requests in flight (a forked child
        has none of its parent's threads): the queue empties, and each request in flight
        counts as answered at ``now``, since its answer will never come here."""
        if self._in_flight:
            free_at = now + self.per + self.margin
            for _ in range(self._in_flight):
                heapq.heappush(self._free, free_at)
            self._last_free = max(self._last_free, free_at)
            self._in_flight = 0
        self._held.clear()
        self._queue.clear()
        self._live.clear()
        self._blocked.clear()

    def pause_until(self, t: float) -> None:
        """Hold every waiter until ``t`` (a 429 said the server's window is full)."""
        if t > self._paused_until:
            self._paused_until = t

    def forgettable_at(self) -> float:
        """The time from which this window behaves exactly like a new one, so it may be
        forgotten: a window after the last answer (and after any pause); inf while a
        request is in flight or a waiter waits."""
        if self._in_flight or self._live:
            return _INF
        return max(self._last_free, self._paused_until)
