"""The client-level surface on both clients: keyword-only construction, ``default_headers``
and the headers of a user's ``http_client`` (never to the asset host), ``with_options``
(every constructor argument, the same type, the shared pool and budget) and
``with_raw_response`` on every single-request method."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana, ManualClock

BASE = "https://imgeditor.co/api/v1"
pytestmark = pytest.mark.anyio
KEY = "nb_sk_test_0123456789abcdef"
OTHER_KEY = "nb_sk_test_fedcba9876543210"


async def resolve(value: Any) -> Any:
    """Await an async client's coroutine; pass a sync client's result through."""
    return await value if inspect.isawaitable(value) else value


async def close(client: Any) -> None:
    await resolve(client.aclose() if isinstance(client, nb.AsyncClient) else client.close())


@pytest.fixture(params=["async", "sync"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make(flavour: str, **kw: Any) -> Any:
    cls = nb.AsyncClient if flavour == "async" else nb.Client
    return cls(**{"api_key": KEY, "rate_limit": None, "max_retries": 0, **kw})


class Recorder:
    """A user's own httpx client (of the flavour's type) whose transport records requests
    and answers every API route."""

    def __init__(self, flavour: str, **kw: Any) -> None:
        self.seen: list[httpx.Request] = []
        transport = httpx.MockTransport(self.handle)
        cls = httpx.AsyncClient if flavour == "async" else httpx.Client
        self.http: Any = cls(transport=transport, **kw)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return httpx.Response(200, json=ANSWERS[request.url.path.rsplit("/", 1)[-1]])

    @property
    def last(self) -> httpx.Request:
        return self.seen[-1]


def ok(data: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "data": data}


CREATED = ok({"task_id": "t1", "status": "pending", "credits_used": 1, "credits_remaining": 9})
ANSWERS = {
    "generate": CREATED,
    "status": ok({"task_id": "t1", "status": "pending", "progress": 0}),
    "credits": ok({"credits": 5, "total_credits": 5, "is_vip": False}),
    "calculate-cost": ok({"type": "image", "credits_needed": 1}),
    "models": ok({"image_models": [{"id": "nano-banana", "name": "Nano Banana"}]}),
}


# -- keyword-only construction, context managers -------------------------------------------


@pytest.mark.parametrize("cls", [nb.AsyncClient, nb.Client], ids=["async", "sync"])
def test_constructor_arguments_are_keyword_only(cls: type[Any]) -> None:
    with pytest.raises(TypeError):
        cls(KEY)
    params = inspect.signature(cls).parameters.values()
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)


async def test_entering_a_client_gives_the_client_itself() -> None:
    class MyAsyncClient(nb.AsyncClient):
        pass

    class MyClient(nb.Client):
        pass

    async with MyAsyncClient(api_key=KEY) as entered:
        assert type(entered) is MyAsyncClient
    with MyClient(api_key=KEY) as sync_entered:
        assert type(sync_entered) is MyClient


def test_an_http_client_of_the_other_kind_is_refused_at_construction() -> None:
    """Its headers are read at construction: a clear error there, not an AttributeError
    (or a TypeError at the first request)."""
    with httpx.Client() as sync_http:
        with pytest.raises(nb.InvalidParameterError, match=r"httpx\.AsyncClient"):
            nb.AsyncClient(api_key=KEY, http_client=sync_http)
    with pytest.raises(nb.InvalidParameterError, match=r"httpx\.Client"):
        nb.Client(api_key=KEY, http_client=httpx.AsyncClient())
    with pytest.raises(nb.InvalidParameterError):
        nb.Client(api_key=KEY, http_client="http://proxy")


# -- headers ---------------------------------------------------------------------------------


async def test_default_headers_reach_every_api_request(flavour: str) -> None:
    recorder = Recorder(flavour)
    client = make(flavour, http_client=recorder.http, default_headers={"X-App": "thumbs/2"})
    await resolve(client.account.credits())
    await resolve(client.images.generate("a cat"))
    await resolve(client.images.status("t1"))
    assert [r.headers["x-app"] for r in recorder.seen] == ["thumbs/2"] * 3
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in recorder.seen)
    assert recorder.last.headers["user-agent"] == f"nanobanana-python/{nb.__version__}"


async def test_headers_set_on_the_http_client_are_sent_but_httpx_defaults_are_not(
    flavour: str,
) -> None:
    """Today's fix: they were dropped. httpx's own User-Agent/Accept must not replace ours."""
    recorder = Recorder(flavour, headers={"X-Tenant": "acme", "Accept-Language": "fr"})
    client = make(flavour, http_client=recorder.http)
    await resolve(client.models.list())
    sent = recorder.last.headers
    assert sent["x-tenant"] == "acme" and sent["accept-language"] == "fr"
    assert sent["user-agent"] == f"nanobanana-python/{nb.__version__}"
    assert sent["accept"] == "application/json"
    assert "python-httpx" not in str(sent)


async def test_header_precedence(flavour: str) -> None:
    """Ours < the http_client's < default_headers < extra_headers; a user-set User-Agent
    replaces ours (as openai lets it); the JSON body's Content-Type stays."""
    recorder = Recorder(
        flavour,
        headers={"X-Layer": "http", "X-Http": "1", "User-Agent": "app/1", "content-type": "x"},
    )
    client = make(
        flavour, http_client=recorder.http, default_headers={"x-layer": "default", "X-Dflt": "1"}
    )
    await resolve(client.images.generate("a cat"))
    sent = recorder.last.headers
    assert (sent["x-layer"], sent["x-http"], sent["x-dflt"]) == ("default", "1", "1")
    assert sent["user-agent"] == "app/1"
    assert sent.get_list("content-type") == ["application/json"]
    await resolve(client.account.credits(extra_headers={"X-LAYER": "call"}))
    assert recorder.last.headers.get_list("x-layer") == ["call"]
    ua_client = make(flavour, http_client=recorder.http, default_headers={"User-Agent": "d/2"})
    await resolve(ua_client.account.credits())
    assert recorder.last.headers["user-agent"] == "d/2"


