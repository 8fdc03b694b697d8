"""The ``nanobanana`` logger: one DEBUG line per request; never the key; no prompt above
DEBUG; ``NANOBANANA_LOG=debug`` turns it on."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import uuid
from typing import Any

import httpx
import pytest
from virtual_time import LoopClock

import nanobanana as nb
from nanobanana.testing import ManualClock

pytestmark = pytest.mark.virtual_time  # async tests: retries and budget waits in API time
PROMPT = "a secret-plan prompt about zebras"

CREDITS = {"success": True, "data": {"credits": 5, "is_vip": False}}
CREATED = {"success": True, "data": {"task_id": "t1", "status": "pending"}}


def key() -> str:
    return "nb_sk_" + uuid.uuid4().hex[:16]


@pytest.mark.anyio
async def test_each_request_is_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(503, json={"success": False, "error": {"code": "X"}})
        return httpx.Response(200, json=CREDITS)

    client = nb.AsyncClient(
        api_key=key(), _clock=LoopClock(), _transport=httpx.MockTransport(handler), rate_limit=None
    )
    with caplog.at_level(logging.DEBUG, logger="nanobanana"):
        await client.account.credits()
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any(
        "GET /api/v1/account/credits -> 503 (attempt 1, waited" in m and "for the budget" in m
        for m in lines
    ), lines
    assert any("GET /api/v1/account/credits -> 200 (attempt 2" in m for m in lines), lines
    retries = [r for r in caplog.records if r.levelno == logging.INFO]
    assert retries and "retry 1 of 2" in retries[0].getMessage()


@pytest.mark.anyio
async def test_the_time_waited_for_the_budget_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    client = nb.AsyncClient(
        api_key=key(),
        _clock=LoopClock(),
        _transport=httpx.MockTransport(lambda r: httpx.Response(200, json=CREDITS)),
        rate_limit=nb.RateLimit(1, per=60.0),
    )
    with caplog.at_level(logging.DEBUG, logger="nanobanana"):
        await client.account.credits()
        await client.account.credits()
    waits = [
        float(r.getMessage().split("waited ")[1].split("s ")[0])
        for r in caplog.records
        if "waited" in r.getMessage()
    ]
    assert waits[0] == 0.0
    assert waits[1] == pytest.approx(60.25, abs=2e-3)  # a window (and margin) after the answer


def leaky_handler(secret: str) -> Any:
    """A hostile upstream: echoes the key in error bodies, HTML and headers."""

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("credits"):
            return httpx.Response(
                401,
                json={
                    "success": False,
                    "error": {"code": "UNAUTHORIZED", "message": f"bad key {secret}"},
                },
            )
        if path.endswith("models"):
            return httpx.Response(502, content=f"<html>proxy saw Bearer {secret}</html>".encode())
        if path.endswith("status"):
            raise httpx.ConnectError(f"refused for {secret}", request=request)
        if path.endswith("calculate-cost"):
            return httpx.Response(200, content=f"not json {secret}".encode())
        return httpx.Response(
            500, json={"success": False, "error": {"code": "INTERNAL_ERROR", "message": secret}}
        )

    return handler


@pytest.mark.anyio
async def test_the_key_never_appears_in_logs_errors_or_reprs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = key()
    client = nb.AsyncClient(
        api_key=secret,
        _clock=LoopClock(),
        _transport=httpx.MockTransport(leaky_handler(secret)),
    )
    texts = [repr(client), str(client), repr(client.with_options(max_retries=0))]
    with caplog.at_level(logging.DEBUG):  # every logger, httpx's included
        for call in (
            lambda: client.account.credits(),
            lambda: client.models.list(),
            lambda: client.images.status("t1"),
            lambda: client.account.calculate_cost("image", mode="text"),
            lambda: client.images.generate(PROMPT),
        ):
            with pytest.raises(nb.NanoBananaError) as info:
                await call()
            error = info.value
            texts += [str(error), repr(error), *map(str, error.args)]
            texts.append(str(getattr(error, "message", "")))
            if error.__cause__ is not None:
                texts += [str(error.__cause__), repr(error.__cause__)]
    texts += [r.getMessage() for r in caplog.records]
    texts += [str(r.args) for r in caplog.records]
    leaks = [t for t in texts if secret in t]
    assert not leaks
    assert caplog.records  # something was logged at all


def test_the_sync_client_keeps_the_key_out_too(caplog: pytest.LogCaptureFixture) -> None:
    secret = key()
    client = nb.Client(
        api_key=secret,
        _clock=ManualClock(),
        _transport=httpx.MockTransport(leaky_handler(secret)),
        rate_limit=None,
    )
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(nb.AuthenticationError) as info:
            client.account.credits()
    assert secret not in str(info.value) and secret not in repr(client)
    assert all(secret not in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_prompts_are_never_logged_above_debug(caplog: pytest.LogCaptureFixture) -> None:
    answers = iter(
        [
            httpx.Response(429, json={"success": False, "error": {"code": "RATE_LIMIT_EXCEEDED"}}),
            httpx.Response(200, json=CREATED),
        ]
    )
    client = nb.AsyncClient(
        api_key=key(),
        _clock=LoopClock(),
        _transport=httpx.MockTransport(lambda r: next(answers)),
        rate_limit=None,
    )
    with caplog.at_level(logging.DEBUG):
        await client.images.generate(PROMPT)
    assert all("zebras" not in r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NANOBANANA_")}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )


SCRIPT = """
    import httpx, nanobanana as nb
    t = httpx.MockTransport(lambda r: httpx.Response(200, json={"success": True, "data": {"credits": 1}}))
    nb.Client(api_key="nb_sk_" + "x" * 16, _transport=t, rate_limit=None).account.credits()
"""


@pytest.mark.slow
def test_nanobanana_log_debug_turns_request_logging_on() -> None:
    on = run_python(SCRIPT, NANOBANANA_LOG="debug")
    assert on.returncode == 0, on.stderr
    assert "nanobanana DEBUG GET /api/v1/account/credits -> 200 (attempt 1" in on.stderr
    assert "x" * 16 not in on.stderr
    off = run_python(SCRIPT)
    assert off.returncode == 0, off.stderr
    assert "account/credits" not in off.stderr
