"""The batch gallery and the notebook previews: items (and statuses) as HTML.

One page (``render_gallery``): a header with the batch's numbers, controls to filter by
status and sort by index, credits or duration, and a card per item (its pictures or video,
prompt, model and parameters, credits, duration, status, error). Self-contained: inline
CSS, no script at all (the controls are radio buttons that CSS reads, and the sort orders
are computed here), no network but the result URLs of items without saved files. A saved
file is referenced relative to the page, so the page works from ``file://`` beside them.

The notebook previews (``item_html``, ``status_html``: the models' ``_repr_html_``) are
the same card, scoped so that they do not restyle the notebook.

Every text and attribute goes through ``html.escape``; a URL is used only when it is
http(s) or a file path of ours; the page's Content-Security-Policy allows no script.
Pure but for ``write_gallery``, which writes the page.
"""

from __future__ import annotations

import html
import os
import re
import urllib.parse
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._batch_models import BatchItem, request_fields
from ._batch_stats import GALLERY_LIMIT, BatchStats
from ._exceptions import InvalidParameterError, NanoBananaError
from ._models import ImageStatus, VideoStatus, status_outcome
from ._version import __version__

__all__ = [
    "GENERATOR",
    "STATES",
    "card_state",
    "duration_text",
    "gallery_path",
    "item_html",
    "render_gallery",
    "status_html",
    "write_gallery",
]

GENERATOR = "nanobanana gallery"
"""The page's ``<meta name="generator">``: how the command line knows a page it may
replace (it never overwrites another ``index.html``)."""

STATES = ("succeeded", "failed", "pending")
"""A card's state, what the filter shows: the item succeeded, failed (an error, or a task
that ended without a result), or has not ended."""


def _e(value: object) -> str:
    """Text or an attribute value, escaped (quotes included)."""
    return html.escape(str(value), quote=True)


# -- facts of an item ---------------------------------------------------------------------


def card_state(item: BatchItem[Any]) -> str:
    """``"succeeded"``, ``"failed"`` or ``"pending"`` (see ``STATES``)."""
    if item.ok:
        return "succeeded"
    if item.error is not None or (item.status is not None and item.status.failed):
        return "failed"
    if item.status is not None and item.status.succeeded:
        return "succeeded"  # a hand-built item: ended well, nothing saved
    return "pending"


def _error_text(error: BaseException) -> str:
    """``Type: message``; an error known only by its description (read back from a
    journal) is its description."""
    if type(error) is NanoBananaError:
        return str(error)
    return f"{type(error).__name__}: {error}"


def duration_text(seconds: float) -> str:
    """``"4.2 s"``, ``"12 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def _credits_text(credits: int) -> str:
    return f"{credits} credit{'' if credits == 1 else 's'}"


_URL = re.compile(r"^https?://", re.IGNORECASE)


def _web_url(url: str) -> str | None:
    """``url`` if it is an http(s) URL (nothing else becomes a link or a source)."""
    return url if _URL.match(url) else None


def _file_href(path: Path, base: Path | None) -> str | None:
    """How a page in ``base`` (None: a notebook, in the working directory) refers to a
    saved file: a relative URL when it can, else a ``file:`` URL (a page only)."""
    absolute = Path(os.path.abspath(path))
    where = Path(os.path.abspath(base if base is not None else Path.cwd()))
    try:
        relative = os.path.relpath(absolute, where)
    except ValueError:  # another drive (Windows)
        relative = None
    if relative is not None and (base is not None or not relative.startswith("..")):
        return urllib.parse.quote(Path(relative).as_posix())
    return absolute.as_uri() if base is not None else None


def _sources(item: BatchItem[Any], base: Path | None) -> list[str]:
    """Where the item's results are: its saved files, else its result URLs."""
    if item.paths:
        found = [_file_href(p, base) for p in item.paths]
        if all(found):
            return [f for f in found if f is not None]
    urls = item.status.urls if item.status is not None else ()
    return [u for u in urls if _web_url(u)]


def _status_sources(status: ImageStatus | VideoStatus) -> list[str]:
    return [u for u in status.urls if _web_url(u)]


# -- pieces of HTML --------------------------------------------------------------------------