async def test_a_calls_extra_headers_are_its_own(flavour: str) -> None:
    """Every request starts from the client's headers, built once: one call's
    extra_headers, and the Content-Type of a body, never reach the next call."""
    recorder = Recorder(flavour)
    client = make(flavour, http_client=recorder.http)
    await resolve(client.images.generate("a cat", extra_headers={"X-Once": "1"}))
    await resolve(client.account.credits(extra_headers={"X-Twice": "2"}))
    await resolve(client.images.generate("a dog"))
    await resolve(client.account.credits())
    first, second, third, fourth = (r.headers for r in recorder.seen)
    assert (first["x-once"], second["x-twice"]) == ("1", "2")
    assert "x-once" not in second and "x-twice" not in third and "x-twice" not in fourth
    assert "x-once" not in third and "x-once" not in fourth
    assert third.get_list("content-type") == ["application/json"]
    assert "content-type" not in second and "content-type" not in fourth
    assert {h["authorization"] for h in (first, second, third, fourth)} == {f"Bearer {KEY}"}


async def test_authorization_is_always_the_clients_key(flavour: str) -> None:
    recorder = Recorder(flavour, headers={"Authorization": "Bearer nb_sk_from_http_client"})
    client = make(flavour, http_client=recorder.http)
    await resolve(client.account.credits())
    assert recorder.last.headers.get_list("authorization") == [f"Bearer {KEY}"]
    for header in ("Authorization", "authorization"):
        with pytest.raises(nb.InvalidParameterError, match="cannot set") as info:
            make(flavour, http_client=recorder.http, default_headers={header: "Bearer nb_sk_x"})
        assert info.value.parameter == "default_headers"
        assert "nb_sk_x" not in str(info.value)
        with pytest.raises(nb.InvalidParameterError, match="cannot set"):
            await resolve(client.account.credits(extra_headers={header: "Bearer nb_sk_x"}))
    assert len(recorder.seen) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"X-App": 1},
        {"X-App": "a\r\nX-Injected: 1"},
        {"X-App": "caf\u00e9"},
        {"X App": "a"},
        {1: "a"},
        ["X-App"],
        "X-App: a",
    ],
    ids=repr,
)
def test_bad_default_headers_are_refused_at_construction(headers: Any) -> None:
    for cls in (nb.AsyncClient, nb.Client):
        with pytest.raises(nb.InvalidParameterError) as info:
            cls(api_key=KEY, default_headers=headers)
        assert info.value.parameter == "default_headers"


