"""Pure decisions with no I/O: retries, backoff, poll timing.

Each function takes the current time or a random source as an argument, so every
decision is testable without sleeping. Both clients call these; neither re-implements them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any, TypeGuard

import attrs
import httpx

from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InternalServerError,
    InvalidParameterError,
    NanoBananaError,
    RateLimitError,
    UnexpectedResponseError,
)
from ._log import logger, scrub_error
from ._models import TaskCreated
from ._protocol import Operation, Safety

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "DEFAULT_POLICIES",
    "JITTER",
    "RETRY_AFTER_CAP",
    "PollPolicy",
    "RateLimit",
    "backoff_ceiling",
    "backoff_delay",
    "classify_transport_error",
    "client_closed",
    "finite_seconds",
    "interrupted_generate",
    "interrupted_wait",
    "jittered",
    "mark_unknown_fate",
    "never_sent",
    "rate_limit_pause",
    "report_abandoned",
    "retry_delay",
]

BACKOFF_BASE = 0.5
"""Seconds: the first retry waits up to this (full jitter), then doubles."""
BACKOFF_CAP = 8.0
"""Seconds: no computed backoff exceeds this."""
RETRY_AFTER_CAP = 60.0
"""Seconds: a server's Retry-After is honoured up to this; longer hints raise instead."""


def finite_seconds(value: object, *, positive: bool = False) -> TypeGuard[float]:
    """A finite number of seconds, >= 0 (> 0 when ``positive``): not a bool, a string,
    NaN or infinity. A time that is not one would never pass, or never come."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value > 0 if positive else value >= 0)
    )


@attrs.frozen
class RateLimit:
    """A request budget: at most ``requests`` in any ``per`` seconds (the API's is 60/60 s).

    Raises:
        InvalidParameterError: ``requests`` is not a positive int, or ``per`` not a
            positive, finite number of seconds.
    """

    requests: int = 60
    """Requests allowed in any window of ``per`` seconds."""
    per: float = attrs.field(default=60.0, kw_only=True)
    """The window, in seconds."""

    def __attrs_post_init__(self) -> None:
        if (
            isinstance(self.requests, bool)
            or not isinstance(self.requests, int)
            or self.requests < 1
        ):
            raise InvalidParameterError(
                "requests",
                self.requests,
                reason=f"RateLimit.requests must be a positive int, got {self.requests!r}",
            )
        if not finite_seconds(self.per, positive=True):
            raise InvalidParameterError(
                "per",
                self.per,
                reason=f"RateLimit.per must be a positive, finite number of seconds, got {self.per!r}",
            )


@attrs.frozen
class PollPolicy:
    """When to poll a task: first after ``initial_delay``, then every ``interval`` seconds
    growing by ``backoff`` up to ``max_interval``. Jitter keeps each delay within ±20%.

    Raises:
        InvalidParameterError: A delay is not a finite number of seconds >= 0, or
            ``backoff`` not a finite number >= 1.
    """

    initial_delay: float
    """Seconds from submission to the first poll."""
    interval: float
    """Seconds between the first poll and the second."""
    backoff: float = 1.5
    """What each later interval is multiplied by (1: a fixed interval)."""
    max_interval: float = 30.0
    """The longest interval, in seconds."""

    def __attrs_post_init__(self) -> None:
        # Finite: an infinite (or NaN) delay is a poll that never comes, a hang.
        for name in ("initial_delay", "interval", "max_interval"):
            value = getattr(self, name)
            if not finite_seconds(value):
                raise InvalidParameterError(
                    name,
                    value,
                    reason=f"PollPolicy.{name} must be a finite number of seconds >= 0, "
                    f"got {value!r}",
                )
        if not finite_seconds(self.backoff) or self.backoff < 1:
            raise InvalidParameterError(
                "backoff",
                self.backoff,
                reason=f"PollPolicy.backoff must be a finite number >= 1, got {self.backoff!r}",
            )

    def nominal_delay(self, poll_number: int) -> float:
        """The un-jittered wait before a poll.

        Args:
            poll_number: Which poll: 0 is the first.

        Returns:
            Seconds: ``initial_delay`` for the first poll, then the grown interval.
        """
        if poll_number <= 0:
            return float(self.initial_delay)
        if self.interval == 0:
            return 0.0
        cap = max(self.max_interval, self.interval)
        try:
            grown = self.interval * (self.backoff ** (poll_number - 1))
        except OverflowError:  # a long wait: the growth passed any float long ago
            return float(cap)
        return float(min(grown, cap))

    def delay(self, poll_number: int, rng: Callable[[], float] = random.random) -> float:
        """The jittered wait before a poll: ``nominal_delay`` ±20%, so many tasks
        submitted together do not poll in lockstep.

        Args:
            poll_number: Which poll: 0 is the first.
            rng: A source of uniform floats in [0, 1) (a seeded one in tests).

        Returns:
            Seconds to wait.
        """
        return self.nominal_delay(poll_number) * (0.8 + 0.4 * rng())


def backoff_ceiling(attempt: int) -> float:
    """The most retry ``attempt`` (0 for the first retry) waits: min(CAP, BASE * 2**attempt)."""
    return float(min(BACKOFF_CAP, BACKOFF_BASE * (2.0 ** min(attempt, 32))))


def backoff_delay(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(CAP, BASE * 2**attempt)]."""
    return float(rng() * backoff_ceiling(attempt))


def never_sent(exc: BaseException) -> bool:
    """True when a transport error proves the request never left: a failed connect, or no
    pooled connection in time. Anything later (a write or read failure or timeout, a
    connection dropped mid-exchange) leaves the request's fate unknown."""
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def rate_limit_pause(error: RateLimitError, attempt: int) -> float:
    """How long a 429 pauses the key's whole budget: its Retry-After (up to
    RETRY_AFTER_CAP), or the backoff ceiling of this attempt when it has none (or 0)."""
    if error.retry_after is not None and error.retry_after > 0:
        return min(error.retry_after, RETRY_AFTER_CAP)
    return backoff_ceiling(attempt)


def _retry_after(error: APIStatusError) -> float | None:
    from ._protocol import parse_retry_after

    response = error.response
    if response is None:
        return None
    return parse_retry_after(response.headers.get("retry-after"))


def classify_transport_error(
    exc: httpx.TransportError, request: httpx.Request, safety: Safety
) -> APIConnectionError:
    """Map an httpx transport error to ours, saying whether the request may have been processed.

    Only a failure to connect (or to get a pooled connection) proves the request never
    left: anything later leaves a generate request's fate unknown.
    """
    unknown = safety == "generate" and not never_sent(exc)
    name = type(exc).__name__
    detail = str(exc) or name
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"Request timed out ({name}): {detail}.",
            request=request,
            may_have_been_processed=unknown,
        )
    return APIConnectionError(
        f"Connection error ({name}): {detail}.", request=request, may_have_been_processed=unknown
    )


