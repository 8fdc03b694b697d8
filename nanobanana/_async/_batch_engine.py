"""The engine of a batch: how it starts (the journal, the cost preflight) and its workers.

Each worker takes the next request of the input and sees it through: what the journal
says of it (``_journal_rows.rerun``), then ``Submitter`` (sending) and ``Collector``
(waiting, saving), and puts its item in the queue the batch hands out from. The parts
share one ``BatchRun``, which also stops them.
"""

from __future__ import annotations

import os
from collections.abc import Sized
from contextlib import aclosing
from pathlib import Path
from typing import Any

from .._batch_models import BatchItem, Request, Status, fingerprint, request_json, to_request
from .._budgeting import CostTally, preflight
from .._catalog import validate
from .._concurrency import AsyncAnyIterable, AsyncQueue, AsyncTaskGroup, QueueClosed
from .._exceptions import InvalidParameterError
from .._journal_rows import Rerun, RowState, lost_answer, mismatch, rerun, row_time
from .._log import logger
from .._requests import CostRequest, ImageRequest, VideoRequest
from ._batch_collect import Collector
from ._batch_input import RequestSource, each, reiterable
from ._batch_run import Abandoned, BatchRun, BatchTarget, Charge, describe, open_journal
from ._batch_submit import Submitter

__all__ = ["BatchEngine", "End"]


