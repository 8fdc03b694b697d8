"""Headless Chromium for the tests that look at a page (the gallery, the notebook previews,
the built site): Debian's ``chromium`` driven through its ``chromedriver`` by Selenium.

Nothing is downloaded: Selenium Manager is kept offline, and the browser's own network
chatter (updates, sync, QUIC probes) is switched off. Each browser gets a fresh profile.
When chromium, chromedriver or selenium is missing the test is skipped with a reason,
except under CI (``CI`` set), where ``.ci/run`` installs Debian's packages and nox
installs selenium, so a missing one is a failure (as for redis-server, tests/redis_server.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CHROMEDRIVER", "CHROMIUM", "SHOTS", "WAIT", "chromium", "require_chromium"]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
SHOTS = Path(__file__).resolve().parent.parent / "build"
"""Where screenshots go (gitignored; CI keeps them as artifacts)."""
WAIT = 20.0
"""Seconds a page may take to show what a test looks for: a busy machine is slow."""

FLAGS = (
    "--headless",
    "--no-sandbox",  # root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def require_chromium() -> None:
    """Skip the test (fail it under CI) unless chromium, chromedriver and selenium are here."""
    missing = [binary for binary in (CHROMIUM, CHROMEDRIVER) if not shutil.which(binary)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if missing:
        message = (
            f"{', '.join(missing)} missing (Debian: apt-get install chromium chromium-driver; "
            "pip install selenium): the browser tests need a real browser"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {message}", pytrace=False)
        pytest.skip(message)


@contextmanager
def chromium(*, width: int = 1280, height: int = 1000) -> Iterator[Any]:
    """A headless Chromium (a Selenium ``WebDriver``), quit on exit."""
    require_chromium()
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never download a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="nanobanana-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver: Any, name: str) -> Path:
    """Save what the browser shows as ``build/<name>.png``; its path."""
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
