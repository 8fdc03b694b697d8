"""One run of a batch: what its parts share, and how it stops.

Every request of the batch goes through a copy of the client made here, whose limiter
refuses a request whose turn comes after the batch stopped (``StoppingLimiter``) and
whose clock's sleeps end then (a ``StoppableClock`` on the batch's stop signal): so
stopping is prompt. The copy shares the client's pool and so its close, which ends the
copy's waits as it ends the client's. ``BatchRun``
holds that copy, the journal, and the state that whoever stops the batch (from any
thread) shares with the workers, under one lock:

- ``closing``: set by ``stop()``; nothing is sent any more (``Abandoned`` ends the work);
- the generate requests on the wire: their turn came, their answer is not journaled yet;
- the journal is let go (``release``) once ``closing`` is set and nothing is on the wire;
- the tasks charged: those still running, and those whose item nobody got
  (``unreported``);
- ``halted``: why the batch submits nothing more while it still collects what it sent
  (a fatal error, the budget). The first reason stands.

It also keeps the batch's numbers (``tally``, a ``BatchTally``): every request that gets
its turn through the copy's limiter is counted, and the times of the items are read on
its clock.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import attrs

from .._batch_models import Status
from .._batch_stats import BatchTally
from .._concurrency import AsyncWakeup, StopSignal
from .._exceptions import JournalBusy, JournalError
from .._journal import Journal
from .._limits import AsyncLimiter, Permit
from .._log import logger
from .._options import OnSend, RequestOptions
from .._policy import RateLimit
from .._requests import ImageRequest, VideoRequest
from ._limiter import AsyncStoppableLimiter, acquire_permit
from ._stopping import StoppableClock, wait_or_stop

if TYPE_CHECKING:
    from ._client import AsyncClient
    from ._tasks import AsyncImageTask, AsyncVideoTask

__all__ = [
    "HANDOFF_TIMEOUT",
    "Abandoned",
    "BatchRun",
    "BatchTarget",
    "Charge",
    "StoppingLimiter",
    "budget_of",
    "describe",
    "open_journal",
]

HANDOFF_TIMEOUT = 180.0
"""Real seconds a new run waits for a stopping batch of this process to let go of the
journal. Stopping waits only for generate requests on the wire (bounded by the client's
timeouts: 130 s at most by default), so this is reached only if that batch hangs."""


def describe(error: BaseException) -> str:
    """An error as the journal and the items' messages name it."""
    return f"{type(error).__name__}: {error}"


def budget_of(client: AsyncClient) -> RateLimit | None:
    """The budget the client's requests count against, when its ``rate_limit`` names one
    (an ``nb.RateLimit``, the default, a ``RedisRateLimiter``); None otherwise."""
    limit = getattr(client._limiter, "limit", None)
    if isinstance(limit, RateLimit):
        return limit
    requests = getattr(client._rate_limit, "requests", None)
    per = getattr(client._rate_limit, "per", None)
    try:
        return RateLimit(requests, per=per)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


class BatchTarget(Protocol):
    """What a batch calls on ``client.images`` / ``client.videos``: their one submit path
    (``generate`` calls it too) and ``wait``. Typed, so the checkers see a change."""

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
    ) -> Status:
        """The resource's ``wait``: the task's final status."""
        ...


@attrs.frozen
class Charge:
    """A task the batch paid for: its id, its price, when the generate answer came, and
    its handle when this run submitted it (a task resumed from the journal has none)."""

    task_id: str
    credits_used: int | None = None
    submitted_at: datetime | None = None
    task: AsyncImageTask | AsyncVideoTask | None = None


class Abandoned(Exception):
    """The batch stopped: end this request without an item (internal)."""


class StoppingLimiter(AsyncStoppableLimiter):
    """The client's limiter, for the requests of a batch: a request whose turn comes
    after the batch stopped is refused (``gate`` raises) and never leaves; ``gate`` also
    counts the others. ``stop`` (the client's close) ends the wait as the client's own
    limiter ends it."""

    __slots__ = ("_gate", "_inner")

    def __init__(self, inner: AsyncLimiter, gate: Callable[[], None]) -> None:
        self._inner = inner
        self._gate = gate

    async def acquire(self, stop: StopSignal | None = None) -> Permit:
        permit = await acquire_permit(self._inner, stop)
        try:
            self._gate()
        except BaseException:
            permit.release(sent=False)
            raise
        return permit

    def pause(self, seconds: float) -> None:
        self._inner.pause(seconds)


async def open_journal(path: str | os.PathLike[str], kind: str) -> Journal:
    """Open the journal; when a batch of this process is stopping and still holds it,
    wait for it to let go (bounded) rather than fail."""
    deadline: float | None = None
    while True:
        wakeup = AsyncWakeup()
        try:
            return Journal(path, kind)
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


