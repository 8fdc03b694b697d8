"""The gallery and the notebook previews, looked at in a real browser: Debian's headless
Chromium through Selenium (tests/browser.py: skipped without it, a failure under CI).

The gallery of a 12-request simulator batch with 2 failures is opened from ``file://``,
as a user opens ``out/index.html``: every picture loads, the failed cards show their
errors, a prompt holding a script is text and runs nothing, the status filter hides and
shows cards, and the sorts order them. Screenshots go to build/ (CI keeps them).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import WAIT, chromium, screenshot

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana

pytestmark = pytest.mark.slow

SCRIPT_PROMPT = "A forbidden fruit <script>alert(1)</script>"
REFUSED_MODEL = "nano-banana-pro"  # the simulator fails every task of it, here


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium(width=1280, height=1100) as driver:
        yield driver


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, Any]]:
    """The page of a batch of 12 (one of two pictures, one refused, one failed)."""
    # Result URLs that never expire: at x2000 the default hour of API time is 1.8 s, which
    # a busy machine can spend between a task's end and its download.
    fake = FakeNanoBanana(
        time_scale=2000,
        seed=7,
        content_filter=["forbidden"],
        failure_rate={REFUSED_MODEL: 1.0},
        result_ttl=None,
    )
    requests: list[Any] = [f"A paper crane, number {i}" for i in range(12)]
    requests[3] = nb.ImageRequest("Two paper cranes", num_images=2, aspect_ratio="16:9")
    requests[5] = SCRIPT_PROMPT
    requests[8] = nb.ImageRequest("A crane the provider refuses", model=REFUSED_MODEL)
    out = tmp_path_factory.mktemp("gallery") / "out"
    with fake.client() as client:
        with client.images.generate_many(requests, save_to=out) as batch:
            items = {item.index: item for item in batch}
        page = batch.write_gallery(out)
    assert sorted(i for i, item in items.items() if not item.ok) == [5, 8]
    return page, items


def _open(browser: Any, page: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(page.as_uri())
    WebDriverWait(browser, WAIT).until(ready.presence_of_element_located((By.TAG_NAME, "main")))


def _loaded(browser: Any, element: Any) -> bool:
    """Scrolled into view (pictures load lazily), and loaded: the picture decoded, or the
    video's metadata read."""
    return bool(
        browser.execute_script(
            "const e = arguments[0]; e.scrollIntoView({block: 'center'});"
            "return e.tagName === 'VIDEO' ? e.readyState >= 1 && e.videoWidth > 0"
            " : e.complete && e.naturalWidth > 0;",
            element,
        )
    )


def _all_loaded(browser: Any, tag: str) -> list[Any]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    elements = browser.find_elements(By.TAG_NAME, tag)
    for element in elements:
        src = element.get_attribute("src")
        WebDriverWait(browser, WAIT).until(
            lambda d, e=element: _loaded(d, e), message=f"{tag} {src} did not load"
        )
    return elements


