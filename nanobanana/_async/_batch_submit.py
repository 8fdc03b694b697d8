"""Submitting one request of a batch: checked, priced against ``max_credits``, sent (and
sent again while the server provably never processed it), journaled before anything else.

``Submitter.submit`` answers the task (with when it was created), or the item of a
request that got none: refused locally, refused by the server, of unknown fate, or not
submitted because the batch halted. A generate request whose turn came is never cut short: its answer (a task id
first of all) is journaled before a stopping batch lets go of the journal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._batch_models import BatchItem, Request, Status, is_fatal
from .._budgeting import Budget
from .._catalog import validate
from .._concurrency import AsyncLock, AsyncShield, Stopped
from .._exceptions import (
    APIConnectionError,
    BudgetExceededError,
    InvalidParameterError,
    JournalError,
    NanoBananaError,
    NotSubmittedError,
    RateLimitError,
    UnexpectedResponseError,
)
from .._log import logger
from .._options import NO_OPTIONS
from .._requests import CostRequest, cost_request
from ._batch_run import Abandoned, BatchRun, Charge, describe
from ._stopping import StoppableClock

if TYPE_CHECKING:
    from ._tasks import AsyncImageTask, AsyncVideoTask

__all__ = ["BATCH_RETRIES", "Submitter"]

BATCH_RETRIES = 3
"""How many more times a batch submits a request the server provably never processed
(429, failed connect) after the client's own retries gave up."""


