"""The exception hierarchy: every error nanobanana raises derives from ``NanoBananaError``.

    NanoBananaError
    ├── InvalidParameterError (also ValueError)    refused locally: nothing sent
    ├── APIConnectionError                         the request could not complete
    │   └── APITimeoutError
    ├── APIStatusError                             the API answered with an error status
    │   ├── BadRequestError                        400
    │   ├── AuthenticationError                    401
    │   ├── InsufficientCreditsError               402
    │   ├── PermissionDeniedError                  403
    │   ├── TaskNotFoundError                      404
    │   ├── RateLimitError                         429
    │   ├── ContentFilteredError                   451
    │   └── InternalServerError                    5xx
    ├── UnexpectedResponseError                    an answer that does not decode
    ├── TaskFailedError                            a task ended in failure
    ├── TaskTimeoutError (also TimeoutError)       waiting for a task passed its deadline
    ├── BudgetExceededError                        a batch over its budget: refused locally
    ├── NotSubmittedError                          a request of a batch never sent
    ├── JournalError                               a batch journal that cannot be used
    │   └── JournalBusy                            (internal) open in this process already
    ├── LimiterDeadlockError (also RuntimeError)   a blocking call would wait forever
    └── RateLimiterUnavailableError                the shared limiter's Redis is unreachable

``APIStatusError`` and its subclasses are answers of the API; every other error is raised
by the SDK itself (``BudgetExceededError`` too: the API was never asked).

Messages never contain the API key: they are built from the server's envelope, the
status line and our own words only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from ._journal import Journal
    from ._models import ImageStatus, VideoStatus

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ContentFilteredError",
    "InsufficientCreditsError",
    "InternalServerError",
    "InvalidParameterError",
    "JournalBusy",
    "JournalError",
    "LimiterDeadlockError",
    "NanoBananaError",
    "NotSubmittedError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiterUnavailableError",
    "TaskFailedError",
    "TaskNotFoundError",
    "TaskTimeoutError",
    "UnexpectedResponseError",
]

_UNKNOWN_FATE = (
    "The generate request was sent but its fate is unknown: the task may exist and "
    "may have been charged. It was not retried, since a retry could charge twice. "
    "Check the balance with client.account.credits() before submitting it again."
)


class NanoBananaError(Exception):
    """Base class of every error raised by nanobanana."""


class InvalidParameterError(NanoBananaError, ValueError):
    """A parameter was refused locally: nothing was sent and no credit was spent.

    Args:
        parameter: The parameter's name (``parameter`` attribute).
        value: The value refused (``value``).
        allowed: What the parameter takes, for the message (``allowed``).
        reason: The whole message, instead of one built from the three above.
    """

    def __init__(
        self,
        parameter: str,
        value: Any,
        allowed: str | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
        if reason is None:
            reason = f"invalid {parameter}={value!r}"
            if allowed is not None:
                reason += f"; allowed: {allowed}"
        super().__init__(reason)


class APIConnectionError(NanoBananaError):
    """The request could not be completed at the transport level.

    ``may_have_been_processed`` is True when the request was (or may have been) sent
    before the failure, so a generate request may have created a task and been charged.
    Also raised for a download whose body cannot be decoded or whose compressed body is
    cut short, and for any request through a client that is closed: that one was never
    sent, and is not retried.

    Args:
        message: What failed. With ``may_have_been_processed``, a sentence saying the
            request's fate is unknown is added.
        request: The request that failed (``request`` attribute).
        may_have_been_processed: Whether the request may have reached the server.
    """

    def __init__(
        self,
        message: str = "Connection error.",
        *,
        request: httpx.Request | None = None,
        may_have_been_processed: bool = False,
    ) -> None:
        if may_have_been_processed and "fate is unknown" not in message:
            message = f"{message} {_UNKNOWN_FATE}"
        super().__init__(message)
        self.request = request
        self.may_have_been_processed = may_have_been_processed


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, write, read or waiting for a pooled connection).

    Args:
        message: What timed out (see ``APIConnectionError``).
        request: The request that timed out.
        may_have_been_processed: Whether the request may have reached the server (a read
            timeout: yes; a connect timeout: no).
    """

    def __init__(
        self,
        message: str = "Request timed out.",
        *,
        request: httpx.Request | None = None,
        may_have_been_processed: bool = False,
    ) -> None:
        super().__init__(message, request=request, may_have_been_processed=may_have_been_processed)