def _media(kind: str, sources: Sequence[str], label: str, state: str) -> str:
    """The pictures (each a link to itself) or the video; a placeholder without either."""
    if not sources:
        text = {"pending": "not ended yet", "failed": "no result"}.get(state, "no file")
        return f'<div class="nbg-media nbg-empty"><span>{_e(text)}</span></div>'
    if kind == "video":
        players = "".join(
            f'<video controls preload="metadata" src="{_e(src)}" title="{_e(label)}"></video>'
            for src in sources
        )
        return f'<div class="nbg-media">{players}</div>'
    many = " nbg-many" if len(sources) > 1 else ""
    pictures = "".join(
        f'<a href="{_e(src)}" target="_blank" rel="noopener">'
        f'<img src="{_e(src)}" alt="{_e(label)}" loading="lazy" decoding="async"></a>'
        for src in sources
    )
    return f'<div class="nbg-media{many}">{pictures}</div>'


def _params(item: BatchItem[Any]) -> str:
    fields = request_fields(item.request)
    fields.pop("prompt", None)
    fields.setdefault("model", "default")
    model = fields.pop("model")
    pairs = [("model", model), *sorted(fields.items())]
    cells = "".join(f"<dt>{_e(k)}</dt><dd>{_e(_value_text(v))}</dd>" for k, v in pairs)
    return f'<dl class="nbg-params">{cells}</dl>'


def _value_text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _times_title(item: BatchItem[Any]) -> str:
    parts = []
    if item.submitted_at is not None:
        parts.append(f"submitted {item.submitted_at.isoformat(timespec='seconds')}")
    if item.ended_at is not None:
        parts.append(f"ended {item.ended_at.isoformat(timespec='seconds')}")
    return "; ".join(parts)


def _card(item: BatchItem[Any], base: Path | None, style: str = "") -> str:
    """One item's card (the page's, and a notebook's preview)."""
    state = card_state(item)
    prompt = item.request.prompt
    label = f"#{item.index}: {prompt}"
    facts = [f'<span class="nbg-badge nbg-{state}">{_e(state)}</span>']
    if item.needs_attention:
        facts.append('<span class="nbg-badge nbg-attention">needs attention</span>')
    if item.credits_used is not None:
        facts.append(f'<span class="nbg-credits">{_e(_credits_text(item.credits_used))}</span>')
    duration = item.duration
    if duration is not None:
        when = _times_title(item)
        facts.append(
            f'<span class="nbg-duration" title="{_e(when)}">{_e(duration_text(duration))}</span>'
        )
    error = ""
    if item.error is not None:
        error = f'<p class="nbg-error">{_e(_error_text(item.error))}</p>'
    elif item.status is not None and item.status.failed:
        error = f'<p class="nbg-error">{_e(item.status.error or item.status.status)}</p>'
    task = f'<p class="nbg-task">task {_e(item.task_id)}</p>' if item.task_id else ""
    attributes = (
        f'class="nbg-card" data-status="{state}" data-index="{item.index}"'
        f' data-credits="{_e(item.credits_used if item.credits_used is not None else "")}"'
        f' data-duration="{_e(f"{duration:.3f}" if duration is not None else "")}"'
    )
    if style:
        attributes += f' style="{_e(style)}"'
    return (
        f"<article {attributes}>"
        f"{_media(item.kind, _sources(item, base), label, state)}"
        '<div class="nbg-body">'
        f'<p class="nbg-facts"><span class="nbg-index">#{item.index}</span>{"".join(facts)}</p>'
        f'<p class="nbg-prompt">{_e(prompt)}</p>'
        f"{_params(item)}{error}{task}"
        "</div></article>"
    )


# -- the page --------------------------------------------------------------------------------

CARD_CSS = """
.nbg-card{display:flex;flex-direction:column;background:var(--nbg-card,#fff);
border:1px solid var(--nbg-line,#d8dbe0);border-radius:10px;overflow:hidden;
font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--nbg-text,#1d2330)}
.nbg-media{display:grid;grid-auto-rows:minmax(0,1fr);background:var(--nbg-well,#eef0f3);
aspect-ratio:4/3;overflow:hidden}
.nbg-media.nbg-many{grid-template-columns:1fr 1fr;gap:2px}
.nbg-media a{display:block;min-height:0;height:100%}
.nbg-media img,.nbg-media video{width:100%;height:100%;object-fit:contain;display:block;min-height:0}
.nbg-empty{place-items:center;color:var(--nbg-muted,#6b7280);font-style:italic}
.nbg-body{padding:10px 12px 12px;display:flex;flex-direction:column;gap:6px}
.nbg-body p{margin:0}
.nbg-facts{display:flex;flex-wrap:wrap;gap:6px;align-items:center;font-size:13px}
.nbg-index{font-weight:600}
.nbg-badge{border-radius:99px;padding:1px 8px;font-size:12px;font-weight:600}
.nbg-succeeded{background:#dcfce7;color:#14532d}
.nbg-failed{background:#fee2e2;color:#7f1d1d}
.nbg-pending{background:#e0e7ff;color:#312e81}
.nbg-attention{background:#fef3c7;color:#78350f}
.nbg-credits,.nbg-duration{color:var(--nbg-muted,#6b7280)}
.nbg-prompt{overflow-wrap:anywhere;white-space:pre-wrap}
.nbg-params{display:flex;flex-wrap:wrap;gap:2px 10px;margin:0;font-size:12px;color:var(--nbg-muted,#6b7280)}
.nbg-params dt{font-weight:600}.nbg-params dt::after{content:":"}
.nbg-params dd{margin:0 0 0 -6px;overflow-wrap:anywhere}
.nbg-error{color:#991b1b;background:#fef2f2;border-radius:6px;padding:6px 8px;
overflow-wrap:anywhere;font-size:13px}
.nbg-task{font:12px ui-monospace,monospace;color:var(--nbg-muted,#6b7280);overflow-wrap:anywhere}
"""