class End:
    """The last thing the workers put in the queue (carries an input error, if any)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class BatchEngine:
    """The workers of one batch (``serve`` runs them, in the batch's detached host) and
    ``items``, the queue of what they finished."""

    def __init__(
        self,
        resource: BatchTarget,
        kind: str,
        requests: AsyncAnyIterable[Any],
        *,
        concurrency: int,
        max_credits: int | None,
        journal: str | os.PathLike[str] | None,
        save_to: str | os.PathLike[str] | None,
        preflight: bool,
    ) -> None:
        self.run = BatchRun(resource._client, kind, Path(save_to) if save_to is not None else None)
        self.items = AsyncQueue(1)
        self._kind = kind
        self._requests = requests
        self._concurrency = concurrency
        self._max_credits = max_credits
        self._journal_path = journal
        self._preflight = preflight
        self._submitter = Submitter(self.run, max_credits)
        self._collector = Collector(self.run)
        self._source: RequestSource | None = None

    # -- starting and running ----------------------------------------------------------

    async def prepare(self) -> None:
        """Open the journal, run the preflight (in the caller's task: errors raise there)."""
        run = self.run
        run.start()
        try:
            if self._journal_path is not None:
                run.journal = await open_journal(self._journal_path, self._kind)
            requests = self._requests
            if self._preflight:
                if not reiterable(requests):
                    requests = [raw async for raw in each(requests)]
                await self._check_budget(requests)
            if isinstance(requests, Sized):
                run.tally.total(len(requests))
            self._source = RequestSource(requests, stopped=lambda: run.closing)
        except BaseException:
            if run.journal is not None:
                run.journal.close()
                run.journal = None
            raise

    async def serve(self) -> None:
        """The host: the workers, then cleanup and the end marker. Never raises."""
        async with AsyncTaskGroup() as tg:
            tg.start_soon(self._watch, tg)
            error: BaseException | None = None
            try:
                async with AsyncTaskGroup() as workers:
                    for _ in range(self._concurrency):
                        workers.start_soon(self._worker)
            except Exception as exc:  # a bug of ours: hand it to the iterating task
                logger.exception("batch failed")
                error = exc
            finally:
                await self._finish()
            if error is None and self._source is not None:
                error = self._source.error
            try:
                await self.items.put(End(error))
            except QueueClosed:
                pass
            self.run.end()  # the watcher's turn to end

    async def abandon(self) -> None:
        """The process exits while the batch runs (a Ctrl-C out of a plain loop over it,
        a batch dropped at the end of a script): stop it, and wait until the generate
        requests already on the wire have their answers, task ids first, journaled and
        the tasks still running named (a second Ctrl-C quits at once, and so does the
        exit of a process whose ``close()`` wait was cut short by one)."""
        run = self.run
        if run.given_up:  # a Ctrl-C already cut close() short: quit now, as asked
            return
        run.stop()
        sending = run.on_wire
        if sending:
            logger.warning(
                "batch: waiting for the answers to %d generate request(s) already sent, so "
                "that their task ids are not lost (Ctrl-C again to quit now)",
                sending,
            )
        await run.wait_released()

    async def _watch(self, tg: AsyncTaskGroup) -> None:
        """Waits for the batch to stop (from any thread) and stops the workers from the
        host; at the end of a batch run to its end, leaves the end marker for the
        iterating task."""
        await self.run.stopped()
        if self.run.closing:
            self.items.close()
            tg.cancel()

    async def _finish(self) -> None:
        """After the workers: close the input, let go of the journal."""
        try:
            if self._source is not None:
                if self._source.count is not None:
                    self.run.tally.total(self._source.count)
                await self._source.aclose()
        finally:
            self.run.release()

    async def _check_budget(self, requests: AsyncAnyIterable[Any]) -> None:
        """The preflight: price every distinct parameter set once; refuse an over-budget batch."""
        journal = self.run.journal
        tally = CostTally()
        index = 0
        async with aclosing(each(requests)) as source:
            async for raw in source:
                position = index
                index += 1
                try:
                    request = to_request(self._kind, raw)
                    validate(request)
                except InvalidParameterError:
                    continue  # it becomes an item; nothing is spent on it
                if journal is not None:
                    row = journal.get(position)
                    if row is not None:
                        then = rerun(row, fingerprint(self._kind, position, request))
                        if then is Rerun.MISMATCH:
                            raise mismatch(journal.path, position)
                        if then is not Rerun.SUBMIT:
                            continue  # already submitted by an earlier run: nothing to pay
                tally.add(request)
        prices: dict[CostRequest, int] = {}
        for key in tally.distinct():
            try:
                prices[key] = await self._submitter.price(key)
            except InvalidParameterError:
                continue
        total = tally.total(prices)
        if total == 0:
            return
        balance = (await self.run.client.account.credits()).credits
        preflight(total, balance=balance, max_credits=self._max_credits)
        logger.info("batch preflight: %d credits needed, %d available", total, balance)

    # -- the workers -------------------------------------------------------------------

    async def _worker(self) -> None:
        run, source = self.run, self._source
        assert source is not None, "prepare() runs first"
        while not run.closing:
            pulled = await source.pull()
            if pulled is None:
                return
            index, raw = pulled
            try:
                item = await self._process(index, raw)
            except Abandoned:
                return
            except Exception as exc:
                if run.closing:  # the batch stopped under it (its journal let go)
                    logger.debug("batch request #%d: stopped", index, exc_info=True)
                    return
                # a bug of ours: report it rather than lose the request (or its task)
                logger.exception("batch request #%d failed unexpectedly", index)
                item = self._unexpected(index, raw, exc)
            try:
                await self.items.put(item)
            except QueueClosed:
                return

    def _unexpected(self, index: int, raw: Any, error: Exception) -> BatchItem[Status]:
        """The item of a request whose processing raised an error none of its steps
        expects: it keeps what the batch knows of the request. Once charged, that is its
        task (id, price, when; from the run, else the journal's row), which the journal
        keeps too: a rerun waits for that task rather than submit it again."""
        run = self.run
        run.ended(index)  # not "running" any more for this run: the item names the task
        charge = run.charge_of(index)
        try:
            request = to_request(self._kind, raw)
        except Exception:
            request = self._placeholder(raw)
        journal = run.journal
        if journal is not None:
            try:
                row = journal.get(index)
                if row is not None:
                    if charge is not None and row.task_id is None:
                        at = charge.submitted_at
                        journal.submitted(
                            index,
                            charge.task_id,
                            charge.credits_used,
                            at=None if at is None else at.timestamp(),
                        )
                    elif charge is None and row.task_id is not None:
                        charge = Charge(row.task_id, row.credits_used, row_time(row.submitted_at))
                    journal.error(index, describe(error))
            except Exception:
                logger.exception("batch request #%d: the journal could not note it", index)
        if charge is None:
            return BatchItem(index, request, error=error)
        return BatchItem(
            index,
            request,
            charge.task_id,
            error=error,
            credits_used=charge.credits_used,
            submitted_at=charge.submitted_at,
        )

    def _placeholder(self, raw: Any) -> Request:
        request = getattr(raw, "prompt", raw)
        cls = ImageRequest if self._kind == "image" else VideoRequest
        return cls(request if isinstance(request, str) else repr(raw))

    async def _process(self, index: int, raw: Any) -> BatchItem[Status]:
        """See request ``index`` through, from what the journal says of it."""
        try:
            request = to_request(self._kind, raw)
        except InvalidParameterError as exc:
            return BatchItem(index, self._placeholder(raw), error=exc)
        journal = self.run.journal
        if journal is not None:
            digest = fingerprint(self._kind, index, request)
            row = journal.begin(index, digest, request_json(request))
            then = rerun(row, digest)
            if then is Rerun.MISMATCH:
                return BatchItem(index, request, error=mismatch(journal.path, index))
            if then is Rerun.ATTENTION:
                reason, error = lost_answer(row)
                if row.state is not RowState.UNKNOWN:
                    journal.unknown(index, reason)
                return BatchItem(index, request, error=error)
            if then is not Rerun.SUBMIT:
                return await self._collector.resume(index, request, row, then)
        charge = await self._submitter.submit(index, request)
        if isinstance(charge, BatchItem):
            return charge
        return await self._collector.wait(index, request, charge)
