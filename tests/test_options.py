"""Per-call options on every endpoint method of both clients: extra_headers, extra_query,
extra_body (merged into the JSON body, unvalidated) and timeout, as they reach the wire."""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import respx

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana, Fault

BASE = "https://imgeditor.co/api/v1"
pytestmark = pytest.mark.anyio


async def resolve(value: Any) -> Any:
    """Await an async client's coroutine; pass a sync client's result through."""
    return await value if inspect.isawaitable(value) else value


@pytest.fixture(params=["async", "sync"])
async def client(request: pytest.FixtureRequest, api_key: str) -> AsyncIterator[Any]:
    if request.param == "async":
        async with nb.AsyncClient(api_key=api_key, rate_limit=None, max_retries=0) as c:
            yield c
    else:
        with nb.Client(api_key=api_key, rate_limit=None, max_retries=0) as c:
            yield c


def ok(data: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "data": data}


CREATED = ok({"task_id": "t1", "status": "pending", "credits_used": 1})
IMAGE = ok({"task_id": "t1", "status": "pending", "progress": 0})
VIDEO = ok({"task_id": "t1", "status": "processing", "progress": 0})
CREDITS = ok({"credits": 5, "total_credits": 5, "is_vip": False})
COST = ok({"type": "image", "credits_needed": 1})

# (call, method, path, answer, the body the SDK builds itself)
ENDPOINTS: list[tuple[str, Callable[..., Any], str, str, dict[str, Any], Any]] = [
    (
        "images.generate",
        lambda c, **o: c.images.generate("a cat", quality="hd", **o),
        "POST",
        "images/generate",
        CREATED,
        {"prompt": "a cat", "mode": "text", "quality": "hd"},
    ),
    (
        "images.status",
        lambda c, **o: c.images.status("t1", **o),
        "GET",
        "images/status",
        IMAGE,
        None,
    ),
    (
        "videos.generate",
        lambda c, **o: c.videos.generate("a cat", model="sora-2", **o),
        "POST",
        "videos/generate",
        CREATED,
        {"prompt": "a cat", "model_id": "sora-2"},
    ),
    (
        "videos.status",
        lambda c, **o: c.videos.status("t1", **o),
        "GET",
        "videos/status",
        VIDEO,
        None,
    ),
    (
        "account.credits",
        lambda c, **o: c.account.credits(**o),
        "GET",
        "account/credits",
        CREDITS,
        None,
    ),
    (
        "account.calculate_cost",
        lambda c, **o: c.account.calculate_cost("image", num_images=2, **o),
        "POST",
        "account/calculate-cost",
        COST,
        {"type": "image", "num_images": 2},
    ),
    ("models.list", lambda c, **o: c.models.list(**o), "GET", "models", ok({}), None),
]
IDS = [e[0] for e in ENDPOINTS]


@pytest.mark.parametrize(("name", "call", "method", "path", "answer", "body"), ENDPOINTS, ids=IDS)
async def test_options_reach_the_wire_on_every_endpoint(
    client: Any,
    api_key: str,
    name: str,
    call: Callable[..., Any],
    method: str,
    path: str,
    answer: dict[str, Any],
    body: dict[str, Any] | None,
) -> None:
    with respx.mock(base_url=BASE) as mock:
        route = getattr(mock, method.lower())(path).respond(json=answer)
        await resolve(
            call(
                client,
                extra_headers={"X-Trace": "abc", "User-Agent": "my-app/1.0"},
                extra_query={"debug": True, "page": 2},
                extra_body={"seed": 7, "style": {"palette": ["red"]}},
                timeout=2.5,
            )
        )
    sent = route.calls.last.request
    assert sent.headers["x-trace"] == "abc"
    assert sent.headers["user-agent"] == "my-app/1.0"  # theirs replaces ours
    assert sent.headers["authorization"] == f"Bearer {api_key}"  # ours stays
    assert sent.url.params["debug"] == "true" and sent.url.params["page"] == "2"
    if path.endswith("status"):
        assert sent.url.params["task_id"] == "t1"
    assert json.loads(sent.content) == {**(body or {}), "seed": 7, "style": {"palette": ["red"]}}
    assert sent.headers["content-type"] == "application/json"
    assert sent.extensions["timeout"] == httpx.Timeout(2.5).as_dict()


@pytest.mark.parametrize(("name", "call", "method", "path", "answer", "body"), ENDPOINTS, ids=IDS)
async def test_without_options_the_request_is_unchanged(
    client: Any,
    name: str,
    call: Callable[..., Any],
    method: str,
    path: str,
    answer: dict[str, Any],
    body: dict[str, Any] | None,
) -> None:
    with respx.mock(base_url=BASE) as mock:
        route = getattr(mock, method.lower())(path).respond(json=answer)
        await resolve(call(client))
    sent = route.calls.last.request
    assert "x-trace" not in sent.headers
    assert sent.headers["user-agent"] == f"nanobanana-python/{nb.__version__}"
    assert (json.loads(sent.content) if sent.content else None) == body
    assert dict(sent.url.params) == ({"task_id": "t1"} if path.endswith("status") else {})
    assert (
        sent.extensions["timeout"]
        == httpx.Timeout(10.0, read=60.0, write=30.0, pool=30.0).as_dict()
    )


async def test_extra_body_is_sent_as_given_unvalidated_and_wins(client: Any) -> None:
    """How to send what the SDK does not know yet: nothing in extra_body is checked, and its
    keys replace the SDK's (here a value the SDK itself would refuse)."""
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("images/generate").respond(json=CREATED)
        await resolve(
            client.images.generate(
                "a cat",
                num_images=2,
                extra_body={"num_images": 9, "mode": "sketch", "seed": None, "new_field": [1]},
            )
        )
    assert json.loads(route.calls.last.request.content) == {
        "prompt": "a cat",
        "mode": "sketch",
        "num_images": 9,
        "seed": None,
        "new_field": [1],
    }


