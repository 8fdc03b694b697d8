"""A batch journal's rows: the states a request goes through, and what a rerun does with
each one. Pure decisions, no I/O (``_journal`` stores the rows, the batch acts on them).

States of a request (``requests.state`` in the file, as these strings):

``pending``
    seen, never sent: a rerun submits it.
``sending``
    its generate request got its turn and may have reached the server, answer unknown
    (the process died meanwhile): a rerun does NOT resubmit it; it needs attention.
``submitted``
    the server answered with ``task_id``: a rerun polls it.
``succeeded`` / ``failed``
    the task ended (final status kept, with the paths saved): a rerun reports it again,
    downloading any missing file.
``unknown``
    the generate request failed in a way that leaves its fate unknown (5xx, timeout,
    broken connection after sending): never resubmitted; needs attention.
``not_submitted``
    refused before processing (locally, 4xx, or the batch stopped): a rerun submits it.
"""

from __future__ import annotations

import enum
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import attrs

from ._batch_models import BatchItem, Status, status_from_json, to_request
from ._exceptions import (
    APIConnectionError,
    JournalError,
    NanoBananaError,
    NotSubmittedError,
    TaskFailedError,
)

__all__ = [
    "RESUBMITTABLE",
    "JournalRow",
    "Rerun",
    "RowState",
    "item_from_row",
    "lost_answer",
    "mismatch",
    "rerun",
    "row_time",
]


class RowState(str, enum.Enum):
    """The state of a request in the journal (see the module docs). A ``str``: the value
    is what the file holds, so journals written before this class open unchanged."""

    PENDING = "pending"
    SENDING = "sending"
    SUBMITTED = "submitted"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"
    NOT_SUBMITTED = "not_submitted"

    def __str__(self) -> str:
        return self.value


RESUBMITTABLE = frozenset({RowState.PENDING, RowState.NOT_SUBMITTED})
"""States whose request a rerun may (re)submit: nothing was ever charged for them."""


@attrs.frozen
class JournalRow:
    """What the journal knows of one request."""

    index: int
    fingerprint: str
    request: str
    state: RowState
    task_id: str | None
    credits_used: int | None
    status: str | None
    paths: tuple[str, ...]
    error: str | None
    submitted_at: float | None = None
    """POSIX seconds: when the generate answer came (on the batch's clock)."""
    ended_at: float | None = None
    """POSIX seconds: when the batch saw the task end."""


class Rerun(enum.Enum):
    """What a run does with a request, given what the journal recorded of it."""

    SUBMIT = "submit"
    """Never charged (new, or never sent): submit it."""
    MISMATCH = "mismatch"
    """The journal recorded another request at this position: refuse it (``mismatch``)."""
    ATTENTION = "attention"
    """Sent, and no task id came back: it may have been charged, so it is never
    resubmitted; the user decides (``lost_answer``)."""
    WAIT = "wait"
    """It has a task id and no final status: poll it."""
    FAILED = "failed"
    """Its task ended in failure: report it."""
    SUCCEEDED = "succeeded"
    """Its task succeeded: report it, downloading any file missing."""


def rerun(row: JournalRow | None, fingerprint: str) -> Rerun:
    """What to do with the request whose fingerprint is ``fingerprint``, given its row."""
    if row is None:
        return Rerun.SUBMIT
    if row.fingerprint != fingerprint:
        return Rerun.MISMATCH
    if row.state in RESUBMITTABLE:
        return Rerun.SUBMIT
    if row.state in (RowState.SENDING, RowState.UNKNOWN) or row.task_id is None:
        return Rerun.ATTENTION
    if row.state is RowState.SUBMITTED or row.status is None:
        return Rerun.WAIT
    if row.state is RowState.FAILED:
        return Rerun.FAILED
    return Rerun.SUCCEEDED


def mismatch(path: str | os.PathLike[str], index: int) -> JournalError:
    """The error of a request that is not the one the journal recorded at ``index``."""
    return JournalError(
        f"request #{index} is not the one the journal {path} recorded at that "
        "position: not submitted (a journal resumes the same batch; use a new file for "
        "another one)"
    )


def lost_answer(row: JournalRow) -> tuple[str, APIConnectionError]:
    """Why a request an earlier run sent, with no task id back, needs attention: the
    reason the journal keeps, and the error its item carries."""
    reason = row.error or "the earlier run ended while its generate request was in flight"
    error = APIConnectionError(
        f"request #{row.index} was sent by an earlier run and no task id came back "
        f"({reason}). It may have been charged, so it is not resubmitted.",
        may_have_been_processed=True,
    )
    return reason, error


def row_time(seconds: float | None) -> datetime | None:
    """A time the journal keeps (POSIX seconds) as a date-time."""
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=timezone.utc)


def item_from_row(kind: str, row: JournalRow, *, running: bool = False) -> BatchItem[Status]:
    """The item a row stands for: ended (a status, or an error), or not ended yet (neither).

    ``running``: a batch holds the journal now, so a request it is sending is pending, not
    lost. A row with an error and no final status (a wait that gave up, a refusal) carries
    the journal's description of it as an ``nb.NanoBananaError`` (a ``NotSubmittedError``
    for a request never charged).
    """
    request = to_request(kind, json.loads(row.request))
    status = status_from_json(kind, row.status) if row.status is not None else None
    error: BaseException | None = None
    state = row.state
    if state is RowState.FAILED and status is not None and row.task_id is not None:
        error = TaskFailedError(row.task_id, status, status.error)
    elif state in (RowState.SENDING, RowState.UNKNOWN) and not (
        running and state is RowState.SENDING
    ):
        error = lost_answer(row)[1]
    elif state is RowState.NOT_SUBMITTED:
        error = NotSubmittedError(row.error or "not submitted")
    elif row.error is not None and state is not RowState.PENDING:
        error = NanoBananaError(row.error)
    return BatchItem(
        row.index,
        request,
        row.task_id,
        status,
        error,
        tuple(Path(p) for p in row.paths),
        credits_used=row.credits_used,
        submitted_at=row_time(row.submitted_at),
        ended_at=row_time(row.ended_at),
    )
