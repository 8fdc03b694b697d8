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


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("NANOBANANA_API_KEY", raising=False)
    monkeypatch.delenv("NANOBANANA_BASE_URL", raising=False)
    return API_KEY
