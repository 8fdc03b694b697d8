"""Poll timing, without I/O: when to poll a waiting task next.

Every status poll spends a request from the same budget as submissions, so the aim is
one poll per task, landing just after the task ends. The pieces:

* ``_policy.DEFAULT_POLICIES``: a ``PollPolicy`` per kind (images take about 10-20 s,
  videos about 1-5 min): where a client starts before it has seen a task end, and what an
  explicit policy replaces.
* ``_durations.DurationTracker``: with the default policy, what the client has learned of
  task durations (per profile, online), which places each task's first poll.
* ``PollState``: one waiting task: its deadline, poll count and next due time, in API
  seconds of the client's clock. After a poll that finds the task running, the next one
  is planned from the estimate of the *remaining* time (progress, else what the tracker
  saw of tasks that ran this long), not from a fixed backoff. ``Retry-After`` on a
  status response wins over the plan. Each task's polls tell the tracker what it learns
  (its duration, or that it ended by its first poll, and its ``completed_at``).
* ``StatusOp``: the status operation whose answer (a ``Polled``) also carries the
  response's ``Retry-After``.

All times are API seconds on the client's ``Clock``; randomness comes from an injected
``rng`` so every decision is testable without sleeping.
"""

from __future__ import annotations

import math
import random
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import attrs
import httpx

from ._exceptions import InvalidParameterError
from ._log import logger
from ._models import KNOWN_STATES, status_outcome
from ._policy import DEFAULT_POLICIES, PollPolicy, finite_seconds, jittered
from ._protocol import Operation, parse_http_date, parse_retry_after

if TYPE_CHECKING:
    from ._durations import DurationTracker

__all__ = [
    "DEFAULT_TIMEOUTS",
    "PollState",
    "Polled",
    "StatusOp",
    "Submissions",
    "note_unknown_status",
    "wait_timeout",
]

Kind = Literal["image", "video"]
T = TypeVar("T")

DEFAULT_TIMEOUTS: dict[str, float] = {"image": 600.0, "video": 1800.0}
"""The default deadline of a ``wait`` per kind, in seconds of API time (10 and 30 min)."""
MIN_GAP = 0.5
"""Seconds: a poll planned after a running status comes at least this much later."""


def wait_timeout(timeout: object) -> float | None:
    """A ``wait(timeout=...)`` checked: None (the kind's default) or a finite number of
    seconds >= 0 (0: look once, do not wait). Infinity is refused like NaN: every wait
    has a deadline, so a task whose status never ends cannot hang its waiter; a string or
    a bool is a mistake, not a number to coerce."""
    if timeout is None:
        return None
    if not finite_seconds(timeout):
        raise InvalidParameterError(
            "timeout",
            timeout,
            "a finite number of seconds >= 0, or None for the default "
            "(10 minutes for images, 30 for videos)",
        )
    return float(timeout)


class Submissions:
    """When this client submitted recent tasks and their duration profile (bounded), so
    ``images.wait(task_id)`` plans its first poll from the submission time rather than
    from now, and every wait learns under the task's profile."""

    __slots__ = ("_lock", "_max", "_times")

    def __init__(self, max_entries: int = 10_000) -> None:
        self._times: OrderedDict[str, tuple[float, str | None]] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def add(self, task_id: str, at: float, profile: str | None) -> None:
        """Note a task submitted ``at`` (API seconds) with its duration profile."""
        with self._lock:
            self._times[task_id] = (at, profile)
            self._times.move_to_end(task_id)
            while len(self._times) > self._max:
                self._times.popitem(last=False)

    def get(self, task_id: str) -> tuple[float, str | None] | None:
        """When the task was submitted and its profile; None for a task not noted."""
        with self._lock:
            return self._times.get(task_id)


_unknown_seen: set[str] = set()
_unknown_lock = threading.Lock()


def note_unknown_status(status: str) -> None:
    """Log a status value the SDK does not know, once per value per process."""
    value = status.strip().lower()
    if value in KNOWN_STATES:
        return
    with _unknown_lock:
        if value in _unknown_seen or len(_unknown_seen) > 1000:
            return
        _unknown_seen.add(value)
    logger.warning("unknown task status %r: treating it as still running", status)