class BatchRun:
    """What the parts of one batch share (see the module docs). ``start()`` runs first,
    in the task that starts the batch; ``stop()`` may be called from any thread."""

    def __init__(self, client: AsyncClient, kind: str, save_to: Path | None) -> None:
        self.kind = kind
        self.save_to = save_to
        self.journal: Journal | None = None
        self.halted: BaseException | None = None
        self.closing = False
        self.given_up = False
        self.tally = BatchTally(client._clock.now, budget_of(client))
        self._client = client
        self._lock = threading.Lock()
        self._on_wire = 0
        self._released = False
        self._running: dict[int, str] = {}
        self._unreported: dict[int, Charge] = {}
        self._stop: StopSignal | None = None
        self._released_wake: AsyncWakeup | None = None
        self._sender: AsyncClient | None = None
        self._target: BatchTarget | None = None

    def start(self) -> None:
        """Make the batch's copy of the client (in the task that starts the batch)."""
        self._stop = StopSignal(Abandoned)
        self._released_wake = AsyncWakeup()
        self.tally.start()
        client = self._client
        sender = client._copy(
            clock=StoppableClock(client._clock, self._stop),
            limiter=StoppingLimiter(client._limiter, self.turn),
        )
        self._sender = sender
        self._target = sender.images if self.kind == "image" else sender.videos

    @property
    def client(self) -> AsyncClient:
        """The batch's copy of the client."""
        assert self._sender is not None, "start() runs first"
        return self._sender

    @property
    def target(self) -> BatchTarget:
        """``images`` or ``videos`` of the batch's copy of the client."""
        assert self._target is not None, "start() runs first"
        return self._target

    # -- stopping ----------------------------------------------------------------------

    def gate(self) -> None:
        """Refuse a request once stopping (``Abandoned``)."""
        if self.closing:
            raise Abandoned

    def turn(self) -> None:
        """Run for each request of the batch when it has its turn: refuse it once
        stopping, else count it."""
        self.gate()
        self.tally.request()

    def stop(self) -> None:
        """Stop at once (any thread may call it): nothing more is sent, waits end, and the
        journal is let go once the generate requests on the wire are journaled."""
        with self._lock:
            if self.closing:
                return
            self.closing = True
            idle = self._on_wire == 0
        if self.journal is not None:
            self.journal.close_soon()
        if self._stop is not None:
            self._stop.fire()
        if idle:
            self.release()

    def give_up(self) -> None:
        """Whoever stops the batch waits no more for the generate requests on the wire (the
        command line past its limit, or at a second Ctrl-C): stop, and the process's exit
        (``BatchEngine.abandon``) does not wait for them again. Their journal rows stay
        "sending" (a rerun marks them for attention); ``unreported`` still names the tasks
        charged."""
        self.given_up = True
        self.stop()

    async def stopped(self) -> None:
        """Wait until ``stop()`` is called, or ``end()``."""
        assert self._stop is not None, "start() runs first"
        try:
            await wait_or_stop(AsyncWakeup(), None, self._stop)
        except Abandoned:  # the signal's error: it fired
            pass

    def end(self) -> None:
        """The workers are done: whoever waits in ``stopped()`` goes on."""
        if self._stop is not None:
            self._stop.fire()

    def halt(self, reason: BaseException) -> bool:
        """Submit nothing more because of ``reason``, unless halted already; True if so now."""
        with self._lock:
            if self.halted is not None:
                return False
            self.halted = reason
            return True

    def sending(self) -> None:
        """A generate request got its turn and leaves (``Abandoned`` once stopping)."""
        with self._lock:
            if self.closing:
                raise Abandoned  # its turn came after the batch stopped: never sent
            self._on_wire += 1

    def answered(self) -> None:
        """The generate request of ``sending()`` has its answer journaled (or failed)."""
        with self._lock:
            self._on_wire -= 1
            idle = self.closing and self._on_wire == 0
        if idle:
            self.release()

    @property
    def on_wire(self) -> int:
        """Generate requests that got their turn and whose answer is not journaled yet."""
        with self._lock:
            return self._on_wire

    async def wait_released(self) -> None:
        """Wait until the batch let go of its journal (``stop()`` first)."""
        if self._released_wake is not None:
            await self._released_wake.wait()

    def release(self) -> None:
        """Let go of the journal, once: nothing is on the wire and nothing will be sent."""
        with self._lock:
            if self._released:
                return
            self._released = True
            running = sorted(self._running.values())
        self.tally.end()
        try:
            if running:
                where = (
                    f"recorded in the journal {self.journal.path}"
                    if self.journal is not None
                    else "not journaled"
                )
                logger.warning(
                    "batch stopped while %d task(s) were still running (%s): %s",
                    len(running),
                    where,
                    ", ".join(running),
                )
            if self.journal is not None:
                self.journal.close()
        finally:
            if self._released_wake is not None:
                self._released_wake.wake()

    # -- the tasks charged ---------------------------------------------------------------

    def charged(self, index: int, charge: Charge) -> None:
        """Request ``index`` has the task of ``charge``, paid for and not ended yet."""
        with self._lock:
            self._running[index] = charge.task_id
            self._unreported[index] = charge

    def charge_of(self, index: int) -> Charge | None:
        """The task request ``index`` was charged for, while its item is not handed out."""
        with self._lock:
            return self._unreported.get(index)

    def ended(self, index: int) -> None:
        """The task of request ``index`` ended (its item is on its way)."""
        with self._lock:
            self._running.pop(index, None)

    def handed_out(self, index: int) -> None:
        """The iterating task got the item of request ``index``."""
        with self._lock:
            self._unreported.pop(index, None)

    def unreported(self) -> dict[int, str]:
        """Task ids, by request index, charged and whose item nobody got."""
        with self._lock:
            return {index: self._unreported[index].task_id for index in sorted(self._unreported)}
