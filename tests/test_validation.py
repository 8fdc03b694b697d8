"""Local validation: bad input is refused before anything is sent, with a clear, typed error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

import nanobanana as nb
from nanobanana._catalog import IMAGE_MODELS, VIDEO_MODELS
from nanobanana.testing import FakeNanoBanana, ManualClock

BASE = "https://imgeditor.co/api/v1"


@pytest.fixture
def client(api_key: str) -> nb.Client:
    return nb.Client(api_key=api_key, rate_limit=None)


def _refused(call: Any, parameter: str) -> nb.InvalidParameterError:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        route = mock.route()
        with pytest.raises(nb.InvalidParameterError) as info:
            call()
        assert not route.called, "a refused request must not be sent"
    assert info.value.parameter == parameter
    assert isinstance(info.value, ValueError)
    return info.value


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t"])
def test_blank_prompt_is_refused(client: nb.Client, prompt: str) -> None:
    err = _refused(lambda: client.images.generate(prompt), "prompt")
    assert "empty" in str(err)
    _refused(lambda: client.videos.generate(prompt), "prompt")


def test_non_string_prompt_is_refused(client: nb.Client) -> None:
    _refused(lambda: client.images.generate(None), "prompt")  # type: ignore[arg-type]


def test_image_mode_needs_image_url(client: nb.Client) -> None:
    err = _refused(lambda: client.images.generate("x", mode="image"), "image_url")
    assert 'mode="image"' in str(err)


@pytest.mark.parametrize(
    ("kwargs", "parameter", "allowed"),
    [
        ({"mode": "sketch"}, "mode", "text, image"),
        ({"quality": "ultra"}, "quality", "standard, hd"),
        ({"output_format": "gif"}, "output_format", "png, jpeg"),
        ({"num_images": 0}, "num_images", "1 to 4"),
        ({"num_images": 5}, "num_images", "1 to 4"),
        ({"num_images": True}, "num_images", "1 to 4"),
        ({"num_images": 2.0}, "num_images", "1 to 4"),
    ],
)
def test_global_image_rules(
    client: nb.Client, kwargs: dict[str, Any], parameter: str, allowed: str
) -> None:
    err = _refused(lambda: client.images.generate("x", **kwargs), parameter)
    assert allowed in str(err)
    assert repr(kwargs[parameter]) in str(err)


@pytest.mark.parametrize("model", sorted(IMAGE_MODELS))
def test_every_image_model_row_accepts_its_values_and_refuses_others(
    client: nb.Client, model: str
) -> None:
    spec = IMAGE_MODELS[model]
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("images/generate").respond(
            json={"success": True, "data": {"task_id": "t", "status": "pending"}}
        )
        for ratio in spec.aspect_ratios:
            client.images.generate("x", model=model, aspect_ratio=ratio)
        for resolution in spec.resolutions:
            client.images.generate("x", model=model, resolution=resolution)
        assert route.call_count == len(spec.aspect_ratios) + len(spec.resolutions)
    err = _refused(
        lambda: client.images.generate("x", model=model, aspect_ratio="7:3"), "aspect_ratio"
    )
    assert model in str(err)
    if not spec.resolutions:  # the table's "-": resolution is outside the row
        err = _refused(
            lambda: client.images.generate("x", model=model, resolution="1K"), "resolution"
        )
        assert "leave it unset" in str(err)
    else:
        _refused(lambda: client.images.generate("x", model=model, resolution="8K"), "resolution")


@pytest.mark.parametrize("model", sorted(VIDEO_MODELS))
def test_every_video_model_row_accepts_its_values_and_refuses_others(
    client: nb.Client, model: str
) -> None:
    spec = VIDEO_MODELS[model]
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("videos/generate").respond(
            json={"success": True, "data": {"task_id": "t", "status": "processing"}}
        )
        for ratio in spec.aspect_ratios:
            for resolution in spec.resolutions:
                for duration in spec.durations:
                    client.videos.generate(
                        "x",
                        model=model,
                        aspect_ratio=ratio,
                        resolution=resolution,
                        duration=duration,
                    )
        assert route.call_count == len(spec.aspect_ratios) * len(spec.resolutions) * len(
            spec.durations
        )
    _refused(lambda: client.videos.generate("x", model=model, aspect_ratio="21:9"), "aspect_ratio")
    _refused(lambda: client.videos.generate("x", model=model, resolution="4K"), "resolution")
    _refused(lambda: client.videos.generate("x", model=model, duration=7), "duration")
    if spec.audio == "no":
        err = _refused(
            lambda: client.videos.generate("x", model=model, generate_audio=True), "generate_audio"
        )
        assert "no audio" in str(err)
    if spec.audio == "always":
        err = _refused(
            lambda: client.videos.generate("x", model=model, generate_audio=False), "generate_audio"
        )
        assert "always" in str(err)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"duration": 0}, "duration"),
        ({"duration": -4}, "duration"),
        ({"duration": "8"}, "duration"),
        ({"generate_audio": "yes"}, "generate_audio"),
        ({"negative_prompt": 3}, "negative_prompt"),
        ({"model": ""}, "model"),
        ({"image_url": " "}, "image_url"),
        ({"image_url": "/no/such/file.png"}, "image_url"),
        ({"image_url": "ftp://example.com/in.png"}, "image_url"),
        ({"image_url": "https:///in.png"}, "image_url"),
    ],
)
def test_global_video_rules(client: nb.Client, kwargs: dict[str, Any], parameter: str) -> None:
    _refused(lambda: client.videos.generate("x", **kwargs), parameter)


def test_unknown_models_go_through_untouched(client: nb.Client) -> None:
    with respx.mock(base_url=BASE) as mock:
        img = mock.post("images/generate").respond(
            json={"success": True, "data": {"task_id": "i", "status": "pending"}}
        )
        vid = mock.post("videos/generate").respond(
            json={
                "success": True,
                "data": {"task_id": "v", "status": "processing", "provider": "wavespeed"},
            }
        )
        client.images.generate("x", model="gpt-image-2", aspect_ratio="7:3", resolution="16K")
        task = client.videos.generate("x", model="future-video", duration=33, resolution="8K")
    assert img.calls.last.request.read() == (
        b'{"prompt":"x","mode":"text","model":"gpt-image-2","aspect_ratio":"7:3","resolution":"16K"}'
    )
    assert b'"model_id":"future-video"' in vid.calls.last.request.read()
    assert task.provider == "wavespeed"


def test_cost_preview_validates_like_generate(client: nb.Client) -> None:
    _refused(lambda: client.account.calculate_cost("audio"), "type")
    _refused(
        lambda: client.account.calculate_cost("image", model="nano-banana", resolution="2K"),
        "resolution",
    )
    _refused(lambda: client.account.calculate_cost("video", model="sora-2", duration=5), "duration")
    _refused(lambda: client.account.calculate_cost("video", num_images=2), "num_images")
    _refused(lambda: client.account.calculate_cost("image", duration=4), "duration")


@pytest.mark.parametrize("task_id", ["", "  ", None, 42])
def test_status_needs_a_task_id(client: nb.Client, task_id: Any) -> None:
    _refused(lambda: client.images.status(task_id), "task_id")
    _refused(lambda: client.videos.status(task_id), "task_id")


def test_mode_is_inferred_from_image_url(client: nb.Client) -> None:
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("images/generate").respond(
            json={"success": True, "data": {"task_id": "i", "status": "pending"}}
        )
        client.images.generate("edit this", image_url="https://example.com/in.png")
        assert b'"mode":"image"' in route.calls.last.request.read()
        client.images.generate("draw this")
        assert b'"mode":"text"' in route.calls.last.request.read()


def test_invalid_client_settings_are_refused(api_key: str) -> None:
    with pytest.raises(nb.InvalidParameterError):
        nb.AsyncClient(api_key=api_key, timeout=-1)
    with pytest.raises(nb.InvalidParameterError):
        nb.AsyncClient(api_key=api_key, max_retries=-1)
    with pytest.raises(nb.InvalidParameterError):
        nb.AsyncClient(api_key=api_key, base_url="ftp://x")
    with pytest.raises(nb.InvalidParameterError):
        nb.AsyncClient(api_key=api_key, poll_policy="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        nb.RateLimit(0)
    with pytest.raises(ValueError):
        nb.PollPolicy(initial_delay=-1, interval=1)
    assert httpx.URL(BASE)  # sanity: the default base URL parses


# -- no model: the default model's row (issue 11, item 9) ------------------------------

DEFAULT_ROW_HINT = "no model given"


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"aspect_ratio": "7:3"}, "aspect_ratio"),  # in no row of the reference
        ({"aspect_ratio": "banana"}, "aspect_ratio"),
        ({"aspect_ratio": "21:9"}, "aspect_ratio"),  # nano-banana-pro's, not the default's
        ({"resolution": "4K"}, "resolution"),  # nano-banana's row says "-"
        ({"resolution": "1K"}, "resolution"),
    ],
)
def test_without_a_model_images_follow_the_default_models_row(
    client: nb.Client, kwargs: dict[str, Any], parameter: str
) -> None:
    err = _refused(lambda: client.images.generate("x", **kwargs), parameter)
    message = str(err)
    assert DEFAULT_ROW_HINT in message and "nano-banana" in message and "model=" in message
    err = _refused(lambda: client.account.calculate_cost("image", **kwargs), parameter)
    assert "nano-banana" in str(err)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"aspect_ratio": "7:3"}, "aspect_ratio"),
        ({"aspect_ratio": "1:1"}, "aspect_ratio"),  # seedance's, not veo-3.1-fast's
        ({"resolution": "4K"}, "resolution"),
        ({"resolution": "480p"}, "resolution"),
        ({"duration": 10}, "duration"),
        ({"duration": 7}, "duration"),
    ],
)
def test_without_a_model_videos_follow_the_default_models_row(
    client: nb.Client, kwargs: dict[str, Any], parameter: str
) -> None:
    err = _refused(lambda: client.videos.generate("x", **kwargs), parameter)
    message = str(err)
    assert DEFAULT_ROW_HINT in message and "veo-3.1-fast" in message and "model=" in message
    err = _refused(lambda: client.account.calculate_cost("video", **kwargs), parameter)
    assert "veo-3.1-fast" in str(err)


def test_without_a_model_the_default_rows_values_are_sent(client: nb.Client) -> None:
    image_spec, video_spec = IMAGE_MODELS["nano-banana"], VIDEO_MODELS["veo-3.1-fast"]
    with respx.mock(base_url=BASE) as mock:
        images = mock.post("images/generate").respond(
            json={"success": True, "data": {"task_id": "i", "status": "pending"}}
        )
        videos = mock.post("videos/generate").respond(
            json={"success": True, "data": {"task_id": "v", "status": "processing"}}
        )
        for ratio in image_spec.aspect_ratios:
            client.images.generate("x", aspect_ratio=ratio)
        # mode is inferred from image_url, and the default image model takes both modes
        client.images.generate("edit", image_url="https://example.com/in.png", aspect_ratio="1:1")
        assert b'"mode":"image"' in images.calls.last.request.read()
        assert b'"model"' not in images.calls.last.request.read()  # still left to the server
        for ratio in video_spec.aspect_ratios:
            for resolution in video_spec.resolutions:
                for duration in video_spec.durations:
                    client.videos.generate(
                        "x", aspect_ratio=ratio, resolution=resolution, duration=duration
                    )
        # veo-3.1-fast takes an image and audio either way
        client.videos.generate("x", image_url="https://example.com/in.png", generate_audio=False)
    assert images.call_count == len(image_spec.aspect_ratios) + 1
    assert videos.call_count == (
        len(video_spec.aspect_ratios) * len(video_spec.resolutions) * len(video_spec.durations) + 1
    )


def test_an_explicit_model_names_itself_not_the_default(client: nb.Client) -> None:
    err = _refused(
        lambda: client.images.generate("x", model="nano-banana", resolution="4K"), "resolution"
    )
    assert "(model nano-banana)" in str(err) and DEFAULT_ROW_HINT not in str(err)
    # and another model's row is the way out of the default's
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("images/generate").respond(
            json={"success": True, "data": {"task_id": "i", "status": "pending"}}
        )
        client.images.generate("x", model="nano-banana-pro", resolution="4K", aspect_ratio="21:9")
    assert route.called


# -- calculate_cost needs a type -------------------------------------------------------


@pytest.mark.parametrize("kind", [None, "", "IMAGE", "audio", 1, ["image"]])
def test_cost_preview_without_a_known_type_is_refused(client: nb.Client, kind: Any) -> None:
    err = _refused(lambda: client.account.calculate_cost(kind), "type")
    assert "image, video" in str(err)


# -- client settings -------------------------------------------------------------------


@pytest.mark.parametrize(
    "timeout",
    [
        float("nan"),
        float("inf"),
        -1,
        0,
        True,
        "10",
        httpx.Timeout(float("nan")),
        httpx.Timeout(5.0, read=float("inf")),
        httpx.Timeout(5.0, connect=-1.0),
        httpx.Timeout(5.0, pool=True),  # type: ignore[arg-type]
    ],
    ids=repr,
)
def test_client_timeout_must_be_finite_positive_seconds(api_key: str, timeout: Any) -> None:
    for cls in (nb.AsyncClient, nb.Client):
        with pytest.raises(nb.InvalidParameterError) as info:
            cls(api_key=api_key, timeout=timeout)
        assert info.value.parameter == "timeout"
    with nb.Client(api_key=api_key, rate_limit=None) as client:
        with pytest.raises(nb.InvalidParameterError):
            client.with_options(timeout=timeout)


def test_client_timeout_accepts_seconds_and_httpx_timeouts(api_key: str) -> None:
    for timeout in (2, 0.5, httpx.Timeout(5.0), httpx.Timeout(None), httpx.Timeout(5.0, read=None)):
        nb.Client(api_key=api_key, timeout=timeout, rate_limit=None).close()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_delay": float("nan"), "interval": 1.0},
        {"initial_delay": 1.0, "interval": float("inf")},
        {"initial_delay": 1.0, "interval": 1.0, "max_interval": float("inf")},
        {"initial_delay": 1.0, "interval": 1.0, "backoff": float("nan")},
        {"initial_delay": 1.0, "interval": 1.0, "backoff": 0.5},
        {"initial_delay": "1", "interval": 1.0},
        {"initial_delay": True, "interval": 1.0},
        {"initial_delay": -1.0, "interval": 1.0},
    ],
    ids=repr,
)
def test_poll_policy_refuses_times_that_never_come(kwargs: dict[str, Any]) -> None:
    with pytest.raises(nb.InvalidParameterError):
        nb.PollPolicy(**kwargs)


def test_rate_limit_refuses_an_endless_window() -> None:
    for per in (float("inf"), float("nan"), 0, True):
        with pytest.raises(nb.InvalidParameterError):
            nb.RateLimit(60, per=per)


def test_a_long_wait_does_not_overflow_the_poll_backoff() -> None:
    policy = nb.PollPolicy(initial_delay=1.0, interval=1.0, backoff=2.0, max_interval=30.0)
    assert policy.nominal_delay(100_000) == 30.0
    assert nb.PollPolicy(initial_delay=0.0, interval=0.0).nominal_delay(100_000) == 0.0


# -- on both clients, against the simulator's ledger: nothing sent, nothing charged ----

SURROGATE = "a \ud800 b"  # a lone surrogate: not encodable as UTF-8

BAD_CALLS: list[tuple[str, str, tuple[Any, ...], dict[str, Any], str]] = [
    ("images", "generate", (SURROGATE,), {}, "prompt"),
    ("images", "generate", ("x",), {"model": "nano-\udfff"}, "model"),
    ("images", "generate", ("x",), {"image_url": "https://x/\ud800.png"}, "image_url"),
    ("images", "generate", ("x",), {"aspect_ratio": "1:1\ud800"}, "aspect_ratio"),
    ("images", "generate", ("x",), {"model": "future-model", "resolution": "\ud800"}, "resolution"),
    ("videos", "generate", (SURROGATE,), {}, "prompt"),
    ("videos", "generate", ("x",), {"negative_prompt": SURROGATE}, "negative_prompt"),
    ("videos", "generate", ("x",), {"model": SURROGATE}, "model"),
    ("images", "status", ("clx\ud800",), {}, "task_id"),
    ("videos", "status", ("clx\ud800",), {}, "task_id"),
    ("account", "calculate_cost", ("image",), {"model": SURROGATE}, "model"),
    ("account", "calculate_cost", (None,), {}, "type"),
    ("account", "calculate_cost", ("text",), {}, "type"),
    ("images", "generate", ("x",), {"aspect_ratio": "7:3"}, "aspect_ratio"),
    ("videos", "generate", ("x",), {"resolution": "4K"}, "resolution"),
]
BAD_IDS = [f"{r}.{m}-{p}" for r, m, _, _, p in BAD_CALLS]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("resource", "method", "args", "kwargs", "parameter"), BAD_CALLS, ids=BAD_IDS
)
async def test_bad_input_is_refused_before_sending_async(
    resource: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], parameter: str
) -> None:
    fake = FakeNanoBanana(clock=ManualClock())
    async with fake.async_client() as client:
        with pytest.raises(nb.InvalidParameterError) as info:
            await getattr(getattr(client, resource), method)(*args, **kwargs)
    assert info.value.parameter == parameter
    assert fake.requests == [] and fake.charges == []


@pytest.mark.parametrize(
    ("resource", "method", "args", "kwargs", "parameter"), BAD_CALLS, ids=BAD_IDS
)
def test_bad_input_is_refused_before_sending_sync(
    resource: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], parameter: str
) -> None:
    fake = FakeNanoBanana(clock=ManualClock())
    with fake.client() as client:
        with pytest.raises(nb.InvalidParameterError) as info:
            getattr(getattr(client, resource), method)(*args, **kwargs)
    assert info.value.parameter == parameter
    assert fake.requests == [] and fake.charges == []


def test_a_lone_surrogate_error_says_where_it_is(client: nb.Client) -> None:
    err = _refused(lambda: client.images.generate("ab\ud800"), "prompt")
    assert "lone surrogate" in str(err) and "position 2" in str(err)
    # a proper non-ASCII prompt (a surrogate pair in UTF-16 terms) is fine
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("images/generate").respond(
            json={"success": True, "data": {"task_id": "i", "status": "pending"}}
        )
        client.images.generate("un 🍌 mûr")
    assert "🍌".encode() in route.calls.last.request.read()


BAD_WAITS: list[tuple[str, Any]] = [
    ("timeout", "10"),
    ("timeout", True),
    ("timeout", float("nan")),
    ("timeout", float("inf")),
    ("timeout", -1.0),
    ("on_progress", "print"),
    ("poll_policy", "fast"),
]
WAIT_IDS = [f"{name}={value!r}" for name, value in BAD_WAITS]


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "value"), BAD_WAITS, ids=WAIT_IDS)
async def test_wait_refuses_bad_arguments_at_the_call_async(name: str, value: Any) -> None:
    fake = FakeNanoBanana(clock=ManualClock())
    async with fake.async_client() as client:
        image = await client.images.generate("x")
        video = await client.videos.generate("x")
        sent = len(fake.requests)
        for wait in (image.wait, lambda **kw: client.images.wait(image.task_id, **kw)):
            with pytest.raises(nb.InvalidParameterError) as info:
                await wait(**{name: value})
            assert info.value.parameter == name
        for wait in (video.wait, lambda **kw: client.videos.wait(video.task_id, **kw)):
            with pytest.raises(nb.InvalidParameterError):
                await wait(**{name: value})
    assert len(fake.requests) == sent  # no poll was spent


@pytest.mark.parametrize(("name", "value"), BAD_WAITS, ids=WAIT_IDS)
def test_wait_refuses_bad_arguments_at_the_call_sync(name: str, value: Any) -> None:
    fake = FakeNanoBanana(clock=ManualClock())
    with fake.client() as client:
        image = client.images.generate("x")
        video = client.videos.generate("x")
        sent = len(fake.requests)
        for wait in (
            image.wait,
            video.wait,
            lambda **kw: client.images.wait(image.task_id, **kw),
            lambda **kw: client.videos.wait(video.task_id, **kw),
        ):
            with pytest.raises(nb.InvalidParameterError) as info:
                wait(**{name: value})
            assert info.value.parameter == name
    assert len(fake.requests) == sent


@pytest.mark.anyio
async def test_wait_refuses_bad_arguments_even_when_the_outcome_is_known() -> None:
    fake = FakeNanoBanana(time_scale=1000.0, seed=1)
    fake.durations["image"] = 5.0
    async with fake.async_client() as client:
        task = await client.images.generate("x")
        async for _ in nb.as_completed([task]):  # the client now keeps the outcome
            pass
        with pytest.raises(nb.InvalidParameterError):
            await task.wait(timeout="10")  # type: ignore[arg-type]
        assert (await task.wait()).succeeded


@pytest.mark.anyio
async def test_a_zero_timeout_looks_once_and_does_not_wait() -> None:
    fake = FakeNanoBanana(time_scale=1000.0, seed=1)
    fake.durations["image"] = 60.0
    async with fake.async_client() as client:
        task = await client.images.generate("x")
        with pytest.raises(nb.TaskTimeoutError) as info:
            await task.wait(timeout=0)
    assert info.value.task_id == task.task_id


@pytest.mark.parametrize(
    "url", ["in.png", "/no/such/file.png", "file:///tmp/in.png", "ftp://x/y.png"]
)
def test_an_image_url_the_server_cannot_fetch_is_refused_before_sending(
    client: nb.Client, url: str
) -> None:
    err = _refused(lambda: client.images.generate("edit this", image_url=url), "image_url")
    assert "http(s) URL" in str(err)


@pytest.mark.parametrize(
    "url", ["https://example.com/in.png", "HTTP://example.com/a", "data:image/png;base64,iVBO"]
)
def test_http_and_data_image_urls_are_sent(client: nb.Client, url: str) -> None:
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("images/generate").respond(
            json={"success": True, "data": {"task_id": "i", "status": "pending"}}
        )
        client.images.generate("edit this", image_url=url)
    assert route.call_count == 1