async def test_no_header_of_ours_or_the_users_reaches_the_asset_host(
    flavour: str, tmp_path: Path
) -> None:
    """The http_client's headers (an Authorization among them), default_headers and a
    call's extra_headers reach the API, never the asset host a result comes from."""
    fake = FakeNanoBanana(clock=ManualClock(), seed=1)
    secrets = {"X-Tenant": "acme", "Authorization": "Bearer nb_sk_http_client_secret"}
    if flavour == "async":
        http: Any = fake.async_http_client(headers=secrets, cookies={"session": "s3cret"})
        client: Any = fake.async_client(http_client=http, default_headers={"X-App": "a"})
    else:
        http = fake.http_client(headers=secrets, cookies={"session": "s3cret"})
        client = fake.client(http_client=http, default_headers={"X-App": "a"})
    task = await resolve(client.images.generate("a cat", extra_headers={"X-Call": "c"}))
    status = await resolve(task.wait())
    await resolve(client.download(status.image_url, tmp_path / "one.png"))
    await resolve(client.images.save(status, tmp_path))
    api = [r for r in fake.requests if r.route is not None]
    assets = [r for r in fake.requests if r.route is None]
    assert api and all(r.headers["x-tenant"] == "acme" and r.headers["x-app"] == "a" for r in api)
    assert len(assets) == 2
    for record in assets:
        assert record.host == fake.asset_host
        names = set(record.headers)
        assert not names & {"authorization", "x-tenant", "x-app", "x-call", "cookie"}, names
        assert record.headers["user-agent"] == f"nanobanana-python/{nb.__version__}"
    await close(client)
    await resolve(http.aclose() if flavour == "async" else http.close())


# -- with_options ----------------------------------------------------------------------------

POLICY = nb.PollPolicy(1.0, 2.0)
LIMIT = nb.RateLimit(5, per=10.0)


def new_values(flavour: str) -> dict[str, tuple[Any, Callable[[Any], bool]]]:
    """A value for every constructor argument, and how to see that a clone took it."""
    recorder = Recorder(flavour)
    return {
        "api_key": (OTHER_KEY, lambda c: c._api_key == OTHER_KEY),
        "base_url": ("https://proxy.example/v9", lambda c: str(c._base_url).endswith("/v9/")),
        "timeout": (7.0, lambda c: c._timeout == httpx.Timeout(7.0)),
        "max_retries": (5, lambda c: c._max_retries == 5),
        "rate_limit": (LIMIT, lambda c: c._rate_limit is LIMIT),
        "http_client": (recorder.http, lambda c: c._http is recorder.http),
        "poll_policy": (POLICY, lambda c: c._poll_policy is POLICY),
        "default_headers": ({"X-A": "1"}, lambda c: c._headers.plain.get("X-A") == "1"),
        "max_response_size": (1234, lambda c: c._max_response_size == 1234),
    }


async def test_with_options_takes_every_constructor_argument(flavour: str) -> None:
    """A new constructor argument that with_options does not take (or pass on) fails here."""
    client = make(flavour)
    cls = type(client)
    arguments = [n for n in inspect.signature(cls).parameters if not n.startswith("_")]
    options = inspect.signature(client.with_options).parameters
    values = new_values(flavour)
    assert sorted(arguments) == sorted(values), "add the new argument to new_values()"
    for name in arguments:
        assert options[name].kind is inspect.Parameter.KEYWORD_ONLY, name
        value, took = values[name]
        clone = client.with_options(**{name: value})
        assert type(clone) is cls
        assert took(clone), name
        for other in arguments:  # and kept every other setting
            if other != name:
                assert not values[other][1](clone), (name, other)
    assert set(options) == set(arguments)


