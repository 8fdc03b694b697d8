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
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable
from contextlib import aclosing
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol

from .. import _catalog
from .._batch_models import (
    BatchItem,
    BudgetExceededError,
    JournalError,
    NotSubmittedError,
    Request,
    Status,
    StatusT,
    fingerprint,
    is_fatal,
    request_json,
    status_from_json,
    status_to_json,
    to_request,
)
from .._clock import AsyncTimeSource
from .._concurrency import (
    AsyncAnyIterable,
    AsyncDetached,
    AsyncLock,
    AsyncQueue,
    AsyncShield,
    AsyncTaskGroup,
    AsyncWakeup,
    QueueClosed,
)
from .._exceptions import (
    APIConnectionError,
    InvalidParameterError,
    NanoBananaError,
    RateLimitError,
    TaskFailedError,
)
from .._journal import RESUBMITTABLE, Journal, JournalBusy, JournalRow
from .._limits import AsyncLimiter, Permit
from .._log import logger
from .._options import NO_OPTIONS, OnSend, RequestOptions
from .._requests import CostRequest, ImageRequest, VideoRequest, cost_request
from ._download import save_results
from ._tasks import AsyncImageTask, AsyncVideoTask

if TYPE_CHECKING:
    from ._client import AsyncClient

__all__ = ["DEFAULT_CONCURRENCY", "AsyncBatch"]

DEFAULT_CONCURRENCY = {"image": 8, "video": 16}
"""Requests in flight by default. Under the API's 60 requests a minute (polls included)
an image task costs about three requests over ~15 s, so 8 in flight already keep the
budget busy; video tasks take minutes and poll less often, so more of them fit."""

BATCH_RETRIES = 3
"""How many more times a batch submits a request the server provably never processed
(429, failed connect) after the client's own retries gave up."""

HANDOFF_TIMEOUT = 180.0
"""Real seconds a new run waits for a stopping batch of this process to let go of the
journal. Stopping waits only for generate requests on the wire (bounded by the client's
timeouts: 130 s at most by default), so this is reached only if that batch hangs."""


class BatchTarget(Protocol):
    """What the engine calls on ``client.images`` / ``client.videos``: their one submit
    path (``generate`` calls it too) and ``wait``. Typed, so the checkers see a change."""

    _client: AsyncClient

    async def _submit(
        self,
        request: ImageRequest | VideoRequest,
        options: RequestOptions,
        *,
        on_send: OnSend | None = None,
    ) -> AsyncImageTask | AsyncVideoTask: ...

    async def wait(
        self, task_id: str, *, on_progress: Callable[[Status], object] | None = None
    ) -> Status: ...


class _Abandoned(Exception):
    """The batch stopped: end this request without an item (internal)."""