def client_closed(
    request: httpx.Request | None, safety: Safety, *, sent: bool
) -> APIConnectionError:
    """The error for a request through a client that is closed (``aclose()``/``close()``,
    or its ``http_client`` closed by its owner).

    Not ``sent``: the SDK refused it before it left, so nothing was processed. ``sent``:
    the client was closed while the request was on the wire, which leaves a generate
    request's fate unknown. Never retried: the client will not open again.
    """
    if sent:
        message = (
            "The client was closed while the request was in flight (aclose() or close() "
            "was called, or its http_client was closed)."
        )
    else:
        message = (
            "The client is closed (aclose() or close() was called, or its http_client was "
            "closed): the request was not sent. Use a client that is open."
        )
    return APIConnectionError(
        message, request=request, may_have_been_processed=sent and safety == "generate"
    )


def interrupted_generate(request: httpx.Request) -> str:
    """What a Ctrl-C (KeyboardInterrupt) during a generate request leaves: a request that
    may have been processed, whose answer (the task id) nobody will read."""
    return (
        f"interrupted while a generate request was under way ({request.method} "
        f"{request.url.path}): its answer, with the task id, is lost. It may have been "
        "processed and charged: check the balance (client.account.credits()) before "
        "submitting it again."
    )


def report_abandoned(
    op: Operation[Any],
    request: httpx.Request,
    outcome: tuple[httpx.Response, NanoBananaError | None] | BaseException,
    api_key: str,
) -> None:
    """Log the answer to a generate request whose caller was cancelled after it left:
    the task it bought (a WARNING naming its id and how to collect it), that its fate is
    unknown, or (a 4xx, at INFO) that nothing was charged."""
    what = f"{op.name} was cancelled after its request was sent"
    resource = op.name.partition(".")[0]
    if isinstance(outcome, BaseException):
        logger.warning(
            "%s, and its answer never came (%s): it may have been charged; its task id is unknown",
            what,
            type(outcome).__name__,
        )
        return
    response, unreadable = outcome
    try:
        if unreadable is not None:
            raise unreadable
        created = op.parse(response)
    except NanoBananaError as exc:
        scrub_error(exc, api_key)
        task_id = getattr(exc, "task_id", None)
        if task_id is not None:
            logger.warning(
                "%s; its answer named task %s, though it did not read in full (%s): "
                "collect it with client.%s.wait(%r)",
                what,
                task_id,
                exc,
                resource,
                task_id,
            )
        elif 400 <= response.status_code < 500:
            logger.info("%s; the server refused it (%s): nothing charged", what, exc)
        else:
            logger.warning(
                "%s, and its answer did not read (%s): it may have been charged; its task "
                "id is unknown",
                what,
                exc,
            )
        return
    if isinstance(created, TaskCreated):
        logger.warning(
            "%s; the server created task %s (%s credits): collect it with client.%s.wait(%r)",
            what,
            created.task_id,
            created.credits_used,
            resource,
            created.task_id,
        )