async def test_with_options_returns_the_subclass() -> None:
    class MyAsyncClient(nb.AsyncClient):
        pass

    class MyClient(nb.Client):
        pass

    async with MyAsyncClient(api_key=KEY) as client:
        assert type(client.with_options(max_retries=0)) is MyAsyncClient
    with MyClient(api_key=KEY) as sync:
        assert type(sync.with_options(timeout=3.0)) is MyClient


async def test_with_options_inherits_and_the_clone_sends_with_its_settings(flavour: str) -> None:
    recorder = Recorder(flavour, headers={"X-Tenant": "acme"})
    client = make(flavour, http_client=recorder.http, default_headers={"X-App": "a"}, timeout=9.0)
    clone = client.with_options(api_key=OTHER_KEY, default_headers={"X-App": "b"})
    await resolve(clone.account.credits())
    sent = recorder.last
    assert sent.headers["authorization"] == f"Bearer {OTHER_KEY}"
    assert (sent.headers["x-app"], sent.headers["x-tenant"]) == ("b", "acme")
    assert sent.extensions["timeout"] == httpx.Timeout(9.0).as_dict()
    await resolve(client.with_options().account.credits())  # nothing given: the same settings
    assert recorder.last.headers["authorization"] == f"Bearer {KEY}"
    assert recorder.last.headers["x-app"] == "a"


async def test_with_options_timeout_none_means_the_default_again(flavour: str) -> None:
    recorder = Recorder(flavour, timeout=4.0)
    own_pool = make(flavour, timeout=9.0)
    assert own_pool.with_options(timeout=None)._timeout == nb._config.DEFAULT_TIMEOUT
    users_pool = make(flavour, http_client=recorder.http, timeout=9.0)
    assert users_pool.with_options(timeout=None)._timeout == httpx.Timeout(4.0)
    await close(own_pool)


async def test_the_clone_shares_the_pool_and_only_the_original_closes_it(flavour: str) -> None:
    client = make(flavour)
    clone = client.with_options(max_retries=3)
    assert clone._http is client._http
    await close(clone)
    assert not client._http.is_closed
    await close(client)
    assert client._http.is_closed


async def test_a_clone_given_its_own_http_client_leaves_both_pools_open(flavour: str) -> None:
    recorder = Recorder(flavour)
    client = make(flavour)
    clone = client.with_options(http_client=recorder.http)
    await resolve(clone.account.credits())
    assert len(recorder.seen) == 1
    await close(clone)
    assert not recorder.http.is_closed and not client._http.is_closed
    await close(client)
    assert not recorder.http.is_closed


class CountingLimiter:
    def __init__(self, flavour: str) -> None:
        self.acquired = 0
        self.flavour = flavour

    def _permit(self) -> nb.Permit:
        self.acquired += 1

        class _Permit:
            def release(self, *, sent: bool = True) -> None:
                pass

        return _Permit()

    def pause(self, seconds: float) -> None:
        pass


class AsyncCountingLimiter(CountingLimiter):
    async def acquire(self) -> nb.Permit:
        return self._permit()


class SyncCountingLimiter(CountingLimiter):
    def acquire(self) -> nb.Permit:
        return self._permit()


async def test_a_limiter_object_is_shared_by_the_clone(flavour: str) -> None:
    limiter = AsyncCountingLimiter(flavour) if flavour == "async" else SyncCountingLimiter(flavour)
    recorder = Recorder(flavour)
    client = make(flavour, http_client=recorder.http, rate_limit=limiter)
    await resolve(client.account.credits())
    await resolve(client.with_options(timeout=2.0).account.credits())
    await resolve(client.with_options(rate_limit=None).account.credits())  # off for this one
    assert limiter.acquired == 2