class _End:
    """The last thing the workers put in the queue (carries an input error, if any)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class _StoppingLimiter:
    """The client's limiter, for the requests of a batch: a request whose turn comes
    after the batch stopped is refused (``gate`` raises) and never leaves."""

    __slots__ = ("_gate", "_inner")

    def __init__(self, inner: AsyncLimiter, gate: Callable[[], None]) -> None:
        self._inner = inner
        self._gate = gate

    async def acquire(self) -> Permit:
        permit = await self._inner.acquire()
        try:
            self._gate()
        except BaseException:
            permit.release(sent=False)
            raise
        return permit

    def pause(self, seconds: float) -> None:
        self._inner.pause(seconds)


class _StoppableClock:
    """The client's clock, whose sleeps end (raising ``_Abandoned``) when the batch stops.

    A clock that does not wait in real time (``to_real`` is 0: a ManualClock) is asked
    to sleep itself, so that its time moves on as before.
    """

    __slots__ = ("_inner", "_stop")

    def __init__(self, inner: AsyncTimeSource, stop: AsyncWakeup) -> None:
        self._inner = inner
        self._stop = stop

    def now(self) -> float:
        return self._inner.now()

    def to_real(self, seconds: float) -> float:
        return self._inner.to_real(seconds)

    async def asleep(self, seconds: float) -> None:
        if self._stop.is_set():
            raise _Abandoned
        real = self._inner.to_real(seconds)
        if real <= 0:
            await self._inner.asleep(seconds)
        elif await self._stop.wait(real):
            raise _Abandoned


async def _each(requests: AsyncAnyIterable[Any]) -> AsyncGenerator[Any, None]:
    """Every request, in order."""
    # unasync: async-only
    if isinstance(requests, AsyncIterable):
        async for raw in requests:
            yield raw
        return
    # unasync: end
    for raw in requests:
        yield raw


def _is_iterable(requests: object) -> bool:
    # unasync: async-only
    if isinstance(requests, AsyncIterable):
        return True
    # unasync: end
    return isinstance(requests, Iterable)


def _reiterable(requests: Any) -> bool:
    """True when iterating ``requests`` again starts over (a list, not a generator)."""
    # unasync: async-only
    if isinstance(requests, AsyncIterable):
        return requests.__aiter__() is not requests
    # unasync: end
    return iter(requests) is not requests


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


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
        if isinstance(requests, (str, bytes)) or not _is_iterable(requests):
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
        self._engine = _Engine(
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
        return self._engine.unreported()

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
            got = _End()
        except BaseException:
            # Cancelled or interrupted: whoever iterates is leaving. Stop now, so that the
            # journal is let go even if this batch is never closed.
            self._state = "closing"
            self._engine.stop()
            raise
        if isinstance(got, BatchItem):
            self._engine.handed_out(got)
            if self._on_progress is not None:
                self._on_progress(got)
            return got
        await self.aclose()
        if isinstance(got, _End) and got.error is not None:
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
        host.start(self._engine.run)
        self._host = host
        self._state = "running"

    async def aclose(self) -> None:
        """Stop: nothing more is sent; waits and sleeps end; returns once the generate
        requests already on the wire are answered and journaled, and the journal let go.
        ``unreported`` then names the tasks still running."""
        if self._state in ("running", "closing"):
            self._state = "closing"
            self._engine.stop()
            try:
                await self._engine.wait_released()
                # unasync: async-only
                if self._host is not None:
                    await self._host.wait()  # on an event loop, the rest ends at once
                # unasync: end
            finally:
                self._state = "closed"
                self._engine.items.close()
        elif self._state == "new":
            self._state = "closed"
            self._engine.items.close()

    def __del__(self) -> None:
        # Dropped without aclose() (a loop left early): stop at once, let go of the journal.
        if getattr(self, "_state", None) == "running":
            try:
                self._engine.stop()
            except Exception:  # interpreter shutdown: nothing left to stop
                pass


class _Engine:
    """The state and the workers of one batch (run by AsyncBatch's detached host).

    Shared between the workers and whoever stops the batch (any thread): ``_closing``
    (nothing is sent once it is set), ``_on_wire`` (generate requests that got their turn
    and whose answer is not journaled yet) and ``_released`` (the journal was let go),
    under ``_lock``. The journal is let go once ``_closing`` is set and ``_on_wire`` is 0.
    """

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
        self._client = resource._client
        self._kind = kind
        self._requests = requests
        self._concurrency = concurrency
        self._max_credits = max_credits
        self._journal_path = journal
        self._save_to = Path(save_to) if save_to is not None else None
        self._preflight = preflight
        self._journal: Journal | None = None
        self.items = AsyncQueue(1)
        self._pull_lock = AsyncLock()
        self._budget_lock = AsyncLock()
        self._source: AsyncGenerator[Any, None] | None = None
        self._source_error: BaseException | None = None
        self._next_index = 0
        self._costs: dict[CostRequest, int] = {}
        self._committed = 0
        self._stop: BaseException | None = None
        self._lock = threading.Lock()
        self._closing = False
        self._on_wire = 0
        self._released = False
        self._waiting: dict[int, str] = {}
        self._unreported: dict[int, str] = {}
        self._stop_wake: AsyncWakeup | None = None
        self._released_wake: AsyncWakeup | None = None
        self._sender: AsyncClient | None = None
        self._resource: BatchTarget | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def prepare(self) -> None:
        """Open the journal, run the preflight (in the caller's task: errors raise there)."""
        self._stop_wake = AsyncWakeup()
        self._released_wake = AsyncWakeup()
        # Every request of the batch goes through this copy of the client: its limiter
        # refuses to send once the batch stops, its clock's sleeps end then.
        sender = self._client._copy(
            clock=_StoppableClock(self._client._clock, self._stop_wake),
            limiter=_StoppingLimiter(self._client._limiter, self._gate),
        )
        self._sender = sender
        self._resource = sender.images if self._kind == "image" else sender.videos
        try:
            if self._journal_path is not None:
                self._journal = await self._open_journal(self._journal_path)
            requests = self._requests
            if self._preflight:
                if not _reiterable(requests):
                    requests = [raw async for raw in _each(requests)]
                await self._check_budget(requests)
            self._source = _each(requests)
        except BaseException:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            raise

    async def _open_journal(self, path: str | os.PathLike[str]) -> Journal:
        """Open the journal; when a batch of this process is stopping and still holds it,
        wait for it to let go (bounded) rather than fail."""
        deadline: float | None = None
        while True:
            wakeup = AsyncWakeup()
            try:
                return Journal(path, self._kind)
            except JournalBusy as busy:
                if not busy.holder.closing:
                    raise
                if deadline is None:
                    deadline = time.monotonic() + HANDOFF_TIMEOUT
                    logger.info(
                        "batch: waiting for the run of %s that is stopping to let go of it",
                        busy.holder.path,
                    )
                busy.holder.when_closed(wakeup.wake)
                left = deadline - time.monotonic()
                if left <= 0 or not await wakeup.wait(left):
                    raise JournalError(
                        f"the batch journal {busy.holder.path} is still in use by a batch of "
                        f"this process that has been stopping for {HANDOFF_TIMEOUT:g} s"
                    ) from busy

    async def run(self) -> None:
        """The host: the workers, then cleanup and the end marker. Never raises."""
        assert self._stop_wake is not None
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
            try:
                await self.items.put(_End(error or self._source_error))
            except QueueClosed:
                pass
            self._stop_wake.wake()  # the watcher's turn to end

    async def _watch(self, tg: AsyncTaskGroup) -> None:
        """Waits for ``stop()`` (from any thread) and stops the workers from the host; at
        the end of a batch run to its end, leaves the end marker for the iterating task."""
        assert self._stop_wake is not None
        await self._stop_wake.wait()
        if self._closing:
            self.items.close()
            tg.cancel()

    def stop(self) -> None:
        """Stop at once (any thread may call it): nothing more is sent, waits end, and the
        journal is let go once the generate requests on the wire are journaled."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            idle = self._on_wire == 0
        if self._journal is not None:
            self._journal.close_soon()
        if self._stop_wake is not None:
            self._stop_wake.wake()
        if idle:
            self._release()

    async def wait_released(self) -> None:
        """Wait until the batch let go of its journal (``stop()`` first)."""
        if self._released_wake is not None:
            await self._released_wake.wait()

    def _release(self) -> None:
        """Let go of the journal, once: nothing is on the wire and nothing will be sent."""
        with self._lock:
            if self._released:
                return
            self._released = True
            running = sorted(self._waiting.values())
        try:
            if running:
                where = (
                    f"recorded in the journal {self._journal.path}"
                    if self._journal is not None
                    else "not journaled"
                )
                logger.warning(
                    "batch stopped while %d task(s) were still running (%s): %s",
                    len(running),
                    where,
                    ", ".join(running),
                )
            if self._journal is not None:
                self._journal.close()
        finally:
            if self._released_wake is not None:
                self._released_wake.wake()

    def _client_copy(self) -> AsyncClient:
        """The batch's copy of the client (made by ``prepare``)."""
        assert self._sender is not None, "prepare() runs first"
        return self._sender

    def _target(self) -> BatchTarget:
        """``images`` or ``videos`` of the batch's copy of the client."""
        assert self._resource is not None, "prepare() runs first"
        return self._resource

    def _gate(self) -> None:
        """Run for each request of the batch when it has its turn: refuse it once stopping."""
        if self._closing:
            raise _Abandoned

    def handed_out(self, item: BatchItem[Status]) -> None:
        """The iterating task got ``item``."""
        with self._lock:
            self._unreported.pop(item.index, None)

    def unreported(self) -> dict[int, str]:
        with self._lock:
            return dict(sorted(self._unreported.items()))

    def _charged(self, index: int, task_id: str) -> None:
        with self._lock:
            self._waiting[index] = task_id
            self._unreported[index] = task_id

    def _ended(self, index: int) -> None:
        with self._lock:
            self._waiting.pop(index, None)

    async def _finish(self) -> None:
        """After the workers: close the input, let go of the journal."""
        try:
            if self._source is not None:
                source, self._source = self._source, None
                with AsyncShield():
                    try:
                        await source.aclose()
                    except Exception:  # the input's own cleanup failed: nothing left to do
                        logger.debug("closing the batch input failed", exc_info=True)
        finally:
            self._release()

    async def _cost(self, key: CostRequest) -> int:
        if key not in self._costs:
            estimate = await self._client_copy().account._submit(key, NO_OPTIONS)
            self._costs[key] = estimate.credits_needed
        return self._costs[key]

    async def _check_budget(self, requests: AsyncAnyIterable[Any]) -> None:
        """The preflight: price every distinct parameter set once; refuse an over-budget batch."""
        counts: dict[CostRequest, int] = {}
        index = 0
        async with aclosing(_each(requests)) as source:
            async for raw in source:
                position = index
                index += 1
                try:
                    request = to_request(self._kind, raw)
                    _catalog.validate(request)
                except InvalidParameterError:
                    continue  # it becomes an item; nothing is spent on it
                if self._journal is not None:
                    row = self._journal.get(position)
                    if row is not None:
                        if row.fingerprint != fingerprint(self._kind, position, request):
                            raise JournalError(_mismatch(self._journal, position))
                        if row.state not in RESUBMITTABLE:
                            continue  # already submitted by an earlier run: nothing to pay
                key = cost_request(request)
                counts[key] = counts.get(key, 0) + 1
        total = 0
        for key, n in counts.items():
            try:
                total += await self._cost(key) * n
            except InvalidParameterError:
                continue
        if total == 0:
            return
        balance = (await self._client_copy().account.credits()).credits
        if total > balance:
            raise BudgetExceededError(
                f"this batch needs {total} credits but the account has {balance}: "
                "nothing was submitted",
                needed=total,
                available=balance,
                balance=balance,
                max_credits=self._max_credits,
            )
        if self._max_credits is not None and total > self._max_credits:
            raise BudgetExceededError(
                f"this batch needs {total} credits, more than max_credits={self._max_credits}: "
                "nothing was submitted",
                needed=total,
                available=self._max_credits,
                balance=balance,
                max_credits=self._max_credits,
            )
        logger.info("batch preflight: %d credits needed, %d available", total, balance)

    # -- the workers -------------------------------------------------------------------

    async def _worker(self) -> None:
        while not self._closing:
            pulled = await self._pull()
            if pulled is None:
                return
            index, raw = pulled
            try:
                item = await self._process(index, raw)
            except _Abandoned:
                return
            except Exception as exc:
                if self._closing:  # the batch stopped under it (its journal let go)
                    logger.debug("batch request #%d: stopped", index, exc_info=True)
                    return
                # a bug of ours: report it rather than lose the request
                logger.exception("batch request #%d failed unexpectedly", index)
                item = BatchItem(index, self._placeholder(raw), error=exc)
            try:
                await self.items.put(item)
            except QueueClosed:
                return

    async def _pull(self) -> tuple[int, Any] | None:
        async with self._pull_lock:
            source = self._source
            if source is None or self._closing:
                return None
            try:
                raw = await source.__anext__()
            except StopAsyncIteration:
                self._source = None
                return None
            except Exception as exc:  # the input failed: stop pulling, report it at the end
                self._source = None
                self._source_error = exc
                return None
            index = self._next_index
            self._next_index += 1
            return index, raw

    def _placeholder(self, raw: Any) -> Request:
        request = getattr(raw, "prompt", raw)
        cls = ImageRequest if self._kind == "image" else VideoRequest
        return cls(request if isinstance(request, str) else repr(raw))

    async def _process(self, index: int, raw: Any) -> BatchItem[Status]:
        try:
            request = to_request(self._kind, raw)
        except InvalidParameterError as exc:
            return BatchItem(index, self._placeholder(raw), error=exc)
        journal = self._journal
        if journal is not None:
            row = journal.begin(
                index, fingerprint(self._kind, index, request), request_json(request)
            )
            if row.fingerprint != fingerprint(self._kind, index, request):
                return BatchItem(index, request, error=JournalError(_mismatch(journal, index)))
            if row.state not in RESUBMITTABLE:
                return await self._resume(index, request, row)
        return await self._submit(index, request)

    async def _resume(self, index: int, request: Request, row: JournalRow) -> BatchItem[Status]:
        """A request an earlier run got to: never resubmitted."""
        journal = self._journal
        assert journal is not None
        if row.state in ("sending", "unknown") or row.task_id is None:
            reason = row.error or "the earlier run ended while its generate request was in flight"
            error = APIConnectionError(
                f"request #{index} was sent by an earlier run and no task id came back "
                f"({reason}). It may have been charged, so it is not resubmitted.",
                may_have_been_processed=True,
            )
            if row.state != "unknown":
                journal.unknown(index, reason)
            return BatchItem(index, request, error=error)
        if row.state == "submitted" or row.status is None:
            return await self._wait(index, request, row.task_id, None)
        self._charged(index, row.task_id)
        self._ended(index)
        status = status_from_json(self._kind, row.status)
        if row.state == "failed":
            return BatchItem(
                index,
                request,
                row.task_id,
                status,
                TaskFailedError(row.task_id, status, status.error),
            )
        paths = tuple(Path(p) for p in row.paths)
        if self._save_to is not None and (not paths or not all(p.exists() for p in paths)):
            return await self._save(index, request, status)
        return BatchItem(index, request, row.task_id, status, None, paths)

    def _not_submitted(self, index: int, request: Request) -> BatchItem[Status]:
        reason = self._stop
        if isinstance(reason, BudgetExceededError):
            message = f"not submitted: {reason}"
        elif reason is not None:
            message = f"not submitted: the batch stopped after {_describe(reason)}"
        else:
            message = "not submitted: the batch was closed"
        if self._journal is not None:
            self._journal.not_submitted(index, message)
        return BatchItem(index, request, error=NotSubmittedError(message, reason=reason))

    async def _reserve(self, index: int, request: Request) -> int | BatchItem[Status]:
        """Hold the request's price against ``max_credits``: the credits, or an item."""
        assert self._max_credits is not None
        async with self._budget_lock:
            if self._stop is not None:
                return self._not_submitted(index, request)
            try:
                cost = await self._cost(cost_request(request))
            except NanoBananaError as exc:
                if is_fatal(exc, request):
                    self._stop = exc
                if self._journal is not None:
                    self._journal.not_submitted(index, _describe(exc))
                return BatchItem(index, request, error=exc)
            if self._committed + cost > self._max_credits:
                self._stop = BudgetExceededError(
                    f"max_credits={self._max_credits} reached ({self._committed} credits "
                    f"committed, the next request costs {cost})",
                    needed=self._committed + cost,
                    available=self._max_credits,
                    max_credits=self._max_credits,
                )
                logger.warning("batch: %s; submitting nothing more", self._stop)
                return self._not_submitted(index, request)
            self._committed += cost
            return cost

    async def _submit(self, index: int, request: Request) -> BatchItem[Status]:
        journal = self._journal
        try:
            _catalog.validate(request)
        except InvalidParameterError as exc:
            if journal is not None:
                journal.not_submitted(index, _describe(exc))
            return BatchItem(index, request, error=exc)
        if self._closing:
            raise _Abandoned
        if self._stop is not None:
            return self._not_submitted(index, request)
        reserved = 0
        if self._max_credits is not None:
            held = await self._reserve(index, request)
            if isinstance(held, BatchItem):
                return held
            reserved = held
        try:
            task = await self._generate_retrying(index, request)
        except NanoBananaError as exc:  # journaled by _generate
            if getattr(exc, "may_have_been_processed", False):
                return BatchItem(index, request, error=exc)
            self._committed -= reserved
            if is_fatal(exc, request) and self._stop is None:
                self._stop = exc
                logger.warning("batch: %s; submitting nothing more", _describe(exc))
            return BatchItem(index, request, error=exc)
        except _Abandoned:
            self._committed -= reserved
            raise
        if reserved and task.credits_used is not None:
            self._committed += task.credits_used - reserved
        return await self._wait(index, request, task.task_id, task)

    async def _generate_retrying(
        self, index: int, request: Request
    ) -> AsyncImageTask | AsyncVideoTask:
        """``_generate``, tried again (a few times, with growing pauses) while the server
        provably never processed it: a 429 or a failed connect, after the client's own
        retries. Anything else, or a fate unknown, is final."""
        for attempt in range(BATCH_RETRIES + 1):
            try:
                return await self._generate(index, request)
            except (RateLimitError, APIConnectionError) as exc:
                if attempt == BATCH_RETRIES or getattr(exc, "may_have_been_processed", False):
                    raise
                retry_after = exc.retry_after if isinstance(exc, RateLimitError) else None
                delay = retry_after if retry_after is not None else 5.0 * (attempt + 1)
                logger.info("batch request #%d: %s; trying again in %.1fs", index, exc, delay)
                await self._client_copy()._clock.asleep(delay)  # ends with _Abandoned on stop
        raise AssertionError("unreachable")  # pragma: no cover

    async def _generate(self, index: int, request: Request) -> AsyncImageTask | AsyncVideoTask:
        """Send one generate request; its outcome (a task id first of all) is journaled
        before anything else, and before a stopping batch lets go of the journal.

        Cancellation cannot interrupt it once the request got its turn (the shield is
        engaged then): its fate would be unknown, and its task id lost."""
        journal = self._journal
        shield = AsyncShield(engaged=False)
        on_wire = False

        def on_send() -> None:
            nonlocal on_wire
            with self._lock:
                if self._closing:
                    raise _Abandoned  # its turn came after the batch stopped: never sent
                if not on_wire:
                    on_wire = True
                    self._on_wire += 1
            shield.engage()
            if journal is not None:
                journal.sending(index)

        try:
            with shield:
                try:
                    task = await self._target()._submit(request, NO_OPTIONS, on_send=on_send)
                except NanoBananaError as exc:
                    if journal is not None and on_wire:
                        if getattr(exc, "may_have_been_processed", False):
                            journal.unknown(index, _describe(exc))
                        else:
                            journal.not_submitted(index, _describe(exc))
                    raise
                except _Abandoned:
                    if journal is not None and on_wire:  # the earlier attempts never arrived
                        journal.not_submitted(index, "not submitted: the batch was closed")
                    raise
                except RuntimeError:
                    if journal is not None and on_wire and self._client_copy()._http.is_closed:
                        # httpx refuses to send through a closed client: it never left
                        journal.not_submitted(index, "not submitted: the client was closed")
                    raise
                self._charged(index, task.task_id)
                if journal is not None:
                    try:
                        journal.submitted(index, task.task_id, task.credits_used)
                    except JournalError:  # the disk failed: the task id must not be lost
                        logger.exception(
                            "batch request #%d: task %s was created, and could not be journaled",
                            index,
                            task.task_id,
                        )
        finally:
            if on_wire:
                self._off_wire()
        return task

    def _off_wire(self) -> None:
        with self._lock:
            self._on_wire -= 1
            idle = self._closing and self._on_wire == 0
        if idle:
            self._release()

    async def _wait(
        self,
        index: int,
        request: Request,
        task_id: str,
        task: AsyncImageTask | AsyncVideoTask | None,
    ) -> BatchItem[Status]:
        def on_progress(status: Status) -> None:
            if self._closing:
                raise _Abandoned

        self._charged(index, task_id)
        try:
            if task is not None:
                status: Status = await task.wait(on_progress=on_progress)
            else:
                status = await self._target().wait(task_id, on_progress=on_progress)
        except TaskFailedError as exc:
            self._ended(index)
            if self._journal is not None:
                self._journal.finished(
                    index,
                    succeeded=False,
                    status=status_to_json(exc.status),
                    paths=(),
                    error=_describe(exc),
                )
            return BatchItem(index, request, task_id, exc.status, exc)
        except NanoBananaError as exc:  # a timeout, a lost task, the key revoked...
            self._ended(index)
            if is_fatal(exc) and self._stop is None:
                self._stop = exc
            if self._journal is not None:
                self._journal.error(index, _describe(exc))  # still "submitted": a rerun polls
            return BatchItem(index, request, task_id, None, exc)
        self._ended(index)
        if self._save_to is not None:
            return await self._save(index, request, status)
        if self._journal is not None:
            self._journal.finished(
                index, succeeded=True, status=status_to_json(status), paths=(), error=None
            )
        return BatchItem(index, request, task_id, status)

    async def _save(self, index: int, request: Request, status: Status) -> BatchItem[Status]:
        assert self._save_to is not None
        if self._closing:
            raise _Abandoned  # no download starts once the batch stopped
        error: BaseException | None = None
        paths: tuple[Path, ...] = ()
        try:
            paths = tuple(await save_results(self._target(), status, self._save_to))
        except (NanoBananaError, OSError) as exc:
            error = exc
        if self._journal is not None:
            self._journal.finished(
                index,
                succeeded=True,
                status=status_to_json(status),
                paths=tuple(str(p) for p in paths),
                error=None if error is None else _describe(error),
            )
        return BatchItem(index, request, status.task_id, status, error, paths)


def _mismatch(journal: Journal, index: int) -> str:
    return (
        f"request #{index} is not the one the journal {journal.path} recorded at that "
        "position: not submitted (a journal resumes the same batch; use a new file for "
        "another one)"
    )