def _no_alert(browser: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018
    assert browser.execute_script("return document.scripts.length") == 0


def _visible_order(browser: Any) -> list[int]:
    """The indexes of the cards shown, in reading order (top to bottom, left to right)."""
    cards = browser.execute_script(
        "return Array.from(document.querySelectorAll('.nbg-card'))"
        ".filter(c => c.offsetParent !== null).map(c => {"
        "const r = c.getBoundingClientRect();"
        "return [Number(c.dataset.index), Math.round(r.top + scrollY), Math.round(r.left)];});"
    )
    return [index for index, _, _ in sorted(cards, key=lambda c: (c[1], c[2]))]


def _click(browser: Any, control: str) -> None:
    from selenium.webdriver.common.by import By

    label = browser.find_element(By.CSS_SELECTOR, f"label[for='{control}']")
    browser.execute_script("window.scrollTo(0, 0)")
    label.click()


def test_every_picture_of_the_gallery_loads_from_file(
    browser: Any, gallery: tuple[Path, dict[int, Any]]
) -> None:
    page, items = gallery
    _open(browser, page)
    pictures = _all_loaded(browser, "img")
    assert len(pictures) == sum(len(item.paths) for item in items.values()) == 11
    assert all(p.get_attribute("src").startswith("file://") for p in pictures)
    _no_alert(browser)
    browser.execute_script("window.scrollTo(0, 0)")
    print(f"screenshot: {screenshot(browser, 'gallery')}")


def test_failed_cards_show_their_errors_and_a_script_is_text(
    browser: Any, gallery: tuple[Path, dict[int, Any]]
) -> None:
    from selenium.webdriver.common.by import By

    page, items = gallery
    _open(browser, page)
    failed = browser.find_elements(By.CSS_SELECTOR, ".nbg-card[data-status='failed']")
    assert sorted(int(c.get_attribute("data-index")) for c in failed) == [5, 8]
    for card in failed:
        index = int(card.get_attribute("data-index"))
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", card)
        error = card.find_element(By.CLASS_NAME, "nbg-error")
        assert error.is_displayed()
        assert error.text == f"{type(items[index].error).__name__}: {items[index].error}"
    refused = next(c for c in failed if c.get_attribute("data-index") == "5")
    assert refused.find_element(By.CLASS_NAME, "nbg-prompt").text == SCRIPT_PROMPT
    assert "ContentFilteredError" in refused.text and "safety filters" in refused.text
    task_failed = next(c for c in failed if c.get_attribute("data-index") == "8")
    assert "TaskFailedError" in task_failed.text
    _no_alert(browser)


def test_the_status_filter_hides_and_shows_cards(
    browser: Any, gallery: tuple[Path, dict[int, Any]]
) -> None:
    from selenium.webdriver.common.by import By

    page, _ = gallery
    _open(browser, page)

    def shown() -> dict[str, list[bool]]:
        cards = browser.find_elements(By.CLASS_NAME, "nbg-card")
        found: dict[str, list[bool]] = {}
        for card in cards:
            found.setdefault(card.get_attribute("data-status"), []).append(card.is_displayed())
        return found

    assert shown() == {"succeeded": [True] * 10, "failed": [True] * 2}
    _click(browser, "nbg-f-failed")
    assert shown() == {"succeeded": [False] * 10, "failed": [True] * 2}
    print(f"screenshot: {screenshot(browser, 'gallery-failed')}")
    _click(browser, "nbg-f-succeeded")
    assert shown() == {"succeeded": [True] * 10, "failed": [False] * 2}
    _click(browser, "nbg-f-pending")
    assert shown() == {"succeeded": [False] * 10, "failed": [False] * 2}
    _click(browser, "nbg-f-all")
    assert shown() == {"succeeded": [True] * 10, "failed": [True] * 2}


def test_the_sorts_order_the_cards(browser: Any, gallery: tuple[Path, dict[int, Any]]) -> None:
    page, items = gallery
    _open(browser, page)

    def expected(value: Any) -> list[int]:
        def key(i: int) -> tuple[bool, float, int]:
            v = value(items[i])
            return (v is None, -(v or 0), i)

        return sorted(items, key=key)

    assert _visible_order(browser) == list(range(12))
    _click(browser, "nbg-s-credits")
    by_credits = _visible_order(browser)
    assert by_credits == expected(lambda item: item.credits_used)
    assert by_credits[-1] == 5  # refused: nothing charged, so no credits to sort by
    assert by_credits != list(range(12))
    _click(browser, "nbg-s-duration")
    assert _visible_order(browser) == expected(lambda item: item.duration)
    _click(browser, "nbg-f-failed")  # a sort and a filter together
    assert _visible_order(browser) == [i for i in expected(lambda i: i.duration) if i in (5, 8)]
    _click(browser, "nbg-f-all")
    _click(browser, "nbg-s-index")
    assert _visible_order(browser) == list(range(12))


def test_the_videos_of_a_gallery_play_from_file(browser: Any, tmp_path: Path) -> None:
    fake = FakeNanoBanana(time_scale=2000, seed=5)
    with fake.client() as client:
        with client.videos.generate_many(
            ["A cat walking", "A dog running"], save_to=tmp_path
        ) as batch:
            assert all(item.ok for item in batch)
        page = batch.write_gallery(tmp_path)
    _open(browser, page)
    players = _all_loaded(browser, "video")  # its metadata read: a frame to show
    assert len(players) == 2
    assert all(p.get_attribute("src").startswith("file://") for p in players)
    assert all(p.get_attribute("controls") is not None for p in players)


def test_notebook_previews_show_the_results(browser: Any, tmp_path: Path) -> None:
    """``_repr_html_`` of a finished ImageStatus, VideoStatus and BatchItem (result URLs of
    a simulator served over http), and of a running status, put in a page as Jupyter puts
    them in a notebook."""
    from selenium.webdriver.common.by import By

    # The heron (Nano Banana Pro) takes a day of API time, so its status is still running
    # however slowly this machine gets to it; the others take seconds.
    fake = FakeNanoBanana(
        time_scale=300, seed=11, result_ttl=None, durations={"nano-banana-pro": (86400.0, 86400.0)}
    )
    with fake.serve() as url, httpx.Client() as http:
        with fake.client(base_url=url, http_client=http) as client:
            image = client.images.generate("A koi pond from above", num_images=2).wait()
            video = client.videos.generate("A cat walking in a garden", duration=4).wait()
            (item,) = client.images.generate_many([SCRIPT_PROMPT.replace("forbidden", "ripe")])
            heron = client.images.generate("A heron", model="nano-banana-pro")
            running = client.images.status(heron.task_id)
            assert running.status not in ("completed", "failed")
        outputs = [image, video, item, running]
        cells = "".join(
            f'<div class="output" id="out{n}">{value._repr_html_()}</div>'
            for n, value in enumerate(outputs)
        )
        page = tmp_path / "notebook.html"
        page.write_text(
            f"<!doctype html><html><head><meta charset='utf-8'><title>notebook</title></head>"
            f"<body style='font-family:sans-serif'>{cells}</body></html>",
            encoding="utf-8",
        )
        browser.get(page.as_uri())
        pictures = _all_loaded(browser, "img")
        players = _all_loaded(browser, "video")
        assert [p.get_attribute("src") for p in pictures] == [*image.urls, *item.status.urls]
        assert [p.get_attribute("src") for p in players] == [video.video_url]
        card = browser.find_element(By.ID, "out2")
        assert SCRIPT_PROMPT.replace("forbidden", "ripe") in card.text
        assert "succeeded" in card.text
        line = browser.find_element(By.ID, "out3").text
        assert line.startswith(f"ImageStatus {running.task_id}: ")
        _no_alert(browser)
        browser.execute_script("window.scrollTo(0, 0)")
        print(f"screenshot: {screenshot(browser, 'notebook-preview')}")
    assert html.escape("<script>") in item._repr_html_()
