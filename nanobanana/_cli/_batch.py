"""``nanobanana batch FILE``: every request of a file through ``generate_many``, with a
journal to resume from, a progress bar, a line per failure, a summary, the gallery page
beside the files, and an exit code.

Reading the file is ``_input.BatchFile``'s; the budget, the journal and the saving are the
batch engine's; the page is ``batch.write_gallery``'s (``_gallery``). This module decides
the defaults (the journal's place, the flags that fill a request, the page's place) and
shows what comes back.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nanobanana._batch_models import BatchItem
from nanobanana._exceptions import NotSubmittedError, TaskFailedError
from nanobanana._requests import ImageRequest, VideoRequest

from ._context import FAKE_TIME_SCALE, Context, fake_state_path, resource_for
from ._encode import to_json
from ._exit import EXIT_FAILED, EXIT_OK, UsageError, exit_code
from ._flags import refuse_foreign_flags, request_kwargs
from ._input import BatchFile
from ._report import GalleryFile
from ._stop import NOTHING_REAL, charged, close_within, resume_hint

if TYPE_CHECKING:
    from nanobanana._sync._batch import Batch

__all__ = ["DEFAULT_JOURNAL", "batch"]

DEFAULT_JOURNAL = "nanobanana-journal.sqlite"
"""The journal's name in the output directory, unless --journal or --no-journal."""


def batch(ctx: Context) -> int:
    """``nanobanana batch FILE``."""
    a, ui = ctx.args, ctx.ui
    requests = BatchFile.from_arg(a.file, _defaults(a))
    requests.check()
    total = requests.count
    if total == 0:
        raise UsageError(
            f"{requests.name} holds no requests (blank lines and lines starting with # "
            "are skipped): nothing to do"
        )
    ctx.journal = journal = _journal(a)
    if a.fake and journal is not None:
        ctx.fake_state = fake_state_path(journal)
    tally = _Tally()
    with ctx.client() as client:
        if journal is not None:
            ui.note(f"journal: {journal} (rerun the same command to resume)")
        with ui.progress() as progress:
            bar = progress.add_task(f"{a.kind}s", total=total, detail="")
            items = resource_for(client, a.kind).generate_many(
                requests,
                concurrency=a.concurrency,
                max_credits=a.max_credits,
                journal=journal,
                save_to=None if a.no_download else a.out,
                preflight=not a.no_preflight,
            )
            gallery = _Gallery(a, items, ui, title=f"nanobanana batch: {Path(requests.name).name}")
            interrupted = False
            try:
                for item in items:
                    tally.add(item)
                    if a.json:
                        ui.data(to_json(item))
                    elif not item.ok:
                        _show_failure(progress, item)
                    progress.update(bar, advance=1, detail=tally.detail())
                    gallery.update()
            except KeyboardInterrupt:
                interrupted = True
                _stop(ctx, items)
                raise
            finally:
                if not interrupted:
                    items.close()
                    # An error that ends the loop leaves tasks charged: the error names them.
                    for task_id in items.unreported.values():
                        ctx.ledger.running(task_id, a.kind)
                gallery.update(last=True)
    if not a.json:
        ui.note(tally.summary(total, a.out) + gallery.summary())
        if tally.uncollected:
            ui.notice(_collect_hint(tally.uncollected, a, journal))
        if tally.counts["attention"]:
            ui.note(
                f"[yellow]some requests may have been {charged(a)} without a task id: "
                + (NOTHING_REAL if a.fake else "check the balance before resubmitting them")
                + "[/]"
            )
    return tally.exit_code(total)


def _collect_hint(task_ids: list[str], a: argparse.Namespace, journal: str | None) -> str:
    """What the tasks charged whose results the batch did not collect are, and how to get
    their results."""
    n = len(task_ids)
    said = (
        f"{n} task{'s were' if n != 1 else ' was'} {charged(a)} and "
        f"{'their' if n != 1 else 'its'} results were not collected"
    ) + (f" ({', '.join(task_ids)})" if n != 1 else f" ({task_ids[0]})")
    return f"{said}: {resume_hint(a, journal, [(t, a.kind) for t in task_ids])}"


def _defaults(a: argparse.Namespace) -> dict[str, Any]:
    """The request flags given: defaults for every request of the file (of its --kind)."""
    schema, other = (
        (ImageRequest, VideoRequest) if a.kind == "image" else (VideoRequest, ImageRequest)
    )
    refuse_foreign_flags(a, schema, [other], f"--kind {a.kind}")
    return request_kwargs(a, schema)


def _journal(a: argparse.Namespace) -> str | None:
    """--journal; else OUT/DEFAULT_JOURNAL, except with --no-journal, --fake or --no-download."""
    if a.journal:
        return str(a.journal)
    if not a.no_journal and not a.fake and not a.no_download:
        return str(Path(a.out) / DEFAULT_JOURNAL)
    return None


