"""Every retry rule, at the HTTP level (httpx.MockTransport), with an injected clock so
backoffs and Retry-After waits take no real time and are exact: async tests run in virtual
time (tests/virtual_time.py), the sync client on a ManualClock."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from virtual_time import LoopClock

import nanobanana as nb
from nanobanana import _policy
from nanobanana._config import DEFAULT_TIMEOUT
from nanobanana.testing import ManualClock

pytestmark = pytest.mark.virtual_time


def default_clock() -> Any:
    """The loop's virtual time in an async test; a ManualClock for the sync client."""
    try:
        return LoopClock()
    except RuntimeError:
        return ManualClock()


CREDITS = {"success": True, "data": {"credits": 5, "total_credits": 9, "is_vip": False}}
COST = {"success": True, "data": {"type": "image", "credits_needed": 2}}
STATUS = {"success": True, "data": {"task_id": "t1", "status": "pending", "progress": 0}}
CREATED = {
    "success": True,
    "data": {"task_id": "t1", "status": "pending", "credits_used": 1, "credits_remaining": 4},
}
VCREATED = {"success": True, "data": {"task_id": "v1", "status": "processing", "credits_used": 10}}


def err(code: str, message: str = "x") -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message}}


Step = type[Exception] | tuple[int, Any, dict[str, str]]

FAIL_500: Step = (500, err("INTERNAL_ERROR"), {})
FAIL_502: Step = (502, b"<html><body>Bad gateway</body></html>", {"content-type": "text/html"})
FAIL_503: Step = (503, err("SERVICE_UNAVAILABLE"), {"retry-after": "3"})
FAIL_429: Step = (429, err("RATE_LIMIT_EXCEEDED"), {"retry-after": "3"})
FAIL_429_BARE: Step = (429, err("RATE_LIMIT_EXCEEDED"), {})

NEVER_LEFT: list[Step] = [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout]
FATE_UNKNOWN_TRANSPORT: list[Step] = [
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
]
# A gateway may pass an upstream "rate limited" body through with its own 5xx status: the
# status says the request may have been processed, whatever the body's code says.
FAIL_503_RATE: Step = (503, err("RATE_LIMIT_EXCEEDED"), {"retry-after": "0"})
SERVER_ERRORS: list[Step] = [FAIL_500, FAIL_502, FAIL_503, FAIL_503_RATE]


def step_id(step: Step) -> str:
    if isinstance(step, type):
        return step.__name__
    status, body, _ = step
    code = body.get("error", {}).get("code") if isinstance(body, dict) else None
    return f"http{status}" + (f"-{code}" if code else "")