class APIStatusError(NanoBananaError):
    """The API answered with an error status (4xx or 5xx).

    ``str(error)`` is ``"<status_code> <code>: <message>"``.

    Args:
        message: The server's message (``message`` attribute).
        status_code: The HTTP status (``status_code``).
        code: The envelope's error code, e.g. ``"INSUFFICIENT_CREDITS"`` (``code``).
        response: The response (``response``); None for an error built by hand.
        may_have_been_processed: Whether a generate request may have created a (charged)
            task anyway (a 5xx: the server may have failed after accepting it).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        response: httpx.Response | None = None,
        may_have_been_processed: bool = False,
    ) -> None:
        if may_have_been_processed and "fate is unknown" not in message:
            message = f"{message} {_UNKNOWN_FATE}"
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.response = response
        self.may_have_been_processed = may_have_been_processed

    def __str__(self) -> str:
        prefix = f"{self.status_code} {self.code}" if self.code else f"{self.status_code}"
        return f"{prefix}: {self.message}"


class BadRequestError(APIStatusError):
    """400: the server refused the parameters (INVALID_PROMPT, INVALID_MODEL, ...)."""


class AuthenticationError(APIStatusError):
    """401, or no API key at all (raised at client construction, status_code 401)."""


class InsufficientCreditsError(APIStatusError):
    """402: not enough credits for this operation."""


class PermissionDeniedError(APIStatusError):
    """403: the key is disabled, expired, lacks a scope, or the model needs a subscription."""


class TaskNotFoundError(APIStatusError):
    """404: the task id does not exist."""


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` is the server's hint in seconds, or None.

    Args:
        message: The server's message.
        status_code: The HTTP status (429).
        code: The envelope's error code, e.g. ``"RATE_LIMIT_EXCEEDED"``.
        response: The response; None for an error built by hand.
        retry_after: The Retry-After hint in seconds, or None (``retry_after``).
        may_have_been_processed: Whether the request may have been processed (not for
            a 429 the server sent: it refused the request).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        code: str | None = None,
        response: httpx.Response | None = None,
        retry_after: float | None = None,
        may_have_been_processed: bool = False,
    ) -> None:
        super().__init__(
            message,
            status_code=status_code,
            code=code,
            response=response,
            may_have_been_processed=may_have_been_processed,
        )
        self.retry_after = retry_after


class ContentFilteredError(APIStatusError):
    """451: the prompt or input was rejected by the provider's safety filters."""


class InternalServerError(APIStatusError):
    """5xx: the server (or a proxy in front of it) failed."""


class UnexpectedResponseError(NanoBananaError):
    """A body that is not the documented envelope, or data that does not decode.

    ``may_have_been_processed`` is True for a generate request the server accepted (a 2xx)
    whose answer could not be read: the task may exist and may have been charged. When the
    answer's ``task_id`` could be read (another field could not), the task does exist:
    ``task_id`` keeps it, so it can still be waited for (``client.images.wait(task_id)``).

    Args:
        message: What could not be read, and why.
        response: The response it came in (``response``).
        status_code: Its HTTP status, when there was a response (``status_code``).
        may_have_been_processed: Whether a generate request may have created a task.
        task_id: The id of the task a generate answer created, when it could be read.
    """

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response | None = None,
        status_code: int | None = None,
        may_have_been_processed: bool = False,
        task_id: str | None = None,
    ) -> None:
        if task_id is not None and task_id not in message:
            message = (
                f"{message} The server created task {task_id!r} and charged for it: its "
                "id is this error's task_id, so its result can still be waited for."
            )
        elif may_have_been_processed and "fate is unknown" not in message:
            message = f"{message} {_UNKNOWN_FATE}"
        super().__init__(message)
        self.response = response
        self.status_code = status_code
        self.may_have_been_processed: bool = may_have_been_processed or task_id is not None
        self.task_id: str | None = task_id


