"""Local validation: bad input is refused before anything is sent, with a clear, typed error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

import nanobanana as nb
from nanobanana._catalog import IMAGE_MODELS, VIDEO_MODELS

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
