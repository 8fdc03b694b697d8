"""Every endpoint on both clients (respx), every error code, malformed bodies, configuration."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import nanobanana as nb

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


async def test_image_generate_sends_documented_request(client: Any, api_key: str) -> None:
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("images/generate").respond(
            json=ok(
                {
                    "task_id": "clx1",
                    "status": "pending",
                    "credits_used": 2,
                    "credits_remaining": 148,
                }
            )
        )
        task = await resolve(
            client.images.generate(
                "A sunset over mountains",
                model="nano-banana-pro",
                aspect_ratio="16:9",
                resolution="2K",
                num_images=2,
                quality="hd",
                output_format="jpeg",
            )
        )
    request = route.calls.last.request
    assert request.url == f"{BASE}/images/generate"
    assert request.headers["authorization"] == f"Bearer {api_key}"
    assert request.headers["user-agent"] == f"nanobanana-python/{nb.__version__}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "prompt": "A sunset over mountains",
        "mode": "text",
        "model": "nano-banana-pro",
        "aspect_ratio": "16:9",
        "resolution": "2K",
        "num_images": 2,
        "quality": "hd",
        "output_format": "jpeg",
    }
    assert (task.task_id, task.status, task.credits_used, task.credits_remaining) == (
        "clx1",
        "pending",
        2,
        148,
    )
    assert isinstance(task, (nb.AsyncImageTask, nb.ImageTask))


async def test_unset_parameters_are_not_sent(client: Any) -> None:
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("images/generate").respond(json=ok({"task_id": "t", "status": "pending"}))
        await resolve(client.images.generate("hello"))
        vroute = mock.post("videos/generate").respond(
            json=ok({"task_id": "v", "status": "processing"})
        )
        await resolve(client.videos.generate("hello"))
    assert json.loads(route.calls.last.request.content) == {"prompt": "hello", "mode": "text"}
    assert json.loads(vroute.calls.last.request.content) == {"prompt": "hello"}


async def test_image_status(client: Any) -> None:
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("images/status").respond(
            json=ok(
                {
                    "task_id": "clx1",
                    "status": "completed",
                    "progress": 100,
                    "image_url": "https://cdn.example/1.png",
                    "completed_at": "2024-01-01T00:00:00Z",
                }
            )
        )
        status = await resolve(client.images.status("clx1"))
    assert route.calls.last.request.url.params["task_id"] == "clx1"
    assert status == nb.ImageStatus(
        task_id="clx1",
        status="completed",
        progress=100,
        image_url="https://cdn.example/1.png",
        image_urls=("https://cdn.example/1.png",),
        completed_at=datetime(2024, 1, 1, tzinfo=timezone.utc),
    )


async def test_video_generate_and_status(client: Any) -> None:
    with respx.mock(base_url=BASE) as mock:
        gen = mock.post("videos/generate").respond(
            json=ok(
                {
                    "task_id": "v1",
                    "status": "processing",
                    "credits_used": 15,
                    "credits_remaining": 133,
                    "provider": "wavespeed",
                }
            )
        )
        mock.get("videos/status", params={"task_id": "v1"}).respond(
            json=ok(
                {
                    "task_id": "v1",
                    "status": "succeeded",
                    "progress": 100,
                    "video_url": "https://cdn/v.mp4",
                }
            )
        )
        task = await resolve(
            client.videos.generate(
                "A cat walking in a garden",
                model="veo-3.1-fast",
                aspect_ratio="16:9",
                duration=8,
                resolution="720p",
                image_url="https://example.com/ref.png",
                generate_audio=True,
                negative_prompt="blurry",
            )
        )
        status = await resolve(client.videos.status(task.task_id))
    assert json.loads(gen.calls.last.request.content) == {
        "prompt": "A cat walking in a garden",
        "model_id": "veo-3.1-fast",
        "aspect_ratio": "16:9",
        "duration": 8,
        "resolution": "720p",
        "image_url": "https://example.com/ref.png",
        "generate_audio": True,
        "negative_prompt": "blurry",
    }
    assert task.provider == "wavespeed"
    assert isinstance(task, (nb.AsyncVideoTask, nb.VideoTask))
    assert status.video_url == "https://cdn/v.mp4" and status.succeeded


async def test_account_credits(client: Any) -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.get("account/credits").respond(
            json=ok(
                {
                    "credits": 148,
                    "total_credits": 500,
                    "subscription": {"plan": "pro", "end_date": "2024-12-31T00:00:00Z"},
                    "is_vip": True,
                }
            )
        )
        credits = await resolve(client.account.credits())
    assert credits.credits == 148 and credits.total_credits == 500 and credits.is_vip
    assert credits.subscription is not None and credits.subscription.plan == "pro"


async def test_calculate_cost_names_the_model_model(client: Any) -> None:
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("account/calculate-cost").respond(
            json=ok({"type": "image", "credits_needed": 16})
        )
        cost = await resolve(
            client.account.calculate_cost(
                "image", mode="text", model="nano-banana-pro", num_images=2, resolution="2K"
            )
        )
        vroute = mock.post("account/calculate-cost").respond(
            json=ok({"type": "video", "credits_needed": 30})
        )
        vcost = await resolve(
            client.account.calculate_cost(
                "video", model="veo-3.1-fast", resolution="720p", duration=8, generate_audio=True
            )
        )
    assert json.loads(route.calls[0].request.content) == {
        "type": "image",
        "mode": "text",
        "model": "nano-banana-pro",
        "num_images": 2,
        "resolution": "2K",
    }
    assert json.loads(vroute.calls.last.request.content)["model"] == "veo-3.1-fast"
    assert cost == nb.CostEstimate("image", 16)
    assert vcost.credits_needed == 30


async def test_models_list(client: Any) -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.get("models").respond(
            json=ok(
                {
                    "image_models": [
                        {"id": "nano-banana", "name": "Nano Banana", "is_default": True},
                        {"id": "nano-banana-pro", "name": "Nano Banana Pro"},
                    ],
                    "video_models": [
                        {"id": "veo-3.1-fast", "name": "VEO 3.1 Fast", "max_duration": 8}
                    ],
                }
            )
        )
        catalog = await resolve(client.models.list())
    assert [m.id for m in catalog.image_models] == ["nano-banana", "nano-banana-pro"]
    assert catalog.image_models[0].is_default and not catalog.image_models[1].is_default
    # a field the SDK does not declare is kept, not dropped
    assert catalog.video_models == (
        nb.ModelInfo("veo-3.1-fast", "VEO 3.1 Fast", extra={"max_duration": 8}),
    )


ERRORS = [
    (401, "UNAUTHORIZED", nb.AuthenticationError),
    (402, "INSUFFICIENT_CREDITS", nb.InsufficientCreditsError),
    (403, "FORBIDDEN", nb.PermissionDeniedError),
    (429, "RATE_LIMIT_EXCEEDED", nb.RateLimitError),
    (400, "INVALID_PROMPT", nb.BadRequestError),
    (400, "INVALID_MODEL", nb.BadRequestError),
    (404, "TASK_NOT_FOUND", nb.TaskNotFoundError),
    (451, "CONTENT_FILTERED", nb.ContentFilteredError),
    (500, "INTERNAL_ERROR", nb.InternalServerError),
]


@pytest.mark.parametrize(("status_code", "code", "cls"), ERRORS)
async def test_every_error_code_maps_to_its_class(
    client: Any, status_code: int, code: str, cls: type
) -> None:
    body = {"success": False, "error": {"code": code, "message": f"the {code} message"}}
    with respx.mock(base_url=BASE) as mock:
        mock.get("account/credits").respond(status_code, json=body)
        with pytest.raises(cls) as info:
            await resolve(client.account.credits())
    err = info.value
    assert isinstance(err, nb.APIStatusError) and isinstance(err, nb.NanoBananaError)
    assert (err.status_code, err.code) == (status_code, code)
    assert f"the {code} message" in str(err)
    assert err.response is not None and err.response.status_code == status_code


@pytest.mark.parametrize(
    ("status_code", "code", "cls"),
    [
        (400, "CONTENT_FILTERED", nb.ContentFilteredError),  # the code decides where it is known
        (500, "TASK_NOT_FOUND", nb.TaskNotFoundError),
        (418, "SOMETHING_NEW", nb.APIStatusError),  # unknown code, unknown status
        (422, None, nb.APIStatusError),
        (403, "SOMETHING_NEW", nb.PermissionDeniedError),  # unknown code: the status decides
        (503, "SOMETHING_NEW", nb.InternalServerError),
    ],
)
async def test_code_first_status_otherwise(
    client: Any, status_code: int, code: str | None, cls: type
) -> None:
    error: dict[str, Any] = {"message": "m"}
    if code:
        error["code"] = code
    with respx.mock(base_url=BASE) as mock:
        mock.get("models").respond(status_code, json={"success": False, "error": error})
        with pytest.raises(cls) as info:
            await resolve(client.models.list())
    assert type(info.value) is cls


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        ("0.5", 0.5),
        (None, None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
async def test_retry_after_is_parsed(
    client: Any, header: str | None, expected: float | None
) -> None:
    headers = {"Retry-After": header} if header is not None else {}
    with respx.mock(base_url=BASE) as mock:
        mock.get("account/credits").respond(
            429,
            headers=headers,
            json={"success": False, "error": {"code": "RATE_LIMIT_EXCEEDED", "message": "slow"}},
        )
        with pytest.raises(nb.RateLimitError) as info:
            await resolve(client.account.credits())
    assert info.value.retry_after == expected


@pytest.mark.parametrize(
    ("status_code", "content", "content_type", "cls", "fragment"),
    [
        (
            502,
            b"<html><body>502 Bad Gateway</body></html>",
            "text/html",
            nb.InternalServerError,
            "502 Bad Gateway",
        ),
        (504, b"", "text/plain", nb.InternalServerError, "504"),
        (200, b"[]", "application/json", nb.UnexpectedResponseError, "envelope"),
        (200, b'{"success": true}', "application/json", nb.UnexpectedResponseError, "no data"),
        (
            200,
            b'{"success": true, "data": []}',
            "application/json",
            nb.UnexpectedResponseError,
            "no data",
        ),
        (
            200,
            b'{"success": true, "data": {"task_id"',
            "application/json",
            nb.UnexpectedResponseError,
            "not JSON",
        ),
        (200, b"<html>login</html>", "text/html", nb.UnexpectedResponseError, "not JSON"),
        (
            200,
            b'{"success": false}',
            "application/json",
            nb.UnexpectedResponseError,
            "success=False",
        ),
        (200, b"\xff\xfe\x00", "application/json", nb.UnexpectedResponseError, "not JSON"),
        (
            200,
            b'{"success": true, "data": {"credits": "lots"}}',
            "application/json",
            nb.UnexpectedResponseError,
            "data.credits",
        ),
        (404, b"Not Found", "text/plain", nb.TaskNotFoundError, "non-JSON"),
        (
            200,
            b'{"success": false, "error": {"code": "INSUFFICIENT_CREDITS", "message": "broke"}}',
            "application/json",
            nb.InsufficientCreditsError,
            "broke",
        ),
    ],
)
async def test_malformed_and_non_envelope_bodies_are_typed_errors(
    client: Any, status_code: int, content: bytes, content_type: str, cls: type, fragment: str
) -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.get("account/credits").respond(
            status_code, content=content, headers={"content-type": content_type}
        )
        with pytest.raises(cls) as info:
            await resolve(client.account.credits())
    assert fragment in str(info.value)


async def test_generate_5xx_says_fate_is_unknown(client: Any) -> None:
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("images/generate").respond(
            500, json={"success": False, "error": {"code": "INTERNAL_ERROR", "message": "oops"}}
        )
        with pytest.raises(nb.InternalServerError) as info:
            await resolve(client.images.generate("x"))
    assert route.call_count == 1
    assert info.value.may_have_been_processed
    assert "may have been charged" in str(info.value)
    assert "credits()" in str(info.value)


async def test_connection_errors_are_typed(client: Any) -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.get("models").mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(nb.APIConnectionError) as info:
            await resolve(client.models.list())
        assert not isinstance(info.value, nb.APITimeoutError)
        mock.get("account/credits").mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(nb.APITimeoutError):
            await resolve(client.account.credits())


# -- configuration -----------------------------------------------------------------------


def test_missing_key_raises_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NANOBANANA_API_KEY", raising=False)
    for cls in (nb.AsyncClient, nb.Client):
        with pytest.raises(nb.AuthenticationError) as info:
            cls()
        assert "NANOBANANA_API_KEY" in str(info.value)
        assert info.value.status_code == 401


def test_key_and_base_url_from_environment(monkeypatch: pytest.MonkeyPatch, api_key: str) -> None:
    monkeypatch.setenv("NANOBANANA_API_KEY", api_key)
    monkeypatch.setenv("NANOBANANA_BASE_URL", "http://127.0.0.1:9/api/v1")
    with respx.mock(base_url="http://127.0.0.1:9/api/v1") as mock:
        route = mock.get("models").respond(json=ok({"image_models": [], "video_models": []}))
        with nb.Client(rate_limit=None) as client:
            client.models.list()
    assert route.calls.last.request.headers["authorization"] == f"Bearer {api_key}"


def test_default_base_url(api_key: str) -> None:
    with respx.mock(base_url="https://imgeditor.co/api/v1/") as mock:
        route = mock.get("models").respond(json=ok({}))
        nb.Client(api_key=api_key, rate_limit=None).models.list()
    assert str(route.calls.last.request.url) == "https://imgeditor.co/api/v1/models"


def test_repr_and_errors_never_show_the_key(api_key: str) -> None:
    for client in (nb.AsyncClient(api_key=api_key), nb.Client(api_key=api_key)):
        assert api_key not in repr(client)
        assert api_key not in str(vars(client).get("images", ""))
    client = nb.Client(api_key=api_key, rate_limit=None, max_retries=0)
    with respx.mock(base_url=BASE) as mock:
        mock.get("models").respond(
            401, json={"success": False, "error": {"code": "UNAUTHORIZED", "message": "bad key"}}
        )
        with pytest.raises(nb.AuthenticationError) as info:
            client.models.list()
    assert api_key not in str(info.value) and api_key not in repr(info.value)


async def test_user_supplied_http_client_is_used_and_never_closed(api_key: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=ok({"credits": 1}))

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), headers={"X-Trace": "1"})
    async with nb.AsyncClient(api_key=api_key, http_client=http, rate_limit=None) as client:
        await client.account.credits()
    assert not http.is_closed
    assert seen and seen[0].headers["authorization"] == f"Bearer {api_key}"
    await http.aclose()

    sync_http = httpx.Client(transport=httpx.MockTransport(handler))
    with nb.Client(api_key=api_key, http_client=sync_http, rate_limit=None) as sclient:
        sclient.account.credits()
    assert not sync_http.is_closed
    sync_http.close()


async def test_http_client_auth_never_replaces_the_api_key(api_key: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=ok({"credits": 1}))

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=("user", "pass"))
    async with nb.AsyncClient(api_key=api_key, http_client=http, rate_limit=None) as client:
        await client.account.credits()
    assert seen[0].headers["authorization"] == f"Bearer {api_key}"
    await http.aclose()


async def test_owned_pool_is_closed(api_key: str) -> None:
    client = nb.AsyncClient(api_key=api_key)
    await client.aclose()
    assert client._http.is_closed
    sync = nb.Client(api_key=api_key)
    sync.close()
    assert sync._http.is_closed


class _Permit:
    def __init__(self, log: list[str]) -> None:
        self._log = log

    def release(self, *, sent: bool = True) -> None:
        self._log.append(f"release(sent={sent})")


class _Slots:
    """A limiter that logs its slots; ``while_waiting`` runs while a request waits for one."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.while_waiting: Callable[[], Any] | None = None

    def pause(self, seconds: float) -> None:
        pass