@pytest.fixture
def fake() -> FakeNanoBanana:
    """A simulator on a manual clock without its own window: a client whose budget is
    spent waits by sleeping on the clock, so how far the clock moved says who waited."""
    return FakeNanoBanana(clock=ManualClock(), rate_limit=None)


def fake_client(fake: FakeNanoBanana, flavour: str, **kw: Any) -> Any:
    return fake.async_client(**kw) if flavour == "async" else fake.client(**kw)


async def test_a_clone_with_the_same_key_shares_the_budget(
    fake: FakeNanoBanana, flavour: str
) -> None:
    client = fake_client(fake, flavour, rate_limit=nb.RateLimit(1, per=100.0))
    clone = client.with_options(max_retries=0, timeout=5.0)
    assert clone._limiter is client._limiter  # the very same limiter
    await resolve(client.account.credits())
    assert fake.now() == 0.0
    await resolve(clone.account.credits())  # the one slot is the original's: it waits
    assert fake.now() >= 100.0


async def test_a_clone_with_another_key_has_that_keys_budget(
    fake: FakeNanoBanana, flavour: str
) -> None:
    other = fake.add_key()
    client = fake_client(fake, flavour, rate_limit=nb.RateLimit(1, per=100.0))
    clone = client.with_options(api_key=other)
    assert clone._limiter is not client._limiter
    await resolve(client.account.credits())
    await resolve(clone.account.credits())
    assert fake.now() == 0.0  # neither waited for the other
    await resolve(client.with_options(api_key=other).account.credits())  # other's budget: spent
    assert fake.now() >= 100.0


async def test_a_clone_with_another_limit_gets_that_limits_budget(
    fake: FakeNanoBanana, flavour: str
) -> None:
    client = fake_client(fake, flavour, rate_limit=nb.RateLimit(1, per=100.0))
    await resolve(client.account.credits())
    wider = client.with_options(rate_limit=nb.RateLimit(2, per=100.0))
    await resolve(wider.account.credits())
    await resolve(wider.account.credits())
    assert fake.now() == 0.0  # two slots of its own, not the spent one
    await resolve(client.with_options(rate_limit=nb.RateLimit(2, per=100.0)).account.credits())
    assert fake.now() >= 100.0  # a clone with the same limit shares that budget


# -- with_raw_response -----------------------------------------------------------------------

# (name, call, route method, route path, answer, the model parse() returns)
RAW: list[tuple[str, Callable[[Any], Any], str, str, str]] = [
    ("images.generate", lambda v: v.images.generate("a cat", quality="hd"), "POST",
     "images/generate", "generate"),
    ("images.status", lambda v: v.images.status("t1"), "GET", "images/status", "status"),
    ("videos.generate", lambda v: v.videos.generate("a cat", model="sora-2"), "POST",
     "videos/generate", "generate"),
    ("videos.status", lambda v: v.videos.status("t1"), "GET", "videos/status", "status"),
    ("account.credits", lambda v: v.account.credits(), "GET", "account/credits", "credits"),
    ("account.calculate_cost", lambda v: v.account.calculate_cost("image", num_images=2),
     "POST", "account/calculate-cost", "calculate-cost"),
    ("models.list", lambda v: v.models.list(), "GET", "models", "models"),
]  # fmt: skip


@pytest.fixture
async def client(flavour: str) -> AsyncIterator[Any]:
    client = make(flavour)
    yield client
    await close(client)