PAGE_CSS = """
:root{color-scheme:light dark;--nbg-bg:#f6f7f9}
@media (prefers-color-scheme:dark){:root{--nbg-bg:#0f1115;--nbg-card:#181b21;--nbg-line:#2a2f38;
--nbg-well:#111318;--nbg-text:#e6e8eb;--nbg-muted:#9aa3af}}
body{margin:0;background:var(--nbg-bg);color:var(--nbg-text,#1d2330);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.nbg-top{padding:20px 24px 8px}
.nbg-top h1{margin:0 0 6px;font-size:22px}
.nbg-summary{display:flex;flex-wrap:wrap;gap:4px 18px;margin:0;padding:0;list-style:none}
.nbg-summary b{font-variant-numeric:tabular-nums}
.nbg-notes{margin:8px 0 0;padding-left:18px;color:var(--nbg-muted,#6b7280)}
.nbg-choice{position:absolute;opacity:0;pointer-events:none}
.nbg-controls{display:flex;flex-wrap:wrap;gap:6px 8px;align-items:center;padding:8px 24px 16px}
.nbg-controls span{color:var(--nbg-muted,#6b7280);margin-left:10px}
.nbg-controls span:first-child{margin-left:0}
.nbg-controls label{cursor:pointer;border:1px solid var(--nbg-line,#d8dbe0);border-radius:99px;
padding:3px 12px;background:var(--nbg-card,#fff);user-select:none}
.nbg-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:16px;
padding:0 24px 32px}
.nbg-grid>.nbg-card{content-visibility:auto;contain-intrinsic-size:auto 420px}
.nbg-none{padding:0 24px;color:var(--nbg-muted,#6b7280)}
"""

_FILTERS = (("all", "All"), *((s, s.capitalize()) for s in STATES))
_SORTS = (("index", "index"), ("credits", "most credits"), ("duration", "longest"))


def _controls_css() -> str:
    """What the radio buttons do: hide the cards of other states, order the cards by the
    rank computed for each sort, and show which choice is on (and focused)."""
    rules = []
    for state in STATES:
        rules.append(
            f"#nbg-f-{state}:checked~.nbg-grid>.nbg-card:not([data-status={state}]){{display:none}}"
        )
    for key, _ in _SORTS[1:]:
        rules.append(f"#nbg-s-{key}:checked~.nbg-grid>.nbg-card{{order:var(--nbg-{key})}}")
    for group, choices in (("f", _FILTERS), ("s", _SORTS)):
        for key, _ in choices:
            target = f".nbg-controls label[for=nbg-{group}-{key}]"
            rules.append(
                f"#nbg-{group}-{key}:checked~{target}"
                "{background:#1d4ed8;border-color:#1d4ed8;color:#fff}"
            )
            rules.append(
                f"#nbg-{group}-{key}:focus-visible~{target}{{outline:2px solid #1d4ed8;"
                "outline-offset:2px}"
            )
    return "\n".join(rules)


def _ranks(items: Sequence[BatchItem[Any]]) -> dict[str, list[int]]:
    """The position of each item (by list position) in each sort but the index one:
    highest first, the unknown ones last, ties by index."""

    def rank(key: Any) -> list[int]:
        order = sorted(range(len(items)), key=key)
        positions = [0] * len(items)
        for position, i in enumerate(order):
            positions[i] = position
        return positions

    def credits(i: int) -> tuple[bool, float, int]:
        c = items[i].credits_used
        return (c is None, -(c or 0), items[i].index)

    def duration(i: int) -> tuple[bool, float, int]:
        d = items[i].duration
        return (d is None, -(d or 0.0), items[i].index)

    return {"credits": rank(credits), "duration": rank(duration)}