class _AsyncSlots(_Slots):
    async def acquire(self) -> _Permit:
        self.log.append("acquire")
        if self.while_waiting is not None:
            await resolve(self.while_waiting())
        return _Permit(self.log)


class _SyncSlots(_Slots):
    def acquire(self) -> _Permit:
        self.log.append("acquire")
        if self.while_waiting is not None:
            self.while_waiting()
        return _Permit(self.log)


def _closable(flavour: str, api_key: str, sent: list[str]) -> tuple[Any, _Slots]:
    """A client of its own pool whose transport records what reaches it, and its limiter."""

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(200, json=ok({"credits": 5, "total_credits": 5, "is_vip": False}))

    slots = _AsyncSlots() if flavour == "async" else _SyncSlots()
    cls = nb.AsyncClient if flavour == "async" else nb.Client
    client = cls(api_key=api_key, rate_limit=slots, _transport=httpx.MockTransport(handler))
    return client, slots


def _close(client: Any) -> Any:
    return client.aclose() if isinstance(client, nb.AsyncClient) else client.close()


def _refused_as_closed(error: BaseException) -> None:
    assert isinstance(error, nb.APIConnectionError)
    assert not error.may_have_been_processed
    assert "client is closed" in str(error) and "not sent" in str(error)


@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_a_closed_client_refuses_every_request_before_it_takes_a_slot(
    api_key: str, flavour: str, tmp_path: Path
) -> None:
    """After aclose()/close(), httpx's RuntimeError leaked from every call; now each is an
    APIConnectionError raised before the budget is asked: nothing sent, no slot held."""
    sent: list[str] = []
    client, slots = _closable(flavour, api_key, sent)
    await resolve(_close(client))
    calls = [
        lambda: client.account.credits(),
        lambda: client.images.generate("a fox"),
        lambda: client.videos.status("v1"),
        lambda: client.download("https://cdn.test/r/a.png", tmp_path),
    ]
    for call in calls:
        with pytest.raises(nb.APIConnectionError) as info:
            await resolve(call())
        _refused_as_closed(info.value)
    assert sent == [] and slots.log == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_a_client_closed_while_a_request_waits_for_its_slot_frees_the_slot(
    api_key: str, flavour: str
) -> None:
    """Closed while a generate waits for the budget: the slot it got comes back unsent
    (it provably never left), and the error says the client is closed."""
    sent: list[str] = []
    client, slots = _closable(flavour, api_key, sent)
    slots.while_waiting = lambda: _close(client)
    with pytest.raises(nb.APIConnectionError) as info:
        await resolve(client.images.generate("a fox"))
    _refused_as_closed(info.value)
    assert slots.log == ["acquire", "release(sent=False)"]
    assert sent == []