@pytest.mark.parametrize(("name", "call", "method", "path", "answer"), RAW, ids=[r[0] for r in RAW])
async def test_raw_response_of_every_single_request_method(
    client: Any, name: str, call: Callable[[Any], Any], method: str, path: str, answer: str
) -> None:
    with respx.mock(base_url=BASE) as mock:
        route = getattr(mock, method.lower())(path).respond(
            json=ANSWERS[answer], headers={"X-Request-Id": "req-42"}
        )
        raw = await resolve(call(client.with_raw_response))
        plain = await resolve(call(client))  # the method itself, for comparison
    expected = nb.AsyncRawResponse if isinstance(client, nb.AsyncClient) else nb.RawResponse
    assert type(raw) is expected
    assert raw.http_response.status_code == raw.status_code == 200
    assert raw.headers["x-request-id"] == raw.http_response.headers["x-request-id"] == "req-42"
    assert raw.http_response.json() == ANSWERS[answer]  # the body was read
    assert raw.http_response.request.url.path.endswith(path)
    assert route.call_count == 2
    parsed = raw.parse()
    assert parsed is raw.parse()  # decoded once
    assert type(parsed) is type(plain)
    if name.endswith("generate"):  # the task handle, bound to the client
        assert (parsed.task_id, parsed.credits_used) == ("t1", 1)
        assert callable(parsed.wait)
    else:
        assert parsed == plain
    assert "req-42" not in repr(raw) and str(raw.status_code) in repr(raw)


@pytest.mark.parametrize(("name", "call", "method", "path", "answer"), RAW, ids=[r[0] for r in RAW])
async def test_raw_methods_have_the_methods_parameters(
    client: Any, name: str, call: Any, method: str, path: str, answer: str
) -> None:
    resource, method_name = name.split(".")
    plain = getattr(getattr(client, resource), method_name)
    raw = getattr(getattr(client.with_raw_response, resource), method_name)
    assert inspect.signature(raw).parameters == inspect.signature(plain).parameters
    assert raw.__doc__ and "http_response" in raw.__doc__


def test_the_raw_view_has_only_single_request_methods() -> None:
    for client in (nb.AsyncClient(api_key=KEY), nb.Client(api_key=KEY)):
        view = client.with_raw_response
        for resource in ("images", "videos"):
            for many in ("wait", "save", "generate_many"):
                assert not hasattr(getattr(view, resource), many)
        assert not hasattr(view, "download")


async def test_raw_errors_raise_the_typed_error_with_the_response(client: Any) -> None:
    body = {"success": False, "error": {"code": "TASK_NOT_FOUND", "message": "no such task"}}
    with respx.mock(base_url=BASE) as mock:
        mock.get("images/status").respond(404, json=body, headers={"X-Request-Id": "req-7"})
        with pytest.raises(nb.TaskNotFoundError) as info:
            await resolve(client.with_raw_response.images.status("nope"))
    assert info.value.response is not None
    assert info.value.response.headers["x-request-id"] == "req-7"
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        route = mock.post("images/generate").respond(json=CREATED)
        with pytest.raises(nb.InvalidParameterError):
            await resolve(client.with_raw_response.images.generate("x", num_images=9))
    assert not route.called


async def test_a_raw_response_after_retries_is_the_final_attempts(flavour: str) -> None:
    client = make(flavour, max_retries=2, _clock=ManualClock())
    with respx.mock(base_url=BASE) as mock:
        mock.get("models").side_effect = [
            httpx.Response(502, text="bad gateway"),
            httpx.Response(200, json=ANSWERS["models"], headers={"X-Attempt": "2"}),
        ]
        raw = await resolve(client.with_raw_response.models.list())
    assert raw.status_code == 200 and raw.headers["x-attempt"] == "2"
    assert raw.parse().image_models[0].id == "nano-banana"
    await close(client)


async def test_a_raw_generate_gives_a_task_that_can_be_waited_for(
    flavour: str, tmp_path: Path
) -> None:
    fake = FakeNanoBanana(clock=ManualClock(), seed=3)
    client = fake_client(fake, flavour)
    raw = await resolve(client.with_raw_response.images.generate("a cat", num_images=2))
    assert raw.status_code == 200
    assert json.loads(raw.http_response.request.content)["num_images"] == 2
    task = raw.parse()
    status = await resolve(task.wait())
    assert status.task_id == task.task_id and len(status.image_urls) == 2
    paths = await resolve(client.images.save(task, tmp_path))
    assert len(paths) == 2
    await close(client)