class TaskFailedError(NanoBananaError):
    """A task ended in failure. ``status`` is the final status model; ``error`` its message.

    Args:
        task_id: The task's id (``task_id`` attribute).
        status: Its final status (``status``).
        error: The failure's message from the API, if any (``error``).
    """

    def __init__(self, task_id: str, status: ImageStatus | VideoStatus, error: str | None) -> None:
        self.task_id = task_id
        self.status: ImageStatus | VideoStatus = status
        self.error = error
        state = getattr(status, "status", "failed")
        super().__init__(f"task {task_id} ended as {state!r}: {error or 'no error message given'}")


class TaskTimeoutError(NanoBananaError, TimeoutError):
    """Waiting for a task passed its deadline. The task may still finish: keep ``task_id``.

    Args:
        task_id: The task's id (``task_id`` attribute).
        timeout: The seconds waited, for the message (``timeout``).
        last_status: What the last poll saw (``last_status``); None when no poll
            answered.
    """

    def __init__(
        self,
        task_id: str,
        timeout: float | None = None,
        last_status: ImageStatus | VideoStatus | None = None,
    ) -> None:
        self.task_id = task_id
        self.timeout = timeout
        self.last_status: ImageStatus | VideoStatus | None = last_status
        after = f" after {timeout:g}s" if timeout is not None else ""
        super().__init__(
            f"task {task_id} did not finish{after}; it may still complete: wait for it again with its task_id"
        )


# -- refusals of the SDK's own machinery (the API was not asked) ---------------------------


class BudgetExceededError(NanoBananaError):
    """A batch would spend more than the balance or ``max_credits``: refused before spending.

    A local refusal, not an answer of the API (so not an ``APIStatusError``). ``needed``
    is the credits still to spend; ``available`` the limit it ran into (the balance or
    ``max_credits``); ``balance`` the account's credits when known.

    Args:
        message: Why the batch stopped.
        needed: The credits still to spend (``needed`` attribute).
        available: The limit it ran into (``available``).
        balance: The account's credits, when known (``balance``).
        max_credits: The batch's ``max_credits``, if it had one (``max_credits``).
    """

    def __init__(
        self,
        message: str,
        *,
        needed: int,
        available: int,
        balance: int | None = None,
        max_credits: int | None = None,
    ) -> None:
        super().__init__(message)
        self.needed = needed
        self.available = available
        self.balance = balance
        self.max_credits = max_credits


class NotSubmittedError(NanoBananaError):
    """A request of a batch was never sent (nothing charged); ``reason`` says why.

    The batch stopped before it (a fatal error, the budget, or the batch was closed).
    Resubmitting it later is safe.

    Args:
        message: Why the request was not sent.
        reason: The error that stopped the batch, if one did (``reason`` attribute).
    """

    def __init__(self, message: str, *, reason: BaseException | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class JournalError(NanoBananaError):
    """The batch journal cannot be used: in use by another run, written for another batch,
    not a journal or damaged, or its file cannot be created. Raised before anything is sent."""


class JournalBusy(JournalError):
    """The journal is open in this process already; ``holder`` is that ``Journal`` (a new
    run waits for a holder that is stopping, instead of failing)."""

    def __init__(self, message: str, holder: Journal) -> None:
        super().__init__(message)
        self.holder = holder


class LimiterDeadlockError(NanoBananaError, RuntimeError):
    """A blocking ``Client`` call would wait forever for the rate limit: it runs on the
    thread of an event loop whose own requests hold every slot of the key's budget, and
    they cannot finish while the call blocks that loop. Nothing was sent.

    Use ``AsyncClient`` in async code, or run the blocking call in a worker thread
    (``anyio.to_thread.run_sync``, ``asyncio.to_thread``)."""


class RateLimiterUnavailableError(NanoBananaError):
    """The shared rate limiter's store (Redis) could not be reached or refused a command.

    Nothing was sent to the API: the request was stopped before it took a slot. Pass
    ``on_redis_error="local"`` to ``RedisRateLimiter`` to fall back to the in-process
    limiter instead (the budget is then no longer shared with other processes).
    """
