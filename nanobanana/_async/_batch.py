"""Batch fan-out: ``images.generate_many`` / ``videos.generate_many``.

``AsyncBatch`` submits requests from its input with at most ``concurrency`` in flight,
waits for each task through a poll scheduler, saves the results, and hands out one
``BatchItem`` per request as each ends. Every request of the input is accounted for
exactly once: a success, a failure of that request, or "not submitted".

The workers run in a task of their own (a system task on Trio, a thread in the sync
twin), never inside the caller's cancel scopes. Every request they make goes through a
copy of the client whose limiter has a gate and whose clock's sleeps end when the batch
stops. So stopping is prompt: leaving ``async with``, ``aclose()``, an exception or a
cancellation out of the loop, or merely dropping the batch (a ``break``) stops it at
once. No generate request is sent any more (one whose turn comes later is refused before
it leaves), waits and sleeps end (in the sync twin a thread blocked elsewhere is left to
end by itself, and sends nothing), and the journal is let go as soon as the generate
requests already on the wire have their answer journaled. Their task ids are never lost:
the journal has them, the log names them, and ``unreported`` lists every task whose
outcome the batch did not hand out.

The parts, one concern each: ``_batch_engine`` (starting, the workers), ``_batch_run``
(what they share, and stopping), ``_batch_submit`` (sending, within ``max_credits``),
``_batch_collect`` (waiting, saving), ``_batch_input`` (reading the input); the credit
arithmetic is ``nanobanana._budgeting``'s, the journal's decisions ``_journal_rows``'.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Generic

from .._batch_models import BatchItem, StatusT
from .._batch_stats import BatchStats
from .._concurrency import AsyncAnyIterable, AsyncDetached, QueueClosed
from .._exceptions import InvalidParameterError
from ._batch_engine import BatchEngine, End
from ._batch_input import is_iterable
from ._batch_run import BatchTarget

__all__ = ["DEFAULT_CONCURRENCY", "AsyncBatch"]

DEFAULT_CONCURRENCY = {"image": 8, "video": 16}
"""Requests in flight by default. Under the API's 60 requests a minute (polls included)
an image task costs about three requests over ~15 s, so 8 in flight already keep the
budget busy; video tasks take minutes and poll less often, so more of them fit."""


class AsyncBatch(Generic[StatusT]):
    """A running batch: an async iterator of ``BatchItem`` and an async context manager.

    Made by ``client.images.generate_many(...)`` (an ``AsyncBatch[nb.ImageStatus]``,
    yielding ``BatchItem[nb.ImageStatus]``) / ``client.videos.generate_many(...)``.
    Nothing happens until it is entered or iterated. ``on_progress(item)`` is called in
    the iterating task, with each item, just before it is handed out.

    Leaving the loop at any point is safe on asyncio and Trio. ``aclose()`` (or leaving
    ``async with``) stops the batch and returns once it let go of its journal; a batch
    dropped (``break`` out of a plain ``async for``), or whose iteration is cancelled or
    interrupted, stops by itself at once. A new run of the same journal in this process
    waits for a stopping one to let go, and resumes where it stopped.

    Starting it (entering, or asking for the first item) raises ``JournalError`` for a
    journal it cannot use, ``BudgetExceededError`` when the preflight prices the batch
    over the balance or ``max_credits``, and the errors of the preflight's requests
    (``credits``, ``calculate_cost``); nothing has been submitted then. An error raised
    by the input itself comes out of the loop after the items.

    Args:
        resource: ``client.images`` or ``client.videos``: whose requests it sends.
        kind: ``"image"`` or ``"video"``, the resource's kind.
        requests: See ``generate_many``.
        concurrency: See ``generate_many``.
        max_credits: See ``generate_many``.
        journal: See ``generate_many``.
        on_progress: See ``generate_many``.
        save_to: See ``generate_many``.
        preflight: See ``generate_many``.

    Raises:
        InvalidParameterError: ``requests``, ``concurrency`` or ``max_credits`` was
            refused.
    """

    def __init__(
        self,
        resource: BatchTarget,
        kind: str,
        requests: AsyncAnyIterable[Any],
        *,
        concurrency: int | None = None,
        max_credits: int | None = None,
        journal: str | os.PathLike[str] | None = None,
        on_progress: Callable[[BatchItem[StatusT]], object] | None = None,
        save_to: str | os.PathLike[str] | None = None,
        preflight: bool = True,
    ) -> None:
        if isinstance(requests, (str, bytes)) or not is_iterable(requests):
            raise InvalidParameterError(
                "requests", requests, reason="requests must be an iterable of prompts or requests"
            )
        if concurrency is not None and (
            isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
        ):
            raise InvalidParameterError("concurrency", concurrency, "an int >= 1 or None")
        if max_credits is not None and (
            isinstance(max_credits, bool) or not isinstance(max_credits, int) or max_credits < 0
        ):
            raise InvalidParameterError("max_credits", max_credits, "an int >= 0 or None")
        self._engine = BatchEngine(
            resource,
            kind,
            requests,
            concurrency=concurrency or DEFAULT_CONCURRENCY[kind],
            max_credits=max_credits,
            journal=journal,
            save_to=save_to,
            preflight=preflight,
        )
        self._on_progress = on_progress
        self._state = "new"
        self._host: AsyncDetached | None = None

    @property
    def unreported(self) -> dict[int, str]:
        """Task ids (by request index) that were charged and whose outcome this batch has
        not handed out: after it stopped, the tasks still running then (or that ended
        while nobody was reading). Collect them with ``wait(task_id)``, or rerun with the
        same journal. Empty once a batch ran to its end."""
        return self._engine.run.unreported()

    @property
    def stats(self) -> BatchStats:
        """The batch's numbers so far: items handed out (succeeded, failed, pending),
        credits the generate answers charged, API requests sent, time elapsed."""
        return self._engine.run.tally.snapshot()

    def write_gallery(
        self,
        path: str | os.PathLike[str],
        *,
        title: str | None = None,
        notes: Sequence[str] = (),
    ) -> Path:
        """Write the batch's gallery: one self-contained HTML page of the items handed out
        so far (the first 10,000), with ``stats`` in its header.

        A quick, blocking write of one file; it may be called while the batch runs. See
        ``nb.write_gallery``.

        Args:
            path: The page's file (``.html``), or a directory to write ``index.html`` in:
                ``save_to``'s, so that the page shows the files saved beside it.
            title: The page's title (default: "nanobanana batch").
            notes: Lines of text under the header.

        Returns:
            The path of the page written.
        """
        from .._gallery import write_gallery

        run = self._engine.run
        items = run.tally.items()
        return write_gallery(path, items, stats=self.stats, title=title, notes=notes)

    def __aiter__(self) -> AsyncBatch[StatusT]:
        return self

    async def __anext__(self) -> BatchItem[StatusT]:
        if self._state == "new":
            await self._start()
        if self._state != "running":
            raise StopAsyncIteration
        try:
            got = await self._engine.items.get()
        except QueueClosed:
            got = End()
        except BaseException:
            # Cancelled or interrupted: whoever iterates is leaving. Stop now, so that the
            # journal is let go even if this batch is never closed.
            self._state = "closing"
            self._engine.run.stop()
            raise
        if isinstance(got, BatchItem):
            self._engine.run.handed_out(got.index)
            self._engine.run.tally.handed_out(got)
            if self._on_progress is not None:
                self._on_progress(got)
            return got
        await self.aclose()
        if isinstance(got, End) and got.error is not None:
            raise got.error
        raise StopAsyncIteration

    async def __aenter__(self) -> AsyncBatch[StatusT]:
        await self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        await self.aclose()

    async def _start(self) -> None:
        if self._state != "new":
            return
        self._state = "starting"
        try:
            await self._engine.prepare()
        except BaseException:
            self._state = "closed"
            self._engine.items.close()
            raise
        host = AsyncDetached()
        # A process that exits while the batch runs (the blocking client's threads are
        # daemons) first lets the generate requests on the wire journal their task ids.
        host.start(self._engine.serve, at_exit=self._engine.abandon)
        self._host = host
        self._state = "running"

    async def aclose(self) -> None:
        """Stop: nothing more is sent; waits and sleeps end; returns once the generate
        requests already on the wire are answered and journaled, and the journal let go.
        ``unreported`` then names the tasks still running."""
        if self._state in ("running", "closing"):
            self._state = "closing"
            run = self._engine.run
            try:
                run.stop()
                await run.wait_released()
                # unasync: async-only
                if self._host is not None:
                    await self._host.wait()  # on an event loop, the rest ends at once
                # unasync: end
            except BaseException:
                # Cut short (a second Ctrl-C, wherever it lands once closing began): the
                # process's exit does not wait for the batch again.
                run.given_up = True
                raise
            finally:
                self._state = "closed"
                self._engine.items.close()
        elif self._state == "new":
            self._state = "closed"
            self._engine.items.close()

    def _give_up(self) -> None:
        """Stop, for a caller that no longer waits for ``aclose()`` (the command line, past
        its limit or at a second Ctrl-C): the process's exit does not wait again for the
        generate requests on the wire. ``unreported`` still names the tasks charged."""
        self._engine.run.give_up()

    def __del__(self) -> None:
        # Dropped without aclose() (a loop left early): stop at once, let go of the journal.
        if getattr(self, "_state", None) == "running":
            try:
                self._engine.run.stop()
            except Exception:  # interpreter shutdown: nothing left to stop
                pass