@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_a_client_closed_while_a_generate_is_in_flight_says_its_fate_is_unknown(
    api_key: str, flavour: str
) -> None:
    """Closed by another task or thread once the request left: whatever the closed pool
    then raises (a RuntimeError) is an APIConnectionError that may have been processed,
    and the slot counts as spent."""
    holder: list[Any] = []

    async def aclosing(request: httpx.Request) -> httpx.Response:
        await holder[0].aclose()
        raise RuntimeError("the pool was closed under the request")

    def closing(request: httpx.Request) -> httpx.Response:
        holder[0].close()
        raise RuntimeError("the pool was closed under the request")

    slots = _AsyncSlots() if flavour == "async" else _SyncSlots()
    cls = nb.AsyncClient if flavour == "async" else nb.Client
    handler = aclosing if flavour == "async" else closing
    client = cls(api_key=api_key, rate_limit=slots, _transport=httpx.MockTransport(handler))
    holder.append(client)
    with pytest.raises(nb.APIConnectionError) as info:
        await resolve(client.images.generate("a fox"))
    assert info.value.may_have_been_processed
    assert "closed while the request was in flight" in str(info.value)
    assert slots.log == ["acquire", "release(sent=True)"]
    await resolve(_close(client))


@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_a_user_http_client_closed_by_its_owner_is_refused_the_same_way(
    api_key: str, flavour: str
) -> None:
    sent: list[str] = []
    transport = httpx.MockTransport(lambda request: sent.append("x") or httpx.Response(200))
    if flavour == "async":
        http: Any = httpx.AsyncClient(transport=transport)
        await http.aclose()
        client: Any = nb.AsyncClient(api_key=api_key, rate_limit=None, http_client=http)
    else:
        http = httpx.Client(transport=transport)
        http.close()
        client = nb.Client(api_key=api_key, rate_limit=None, http_client=http)
    with pytest.raises(nb.APIConnectionError) as info:
        await resolve(client.account.credits())
    _refused_as_closed(info.value)
    assert sent == []


