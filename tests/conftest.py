"""Shared fixtures. Async tests run on asyncio and Trio through anyio's pytest plugin;
those marked ``virtual_time`` run on a loop whose clock jumps ahead (tests/virtual_time.py)."""

from __future__ import annotations

from typing import Any

import pytest
import virtual_time


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    backend = str(request.param)
    if request.node.get_closest_marker("virtual_time") is not None:
        return backend, virtual_time.backend_options(backend)
    return backend


API_KEY = "nb_sk_test_0123456789abcdef"

SDK_ENVIRONMENT = ("NANOBANANA_API_KEY", "NANOBANANA_BASE_URL", "NANOBANANA_LOG")
"""The variables the package reads: a test sets what it needs of them."""


@pytest.fixture(autouse=True)
def _no_sdk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shell running the suite may export a key or a base URL (a developer's own):
    a client built without ``base_url`` would then aim at it, and a test would fail for
    a reason other than a bug."""
    for name in SDK_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def api_key() -> str:
    return API_KEY  # the environment's own is cleared for every test (_no_sdk_environment)
