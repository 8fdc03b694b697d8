"""Poll timing, without I/O: when to poll a waiting task next.

Every status poll spends a request from the same budget as submissions, so the aim is
one poll per task, landing just after the task ends. The pieces:

* ``DEFAULT_POLICIES``: a ``PollPolicy`` per kind, set from typical latencies (images
  take about 10-20 s, videos about 1-5 min): the first poll near the expected end, then
  a short interval growing by ``backoff``.
* ``FirstPollTracker``: with the default policy, the first poll adapts to what this
  client observed for each ``(kind, model)``. It tracks the ``FIRST_POLL_QUANTILE``
  quantile of the task durations with a stochastic-approximation (Robbins-Monro) update:
  a first poll that finds the task still running pushes the estimate up, one that finds
  it done (close to when it was planned) pulls it down a little. At equilibrium about
  97% of the tasks end before their first poll, so a task costs about 2.03 requests.
* ``PollState``: one waiting task: its deadline, poll count and next due time, in API
  seconds of the client's clock. ``Retry-After`` on a status response wins over the plan.
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
from typing import Any, Generic, Literal, TypeVar

import attrs
import httpx

from ._exceptions import InvalidParameterError
from ._log import logger
from ._models import KNOWN_STATES, status_outcome
from ._policy import PollPolicy, finite_seconds
from ._protocol import Operation, parse_retry_after

__all__ = [
    "DEFAULT_POLICIES",
    "DEFAULT_TIMEOUTS",
    "FIRST_POLL_QUANTILE",
    "FirstPollTracker",
    "PollState",
    "Polled",
    "StatusOp",
    "Submissions",
    "jittered",
    "note_unknown_status",
    "wait_timeout",
]

Kind = Literal["image", "video"]
T = TypeVar("T")

DEFAULT_POLICIES: dict[str, PollPolicy] = {
    "image": PollPolicy(initial_delay=15.0, interval=1.5, backoff=1.5, max_interval=15.0),
    "video": PollPolicy(initial_delay=90.0, interval=15.0, backoff=1.5, max_interval=60.0),
}
"""The default policy per kind (images ≈ 10-20 s, videos ≈ 1-5 min)."""

DEFAULT_TIMEOUTS: dict[str, float] = {"image": 600.0, "video": 1800.0}
"""The default deadline of a ``wait`` per kind, in seconds of API time (10 and 30 min)."""

FIRST_POLL_QUANTILE = 0.97
"""The quantile of observed durations the adaptive first poll aims at."""

JITTER = 0.05
"""Adaptive delays are jittered by ±10% (inside the ±20% a PollPolicy promises)."""

_STEP = 0.05
"""Robbins-Monro step, as a fraction of the current estimate."""
_MIN_FIRST = 0.5
"""Seconds: the adaptive first poll never comes sooner than this."""


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


def jittered(nominal: float, rng: Callable[[], float], spread: float = JITTER) -> float:
    """``nominal`` scaled by a uniform factor in ``[1 - spread, 1 + spread]``."""
    return nominal * (1.0 - spread + 2.0 * spread * rng())


class FirstPollTracker:
    """The adaptive first-poll delay per ``(kind, model)``, seeded by the kind's default.

    Thread-safe: the sync client may wait from many threads.
    """

    __slots__ = ("_estimates", "_lock", "quantile")

    def __init__(self, quantile: float = FIRST_POLL_QUANTILE) -> None:
        self.quantile = quantile
        self._estimates: dict[tuple[str, str | None], float] = {}
        self._lock = threading.Lock()

    def estimate(self, kind: str, model: str | None) -> float:
        """Seconds after submission at which the first poll should come (un-jittered)."""
        with self._lock:
            found = self._estimates.get((kind, model))
        return DEFAULT_POLICIES[kind].initial_delay if found is None else found

    def observe(
        self, kind: str, model: str | None, planned: float, elapsed: float, done: bool
    ) -> None:
        """Learn from a first poll planned ``planned`` s after submission, answered at ``elapsed``.

        An observation moves the estimate only when it says something about it. "Still
        running" at ``elapsed`` says the quantile is later only when ``elapsed`` reached the
        current estimate: many tasks polled together, all early, must not each push it up
        (that compounded into estimates of hours). "Done" says it is sooner only when the
        poll came about when planned and not past the estimate: a poll delayed behind a
        queue of submissions finds everything done and says nothing about durations.
        """
        with self._lock:
            key = (kind, model)
            current = self._estimates.get(key, DEFAULT_POLICIES[kind].initial_delay)
            if not done and elapsed < current:
                return
            late = max(planned, current) * (1.0 + 2 * JITTER) + 1.0
            if done and elapsed > late:
                return
            hit = 1.0 if done else 0.0
            updated = current + _STEP * current * (self.quantile - hit)
            self._estimates[key] = max(_MIN_FIRST, updated)


class Submissions:
    """When this client submitted recent tasks (bounded), so ``images.wait(task_id)``
    plans its first poll from the submission time rather than from now."""

    __slots__ = ("_lock", "_max", "_times")

    def __init__(self, max_entries: int = 10_000) -> None:
        self._times: OrderedDict[str, tuple[float, str | None]] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def add(self, task_id: str, at: float, model: str | None) -> None:
        with self._lock:
            self._times[task_id] = (at, model)
            self._times.move_to_end(task_id)
            while len(self._times) > self._max:
                self._times.popitem(last=False)

    def get(self, task_id: str) -> tuple[float, str | None] | None:
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
        "kind",
        "last_status",
        "model",
        "planned_first",
        "policy",
        "polls",
        "rng",
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
        model: str | None,
        now: float,
        timeout: float | None,
        policy: PollPolicy | None,
        submitted_at: float | None,
        tracker: FirstPollTracker,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.task_id = task_id
        self.kind = kind
        self.model = model
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
        if submitted_at is None:
            # An id saved elsewhere: its age is unknown, so look at it right away.
            self.planned_first = 0.0
            self.due = now
        else:
            if self.adaptive:
                self.planned_first = jittered(tracker.estimate(kind, model), rng)
            else:
                self.planned_first = self.policy.delay(0, rng)
            self.due = max(now, submitted_at + self.planned_first)
        self.due = min(self.due, self.deadline)

    def after_poll(self, status: Any, now: float, retry_after: float | None) -> str:
        """Record a polled status; ``"succeeded"``, ``"failed"`` or ``"running"``.

        When running, ``due`` is set to the next poll: ``Retry-After`` when the response
        carried one, else the policy's next (jittered) interval; never past the deadline.
        """
        self.last_status = status
        outcome = status_outcome(status.status)
        if outcome == "running":
            note_unknown_status(status.status)
        if self.polls == 0 and self.adaptive and self.submitted_at is not None:
            self.tracker.observe(
                self.kind,
                self.model,
                self.planned_first,
                now - self.submitted_at,
                outcome != "running",
            )
        self.polls += 1
        if outcome == "running":
            self.reschedule(now, retry_after)
        return outcome

    def after_error(self, now: float, retry_after: float | None) -> None:
        """A poll failed transiently (after the client's own retries): try again later."""
        self.polls += 1
        self.reschedule(now, retry_after)

    def reschedule(self, now: float, retry_after: float | None) -> None:
        if retry_after is not None:
            self.due = min(now + max(0.0, retry_after), self.deadline)
            return
        if self.adaptive:
            delay = jittered(self.policy.nominal_delay(self.polls), self.rng)
        else:
            delay = self.policy.delay(self.polls, self.rng)
        self.due = min(now + delay, self.deadline)

    def expired(self, now: float) -> bool:
        return now >= self.deadline

    @property
    def turn_deadline(self) -> float:
        """How long to wait for a poll turn: the deadline when strict, else no limit."""
        return self.deadline if self.strict else math.inf


@attrs.frozen
class Polled(Generic[T]):
    """A status poll's answer: the status, and the seconds the server asked us to wait
    before the next poll (its ``Retry-After`` header), None when it did not say."""

    status: T
    retry_after: float | None


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
        return Polled(status, parse_retry_after(response.headers.get("Retry-After")))
