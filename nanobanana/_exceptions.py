"""The exception hierarchy. Every error the SDK raises derives from NanoBananaError.

Messages never contain the API key: they are built from the server's envelope, the
status line and our own words only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from ._models import ImageStatus, VideoStatus

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ContentFilteredError",
    "InsufficientCreditsError",
    "InternalServerError",
    "InvalidParameterError",
    "LimiterDeadlockError",
    "NanoBananaError",
    "PermissionDeniedError",
    "RateLimitError",
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
    """A parameter was refused locally: nothing was sent and no credit was spent."""

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
    """The request timed out (connect, write, read or waiting for a pooled connection)."""

    def __init__(
        self,
        message: str = "Request timed out.",
        *,
        request: httpx.Request | None = None,
        may_have_been_processed: bool = False,
    ) -> None:
        super().__init__(message, request=request, may_have_been_processed=may_have_been_processed)


class APIStatusError(NanoBananaError):
    """The API answered with an error status (4xx or 5xx)."""

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
    """429: too many requests. ``retry_after`` is the server's hint in seconds, or None."""

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
    whose answer could not be read: the task may exist and may have been charged.
    """

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response | None = None,
        status_code: int | None = None,
        may_have_been_processed: bool = False,
    ) -> None:
        if may_have_been_processed and "fate is unknown" not in message:
            message = f"{message} {_UNKNOWN_FATE}"
        super().__init__(message)
        self.response = response
        self.status_code = status_code
        self.may_have_been_processed = may_have_been_processed


class LimiterDeadlockError(NanoBananaError, RuntimeError):
    """A blocking ``Client`` call would wait forever for the rate limit: it runs on the
    thread of an event loop whose own requests hold every slot of the key's budget, and
    they cannot finish while the call blocks that loop. Nothing was sent.

    Use ``AsyncClient`` in async code, or run the blocking call in a worker thread
    (``anyio.to_thread.run_sync``, ``asyncio.to_thread``)."""


class TaskFailedError(NanoBananaError):
    """A task ended in failure. ``status`` is the final status model; ``error`` its message."""

    def __init__(self, task_id: str, status: ImageStatus | VideoStatus, error: str | None) -> None:
        self.task_id = task_id
        self.status: ImageStatus | VideoStatus = status
        self.error = error
        state = getattr(status, "status", "failed")
        super().__init__(f"task {task_id} ended as {state!r}: {error or 'no error message given'}")


class TaskTimeoutError(NanoBananaError, TimeoutError):
    """Waiting for a task passed its deadline. The task may still finish: keep ``task_id``.
    ``last_status`` is what the last poll saw (None when no poll answered)."""

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
