"""Batch fan-out: ``images.generate_many`` / ``videos.generate_many``.

``AsyncBatch`` submits requests from its input with at most ``concurrency`` in flight,
waits for each task through the client's poll scheduler, saves the results, and hands
out one ``BatchItem`` per request as each ends. Every request of the input is accounted
for exactly once: a success, a failure of that request, or "not submitted".

Structured concurrency: the workers run in a task group that the batch enters when it
starts and leaves when it ends or is closed. ``async with client.images.generate_many(...)
as items:`` makes that scope explicit and is required when the loop may be left early
(``break``, an exception, a timeout around the loop); a plain ``async for`` that runs to
the end needs nothing more. Closing stops new submissions (a generate request whose turn
has not come is never sent), lets a generate request already on the wire finish (so its
task id is journaled, never lost), and stops waiting for the rest: their task ids are in
the journal, or logged.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable
from contextlib import aclosing
from pathlib import Path
from types import TracebackType
from typing import Any

from .. import _protocol
from .._batch_models import (
    BatchItem,
    BudgetExceededError,
    ImageRequest,
    JournalError,
    NotSubmittedError,
    Request,
    Status,
    VideoRequest,
    cost_key,
    fingerprint,
    is_fatal,
    request_json,
    status_from_json,
    status_to_json,
    to_request,
    validate,
)
from .._concurrency import (
    AsyncDetached,
    AsyncLock,
    AsyncQueue,
    AsyncShield,
    AsyncTaskGroup,
    QueueClosed,
)
from .._exceptions import (
    APIConnectionError,
    InvalidParameterError,
    NanoBananaError,
    RateLimitError,
    TaskFailedError,
)
from .._journal import RESUBMITTABLE, Journal, JournalRow
from .._limits import Permit
from .._log import logger
from ._tasks import ImageTask, VideoTask

__all__ = ["DEFAULT_CONCURRENCY", "AsyncBatch"]

DEFAULT_CONCURRENCY = {"image": 8, "video": 16}
"""Requests in flight by default. Under the API's 60 requests a minute (polls included)
an image task costs about three requests over ~15 s, so 8 in flight already keep the
budget busy; video tasks take minutes and poll less often, so more of them fit."""

BATCH_RETRIES = 3
"""How many more times a batch submits a request the server provably never processed
(429, failed connect) after the client's own retries gave up."""

_ON_SEND: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "nanobanana_batch_on_send", default=None
)
"""Set by a worker around its generate call: run when the request gets its turn."""


class _Abandoned(Exception):
    """The batch was closed: stop this request without an item (internal)."""


class _End:
    """The last thing the workers put in the queue (carries an input error, if any)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class AsyncSendMarker:
    """Wraps the client's limiter for generate requests: once a request has its turn,
    the batch's hook records that it is about to be sent (or refuses it, when closing)."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def acquire(self) -> Permit:
        permit: Permit = await self._inner.acquire()
        hook = _ON_SEND.get()
        if hook is not None:
            try:
                hook()
            except BaseException:
                permit.release(sent=False)
                raise
        return permit

    def pause(self, seconds: float) -> None:
        self._inner.pause(seconds)


async def _aiterate(requests: Iterable[Any] | AsyncIterable[Any]) -> AsyncGenerator[Any, None]:
    if isinstance(requests, AsyncIterable):
        async for raw in requests:
            yield raw
    else:
        for raw in requests:
            yield raw


def _reiterable(requests: Any) -> bool:
    """True when iterating ``requests`` again starts over (a list, not a generator)."""
    if hasattr(requests, "__aiter__"):
        return bool(requests.__aiter__() is not requests)
    return iter(requests) is not requests


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class AsyncBatch:
    """A running batch: an async iterator of ``BatchItem`` and an async context manager.

    Made by ``client.images.generate_many(...)`` / ``client.videos.generate_many(...)``.
    Nothing happens until it is entered or iterated. ``on_progress(item)`` is called in
    the iterating task, with each item, just before it is handed out.

    The workers run in a task of their own (a system task on Trio), never inside the
    caller's cancel scopes, so leaving the loop at any point is safe on asyncio and Trio.
    ``aclose()`` (or leaving ``async with``) stops the batch and waits for that; a batch
    merely dropped stops submitting at once and winds down by itself.
    """

    def __init__(
        self,
        resource: Any,
        kind: str,
        requests: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int | None = None,
        max_credits: int | None = None,
        journal: str | os.PathLike[str] | None = None,
        on_progress: Callable[[BatchItem], object] | None = None,
        save_to: str | os.PathLike[str] | None = None,
        preflight: bool = True,
    ) -> None:
        if isinstance(requests, (str, bytes)) or not (
            hasattr(requests, "__iter__") or hasattr(requests, "__aiter__")
        ):
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

    def __aiter__(self) -> AsyncBatch:
        return self

    async def __anext__(self) -> BatchItem:
        if self._state == "new":
            await self._start()
        if self._state != "running":
            raise StopAsyncIteration
        try:
            got = await self._engine.items.get()
        except QueueClosed:
            got = _End()
        if isinstance(got, BatchItem):
            if self._on_progress is not None:
                self._on_progress(got)
            return got
        await self.aclose()
        if isinstance(got, _End) and got.error is not None:
            raise got.error
        raise StopAsyncIteration

    async def __aenter__(self) -> AsyncBatch:
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
            raise
        host = AsyncDetached()
        host.start(self._engine.run)
        self._host = host
        self._state = "running"

    async def aclose(self) -> None:
        """Stop: no new submission; generate requests on the wire finish and are journaled;
        waits in progress end (their task ids are in the journal, or logged)."""
        if self._state == "running" and self._host is not None:
            self._state = "closing"
            self._engine.stop()
            try:
                await self._host.wait()
            finally:
                self._state = "closed"
        elif self._state == "new":
            self._state = "closed"

    def __del__(self) -> None:
        # Dropped without aclose() (a loop left early): submit nothing more, wind down.
        if getattr(self, "_state", None) == "running":
            try:
                self._engine.abandon()
            except Exception:  # interpreter shutdown: nothing left to stop
                pass