class _Gallery:
    """The page of the batch, ``OUT/index.html``: written as items arrive (at most every
    ``INTERVAL`` real seconds, or ten times as long as the last writing took), and once
    more at the end, so that it can be opened while the batch runs; none before the
    first item (a batch refused by its preflight leaves no page).

    Only when the results are saved (not with --no-download, nor --no-gallery); never
    over an ``index.html`` that is not a gallery (a warning says so instead).
    """

    INTERVAL = 2.0

    def __init__(self, a: argparse.Namespace, batch: Batch[Any], ui: Any, *, title: str) -> None:
        self._batch = batch
        self._title = title
        self._notes: tuple[str, ...] = ()
        if a.fake:
            self._notes = (
                "--fake: the times and credits are the simulator's (it runs "
                f"{FAKE_TIME_SCALE:g}x faster than real time); {NOTHING_REAL}.",
            )
        self._file: GalleryFile | None = None
        self._next = 0.0
        if not a.no_download and not a.no_gallery:
            self._file = GalleryFile.beside(Path(a.out), ui)

    def update(self, *, last: bool = False) -> None:
        if self._file is None or (not last and time.monotonic() < self._next):
            return
        stats = self._batch.stats
        if not self._file.written and stats.succeeded + stats.failed == 0:
            return  # nothing to show (refused before any item): no page
        started = time.monotonic()
        self._file.write(
            lambda path: self._batch.write_gallery(path, title=self._title, notes=self._notes)
        )
        took = time.monotonic() - started
        self._next = time.monotonic() + max(self.INTERVAL, 10 * took)

    def summary(self) -> str:
        """``"; gallery: OUT/index.html"`` once written, else nothing."""
        return f"; gallery: {self._file.path}" if self._file and self._file.written else ""


class _Tally:
    """How the items ended so far: the bar's detail, the summary and the exit code."""

    def __init__(self) -> None:
        self.counts = {"ok": 0, "failed": 0, "not submitted": 0, "attention": 0}
        self.saved = 0
        self.stopped: BaseException | None = None
        """Why the batch stopped submitting (the first NotSubmittedError's reason)."""
        self.uncollected: list[str] = []
        """Tasks charged and not failed whose results the batch did not collect (a wait
        or a save that failed)."""

    def add(self, item: BatchItem[Any]) -> None:
        self.saved += len(item.paths)
        if item.ok:
            self.counts["ok"] += 1
        elif item.needs_attention:
            self.counts["attention"] += 1
        elif isinstance(item.error, NotSubmittedError):
            self.counts["not submitted"] += 1
            self.stopped = self.stopped or item.error.reason
        else:
            self.counts["failed"] += 1
            if item.task_id is not None and not isinstance(item.error, TaskFailedError):
                self.uncollected.append(item.task_id)

    def detail(self) -> str:
        return f"[green]{self.counts['ok']} ok[/] [red]{self.counts['failed']} failed[/]"

    def summary(self, total: int, out: str) -> str:
        counts = ", ".join(f"{n} {name}" for name, n in self.counts.items() if n or name == "ok")
        saved = self.saved
        where = f"; {saved} file{'s' if saved != 1 else ''} in {out}" if saved else ""
        return f"{counts} of {total}{where}"

    def exit_code(self, total: int) -> int:
        """0 when every request succeeded; else the code of why the batch stopped, or 1."""
        if self.counts["ok"] == total:
            return EXIT_OK
        if self.stopped is not None:
            return exit_code(self.stopped)
        return EXIT_FAILED


def _show_failure(progress: Any, item: BatchItem[Any]) -> None:
    """A line above the bar: the item's index, its prompt (cut to 40) and its error."""
    console = progress.console
    if console is None:
        return
    from rich.markup import escape

    prompt = item.request.prompt
    label = prompt if len(prompt) <= 40 else prompt[:37] + "..."
    error = item.error
    kind = type(error).__name__ if error is not None else "failed"
    text = str(error)
    if item.task_id is not None and item.task_id not in text:
        text += f" (task {item.task_id})"  # charged: its id is how to get its results
    console.print(f"[red]✗[/] #{item.index} {escape(label)}: {kind}: {escape(text)}")


def _stop(ctx: Context, items: Batch[Any]) -> None:
    """Ctrl-C in a batch: say so at once, submit nothing more, wait only for generate
    requests already on the wire (their task ids must not be lost), then leave, telling
    the ledger the tasks the batch did not report (charged, and still running).

    A wait cut short with generate requests still on the wire (``close_within``'s limit,
    a second Ctrl-C) gives the batch up: the process's exit would otherwise wait for them
    again. With none on the wire, the exit still lets the batch journal what it has (an
    answer read and not yet written keeps its task id in the journal)."""
    sending = ctx.ledger.sending
    text = "submitting nothing more"
    if sending:
        text += (
            f"; waiting for the answer to {sending} generate request(s) already sent, so "
            "their task ids are not lost (Ctrl-C again to quit now)"
        )
    ctx.stopping(text)
    closed = interrupted = False
    try:
        closed = close_within(items.close, ctx.ledger)
    except BaseException:
        interrupted = True
        raise
    finally:
        if not closed and (interrupted or ctx.ledger.sending):
            items._give_up()
        for task_id in items.unreported.values():
            ctx.ledger.running(task_id, ctx.args.kind)