async def test_the_schema_is_still_validated_with_extra_body(client: Any) -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        route = mock.post("images/generate").respond(json=CREATED)
        with pytest.raises(nb.InvalidParameterError, match="num_images"):
            await resolve(client.images.generate("a cat", num_images=9, extra_body={"seed": 1}))
    assert not route.called


async def test_extra_query_keys_replace_ours(client: Any) -> None:
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("images/status").respond(json=IMAGE)
        await resolve(client.images.status("t1", extra_query={"task_id": "t2"}))
    assert route.calls.last.request.url.params.get_list("task_id") == ["t2"]


@pytest.mark.parametrize("header", ["Authorization", "authorization", "AUTHORIZATION"])
async def test_authorization_cannot_be_replaced_per_call(client: Any, header: str) -> None:
    """Refused, not ignored: the client's key always authenticates (and its budget counts
    the request); a call that asks for another key is a mistake worth hearing about."""
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        route = mock.get("account/credits").respond(json=CREDITS)
        with pytest.raises(nb.InvalidParameterError, match="cannot set") as info:
            await resolve(client.account.credits(extra_headers={header: "Bearer nb_sk_other"}))
    assert not route.called
    assert "nb_sk_other" not in str(info.value)


BAD_OPTIONS: list[dict[str, Any]] = [
    {"extra_headers": {"X-Trace": 1}},
    {"extra_headers": {"X-Trace": "a\r\nX-Injected: 1"}},
    {"extra_headers": {"X-Trace": "caf\u00e9"}},  # httpx sends ASCII: was a raw UnicodeEncodeError
    {"extra_headers": {"X-Trace": "a\x00b"}},
    {"extra_headers": {"X Trace": "a"}},
    {"extra_headers": {"X-Trace:": "a"}},
    {"extra_headers": ["X-Trace"]},
    {"extra_headers": {1: "a"}},
    {"extra_query": {"page": [1, 2]}},
    {"extra_query": {"page": None}},
    {"extra_body": {"when": object()}},
    {"extra_body": {"text": "\ud800"}},
    {"extra_body": {"seed": math.nan}},  # not JSON: it went out as NaN
    {"extra_body": {"style": {"weight": math.inf}}},
    {"extra_body": "seed=7"},
    {"timeout": -1},
    {"timeout": math.nan},
    {"timeout": "5"},
    {"timeout": True},
    {"timeout": httpx.Timeout(5.0, read=math.inf)},
]


def _option_id(options: dict[str, Any]) -> str:
    """A stable test id (a repr of ``object()`` differs between pytest-xdist workers)."""
    return repr(options).split(" at 0x")[0]


@pytest.mark.parametrize("options", BAD_OPTIONS, ids=_option_id)
async def test_bad_options_are_refused_before_anything_is_sent(
    client: Any, options: dict[str, Any]
) -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        route = mock.post("images/generate").respond(json=CREATED)
        with pytest.raises(nb.InvalidParameterError):
            await resolve(client.images.generate("a cat", **options))
    assert not route.called


# -- the per-call timeout is applied (the simulator honours a request's read timeout) ----


@pytest.fixture(params=["async", "sync"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _fake_client(fake: FakeNanoBanana, flavour: str, **kw: Any) -> Any:
    return fake.async_client(**kw) if flavour == "async" else fake.client(**kw)


async def test_a_per_call_timeout_shorter_than_the_answer_times_out(flavour: str) -> None:
    fake = FakeNanoBanana(time_scale=1000)  # 30 API seconds of latency: 30 ms
    fake.inject(Fault.LATENCY, route="account/credits", seconds=30.0)
    client = _fake_client(fake, flavour, max_retries=0)
    with pytest.raises(nb.APITimeoutError):
        await resolve(client.account.credits(timeout=0.005))
    assert (await resolve(client.account.credits())).credits == 1000  # the client's 60 s


async def test_a_per_call_timeout_longer_than_the_clients_wins(flavour: str) -> None:
    fake = FakeNanoBanana(time_scale=1000)
    fake.inject(Fault.LATENCY, route="models", seconds=30.0)
    client = _fake_client(fake, flavour, max_retries=0, timeout=0.005)
    with pytest.raises(nb.APITimeoutError):
        await resolve(client.models.list())
    catalog = await resolve(client.models.list(timeout=httpx.Timeout(10.0)))
    assert catalog.image_models


@pytest.mark.slow
def test_a_per_call_timeout_over_a_real_socket() -> None:
    """httpx itself applies it: a server that answers in 1 s, a call allowed 0.1 s."""
    fake = FakeNanoBanana(time_scale=1.0)
    fake.inject(Fault.LATENCY, route="account/credits", seconds=1.0, times=1)
    with fake.serve() as url:
        with nb.Client(api_key=fake.api_key, base_url=url, max_retries=0) as client:
            with pytest.raises(nb.APITimeoutError):
                client.account.credits(timeout=0.1)
            assert client.account.credits(timeout=30.0).credits == 1000


async def test_extra_body_reaches_the_simulator_unvalidated(flavour: str) -> None:
    """A value the SDK would refuse goes out through extra_body: the server refuses it
    (400, nothing charged), not the SDK."""
    fake = FakeNanoBanana(time_scale=1000)
    client = _fake_client(fake, flavour, max_retries=0)
    with pytest.raises(nb.BadRequestError):
        await resolve(client.images.generate("a cat", extra_body={"num_images": 9}))
    assert [r.route for r in fake.api_requests] == ["images/generate"]
    assert fake.charges == []