def _summary(
    items: Sequence[BatchItem[Any]], stats: BatchStats | None
) -> tuple[list[str], dict[str, int]]:
    """The header's facts, and the count of cards in each state."""
    counts: dict[str, int] = dict.fromkeys(STATES, 0)
    for item in items:
        counts[card_state(item)] += 1
    facts: list[str] = []
    if stats is not None:
        done, failed, pending = stats.succeeded, stats.failed, stats.pending
    else:
        done, failed, pending = counts["succeeded"], counts["failed"], counts["pending"]
    facts.append(f"<b>{done}</b> succeeded")
    facts.append(f"<b>{failed}</b> failed")
    if pending is not None:
        facts.append(f"<b>{pending}</b> pending")
    spent = sum(item.credits_used or 0 for item in items)
    credit_line = f"<b>{spent}</b> credits spent"
    if stats is not None and stats.credits_used != spent:
        credit_line += f" ({stats.credits_used} by this run)"
    facts.append(credit_line)
    if stats is not None:
        took = duration_text(stats.elapsed)
        facts.append(
            f"wall time <b>{_e(took)}</b>" if stats.ended else f"running for <b>{_e(took)}</b>"
        )
        allowed = stats.budget_allowed
        if stats.rate_limit is not None and allowed is not None:
            limit = stats.rate_limit
            facts.append(
                f"API requests <b>{stats.requests}</b> of {allowed} allowed "
                f"({limit.requests} per {limit.per:g} s)"
            )
        else:
            facts.append(f"API requests <b>{stats.requests}</b>")
    return facts, counts


def render_gallery(
    items: Iterable[BatchItem[Any]],
    *,
    stats: BatchStats | None = None,
    base: str | os.PathLike[str] | None = None,
    title: str | None = None,
    notes: Sequence[str] = (),
) -> str:
    """The gallery page of ``items`` (cards in index order) as an HTML string.

    ``stats`` fills the header's numbers (without it they are counted from the items,
    and the wall time and requests are left out); ``base`` is the directory the page will
    be in (saved files are referenced relative to it; default: the working directory);
    ``notes`` are lines of plain text under the header.
    """
    cards = sorted(items, key=lambda item: item.index)
    where = Path(base) if base is not None else Path.cwd()
    ranks = _ranks(cards)
    facts, counts = _summary(cards, stats)
    heading = title or "nanobanana batch"
    notes = list(notes)
    if stats is not None and stats.succeeded + stats.failed > len(cards):
        notes.append(
            f"The first {len(cards)} of the {stats.succeeded + stats.failed} items handed "
            f"out are shown (a batch keeps {GALLERY_LIMIT} for its page)."
        )
    now = datetime.now(timezone.utc).astimezone()
    made, shown = now.isoformat(timespec="seconds"), now.strftime("%Y-%m-%d %H:%M %Z")
    body = "".join(
        _card(
            item,
            where,
            f"--nbg-credits:{ranks['credits'][i]};--nbg-duration:{ranks['duration'][i]}",
        )
        for i, item in enumerate(cards)
    )
    radios = "".join(
        f'<input class="nbg-choice" type="radio" name="nbg-{group}" id="nbg-{group}-{key}"'
        f"{' checked' if n == 0 else ''}>"
        for group, choices in (("f", _FILTERS), ("s", _SORTS))
        for n, (key, _) in enumerate(choices)
    )
    filters = "".join(
        f'<label for="nbg-f-{key}">{_e(text)} '
        f"({len(cards) if key == 'all' else counts[key]})</label>"
        for key, text in _FILTERS
    )
    sorts = "".join(f'<label for="nbg-s-{key}">{_e(text)}</label>' for key, text in _SORTS)
    notes_html = (
        '<ul class="nbg-notes">' + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"
        if notes
        else ""
    )
    grid = (
        f'<main class="nbg-grid">{body}</main>'
        if cards
        else '<main class="nbg-grid"></main><p class="nbg-none">No items.</p>'
    )
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' file: http: https:; "
        "media-src 'self' file: http: https:; base-uri 'none'; form-action 'none'"
    )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(policy)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="{GENERATOR} {_e(__version__)}">'
        f"<title>{_e(heading)}</title>"
        f"<style>{CARD_CSS}{PAGE_CSS}{_controls_css()}</style></head>\n"
        '<body class="nbg">'
        f'<header class="nbg-top"><h1>{_e(heading)}</h1>'
        f'<ul class="nbg-summary">{"".join(f"<li>{f}</li>" for f in facts)}'
        f'<li>written <time datetime="{_e(made)}">{_e(shown)}</time></li></ul>'
        f"{notes_html}</header>\n"
        f"{radios}"
        f'<nav class="nbg-controls" aria-label="filter and sort"><span>Show</span>{filters}'
        f"<span>Sort by</span>{sorts}</nav>\n"
        f"{grid}\n</body></html>\n"
    )