def interrupted_wait(kind: str, task_id: str) -> str:
    """What a Ctrl-C (KeyboardInterrupt) during a wait leaves: a charged task, and how to
    wait for it again."""
    return (
        f"interrupted while waiting for {kind} task {task_id}, which was charged and "
        f"may still complete: get its result with client.{kind}s.wait({task_id!r})"
    )


def mark_unknown_fate(error: NanoBananaError, safety: Safety) -> NanoBananaError:
    """A generate request the server accepted (2xx) but whose answer we could not read
    (a truncated or malformed body) was processed and charged, yet its task id is lost:
    say so in the error (``may_have_been_processed``)."""
    if (
        safety == "generate"
        and isinstance(error, UnexpectedResponseError)
        and not error.may_have_been_processed
        and (error.status_code is None or error.status_code < 400)
    ):
        return UnexpectedResponseError(
            str(error),
            response=error.response,
            status_code=error.status_code,
            may_have_been_processed=True,
            task_id=error.task_id,
        )
    return error


def retry_delay(
    error: NanoBananaError,
    safety: Safety,
    attempt: int,
    max_retries: int,
    rng: Callable[[], float] = random.random,
    left: float = math.inf,
) -> float | None:
    """Seconds to wait before retrying after ``error``, or None to raise it: also when the
    wait would take ``left`` seconds or more (a poll of a wait with a timeout: the wait's
    own deadline comes first).

    ``attempt`` counts the retries already made (0 before the first retry).

    ==============================  =====================  ========================
    error                           reads, calculate-cost  generate
    ==============================  =====================  ========================
    connect failure, pool timeout   retry                  retry (it never left)
    read/write timeout, dropped     retry                  raise (may be processed)
    429                             retry                  retry
    5xx (500, 502 HTML, 503 ...)    retry                  raise (may be processed)
    5xx whose code says rate limit  retry                  raise (may be processed)
    other 4xx, malformed body       raise                  raise
    ==============================  =====================  ========================

    A 429 waits its Retry-After, a 5xx at least its Retry-After; a hint longer than
    RETRY_AFTER_CAP raises instead. Otherwise (no hint, or 0) the wait is
    ``backoff_delay(attempt)``.
    """
    delay = _delay(error, safety, attempt, max_retries, rng)
    return None if delay is None or delay >= left else delay


def _delay(
    error: NanoBananaError,
    safety: Safety,
    attempt: int,
    max_retries: int,
    rng: Callable[[], float],
) -> float | None:
    """``retry_delay`` with no deadline."""
    if attempt >= max_retries:
        return None
    if isinstance(error, RateLimitError):
        if safety == "generate" and error.may_have_been_processed:
            return None  # a 5xx whose body says "rate limited": which one failed is unknown
        if error.retry_after is not None and error.retry_after > 0:
            if error.retry_after > RETRY_AFTER_CAP:
                return None
            return error.retry_after
        return backoff_delay(attempt, rng)  # none, or 0 (a date past): back off anyway
    if isinstance(error, APIConnectionError):
        if safety == "generate" and error.may_have_been_processed:
            return None
        return backoff_delay(attempt, rng)
    if (
        isinstance(error, APIStatusError)
        and safety == "read"
        and (isinstance(error, InternalServerError) or error.status_code >= 500)
    ):
        hint = _retry_after(error)
        if hint is not None:
            if hint > RETRY_AFTER_CAP:
                return None
            return max(hint, backoff_delay(attempt, rng))
        return backoff_delay(attempt, rng)
    return None


DEFAULT_POLICIES: dict[str, PollPolicy] = {
    "image": PollPolicy(initial_delay=15.0, interval=1.5, backoff=1.5, max_interval=15.0),
    "video": PollPolicy(initial_delay=90.0, interval=15.0, backoff=1.5, max_interval=60.0),
}
"""The default policy per kind (images ≈ 10-20 s, videos ≈ 1-5 min)."""

JITTER = 0.05
"""Polls planned without a learned estimate (the default policy's intervals while nothing
is known) are jittered by ±5%, inside the ±20% a PollPolicy promises."""


def jittered(nominal: float, rng: Callable[[], float], spread: float = JITTER) -> float:
    """``nominal`` scaled by a uniform factor in ``[1 - spread, 1 + spread]``."""
    return nominal * (1.0 - spread + 2.0 * spread * rng())