class Submitter:
    """Sends the requests of one batch run, within its ``max_credits`` (if any)."""

    def __init__(self, run: BatchRun, max_credits: int | None) -> None:
        self._run = run
        self._budget = Budget(max_credits) if max_credits is not None else None
        self._budget_lock = AsyncLock()
        self._prices: dict[CostRequest, int] = {}

    async def price(self, key: CostRequest) -> int:
        """The credits of a request of these parameters (asked once per batch)."""
        if key not in self._prices:
            estimate = await self._run.client.account._submit(key, NO_OPTIONS)
            self._prices[key] = estimate.credits_needed
        return self._prices[key]

    async def submit(self, index: int, request: Request) -> Charge | BatchItem[Status]:
        """Send request ``index``: its task, or its item when it has none."""
        run, journal = self._run, self._run.journal
        try:
            validate(request)
        except InvalidParameterError as exc:
            if journal is not None:
                journal.not_submitted(index, describe(exc))
            return BatchItem(index, request, error=exc)
        if run.closing:
            raise Abandoned
        if run.halted is not None:
            return self.not_submitted(index, request)
        reserved = 0
        if self._budget is not None:
            held = await self._reserve(self._budget, index, request)
            if isinstance(held, BatchItem):
                return held
            reserved = held
        try:
            charge = await self._generate_retrying(index, request)
        except NanoBananaError as exc:  # journaled by _generate
            if getattr(exc, "may_have_been_processed", False):
                return BatchItem(index, request, error=exc)
            if self._budget is not None:
                self._budget.refund(reserved)
            if is_fatal(exc, request) and run.halt(exc):
                logger.warning("batch: %s; submitting nothing more", describe(exc))
            return BatchItem(index, request, error=exc)
        except Abandoned:
            if self._budget is not None:
                self._budget.refund(reserved)
            raise
        if self._budget is not None:
            self._budget.settle(reserved, charge.credits_used)
        return charge

    def not_submitted(self, index: int, request: Request) -> BatchItem[Status]:
        """The item of a request the batch will not send, since it halted or closed."""
        reason = self._run.halted
        if isinstance(reason, BudgetExceededError):
            message = f"not submitted: {reason}"
        elif reason is not None:
            message = f"not submitted: the batch stopped after {describe(reason)}"
        else:
            message = "not submitted: the batch was closed"
        if self._run.journal is not None:
            self._run.journal.not_submitted(index, message)
        return BatchItem(index, request, error=NotSubmittedError(message, reason=reason))

    async def _reserve(
        self, budget: Budget, index: int, request: Request
    ) -> int | BatchItem[Status]:
        """Hold the request's price against ``max_credits``: the credits, or an item."""
        run = self._run
        async with self._budget_lock:
            if run.halted is not None:
                return self.not_submitted(index, request)
            try:
                cost = await self.price(cost_request(request))
            except NanoBananaError as exc:
                if is_fatal(exc, request):
                    run.halt(exc)
                if run.journal is not None:
                    run.journal.not_submitted(index, describe(exc))
                return BatchItem(index, request, error=exc)
            try:
                budget.reserve(cost)
            except BudgetExceededError as exc:
                if run.halt(exc):
                    logger.warning("batch: %s; submitting nothing more", exc)
                return self.not_submitted(index, request)
            return cost

    async def _generate_retrying(self, index: int, request: Request) -> Charge:
        """``_generate``, tried again (a few times, with growing pauses) while the server
        provably never processed it: a 429 or a failed connect, after the client's own
        retries. Anything else, or a fate unknown, is final."""
        for attempt in range(BATCH_RETRIES + 1):
            try:
                return await self._generate(index, request)
            except (RateLimitError, APIConnectionError) as exc:
                if (
                    attempt == BATCH_RETRIES
                    or getattr(exc, "may_have_been_processed", False)
                    or self._run.client._http.is_closed  # it will not open again
                ):
                    raise
                retry_after = exc.retry_after if isinstance(exc, RateLimitError) else None
                delay = retry_after if retry_after is not None else 5.0 * (attempt + 1)
                logger.info("batch request #%d: %s; trying again in %.1fs", index, exc, delay)
                client = self._run.client
                try:  # ends with Abandoned on stop, and at once when the client is closed
                    await StoppableClock(client._clock, client._closing).asleep(delay)
                except Stopped:
                    pass  # closed: the next try is refused at once, unsent, and raised
        raise AssertionError("unreachable")  # pragma: no cover

    async def _generate(self, index: int, request: Request) -> Charge:
        """Send one generate request; its outcome (a task id first of all) is journaled
        before anything else, and before a stopping batch lets go of the journal.

        Cancellation cannot interrupt it once the request got its turn (the shield is
        engaged then): its fate would be unknown, and its task id lost."""
        run, journal = self._run, self._run.journal
        shield = AsyncShield(engaged=False)
        on_wire = False

        def on_send() -> None:
            nonlocal on_wire
            if on_wire:
                run.gate()  # a retry of the client's: refused too once stopping
            else:
                run.sending()
                on_wire = True
            shield.engage()
            if journal is not None:
                journal.sending(index)

        task: AsyncImageTask | AsyncVideoTask | None = None
        try:
            with shield:
                try:
                    task = await run.target._submit(request, NO_OPTIONS, on_send=on_send)
                    task_id, credits_used = task.task_id, task.credits_used
                except UnexpectedResponseError as exc:
                    if exc.task_id is None:
                        self._journal_failure(index, exc, on_wire)
                        raise
                    # The task exists (its id read) though the rest of the answer did not:
                    # wait for it like any other, its price unknown.
                    logger.warning("batch request #%d: %s", index, exc)
                    task_id, credits_used = exc.task_id, None
                except NanoBananaError as exc:
                    self._journal_failure(index, exc, on_wire)
                    raise
                except Abandoned:
                    if journal is not None and on_wire:  # the earlier attempts never arrived
                        journal.not_submitted(index, "not submitted: the batch was closed")
                    raise
                at = run.tally.wall()
                charge = Charge(task_id, credits_used, at, task)
                run.charged(index, charge)
                run.tally.paid(credits_used)
                if journal is not None:
                    try:
                        journal.submitted(index, task_id, credits_used, at=at.timestamp())
                    except JournalError:  # the disk failed: the task id must not be lost
                        logger.exception(
                            "batch request #%d: task %s was created, and could not be journaled",
                            index,
                            task_id,
                        )
        finally:
            if on_wire:
                run.answered()
        return charge

    def _journal_failure(self, index: int, exc: NanoBananaError, on_wire: bool) -> None:
        """Journal a generate request that got no task id (once it was sent): of unknown
        fate, never resubmitted; or refused, which a rerun may submit."""
        journal = self._run.journal
        if journal is None or not on_wire:
            return
        if getattr(exc, "may_have_been_processed", False):
            journal.unknown(index, describe(exc))
        else:
            journal.not_submitted(index, describe(exc))
