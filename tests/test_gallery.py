"""The batch gallery and the notebook previews, as HTML (no browser here: see
test_gallery_browser.py), and the numbers behind them: ``batch.stats`` and the items'
credits and times, measured on the client's clock."""

from __future__ import annotations

import html
import html.parser
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana, ManualClock

UTC = timezone.utc
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
SCRIPT = "<script>alert(1)</script>"


def _ok(index: int, *, credits: int = 1, seconds: float = 12.0, **request: Any) -> Any:
    status = nb.ImageStatus(
        f"t{index}", "completed", 100, image_urls=(f"https://cdn.test/t{index}.png",)
    )
    return nb.BatchItem(
        index,
        nb.ImageRequest(f"prompt {index}", **request),
        f"t{index}",
        status,
        paths=(Path(f"out/t{index}.png"),),
        credits_used=credits,
        submitted_at=T0,
        ended_at=T0 + timedelta(seconds=seconds),
    )


def _failed(index: int, prompt: str, error: BaseException) -> Any:
    return nb.BatchItem(index, nb.ImageRequest(prompt), error=error)


class _Page(html.parser.HTMLParser):
    """The tags of a page, and its text, as a browser's parser reads them."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._in: list[str] = []
        self.feed(text)
        summary = re.search(r'<ul class="nbg-summary">(.*?)</ul>', text)
        self.summary = re.sub(r"<[^>]+>", " ", summary[1]) if summary else ""
        self.summary = html.unescape(re.sub(r"\s+", " ", self.summary))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if not (self._in and self._in[-1] == "style"):
            self.text.append(data)

    def all(self, tag: str, **having: str) -> list[dict[str, str | None]]:
        found = [a for t, a in self.tags if t == tag]
        for key, value in having.items():
            found = [a for a in found if value in (a.get(key) or "").split()]
        return found


def test_a_prompt_an_error_and_parameters_are_text_never_markup() -> None:
    evil = f'{SCRIPT} "quoted" <img src=x onerror=alert(2)>'
    items = [
        _failed(0, evil, nb.BadRequestError(f"bad {SCRIPT}", status_code=400)),
        _ok(1, model=f"m{SCRIPT}"),
    ]
    from nanobanana._gallery import render_gallery

    text = render_gallery(items, base="out")
    page = _Page(text)
    assert not page.all("script")
    assert [a for _, a in page.tags if any(k.startswith("on") for k in a)] == []
    assert [a.get("src") for a in page.all("img")] == ["t1.png"]  # only the real picture
    words = "".join(page.text)
    assert evil in words  # shown as the very text of the prompt
    assert f"BadRequestError: 400: bad {SCRIPT}" in words
    assert f"m{SCRIPT}" in words


def test_cards_filter_counts_and_sort_orders() -> None:
    from nanobanana._gallery import render_gallery

    items = [
        _ok(2, credits=3, seconds=5),
        _ok(0, credits=1, seconds=40),
        _failed(1, "a forbidden fruit", nb.ContentFilteredError("no", status_code=451)),
        nb.BatchItem(3, nb.ImageRequest("still running"), "t3"),
    ]
    page = _Page(render_gallery(items, base="out"))
    cards = page.all("article", **{"class": "nbg-card"})
    assert [c["data-index"] for c in cards] == ["0", "1", "2", "3"]  # index order
    assert [c["data-status"] for c in cards] == ["succeeded", "failed", "succeeded", "pending"]
    # the order of each sort: highest first, unknown last, ties by index
    ranks = {c["data-index"]: c["style"] for c in cards}
    assert ranks["2"] == "--nbg-credits:0;--nbg-duration:1"
    assert ranks["0"] == "--nbg-credits:1;--nbg-duration:0"
    assert ranks["1"] == "--nbg-credits:2;--nbg-duration:2"
    words = "".join(page.text)
    for label in ("All (4)", "Succeeded (2)", "Failed (1)", "Pending (1)"):
        assert label in words
    summary = page.summary
    assert {a["for"] for a in page.all("label")} == {
        f"nbg-{g}-{k}"
        for g, keys in (
            ("f", ("all", "succeeded", "failed", "pending")),
            ("s", ("index", "credits", "duration")),
        )
        for k in keys
    }
    # the header, counted from the items: no wall time, no request count without stats
    assert "2 succeeded" in summary and "1 failed" in summary and "1 pending" in summary
    assert "4 credits spent" in summary
    assert "wall time" not in summary and "API requests" not in summary


def test_the_header_shows_the_batch_stats() -> None:
    from nanobanana._gallery import render_gallery

    stats = nb.BatchStats(
        total=12,
        succeeded=9,
        failed=2,
        credits_used=7,
        requests=140,
        elapsed=130.0,
        ended=True,
        rate_limit=nb.RateLimit(60, per=60.0),
    )
    assert stats.pending == 1 and stats.budget_allowed == 180
    summary = _Page(render_gallery([_ok(0, credits=5)], stats=stats)).summary
    assert "9 succeeded" in summary and "2 failed" in summary and "1 pending" in summary
    assert "5 credits spent (7 by this run)" in summary
    assert "wall time 2 min 10 s" in summary
    assert "API requests 140 of 180 allowed (60 per 60 s)" in summary
    running = nb.BatchStats(None, 0, 0, 0, 3, 4.25, False)
    page = _Page(render_gallery([], stats=running))
    assert "running for 4.2 s" in page.summary and "API requests 3" in page.summary
    assert "pending" not in page.summary  # the input's size is not known yet
    assert "No items." in "".join(page.text)


def test_an_end_before_the_submission_is_no_duration() -> None:
    item = _ok(0, seconds=-3.0)
    assert item.ended_at is not None and item.duration is None
    assert 'class="nbg-duration"' not in item._repr_html_()


def test_budget_allowed_counts_each_window_begun() -> None:
    def allowed(elapsed: float) -> int | None:
        return nb.BatchStats(0, 0, 0, 0, 0, elapsed, True, nb.RateLimit(60)).budget_allowed

    assert [allowed(0), allowed(59.9), allowed(60), allowed(61)] == [60, 60, 60, 120]
    assert nb.BatchStats(0, 0, 0, 0, 0, 1.0, True).budget_allowed is None


def test_saved_files_are_relative_to_the_page_and_other_urls_are_dropped(tmp_path: Path) -> None:
    from nanobanana._gallery import render_gallery

    odd = nb.BatchItem(
        0,
        nb.ImageRequest("a"),
        "t0",
        nb.ImageStatus("t0", "completed", image_urls=("https://cdn.test/a.png",)),
        paths=(tmp_path / "out" / "a b#1.png",),
    )
    unsafe = nb.BatchItem(
        1,
        nb.ImageRequest("b"),
        "t1",
        nb.ImageStatus("t1", "completed", image_urls=("javascript:alert(1)", "https://cdn/b.png")),
    )
    video = nb.BatchItem(
        2,
        nb.VideoRequest("c"),
        "v2",
        nb.VideoStatus("v2", "completed", video_url="https://cdn.test/v2.mp4"),
        paths=(tmp_path / "elsewhere" / "v2.mp4",),
    )
    page = _Page(render_gallery([odd, unsafe, video], base=tmp_path / "out"))
    assert [a["src"] for a in page.all("img")] == ["a%20b%231.png", "https://cdn/b.png"]
    assert [a["href"] for a in page.all("a")] == ["a%20b%231.png", "https://cdn/b.png"]
    (player,) = page.all("video")
    assert player["src"] == "../elsewhere/v2.mp4"
    assert "controls" in player and player["preload"] == "metadata"


def test_write_gallery_writes_index_html_in_a_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    written = nb.write_gallery(out, [_ok(0)], title="crane <3")
    assert written == out / "index.html"
    text = written.read_text(encoding="utf-8")
    assert "<title>crane &lt;3</title>" in text
    assert 'name="generator" content="nanobanana gallery' in text
    (policy,) = _Page(text).all("meta", **{"http-equiv": "Content-Security-Policy"})
    assert (policy["content"] or "").startswith("default-src 'none';")  # no script may run
    assert "script-src" not in (policy["content"] or "")
    assert nb.write_gallery(tmp_path / "page.html", []) == tmp_path / "page.html"
    assert nb.write_gallery(tmp_path / "new", []) == tmp_path / "new" / "index.html"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "out", "page.html"]
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]  # no leftovers
    with pytest.raises(nb.InvalidParameterError):
        nb.write_gallery(out, ["not an item"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(4.25, "4.2 s"), (12.4, "12 s"), (125, "2 min 05 s"), (3725, "1 h 02 min")],
)
def test_durations_read_as_people_say_them(seconds: float, text: str) -> None:
    from nanobanana._gallery import duration_text

    assert duration_text(seconds) == text


# -- notebooks -------------------------------------------------------------------------------


def test_a_finished_image_status_shows_its_pictures() -> None:
    status = nb.ImageStatus(
        "t1", "completed", 100, image_urls=("https://c/1.png", "https://c/2.png")
    )
    page = _Page(status._repr_html_())
    assert [a["src"] for a in page.all("img")] == ["https://c/1.png", "https://c/2.png"]
    assert "completed" in "".join(page.text)


def test_a_running_status_is_one_line_and_a_failed_one_shows_its_error() -> None:
    running = nb.VideoStatus("v1", "processing", 40)._repr_html_()
    assert running == '<span class="nbg-line">VideoStatus v1: processing 40%</span>'
    failed = _Page(nb.ImageStatus("t1", "failed", error=f"policy {SCRIPT}")._repr_html_())
    assert f"policy {SCRIPT}" in "".join(failed.text) and not failed.all("script")
    assert not failed.all("img")


def test_a_finished_video_status_is_a_player() -> None:
    page = _Page(nb.VideoStatus("v1", "succeeded", video_url="https://c/v1.mp4")._repr_html_())
    (player,) = page.all("video")
    assert player["src"] == "https://c/v1.mp4" and "controls" in player


def test_a_batch_item_shows_its_prompt_result_and_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a notebook's working directory is its own
    item = _ok(0)
    page = _Page(item._repr_html_())
    assert [a["src"] for a in page.all("img")] == ["out/t0.png"]  # the saved file
    words = "".join(page.text)
    assert "prompt 0" in words and "succeeded" in words and "1 credit" in words
    failed = _Page(_failed(1, SCRIPT, nb.NotSubmittedError("not submitted"))._repr_html_())
    assert SCRIPT in "".join(failed.text) and "NotSubmittedError" in "".join(failed.text)
    running = nb.BatchItem(2, nb.ImageRequest("a heron"), "t2")._repr_html_()
    assert (
        running
        == '<span class="nbg-line">BatchItem #2 (task t2): not ended &middot; a heron</span>'
    )


def test_a_batch_item_elsewhere_shows_its_result_url(tmp_path: Path) -> None:
    item = _ok(0)
    away = nb.BatchItem(
        0,
        item.request,
        "t0",
        item.status,
        paths=(tmp_path.parent / "t0.png",),
    )
    assert [a["src"] for a in _Page(away._repr_html_()).all("img")] == ["https://cdn.test/t0.png"]


# -- the numbers: batch.stats, and each item's credits and times ---------------------------


def test_stats_and_item_times_of_a_batch_on_a_manual_clock() -> None:
    fake = FakeNanoBanana(
        clock=ManualClock(), durations={"image": 15.0}, content_filter=["forbidden"]
    )
    prompts = ["a crane", nb.ImageRequest("two cranes", num_images=2), "a forbidden fruit"]
    with fake.client() as client:
        batch = client.images.generate_many(prompts, concurrency=1)
        assert batch.stats == nb.BatchStats(None, 0, 0, 0, 0, 0.0, False)
        items = {item.index: item for item in batch}
    charges = {c.task_id: c.credits for c in fake.charges}
    stats = batch.stats
    assert stats.ended and stats.total == 3 and stats.pending == 0
    assert (stats.succeeded, stats.failed) == (2, 1)
    assert stats.credits_used == sum(charges.values()) == 3
    assert stats.requests == len(fake.api_requests)  # this batch's, and nobody else's
    assert stats.rate_limit is None  # a manual clock's client has none
    for index in (0, 1):
        item = items[index]
        assert item.credits_used == charges[item.task_id]
        assert item.duration is not None and item.duration >= 15.0  # the task's time
        assert item.submitted_at is not None and item.ended_at is not None
    assert items[2].credits_used is None and items[2].duration is None
    assert stats.elapsed >= 30.0  # two tasks, one after the other


@pytest.mark.anyio
async def test_stats_name_the_budget_and_a_journal_keeps_the_times(
    anyio_backend: str, tmp_path: Path
) -> None:
    fake = FakeNanoBanana(time_scale=2000)
    journal = tmp_path / "j.sqlite"
    async with fake.async_client(rate_limit=nb.RateLimit(30, per=20.0)) as client:
        async with client.images.generate_many(["a", "b"], journal=journal) as batch:
            first = {item.index: item async for item in batch}
        assert batch.stats.rate_limit == nb.RateLimit(30, per=20.0)
        async with client.images.generate_many(["a", "b"], journal=journal) as again:
            second = {item.index: item async for item in again}
    assert again.stats.credits_used == 0 and again.stats.requests == 0  # paid nothing
    for index, item in first.items():
        back = second[index]
        assert back.credits_used == item.credits_used == 1
        for name in ("submitted_at", "ended_at"):
            was, now = getattr(item, name), getattr(back, name)
            assert abs((now - was).total_seconds()) < 1e-3  # kept as POSIX seconds


def test_a_batch_writes_its_gallery_of_the_items_handed_out(tmp_path: Path) -> None:
    fake = FakeNanoBanana(time_scale=2000)
    with fake.client() as client:
        with client.images.generate_many(["a crane", "a heron"], save_to=tmp_path) as batch:
            for _ in batch:
                seen = batch.write_gallery(tmp_path)  # while it runs, too
                assert seen == tmp_path / "index.html"
        page = _Page(batch.write_gallery(tmp_path / "index.html", title="birds").read_text())
    sources = sorted(a["src"] or "" for a in page.all("img"))
    assert sources == sorted(f"{c.task_id}.png" for c in fake.charges)
    assert all((tmp_path / s).is_file() for s in sources)
    assert re.search(r"wall time \d", page.summary)
