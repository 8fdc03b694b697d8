"""What Ctrl-C needs: the tasks charged and not finished, and a quick, honest stop.

``TaskLedger`` holds what the Ctrl-C report names (``unfinished()`` and ``sending``). The
commands tell it of the tasks charged: ``image`` and ``video`` the task they submit,
``wait`` the task it waits for, and ``batch`` the tasks its batch did not report
(``Batch.unreported``) once it stopped; a command marks a task finished once its
results are delivered. The ledger watches the command's HTTP traffic (httpx event hooks)
for one thing only: the generate requests on the wire, whose answer has not come.

``hold_interrupts`` keeps the first Ctrl-C from cutting a generate call short once its
request is on the wire (its answer carries the task id; without it the credits may be
spent with nothing to show): it waits until the call returns and its task is in the
ledger. A second Ctrl-C quits at once.

``close_within`` stops a batch without waiting longer than needed: it waits for generate
requests already sent, then leaves the rest (their ids are reported, or journaled). A wait
it cut short gives the batch up (``Batch._give_up``): the process's exit does not wait for
those requests again.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
import threading
import time
import weakref
from collections.abc import Callable, Generator
from typing import Any

import httpx

__all__ = ["TaskLedger", "charged", "close_within", "hold_interrupts", "resume_hint"]

_GENERATE = frozenset({"images/generate", "videos/generate"})

STOP_GRACE = 0.25
"""Seconds a stopping batch gets to close cleanly when no generate request is on the wire."""

SENDING_LIMIT = 15.0
"""Longest wait for generate requests already sent (a second Ctrl-C cuts it short)."""


class TaskLedger:
    """Tasks charged and not finished, and generate requests on the wire. Thread-safe."""

    def __init__(self, base_url: httpx.URL) -> None:
        self._base = base_url
        self._lock = threading.Lock()
        self._running: dict[str, str] = {}  # task id -> kind, in the order seen
        self._finished: set[str] = set()
        self._sending: weakref.WeakSet[httpx.Request] = weakref.WeakSet()
        self._accepted = 0

    def event_hooks(self) -> dict[str, list[Callable[..., Any]]]:
        """The hooks for the command's ``httpx.Client``."""
        return {"request": [self._on_request], "response": [self._on_response]}

    # -- what the commands tell it ------------------------------------------------------

    def running(self, task_id: str, kind: str) -> None:
        """A task known to be charged and not done (submitted, or being waited for)."""
        with self._lock:
            if task_id not in self._finished:
                self._running.setdefault(task_id, kind)

    def finished(self, task_id: str | None) -> None:
        """Its results are delivered (or it failed): nothing left to report."""
        if task_id is None:
            return
        with self._lock:
            self._running.pop(task_id, None)
            self._finished.add(task_id)

    def unfinished(self) -> list[tuple[str, str]]:
        """``(task_id, kind)`` of every task charged and not finished, oldest first."""
        with self._lock:
            return list(self._running.items())

    @property
    def sending(self) -> int:
        """Generate requests sent and not answered yet."""
        with self._lock:
            return len(self._sending)

    @property
    def accepted(self) -> int:
        """Generate requests answered with a success (a task created) so far."""
        with self._lock:
            return self._accepted

    # -- what the wire tells it ---------------------------------------------------------

    def _route(self, request: httpx.Request) -> str | None:
        """The endpoint relative to the API base (``"images/generate"``), or None."""
        url, base = request.url, self._base
        if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
            return None
        prefix = base.path.rstrip("/") + "/"
        return url.path[len(prefix) :] if url.path.startswith(prefix) else None

    def _on_request(self, request: httpx.Request) -> None:
        if request.method == "POST" and self._route(request) in _GENERATE:
            with self._lock:
                self._sending.add(request)

    def _on_response(self, response: httpx.Response) -> None:
        with self._lock:
            if response.request in self._sending:
                self._sending.discard(response.request)
                if response.is_success:
                    self._accepted += 1


@contextlib.contextmanager
def hold_interrupts(ledger: TaskLedger, say: Callable[[str], None]) -> Generator[None, None, None]:
    """Around a generate call and the ledger's note of its task: a Ctrl-C while its request
    is on the wire, or once the server accepted it, waits for the end of the block (then
    interrupts); a second one, or one while nothing is charged, interrupts at once.

    Outside the main thread (signals cannot be caught there), or where Ctrl-C is ignored
    (a command started in the background, or under ``nohup``), it does nothing."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    ):
        yield
        return
    held = False
    accepted = ledger.accepted

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal held
        if held or not (ledger.sending or ledger.accepted > accepted):
            raise KeyboardInterrupt
        held = True
        say(
            "waiting for the answer to the generate request already sent, so its task id "
            "is not lost (Ctrl-C again to quit now)"
        )

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        raise KeyboardInterrupt


def close_within(close: Callable[[], None], ledger: TaskLedger) -> bool:
    """Run ``close`` (a batch's) in a thread; wait while it works on generate requests
    already sent (``SENDING_LIMIT`` at most), else a moment. True when it finished;
    otherwise the caller gives the batch up. Ctrl-C stops the wait."""
    done = threading.Event()

    def run() -> None:
        try:
            close()
        except Exception:  # stopping anyway: the batch's own error changes nothing now
            pass
        finally:
            done.set()

    threading.Thread(target=run, name="nanobanana-cli-stop", daemon=True).start()
    start = time.monotonic()
    while not done.wait(0.05):
        waited = time.monotonic() - start
        if waited >= SENDING_LIMIT or (waited >= STOP_GRACE and not ledger.sending):
            return False
    return True


def resume_hint(
    args: argparse.Namespace, journal: str | None, running: list[tuple[str, str]]
) -> str | None:
    """How to get the results of the tasks left ``running`` (``(task_id, kind)``): rerun
    the command (with a journal), or ``nanobanana wait``."""
    if journal is not None:
        return f"rerun the same command to resume (the journal {journal} keeps the ids)"
    if not running:
        return None
    out = getattr(args, "out", None)
    command = "nanobanana wait " + (running[0][0] if len(running) == 1 else "ID")
    if {kind for _, kind in running} == {"video"}:
        command += " --kind video"
    if out not in (None, "."):
        command += f" -o {shlex.quote(str(out))}"
    hint = f"get the results with: {command}"
    if args.fake:
        hint += f" (not with --fake: its simulator ended with this command; {NOTHING_REAL})"
    return hint


NOTHING_REAL = "nothing real was spent"
"""What --fake's messages add to a charge: the simulator's credits are not money."""


def charged(args: argparse.Namespace) -> str:
    """How a message says a task took credits: with --fake, the simulator's own (it
    charges simulated credits, from a simulated balance; see ``NOTHING_REAL``)."""
    return "charged simulated credits" if args.fake else "charged"