class _Engine:
    """The state and the workers of one batch (run by AsyncBatch's detached host)."""

    def __init__(
        self,
        resource: Any,
        kind: str,
        requests: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int,
        max_credits: int | None,
        journal: str | os.PathLike[str] | None,
        save_to: str | os.PathLike[str] | None,
        preflight: bool,
    ) -> None:
        self._resource = resource
        self._client = resource._client
        self._kind = kind
        self._requests = requests
        self._concurrency = concurrency
        self._max_credits = max_credits
        self._journal_path = journal
        self._save_to = Path(save_to) if save_to is not None else None
        self._preflight = preflight
        self._closing = False
        self._journal: Journal | None = None
        self._tg: AsyncTaskGroup | None = None
        self.items = AsyncQueue(1)
        self._pull_lock = AsyncLock()
        self._budget_lock = AsyncLock()
        self._source: AsyncGenerator[Any, None] | None = None
        self._source_error: BaseException | None = None
        self._next_index = 0
        self._costs: dict[tuple[tuple[str, Any], ...], int] = {}
        self._committed = 0
        self._stop: BaseException | None = None
        self._waiting: dict[int, str] = {}
        self._sender: Any = None

    # -- lifecycle ---------------------------------------------------------------------

    async def prepare(self) -> None:
        """Open the journal, run the preflight (in the caller's task: errors raise there)."""
        try:
            if self._journal_path is not None:
                self._journal = Journal(self._journal_path, self._kind)
            requests = self._requests
            if self._preflight:
                if not _reiterable(requests):
                    requests = [raw async for raw in _aiterate(requests)]
                await self._check_budget(requests)
            self._source = _aiterate(requests)
            sender = self._client.with_options()
            sender._limiter = AsyncSendMarker(self._client._limiter)
            self._sender = sender
        except BaseException:
            if self._journal is not None:
                self._journal.close()
            raise

    async def run(self) -> None:
        """The host: the workers, then the end marker, then cleanup. Never raises."""
        error: BaseException | None = None
        try:
            async with AsyncTaskGroup() as tg:
                self._tg = tg
                if not self._closing:
                    for _ in range(self._concurrency):
                        tg.start_soon(self._worker)
        except Exception as exc:  # a bug of ours: hand it to the iterating task
            logger.exception("batch failed")
            error = exc
        finally:
            self._tg = None
            await self._finish()
        try:
            await self.items.put(_End(error or self._source_error))
        except QueueClosed:
            pass

    def abandon(self) -> None:
        """Submit nothing more; workers stop at their next step (any thread may call it)."""
        self._closing = True
        self.items.close()

    def stop(self) -> None:
        """Abandon, and cancel what is waiting (generate requests on the wire finish)."""
        self.abandon()
        tg = self._tg
        if tg is not None:
            tg.cancel()

    async def _finish(self) -> None:
        try:
            if self._waiting:
                where = (
                    f"recorded in the journal {self._journal.path}"
                    if self._journal is not None
                    else "not journaled"
                )
                logger.warning(
                    "batch closed while %d task(s) were still running (%s): %s",
                    len(self._waiting),
                    where,
                    ", ".join(sorted(self._waiting.values())),
                )
            if self._source is not None:
                source, self._source = self._source, None
                with AsyncShield():
                    try:
                        await source.aclose()
                    except Exception:  # the input's own cleanup failed: nothing left to do
                        logger.debug("closing the batch input failed", exc_info=True)
        finally:
            if self._journal is not None:
                self._journal.close()

    async def _cost(self, key: tuple[tuple[str, Any], ...]) -> int:
        if key not in self._costs:
            estimate = await self._client.account.calculate_cost(self._kind, **dict(key))
            self._costs[key] = estimate.credits_needed
        return self._costs[key]

    async def _check_budget(self, requests: Iterable[Any] | AsyncIterable[Any]) -> None:
        """The preflight: price every distinct parameter set once; refuse an over-budget batch."""
        counts: dict[tuple[tuple[str, Any], ...], int] = {}
        index = 0
        async with aclosing(_aiterate(requests)) as source:
            async for raw in source:
                position = index
                index += 1
                try:
                    request = to_request(self._kind, raw)
                    validate(self._kind, request)
                except InvalidParameterError:
                    continue  # it becomes an item; nothing is spent on it
                if self._journal is not None:
                    row = self._journal.get(position)
                    if row is not None:
                        if row.fingerprint != fingerprint(self._kind, position, request):
                            raise JournalError(_mismatch(self._journal, position))
                        if row.state not in RESUBMITTABLE:
                            continue  # already submitted by an earlier run: nothing to pay
                key = cost_key(self._kind, request)
                counts[key] = counts.get(key, 0) + 1
        total = 0
        for key, n in counts.items():
            try:
                total += await self._cost(key) * n
            except InvalidParameterError:
                continue
        if total == 0:
            return
        balance = (await self._client.account.credits()).credits
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
            except Exception as exc:  # a bug of ours: report it rather than lose the request
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

    async def _process(self, index: int, raw: Any) -> BatchItem:
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

    async def _resume(self, index: int, request: Request, row: JournalRow) -> BatchItem:
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

    def _not_submitted(self, index: int, request: Request) -> BatchItem:
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

    async def _reserve(self, index: int, request: Request) -> int | BatchItem:
        """Hold the request's price against ``max_credits``: the credits, or an item."""
        assert self._max_credits is not None
        async with self._budget_lock:
            if self._stop is not None:
                return self._not_submitted(index, request)
            try:
                cost = await self._cost(cost_key(self._kind, request))
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

    async def _submit(self, index: int, request: Request) -> BatchItem:
        journal = self._journal
        try:
            validate(self._kind, request)
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
        except NanoBananaError as exc:
            if getattr(exc, "may_have_been_processed", False):
                if journal is not None:
                    journal.unknown(index, _describe(exc))
                return BatchItem(index, request, error=exc)
            self._committed -= reserved
            if is_fatal(exc, request) and self._stop is None:
                self._stop = exc
                logger.warning("batch: %s; submitting nothing more", _describe(exc))
            if journal is not None:
                journal.not_submitted(index, _describe(exc))
            return BatchItem(index, request, error=exc)
        except _Abandoned:
            self._committed -= reserved
            raise
        if reserved and task.credits_used is not None:
            self._committed += task.credits_used - reserved
        return await self._wait(index, request, task.task_id, task)

    async def _generate_retrying(self, index: int, request: Request) -> ImageTask | VideoTask:
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
                await self._client._clock.asleep(delay)
                if self._closing:
                    raise _Abandoned from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _generate(self, index: int, request: Request) -> ImageTask | VideoTask:
        """Send one generate request; its task id is journaled before anything else."""
        journal = self._journal

        def on_send() -> None:
            if self._closing:
                raise _Abandoned  # its turn came after the batch was closed: never sent
            if journal is not None:
                journal.sending(index)

        token = _ON_SEND.set(on_send)
        try:
            with AsyncShield():
                task: ImageTask | VideoTask
                if isinstance(request, ImageRequest):
                    op = _protocol.image_generate(request.prompt, **request.params())
                    created = await self._sender._request(op)
                    task = ImageTask._from_created(
                        created, self._resource, model=request.model, body=op.body
                    )
                else:
                    op = _protocol.video_generate(request.prompt, **request.params())
                    created = await self._sender._request(op)
                    task = VideoTask._from_created(
                        created, self._resource, model=request.model, body=op.body
                    )
                self._waiting[index] = task.task_id
                if journal is not None:
                    journal.submitted(index, task.task_id, task.credits_used)
        finally:
            _ON_SEND.reset(token)
        return task

    async def _wait(
        self, index: int, request: Request, task_id: str, task: ImageTask | VideoTask | None
    ) -> BatchItem:
        def on_progress(status: Any) -> None:
            if self._closing:
                raise _Abandoned

        self._waiting[index] = task_id
        try:
            if task is not None:
                status: Status = await task.wait(on_progress=on_progress)
            else:
                status = await self._resource.wait(task_id, on_progress=on_progress)
        except TaskFailedError as exc:
            del self._waiting[index]
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
            del self._waiting[index]
            if is_fatal(exc) and self._stop is None:
                self._stop = exc
            if self._journal is not None:
                self._journal.error(index, _describe(exc))  # still "submitted": a rerun polls
            return BatchItem(index, request, task_id, None, exc)
        del self._waiting[index]
        if self._save_to is not None:
            return await self._save(index, request, status)
        if self._journal is not None:
            self._journal.finished(
                index, succeeded=True, status=status_to_json(status), paths=(), error=None
            )
        return BatchItem(index, request, task_id, status)

    async def _save(self, index: int, request: Request, status: Status) -> BatchItem:
        assert self._save_to is not None
        error: BaseException | None = None
        paths: tuple[Path, ...] = ()
        try:
            paths = tuple(await self._resource.save(status, self._save_to))
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
