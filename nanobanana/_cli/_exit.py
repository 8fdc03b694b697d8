"""What the outcome of a command means to its caller: the exit codes, the error each one
stands for, and the error object ``--json`` writes.

Scripts branch on these codes, so they are decided here once: the commands raise, and
``main`` turns the error into its code (``classify``). ``--help`` lists ``EXIT_CODES``.
"""

from __future__ import annotations

from typing import Any

from nanobanana._exceptions import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ContentFilteredError,
    InsufficientCreditsError,
    InvalidParameterError,
    JournalError,
    NanoBananaError,
    PermissionDeniedError,
    RateLimitError,
    TaskFailedError,
    TaskNotFoundError,
    TaskTimeoutError,
    UnexpectedResponseError,
)

__all__ = [
    "EXIT_API",
    "EXIT_AUTH",
    "EXIT_CODES",
    "EXIT_CREDITS",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_NOT_SAVED",
    "EXIT_OK",
    "EXIT_RATE_LIMITED",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "REPORTED",
    "after_charge",
    "MissingKeyError",
    "NotSaved",
    "UsageError",
    "classify",
    "error_object",
    "exit_code",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_CREDITS = 4
EXIT_NOT_FOUND = 5
EXIT_RATE_LIMITED = 6
EXIT_API = 7
EXIT_TIMEOUT = 8
EXIT_NOT_SAVED = 9
EXIT_INTERRUPTED = 130

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success (a batch: every request succeeded)",
    EXIT_FAILED: "a task failed or was content-filtered; a batch: some requests did not succeed",
    EXIT_USAGE: "bad command line, invalid parameter (nothing sent), input that is not UTF-8, "
    "an empty batch file, unreadable file or journal",
    EXIT_AUTH: "no API key, key refused (401) or not allowed (403)",
    EXIT_CREDITS: "not enough credits (402), or over the budget (--max-credits, preflight)",
    EXIT_NOT_FOUND: "no such task (404)",
    EXIT_RATE_LIMITED: "rate limited (429) after every retry",
    EXIT_API: "network error, timeout, server error (5xx) or unexpected response",
    EXIT_TIMEOUT: "waiting for a task took longer than --timeout (the task may still finish)",
    EXIT_NOT_SAVED: "a task was charged but its results were not saved (the output directory "
    "or a file cannot be written, a download failed, or another local error); the error "
    "names the task and how to get them",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C); the tasks still running are named",
}


class UsageError(Exception):
    """A bad command line or input (not UTF-8, empty, unreadable): exit 2, nothing sent."""


class MissingKeyError(Exception):
    """No API key to use (none set; the key file unreadable or empty): exit 3, reported
    as an ``AuthenticationError``."""


class NotSaved(Exception):
    """A task ended but its results could not be saved (``cause``: an OSError, a failed
    download): exit 9, reported as ``cause`` (its type and message); the task stays in
    the ledger, which names it."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


REPORTED = (MissingKeyError, UsageError, NotSaved, NanoBananaError, OSError)
"""The errors a command ends with a message and a code; any other one is a bug."""


def exit_code(error: BaseException) -> int:
    """The exit code of an error class (see EXIT_CODES)."""
    if isinstance(error, (InvalidParameterError, BadRequestError, JournalError, UsageError)):
        return EXIT_USAGE
    if isinstance(error, (AuthenticationError, PermissionDeniedError)):
        return EXIT_AUTH
    if isinstance(error, (InsufficientCreditsError, BudgetExceededError)):
        return EXIT_CREDITS  # the API's 402, or the batch's own budget refusing
    if isinstance(error, TaskNotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(error, RateLimitError):
        return EXIT_RATE_LIMITED
    if isinstance(error, TaskTimeoutError):
        return EXIT_TIMEOUT
    if isinstance(error, (TaskFailedError, ContentFilteredError)):
        return EXIT_FAILED
    if isinstance(error, (APIConnectionError, APIStatusError, UnexpectedResponseError)):
        return EXIT_API
    return EXIT_FAILED


def classify(error: BaseException) -> tuple[str, int]:
    """``(type, exit code)`` a command's error is reported with (one of ``REPORTED``): a
    file that cannot be read is a usage error, like a bad command line."""
    if isinstance(error, MissingKeyError):
        return "AuthenticationError", EXIT_AUTH
    if isinstance(error, UsageError):
        return "UsageError", EXIT_USAGE
    if isinstance(error, NotSaved):
        return type(error.cause).__name__, EXIT_NOT_SAVED
    if isinstance(error, OSError) and not isinstance(error, NanoBananaError):
        return type(error).__name__, EXIT_USAGE  # (TaskTimeoutError is a TimeoutError)
    return type(error).__name__, exit_code(error)


def after_charge(code: int) -> int:
    """The exit code of an error that ended a command while a task it charged (or waited
    for) was not finished: never EXIT_USAGE, which says that nothing was sent."""
    return EXIT_NOT_SAVED if code == EXIT_USAGE else code


def error_object(message: str, *, kind: str, code: int, **fields: Any) -> dict[str, Any]:
    """``{"error": {"type", "message", "exit_code", ...fields}}``: an error, for machines."""
    return {"error": {"type": kind, "message": message, "exit_code": code, **fields}}