def gallery_path(path: str | os.PathLike[str]) -> Path:
    """The page's file: ``path`` when it names an ``.html`` (or ``.htm``) file, else
    ``index.html`` in the directory ``path``."""
    target = Path(path)
    if target.suffix.lower() in (".html", ".htm") and not target.is_dir():
        return target
    return target / "index.html"


def write_gallery(
    path: str | os.PathLike[str],
    items: Iterable[BatchItem[Any]],
    *,
    stats: BatchStats | None = None,
    title: str | None = None,
    notes: Sequence[str] = (),
) -> Path:
    """Write the gallery page of any batch items: one self-contained HTML file.

    A header with the batch's numbers and a card per item (its pictures or video, prompt,
    model and parameters, credits, duration, status, error), to filter by status and sort
    by index, credits or duration; inline CSS, no script, no network. Saved files are
    referenced relative to the page, so it opens from ``file://``; items without files
    show their result URLs (which may expire). Every text is escaped.

    Args:
        path: The page's file (``.html``), or a directory to write ``index.html`` in
            (created if need be). Put the page where the batch saved its files.
        items: The ``nb.BatchItem``s to show (cards in index order).
        stats: ``batch.stats``, for the header's numbers; without it they are counted
            from the items, and the wall time and requests are left out.
        title: The page's title (default: "nanobanana batch").
        notes: Lines of text under the header.

    Returns:
        The path of the page written (replaced atomically).

    Raises:
        InvalidParameterError: ``items`` holds something that is not a ``BatchItem``.
        OSError: The page cannot be written.
    """
    if isinstance(items, (str, bytes)):
        raise InvalidParameterError("items", items, "an iterable of nb.BatchItem")
    items = list(items)
    for item in items:
        if not isinstance(item, BatchItem):
            raise InvalidParameterError("items", item, "an iterable of nb.BatchItem")
    target = gallery_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    page = render_gallery(items, stats=stats, base=target.parent, title=title, notes=notes)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        temporary.write_text(page, encoding="utf-8")
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


# -- notebooks ------------------------------------------------------------------------------

_NOTEBOOK_CSS = f"<style>.nbg-one{{max-width:420px}}{CARD_CSS}</style>"


def item_html(item: BatchItem[Any]) -> str:
    """A batch item in a notebook: its card (saved files by their path from the working
    directory, which is the notebook's, else the result URLs); a line while not ended."""
    if card_state(item) == "pending" and item.status is None:
        task = f" (task {item.task_id})" if item.task_id else ""
        return (
            f'<span class="nbg-line">BatchItem #{item.index}{_e(task)}: not ended '
            f"&middot; {_e(_cut(item.request.prompt))}</span>"
        )
    return f'{_NOTEBOOK_CSS}<div class="nbg-one">{_card(item, None)}</div>'


def status_html(status: ImageStatus | VideoStatus) -> str:
    """A status in a notebook: the picture(s) or video with the status once it succeeded,
    the error once it failed, a one-line status while it runs."""
    name = type(status).__name__
    outcome = status_outcome(status.status)
    line = f"{name} {status.task_id}: {status.status}"
    if outcome == "running":
        if status.progress is not None:
            line += f" {status.progress}%"
        return f'<span class="nbg-line">{_e(line)}</span>'
    if outcome == "failed":
        error = status.error or "no reason given"
        return (
            f'{_NOTEBOOK_CSS}<div class="nbg-one nbg-card"><div class="nbg-body">'
            f'<p class="nbg-facts"><span class="nbg-badge nbg-failed">{_e(status.status)}</span>'
            f'</p><p class="nbg-error">{_e(error)}</p>'
            f'<p class="nbg-task">{_e(name)} {_e(status.task_id)}</p></div></div>'
        )
    kind = "video" if isinstance(status, VideoStatus) else "image"
    media = _media(kind, _status_sources(status), f"{name} {status.task_id}", "succeeded")
    return (
        f'{_NOTEBOOK_CSS}<div class="nbg-one nbg-card">{media}<div class="nbg-body">'
        f'<p class="nbg-facts"><span class="nbg-badge nbg-succeeded">{_e(status.status)}</span>'
        f'</p><p class="nbg-task">{_e(name)} {_e(status.task_id)}</p></div></div>'
    )


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