class Script:
    """Answers each attempt from a script; the last step repeats. Records arrival times."""

    def __init__(self, steps: Sequence[Step], ok: Any, clock: Any = None) -> None:
        self.clock = clock if clock is not None else default_clock()
        self.steps = list(steps)
        self.ok = ok
        self.times: list[float] = []
        self.timeouts: list[dict[str, float]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.times.append(self.clock.now())
        self.timeouts.append(request.extensions.get("timeout", {}))
        n = len(self.times) - 1
        step: Step | None = self.steps[n] if n < len(self.steps) else None
        if step is None:
            return httpx.Response(200, json=self.ok)
        if isinstance(step, type):
            raise step("simulated", request=request)  # type: ignore[call-arg]
        status, body, headers = step
        if isinstance(body, bytes):
            return httpx.Response(status, content=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    @property
    def attempts(self) -> int:
        return len(self.times)


def key() -> str:
    return "nb_sk_" + uuid.uuid4().hex[:16]


def aclient(script: Script, **kw: Any) -> nb.AsyncClient:
    kw.setdefault("rate_limit", None)
    return nb.AsyncClient(
        api_key=key(), _clock=script.clock, _transport=httpx.MockTransport(script), **kw
    )


def sclient(script: Script, **kw: Any) -> nb.Client:
    kw.setdefault("rate_limit", None)
    return nb.Client(
        api_key=key(), _clock=script.clock, _transport=httpx.MockTransport(script), **kw
    )


READS = {
    "credits": (lambda c: c.account.credits(), CREDITS),
    "calculate_cost": (lambda c: c.account.calculate_cost("image", mode="text"), COST),
    "status": (lambda c: c.images.status("t1"), STATUS),
}
GENERATES = {
    "images": (lambda c: c.images.generate("a red fox"), CREATED),
    "videos": (lambda c: c.videos.generate("a red fox"), VCREATED),
}


# -- reads ---------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("read", list(READS))
@pytest.mark.parametrize(
    "failure",
    [*NEVER_LEFT, *FATE_UNKNOWN_TRANSPORT, *SERVER_ERRORS, FAIL_429, FAIL_429_BARE],
    ids=step_id,
)
async def test_reads_retry_every_transient_failure(read: str, failure: Step) -> None:
    do, ok = READS[read]
    script = Script([failure], ok)
    result = await do(aclient(script))
    assert result is not None
    assert script.attempts == 2


@pytest.mark.anyio
@pytest.mark.parametrize(("max_retries", "attempts"), [(0, 1), (2, 3), (4, 5)])
async def test_reads_give_up_after_max_retries(max_retries: int, attempts: int) -> None:
    script = Script([FAIL_502] * 10, CREDITS)
    with pytest.raises(nb.InternalServerError) as info:
        await aclient(script, max_retries=max_retries).account.credits()
    assert script.attempts == attempts
    assert info.value.status_code == 502
    assert not info.value.may_have_been_processed  # a read charges nothing


@pytest.mark.anyio
@pytest.mark.parametrize(
    "step",
    [
        (400, err("INVALID_PROMPT"), {}),
        (401, err("UNAUTHORIZED"), {}),
        (402, err("INSUFFICIENT_CREDITS"), {}),
        (403, err("FORBIDDEN"), {}),
        (404, err("TASK_NOT_FOUND"), {}),
        (451, err("CONTENT_FILTERED"), {}),
        (200, b"{not json", {}),
    ],
    ids=lambda s: f"http{s[0]}",
)
async def test_other_errors_are_not_retried(step: Step) -> None:
    script = Script([step] * 3, STATUS)
    with pytest.raises(nb.NanoBananaError):
        await aclient(script).images.status("t1")
    assert script.attempts == 1


# -- generate ------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("kind", list(GENERATES))
@pytest.mark.parametrize("failure", [*NEVER_LEFT, FAIL_429, FAIL_429_BARE], ids=step_id)
async def test_generate_retries_only_what_never_reached_processing(
    kind: str, failure: Step
) -> None:
    do, ok = GENERATES[kind]
    script = Script([failure], ok)
    task = await do(aclient(script))
    assert task.task_id in ("t1", "v1")
    assert script.attempts == 2


@pytest.mark.anyio
@pytest.mark.parametrize("kind", list(GENERATES))
@pytest.mark.parametrize(
    "failure",
    [*FATE_UNKNOWN_TRANSPORT, *SERVER_ERRORS, (200, b'{"success":true,"da', {})],
    ids=step_id,
)
async def test_generate_never_retries_a_request_whose_fate_is_unknown(
    kind: str, failure: Step
) -> None:
    do, ok = GENERATES[kind]
    script = Script([failure] * 3, ok)
    with pytest.raises(nb.NanoBananaError) as info:
        await do(aclient(script, max_retries=5))
    assert script.attempts == 1
    error = info.value
    assert getattr(error, "may_have_been_processed", False) is True
    message = str(error)
    assert "may exist" in message
    assert "may have been charged" in message
    assert "client.account.credits()" in message  # how to check


GARBLES = {"credits_used": {"credits_used": "two"}, "status": {"status": None}}
"""A generate answer's fields that may fail to decode while its task id reads."""


@pytest.mark.anyio
@pytest.mark.parametrize("kind", list(GENERATES))
@pytest.mark.parametrize("garble", list(GARBLES))
async def test_a_generate_answer_read_only_in_part_keeps_its_task_id(
    kind: str, garble: str
) -> None:
    do, ok = GENERATES[kind]
    answer = {"success": True, "data": {**ok["data"], **GARBLES[garble]}}
    script = Script([(200, answer, {})] * 3, ok)
    with pytest.raises(nb.UnexpectedResponseError) as info:
        await do(aclient(script, max_retries=5))
    assert script.attempts == 1  # the task exists: never resent
    error = info.value
    assert error.task_id == ok["data"]["task_id"]
    assert error.may_have_been_processed is True
    assert repr(error.task_id) in str(error)


def test_the_sync_client_keeps_the_task_id_of_an_answer_read_only_in_part() -> None:
    answer = {"success": True, "data": {**CREATED["data"], "credits_used": 1.5}}
    script = Script([(200, answer, {})], CREATED)
    with pytest.raises(nb.UnexpectedResponseError) as info:
        sclient(script).images.generate("a red fox")
    assert info.value.task_id == "t1"
    assert script.attempts == 1


@pytest.mark.anyio
async def test_timeouts_and_dropped_connections_have_their_types() -> None:
    for failure, cls in [
        (httpx.ReadTimeout, nb.APITimeoutError),
        (httpx.WriteTimeout, nb.APITimeoutError),
        (httpx.RemoteProtocolError, nb.APIConnectionError),
    ]:
        with pytest.raises(cls):
            await aclient(Script([failure], CREATED)).images.generate("x")
    with pytest.raises(nb.InternalServerError) as info:
        await aclient(Script([FAIL_500], CREATED)).images.generate("x")
    assert info.value.status_code == 500


@pytest.mark.anyio
async def test_generate_gives_up_on_persistent_connect_failures_without_unknown_fate() -> None:
    script = Script([httpx.ConnectError] * 5, CREATED)
    with pytest.raises(nb.APIConnectionError) as info:
        await aclient(script).images.generate("x")
    assert script.attempts == 3
    assert info.value.may_have_been_processed is False
    assert "may have been charged" not in str(info.value)


# -- waits ---------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("failure", [FAIL_429, FAIL_503], ids=step_id)
async def test_retry_after_is_honoured(failure: Step) -> None:
    script = Script([failure], CREDITS)
    await aclient(script).account.credits()
    assert script.times[1] - script.times[0] == pytest.approx(3.0, abs=1e-3)


@pytest.mark.anyio
async def test_a_retry_after_above_the_cap_raises_at_once() -> None:
    too_long = str(int(_policy.RETRY_AFTER_CAP) + 60)
    script = Script([(429, err("RATE_LIMIT_EXCEEDED"), {"retry-after": too_long})], CREDITS)
    with pytest.raises(nb.RateLimitError) as info:
        await aclient(script).account.credits()
    assert script.attempts == 1
    assert info.value.retry_after == float(too_long)


def test_a_retry_after_of_zero_backs_off_rather_than_hammering() -> None:
    # "Retry-After: 0", a date already past (0) or a negative number (no hint): the
    # backoff applies, and a 429 pauses the budget for the backoff's ceiling.
    for hint in (0.0, None):
        error = nb.RateLimitError("slow down", retry_after=hint)
        assert _policy.retry_delay(error, "read", 1, 3, rng=lambda: 1.0) == (
            _policy.backoff_delay(1, lambda: 1.0)
        )
        assert _policy.rate_limit_pause(error, 1) == _policy.backoff_ceiling(1) > 0


def test_backoff_is_exponential_with_full_jitter_up_to_the_cap() -> None:
    assert _policy.BACKOFF_BASE == 0.5
    assert _policy.BACKOFF_CAP == 8.0
    ceilings = [_policy.backoff_delay(a, lambda: 1.0) for a in range(7)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert _policy.backoff_delay(3, lambda: 0.0) == 0.0
    assert _policy.backoff_delay(1000, lambda: 1.0) == 8.0  # no overflow


@pytest.mark.anyio
async def test_backoff_waits_stay_within_their_ceilings() -> None:
    script = Script([httpx.ConnectError] * 4, CREDITS)
    await aclient(script, max_retries=4).account.credits()
    gaps = [b - a for a, b in zip(script.times, script.times[1:], strict=False)]
    assert len(gaps) == 4
    for attempt, gap in enumerate(gaps):
        assert 0.0 <= gap <= _policy.backoff_ceiling(attempt) + 1e-3


class CountingLimiter:
    def __init__(self) -> None:
        self.acquired = 0
        self.released: list[bool] = []
        self.paused: list[float] = []

    async def acquire(self) -> nb.Permit:
        self.acquired += 1
        released = self.released

        class _Permit:
            def release(self, *, sent: bool = True) -> None:
                released.append(sent)

        return _Permit()

    def pause(self, seconds: float) -> None:
        self.paused.append(seconds)


@pytest.mark.anyio
async def test_every_retry_waits_for_the_limiter_again() -> None:
    limiter = CountingLimiter()
    script = Script([httpx.ConnectError, httpx.ReadTimeout, FAIL_429], CREDITS)
    await aclient(script, rate_limit=limiter, max_retries=3).account.credits()
    assert script.attempts == 4
    assert limiter.acquired == 4
    # a request that never left frees its slot at once; the others were sent
    assert limiter.released == [False, True, True, True]
    assert limiter.paused == [3.0]  # the 429 paused the whole budget for its Retry-After


@pytest.mark.anyio
async def test_a_429_without_retry_after_pauses_the_budget_for_a_backoff() -> None:
    limiter = CountingLimiter()
    await aclient(Script([FAIL_429_BARE], CREDITS), rate_limit=limiter).account.credits()
    assert limiter.paused == [_policy.BACKOFF_BASE]


# -- timeouts and with_options --------------------------------------------------------------


@pytest.mark.anyio
async def test_timeout_defaults_and_overrides_reach_every_request() -> None:
    script = Script([], CREDITS)
    client = aclient(script)
    await client.account.credits()
    assert script.timeouts[-1] == {"connect": 10.0, "read": 60.0, "write": 30.0, "pool": 30.0}
    assert DEFAULT_TIMEOUT.read == 60.0
    await client.with_options(timeout=5.0).account.credits()
    assert script.timeouts[-1] == {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}
    custom = httpx.Timeout(3.0, read=120.0)
    await client.with_options(timeout=custom).account.credits()
    assert script.timeouts[-1]["read"] == 120.0
    await client.account.credits()  # the original kept its own
    assert script.timeouts[-1]["read"] == 60.0


@pytest.mark.anyio
async def test_with_options_shares_the_pool_and_the_limiter() -> None:
    limiter = CountingLimiter()
    script = Script([FAIL_502, FAIL_502], CREDITS)
    client = aclient(script, rate_limit=limiter)
    strict = client.with_options(max_retries=0)
    with pytest.raises(nb.InternalServerError):
        await strict.account.credits()
    assert script.attempts == 1
    await client.account.credits()  # the original still retries
    assert script.attempts == 3
    assert limiter.acquired == 3  # both went through the one limiter
    await strict.aclose()  # closing the clone leaves the shared pool open
    await client.account.credits()
    await client.aclose()
    with pytest.raises(nb.APIConnectionError, match="client is closed"):
        await strict.account.credits()  # ...and closing the original closes it for both
    assert limiter.acquired == 4  # refused before it asked for a slot


@pytest.mark.anyio
async def test_with_options_shares_the_built_in_budget() -> None:
    script = Script([], CREDITS)
    client = aclient(script, rate_limit=nb.RateLimit(2, per=3600.0))
    clone = client.with_options(timeout=1.0, max_retries=0)
    await client.account.credits()
    await clone.account.credits()
    import anyio

    with anyio.move_on_after(60.0) as scope:  # the shared budget of 2 is spent for an hour
        await clone.account.credits()
    assert scope.cancelled_caught
    assert script.attempts == 2


def test_with_options_validates() -> None:
    client = sclient(Script([], CREDITS))
    with pytest.raises(nb.InvalidParameterError):
        client.with_options(max_retries=-1)
    with pytest.raises(nb.InvalidParameterError):
        client.with_options(timeout=-1.0)


# -- the sync client follows the same rules ---------------------------------------------


def test_sync_client_retries_reads_but_not_a_generate_of_unknown_fate() -> None:
    script = Script([httpx.ReadTimeout], CREDITS)
    assert sclient(script).account.credits().credits == 5
    assert script.attempts == 2
    script = Script([httpx.ReadTimeout], CREATED)
    with pytest.raises(nb.APITimeoutError) as info:
        sclient(script).images.generate("x")
    assert info.value.may_have_been_processed
    assert script.attempts == 1
    script = Script([httpx.ConnectError, FAIL_429], CREATED)
    assert sclient(script).images.generate("x").task_id == "t1"
    assert script.attempts == 3


# -- redirects -------------------------------------------------------------------------------


def _redirecting(hosts: list[str]) -> httpx.MockTransport:
    """api.example answers every request with a 308 to another host."""

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if request.url.host == "api.example":
            return httpx.Response(308, headers={"location": "https://other.example/generate"})
        return httpx.Response(200, json=CREATED)

    return httpx.MockTransport(handler)


@pytest.mark.anyio
async def test_api_requests_never_follow_redirects_even_when_the_http_client_would() -> None:
    hosts: list[str] = []
    http = httpx.AsyncClient(transport=_redirecting(hosts), follow_redirects=True)
    async with nb.AsyncClient(
        api_key=key(), base_url="https://api.example/api/v1", http_client=http, rate_limit=None
    ) as client:
        with pytest.raises(nb.UnexpectedResponseError) as info:
            await client.images.generate("a red fox")
    assert hosts == ["api.example"]  # sent once, and nowhere else
    assert info.value.status_code == 308
    assert info.value.may_have_been_processed is True
    assert "other.example" in str(info.value) and "base_url" in str(info.value)
    await http.aclose()


def test_the_sync_client_never_follows_a_redirect_either() -> None:
    hosts: list[str] = []
    with httpx.Client(transport=_redirecting(hosts), follow_redirects=True) as http:
        with (
            nb.Client(
                api_key=key(),
                base_url="https://api.example/api/v1",
                http_client=http,
                rate_limit=None,
            ) as client,
            pytest.raises(nb.UnexpectedResponseError),
        ):
            client.account.credits()
    assert hosts == ["api.example"]
