"""``nanobanana report JOURNAL``: the gallery page of a batch, rebuilt from its journal;
and ``GalleryFile``, the page's file, which ``batch`` writes too.

The journal is read without disturbing a batch that runs on it (``read_journal``); each
row becomes the item it stands for (``item_from_row``). The journal keeps no run times
and no request counts, so the page says so instead of showing them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from nanobanana._batch_models import BatchItem
from nanobanana._gallery import GENERATOR, card_state, write_gallery
from nanobanana._journal import read_journal
from nanobanana._journal_rows import item_from_row

from ._context import Context
from ._exit import EXIT_OK, UsageError

__all__ = ["GalleryFile", "report"]

PAGE = "index.html"


class GalleryFile:
    """``DIR/index.html``, written only if it is missing or a gallery already (a file of
    the user's is never replaced). A failure to write it is a warning, once: the page is
    not worth failing a batch over."""

    def __init__(self, path: Path, ui: Any) -> None:
        self.path = path
        self.written = False
        self._ui = ui
        self._off = False

    @classmethod
    def beside(cls, directory: Path, ui: Any) -> GalleryFile | None:
        """The page in ``directory``; None (with a warning) when another file has its name."""
        page = cls(directory / PAGE, ui)
        if not is_gallery_or_missing(page.path):
            ui.warn(f"{page.path} exists and is not a nanobanana gallery: no gallery written")
            return None
        return page

    def write(self, writer: Callable[[Path], Path]) -> None:
        if self._off:
            return
        try:
            writer(self.path)
        except OSError as exc:
            self._off = True
            self._ui.warn(f"could not write the gallery {self.path}: {exc}")
        else:
            self.written = True


def is_gallery_or_missing(path: Path) -> bool:
    """True when ``path`` does not exist (nor can: a file stands where its folder would),
    or is a page ``_gallery`` wrote."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return f'name="generator" content="{GENERATOR}'.encode() in head


def report(ctx: Context) -> int:
    """``nanobanana report JOURNAL``."""
    a, ui = ctx.args, ctx.ui
    journal = Path(a.journal)
    snapshot = read_journal(journal)
    out = Path(a.out) if a.out is not None else journal.parent
    target = out / PAGE
    if not is_gallery_or_missing(target):
        raise UsageError(f"{target} exists and is not a nanobanana gallery: choose another -o")
    items = [
        _located(item_from_row(snapshot.kind, row, running=snapshot.running), journal.parent)
        for row in snapshot.rows
    ]
    notes = [
        f"Rebuilt from the journal {journal}: it keeps no run times and no request counts, "
        "so the wall time and the API requests used are not shown; it lists only the "
        "requests a batch reached."
    ]
    if snapshot.running:
        notes.append(
            "A batch was running on this journal when this page was written: it shows "
            "that moment, and may be partial (run the report again for more)."
        )
    path = write_gallery(target, items, title=f"nanobanana report: {journal.name}", notes=notes)
    counts = {state: 0 for state in ("succeeded", "failed", "pending")}
    for item in items:
        counts[card_state(item)] += 1
    credits = sum(item.credits_used or 0 for item in items)
    if a.json:
        ui.data(
            {
                "gallery": str(path),
                "journal": str(journal),
                "kind": snapshot.kind,
                "running": snapshot.running,
                "items": len(items),
                **counts,
                "credits_used": credits,
            }
        )
    else:
        running = " (a batch is running on it: the page may be partial)" if snapshot.running else ""
        ui.note(
            f"{len(items)} requests in {journal}{running}: {counts['succeeded']} succeeded, "
            f"{counts['failed']} failed, {counts['pending']} pending; {credits} credits"
        )
        ui.print(str(path))
    return EXIT_OK


def _located(item: BatchItem[Any], journal_dir: Path) -> BatchItem[Any]:
    """The item with its files where they are now: as recorded (relative to the working
    directory of the batch, which may not be this one), else beside the journal (where
    ``nanobanana batch`` keeps both). Files found nowhere are left out: the card shows
    the result URLs instead."""
    found: list[Path] = []
    for path in item.paths:
        for candidate in (path, journal_dir / path.name):
            if candidate.is_file():
                found.append(candidate)
                break
    if len(found) != len(item.paths):
        found = []
    return attrs.evolve(item, paths=tuple(found))
