"""The built site, looked at in a real headless browser (Debian's chromium, chromedriver).

Not collected by a plain ``pytest`` run (the name does not start with ``test_``): ``nox -s
docs`` builds the site, then runs ``pytest tests/site_check.py``. By hand::

    mkdocs build --strict && pytest tests/site_check.py

The site is served over http on 127.0.0.1 (Material's search needs http, not file://),
and the browser is kept off the network: every resource a page loads must come from that
server, so the site works offline. Screenshots land in build/.
"""

from __future__ import annotations

import functools
import http.server
import inspect
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import WAIT, chromium, screenshot

import nanobanana as nb

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("NANOBANANA_SITE", ROOT / "site"))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The built site, served on a free loopback port."""
    assert (SITE / "index.html").is_file(), f"no site in {SITE}: run mkdocs build first"
    handler = functools.partial(_Quiet, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium through the system chromedriver (tests/browser.py)."""
    with chromium() as driver:
        yield driver


def _shot(driver: Any, name: str) -> None:
    screenshot(driver, f"site-{name}")


def _loaded_from_elsewhere(driver: Any, base_url: str) -> list[str]:
    urls = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href]);"
    )
    return [u for u in urls if not u.startswith((base_url, "data:", "blob:"))]


def test_the_async_client_reference_lists_every_constructor_parameter(
    browser: Any, base_url: str
) -> None:
    from selenium.webdriver.common.by import By

    public = [name for name in inspect.signature(nb.AsyncClient).parameters if name[0] != "_"]
    assert "api_key" in public and "rate_limit" in public
    browser.get(base_url + "reference/clients/")
    heading = browser.find_element(By.ID, "nanobanana.AsyncClient")
    section = heading.find_element(By.XPATH, "./ancestor::div[contains(@class,'doc-object')][1]")
    signature = section.find_element(By.CSS_SELECTOR, ".doc-signature").text
    missing = [name for name in public if not re.search(rf"\b{name}\s*[:=]", signature)]
    assert not missing, f"not in the rendered signature of AsyncClient: {missing}\n{signature}"
    # Once the docstring has a parameters table, it must list every parameter too.
    tables = section.find_elements(By.CSS_SELECTOR, ".doc-contents table")
    params = [t for t in tables if "Name" in t.text and "api_key" in t.text]
    for table in params:
        missing = [name for name in public if name not in table.text]
        assert not missing, f"not in the parameters table of AsyncClient: {missing}"
    browser.execute_script("arguments[0].scrollIntoView()", heading)
    _shot(browser, "asyncclient")
    assert not _loaded_from_elsewhere(browser, base_url)


def test_search_finds_pages_offline(browser: Any, base_url: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(base_url)
    box = WebDriverWait(browser, WAIT).until(
        ready.element_to_be_clickable((By.CSS_SELECTOR, "input[data-md-component='search-query']"))
    )
    box.click()
    box.send_keys("RedisRateLimiter")
    WebDriverWait(browser, WAIT).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".md-search-result__item")
    )
    results = browser.find_elements(By.CSS_SELECTOR, ".md-search-result__item")
    links = [a.get_attribute("href") for r in results for a in r.find_elements(By.TAG_NAME, "a")]
    assert any("rate-limits" in (link or "") for link in links), links
    _shot(browser, "search")
    assert not _loaded_from_elsewhere(browser, base_url)