async def test_with_options_shares_pool_and_limiter(api_key: str) -> None:
    async with nb.AsyncClient(api_key=api_key) as client:
        other = client.with_options(timeout=3.0, max_retries=5)
        assert other._http is client._http
        assert other._limiter is client._limiter
        assert other._timeout == httpx.Timeout(3.0)
        assert other._max_retries == 5
        await other.aclose()
        assert not client._http.is_closed


async def test_timeout_is_applied_to_each_request(api_key: str) -> None:
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("models").respond(json=ok({}))
        async with nb.AsyncClient(api_key=api_key, timeout=4.5, rate_limit=None) as client:
            await client.models.list()
    assert route.calls.last.request.extensions["timeout"] == httpx.Timeout(4.5).as_dict()


def test_resources_are_named_as_designed(api_key: str) -> None:
    for client in (nb.AsyncClient(api_key=api_key), nb.Client(api_key=api_key)):
        for resource, methods in {
            "images": ["generate", "status", "wait", "save", "generate_many"],
            "videos": ["generate", "status", "wait", "save", "generate_many"],
            "account": ["credits", "calculate_cost"],
            "models": ["list"],
        }.items():
            for method in methods:
                assert callable(getattr(getattr(client, resource), method)), f"{resource}.{method}"
        assert callable(client.download) and callable(client.with_options)