class PollState:
    """One waiting task's polling plan (mutable; used by one waiter at a time)."""

    __slots__ = (
        "adaptive",
        "deadline",
        "due",
        "first",
        "kind",
        "last_running",
        "last_status",
        "learned",
        "misses",
        "planned_first",
        "policy",
        "polls",
        "profile",
        "rng",
        "running_due",
        "strict",
        "submitted_at",
        "task_id",
        "timeout",
        "tracker",
    )

    def __init__(
        self,
        *,
        task_id: str,
        kind: str,
        profile: str | None,
        now: float,
        timeout: float | None,
        policy: PollPolicy | None,
        submitted_at: float | None,
        tracker: DurationTracker,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.task_id = task_id
        self.kind = kind
        self.profile = profile
        timeout = wait_timeout(timeout)
        self.timeout = DEFAULT_TIMEOUTS[kind] if timeout is None else timeout
        self.deadline = now + self.timeout
        # An explicit timeout is a hard limit on waiting. The default deadline is a limit on
        # the task: a poll held up by a saturated budget still happens, so a batch larger
        # than the budget can serve in ten minutes does not time out for that reason.
        self.strict = timeout is not None
        self.adaptive = policy is None
        self.policy = DEFAULT_POLICIES[kind] if policy is None else policy
        self.tracker = tracker
        self.rng = rng
        self.submitted_at = submitted_at
        self.polls = 0
        self.last_status: Any = None
        self.first: float | None = None
        """Seconds from submission to the answer of the first poll."""
        self.last_running = 0.0
        """Seconds from submission to the last answer that found the task running."""
        self.running_due: float | None = None
        """When the last poll that found the task running was due (it was sent then or
        later): the task ended after that."""
        self.learned = False
        """Whether the tracker has had this task's observation."""
        self.misses = 0
        """Polls planned from progress in a row that still found the task running."""
        if submitted_at is None:
            # An id saved elsewhere: its age is unknown, so look at it right away.
            self.planned_first = 0.0
            self.due = now
        else:
            if self.adaptive:
                self.planned_first = tracker.first_poll(kind, profile, rng)
            else:
                self.planned_first = self.policy.delay(0, rng)
            self.due = max(now, submitted_at + self.planned_first)
        self.due = min(self.due, self.deadline)

    @property
    def rank(self) -> float | None:
        """This wait's place among due polls (``_scheduler``: lowest first): when its task
        was submitted, so the task waiting longest for its result polls first; None (its
        due time) for a task submitted elsewhere."""
        return self.submitted_at

    @property
    def learning(self) -> bool:
        return self.adaptive and self.submitted_at is not None

    def after_poll(
        self, status: Any, now: float, retry_after: float | None, date: datetime | None = None
    ) -> str:
        """Record a polled status; ``"succeeded"``, ``"failed"`` or ``"running"``.

        When running, ``due`` is set to the next poll: ``Retry-After`` when the response
        carried one, else the plan (see ``reschedule``); never past the deadline. When the
        task ended, the tracker learns from it; ``date``, the response's ``Date``, tells
        it the server's clock (see ``_server_clock.ClockOffset``), from every wait: the
        clock is the same whichever policy a wait polls by.
        """
        if date is not None:
            self.tracker.server_date(date, now)
        planned_from_progress = _usable(getattr(self.last_status, "progress", None)) is not None
        self.last_status = status
        outcome = status_outcome(status.status)
        running = outcome == "running"
        if running:
            note_unknown_status(status.status)
        if self.learning:
            self._learn(now - self.submitted_at, running, planned_from_progress, status)  # type: ignore[operator]
        self.polls += 1
        if running:
            self.reschedule(now, retry_after)
        return outcome

    def _learn(
        self, elapsed: float, running: bool, planned_from_progress: bool, status: Any
    ) -> None:
        """Tell the tracker about this task, once: as soon as its duration is known (its
        first poll found it ended; or a poll found it running with a usable progress, the
        projection of which is its duration), else when it ends (its ``completed_at``, or
        the middle of the last poll that found it running and the one that found it
        ended). A task found ended at its first poll leaves its duration when its
        ``completed_at`` is usable (consistent with the polls), else only that it ended."""
        if self.first is None:
            self.first = elapsed
        if running:
            if planned_from_progress:
                self.misses += 1
            self.last_running = elapsed
            self.running_due = self.due  # (the poll went no sooner)
        submitted = self.submitted_at
        assert submitted is not None  # (learning)
        ended: tuple[float, float] | None = None
        if not running:
            completed_at = getattr(status, "completed_at", None)
            ended = self.tracker.ended_at(completed_at, submitted + elapsed, self.running_due)
        if self.learned:
            return
        if not running:
            # Between the last answer that found it running and the one that found it
            # ended, narrowed by its completion time when that agrees with them.
            low, high = (0.0 if self.first >= elapsed else self.last_running), elapsed
            exact = False
            if ended is not None:
                earliest, latest = max(low, ended[0] - submitted), min(high, ended[1] - submitted)
                if earliest <= latest:
                    low, high, exact = earliest, latest, True
            if self.first >= elapsed and not exact:
                self.tracker.record(self.kind, self.profile, self.first, None, submitted=submitted)
            else:
                exact = exact or (self.first < elapsed and self.tracker.exact)
                self.tracker.record(
                    self.kind,
                    self.profile,
                    self.first,
                    (low + high) / 2,
                    exact,
                    (high - low) / 2,
                    submitted,
                )
            self.learned = True
            return
        projected = _projection(elapsed, getattr(status, "progress", None))
        if projected is not None:
            self.tracker.record(
                self.kind,
                self.profile,
                self.first,
                projected,
                self.tracker.exact,
                submitted=submitted,
            )
            self.learned = True

    def after_error(self, now: float, retry_after: float | None) -> None:
        """A poll failed transiently (after the client's own retries): try again later."""
        self.polls += 1
        self.reschedule(now, retry_after)

    def reschedule(self, now: float, retry_after: float | None) -> None:
        """Plan the next poll of a task found running (or a poll that failed).

        ``Retry-After`` wins (never below ``MIN_GAP``: a ``Retry-After: 0``, or a date
        already past, would otherwise poll without pause). An explicit policy gives its
        next interval. Otherwise the poll goes where the task should have ended: its
        progress projects its length (the upper end: progress is rounded down); without
        progress, the tracker's median of the tasks that ran this long; without either,
        the default policy's interval. Never sooner than ``MIN_GAP`` (doubling with every
        projection that fell short).
        """
        if retry_after is not None:
            self.due = min(now + max(MIN_GAP, retry_after), self.deadline)
            return
        if not self.adaptive:
            delay = self.policy.delay(self.polls, self.rng)
        elif self.submitted_at is None:
            delay = jittered(self.policy.nominal_delay(self.polls), self.rng)
        else:
            elapsed = now - self.submitted_at
            gap = max(MIN_GAP, 0.02 * elapsed) * 2.0**self.misses
            end = _upper_projection(elapsed, getattr(self.last_status, "progress", None))
            if end is None:
                end = self.tracker.remaining(self.kind, self.profile, elapsed)
            if end is None:
                delay = jittered(self.policy.nominal_delay(self.polls), self.rng)
            else:
                delay = min(end - elapsed, self.policy.max_interval * 4)
            delay = max(delay, gap)
        self.due = min(now + delay, self.deadline)

    def expired(self, now: float) -> bool:
        return now >= self.deadline

    @property
    def turn_deadline(self) -> float:
        """How long to wait for a poll turn: the deadline when strict, else no limit."""
        return self.deadline if self.strict else math.inf


def _usable(progress: Any) -> float | None:
    """A progress strictly between 0 and 100 (a percentage), else None."""
    usable = isinstance(progress, (int, float)) and not isinstance(progress, bool)
    return float(progress) if usable and 0 < progress < 100 else None


def _projection(elapsed: float, progress: Any) -> float | None:
    """The length of a task ``elapsed`` seconds in at ``progress`` percent: the middle of
    what a progress rounded down allows."""
    p = _usable(progress)
    return None if p is None else elapsed * 100.0 / (p + 0.5)


def _upper_projection(elapsed: float, progress: Any) -> float | None:
    """The latest the task can end if its progress is linear: at ``p`` percent (rounded
    down) after ``elapsed`` s, it takes at most ``elapsed * 100 / p``."""
    p = _usable(progress)
    return None if p is None else elapsed * 100.0 / p


@attrs.frozen
class Polled(Generic[T]):
    """A status poll's answer: the status, the seconds the server asked us to wait
    before the next poll (its ``Retry-After`` header), None when it did not say, and the
    server's clock when it answered (its ``Date`` header), None without one."""

    status: T
    retry_after: float | None
    date: datetime | None = None


@attrs.frozen
class StatusOp(Operation[Polled[T]]):
    """A status request whose answer is a ``Polled``: the status of ``status_op`` and the
    response's ``Retry-After``, both as data (a hint read on a 200 is not an error)."""

    status_op: Operation[T] = attrs.field(kw_only=True)

    @classmethod
    def wrap(cls, op: Operation[T]) -> StatusOp[T]:
        return cls(op.name, op.method, op.path, Polled, op.safety, op.params, op.body, status_op=op)

    def parse(self, response: httpx.Response) -> Polled[T]:
        status = self.status_op.parse(response)
        headers = response.headers
        return Polled(
            status,
            parse_retry_after(headers.get("Retry-After")),
            parse_http_date(headers.get("Date")),
        )
