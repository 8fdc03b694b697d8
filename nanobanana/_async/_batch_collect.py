"""Collecting a charged request of a batch: waiting for its task, saving its files,
journaling how it ended, and reporting again one an earlier run finished.

Every task charged is known to the run (``BatchRun.charged``) until it ends, so a batch
that stops names the tasks still running. Nothing here is sent once the batch stops: a
wait ends (``Abandoned``) and no download starts.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from .._batch_models import BatchItem, Request, Status, is_fatal, status_from_json, status_to_json
from .._exceptions import NanoBananaError, TaskFailedError
from .._journal_rows import JournalRow, Rerun, row_time
from ._batch_run import Abandoned, BatchRun, Charge, describe
from ._download import save_results

__all__ = ["Collector"]


class Collector:
    """Waits for the tasks of one batch run and saves their results."""

    def __init__(self, run: BatchRun) -> None:
        self._run = run

    async def wait(self, index: int, request: Request, charge: Charge) -> BatchItem[Status]:
        """Wait for the task of request ``index`` (through its handle when this run has
        one), save its files if asked, and journal how it ended."""
        run, journal = self._run, self._run.journal
        task_id = charge.task_id

        def on_progress(status: Status) -> None:
            if run.closing:
                raise Abandoned

        run.charged(index, charge)
        try:
            if charge.task is not None:
                status: Status = await charge.task.wait(on_progress=on_progress)
            else:
                status = await run.target.wait(task_id, on_progress=on_progress)
        except TaskFailedError as exc:
            run.ended(index)
            ended = run.tally.wall()
            if journal is not None:
                journal.finished(
                    index,
                    succeeded=False,
                    status=status_to_json(exc.status),
                    paths=(),
                    error=describe(exc),
                    at=ended.timestamp(),
                )
            return _item(index, request, charge, exc.status, exc, ended_at=ended)
        except NanoBananaError as exc:  # a timeout, a lost task, the key revoked...
            run.ended(index)
            if is_fatal(exc):
                run.halt(exc)
            if journal is not None:
                journal.error(index, describe(exc))  # still "submitted": a rerun polls
            return _item(index, request, charge, None, exc)
        run.ended(index)
        ended = run.tally.wall()
        if run.save_to is not None:
            return await self._save(index, request, charge, status, ended)
        if journal is not None:
            journal.finished(
                index,
                succeeded=True,
                status=status_to_json(status),
                paths=(),
                error=None,
                at=ended.timestamp(),
            )
        return _item(index, request, charge, status, ended_at=ended)

    async def resume(
        self, index: int, request: Request, row: JournalRow, rerun: Rerun
    ) -> BatchItem[Status]:
        """A request an earlier run submitted (``rerun`` is WAIT, FAILED or SUCCEEDED):
        wait for it, or report how it ended, downloading any file missing."""
        assert row.task_id is not None
        charge = Charge(row.task_id, row.credits_used, row_time(row.submitted_at))
        if rerun is Rerun.WAIT or row.status is None:
            return await self.wait(index, request, charge)
        run = self._run
        run.charged(index, charge)
        run.ended(index)
        status = status_from_json(run.kind, row.status)
        ended = row_time(row.ended_at)
        if rerun is Rerun.FAILED:
            error = TaskFailedError(row.task_id, status, status.error)
            return _item(index, request, charge, status, error, ended_at=ended)
        paths = tuple(Path(p) for p in row.paths)
        if run.save_to is not None and (not paths or not all(p.exists() for p in paths)):
            return await self._save(index, request, charge, status, ended)
        return _item(index, request, charge, status, None, paths, ended_at=ended)

    async def _save(
        self,
        index: int,
        request: Request,
        charge: Charge,
        status: Status,
        ended: datetime | None,
    ) -> BatchItem[Status]:
        run = self._run
        assert run.save_to is not None
        if run.closing:
            raise Abandoned  # no download starts once the batch stopped
        error: BaseException | None = None
        paths: tuple[Path, ...] = ()
        try:
            paths = tuple(await save_results(run.target, status, run.save_to))
        except (NanoBananaError, OSError) as exc:
            error = exc
        if run.journal is not None:
            run.journal.finished(
                index,
                succeeded=True,
                status=status_to_json(status),
                paths=tuple(str(p) for p in paths),
                error=None if error is None else describe(error),
                at=None if ended is None else ended.timestamp(),
            )
        return _item(index, request, charge, status, error, paths, ended_at=ended)


def _item(
    index: int,
    request: Request,
    charge: Charge,
    status: Status | None,
    error: BaseException | None = None,
    paths: tuple[Path, ...] = (),
    *,
    ended_at: datetime | None = None,
) -> BatchItem[Status]:
    return BatchItem(
        index,
        request,
        charge.task_id,
        status,
        error,
        paths,
        credits_used=charge.credits_used,
        submitted_at=charge.submitted_at,
        ended_at=ended_at,
    )
