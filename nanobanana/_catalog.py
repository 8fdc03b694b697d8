"""The per-model capability tables of the reference, and local validation.

Which row a request is checked against (NOTES.md §5, §8):

* a model of the tables: its own row;
* no model: the row of the reference's default model (``nano-banana`` for images,
  ``veo-3.1-fast`` for videos), since that is the model the server then uses. The error
  says so, and how to choose another model;
* an unknown model id: no row at all. The provider adds models, and a new one may accept
  values no row of the reference lists, so only the server can refuse them.

"A value that no model of the reference accepts is refused" (issue 11, item 9) is thus
kept where it is consistent with the reading above: with no model, the default row is
stricter than the union of all rows, so every such value is refused; with an unknown
model id it is sent, because the server, not the reference's tables, knows that model.

Every string must also be valid Unicode (no lone surrogate), or the body could not be
encoded as UTF-8 JSON. Prices are not here: the SDK never treats a price as truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar

import attrs

from ._exceptions import InvalidParameterError

__all__ = [
    "DEFAULT_IMAGE_MODEL",
    "DEFAULT_VIDEO_MODEL",
    "IMAGE_MODELS",
    "VIDEO_MODELS",
    "ImageModelSpec",
    "VideoModelSpec",
    "image_body",
    "video_body",
    "cost_body",
]

MODES = ("text", "image")
QUALITIES = ("standard", "hd")
OUTPUT_FORMATS = ("png", "jpeg")
NUM_IMAGES = (1, 2, 3, 4)
COST_TYPES = ("image", "video")

_RATIOS_5 = ("1:1", "3:4", "4:3", "9:16", "16:9")
_RATIOS_10 = ("1:1", "3:2", "2:3", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")


@attrs.frozen
class ImageModelSpec:
    """One row of the reference's image table. Empty ``resolutions`` is the table's ``-``."""

    id: str
    name: str
    resolutions: tuple[str, ...]
    aspect_ratios: tuple[str, ...]
    subscription_required: bool


@attrs.frozen
class VideoModelSpec:
    """One row of the reference's video table."""

    id: str
    name: str
    resolutions: tuple[str, ...]
    aspect_ratios: tuple[str, ...]
    durations: tuple[int, ...]
    audio: Literal["yes", "no", "always"]
    image_input: bool = True


SpecT = TypeVar("SpecT", ImageModelSpec, VideoModelSpec)


def _index(*specs: Any) -> dict[str, Any]:
    return {s.id: s for s in specs}


IMAGE_MODELS: Mapping[str, ImageModelSpec] = _index(
    ImageModelSpec("nano-banana", "Nano Banana", (), _RATIOS_5, False),
    ImageModelSpec("nano-banana-pro", "Nano Banana Pro", ("1K", "2K", "4K"), _RATIOS_10, False),
    ImageModelSpec("nano-banana-2", "Nano Banana 2", ("1K", "2K", "4K"), _RATIOS_10, True),
    ImageModelSpec("seedream4", "SeeDream 4", (), _RATIOS_5, True),
)

VIDEO_MODELS: Mapping[str, VideoModelSpec] = _index(
    VideoModelSpec(
        "veo-3.1-fast",
        "VEO 3.1 Fast",
        ("720p", "1080p"),
        ("16:9", "9:16"),
        (4, 6, 8),
        "yes",
    ),
    VideoModelSpec("veo-3.1", "VEO 3.1", ("720p", "1080p"), ("16:9", "9:16"), (4, 6, 8), "yes"),
    VideoModelSpec(
        "seedance-1.5-fast",
        "Seedance 1.5 Fast",
        ("720p", "1080p"),
        ("16:9", "9:16", "1:1"),
        (4, 8, 12),
        "yes",
    ),
    VideoModelSpec(
        "seedance-1.5",
        "Seedance 1.5 Pro",
        ("720p", "1080p"),
        ("16:9", "9:16", "1:1"),
        (4, 8, 12),
        "yes",
    ),
    VideoModelSpec(
        "seedance-2.0",
        "Seedance 2.0",
        ("480p", "720p"),
        ("16:9", "9:16", "1:1", "4:3"),
        (5, 10, 15),
        "yes",
    ),
    VideoModelSpec(
        "wan-2.5", "Wan 2.5", ("480p", "720p", "1080p"), ("16:9", "9:16"), (5, 10), "no"
    ),
    VideoModelSpec("sora-2", "Sora 2", ("720p",), ("16:9", "9:16"), (4, 8, 12), "always"),
    VideoModelSpec(
        "sora-2-pro",
        "Sora 2 Pro",
        ("720p", "1080p"),
        ("16:9", "9:16"),
        (4, 8, 12),
        "always",
    ),
    VideoModelSpec("kling-o3-std", "Kling O3", ("720p",), ("16:9", "9:16", "1:1"), (5, 10), "yes"),
    VideoModelSpec(
        "kling-o3-pro",
        "Kling O3 Pro",
        ("720p",),
        ("16:9", "9:16", "1:1"),
        (5, 10),
        "yes",
    ),
    VideoModelSpec(
        "grok-video",
        "Grok Video",
        ("480p", "720p"),
        ("16:9", "9:16", "1:1"),
        (6, 10),
        "no",
    ),
)

DEFAULT_IMAGE_MODEL = "nano-banana"
DEFAULT_VIDEO_MODEL = "veo-3.1-fast"


def _allowed(values: tuple[Any, ...]) -> str:
    return ", ".join(str(v) for v in values) if values else "none (leave it unset)"


def _one_of(name: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if value is not None and value not in allowed:
        raise InvalidParameterError(name, value, _allowed(allowed))


def check_text(name: str, value: str) -> None:
    """Refuse a string that cannot be encoded as UTF-8 (a lone surrogate such as "\\ud800"):
    the request body could not be written, and the server would never see it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidParameterError(
            name,
            value,
            reason=f"{name} is not valid Unicode text: a lone surrogate "
            f"{value[exc.start]!r} at position {exc.start}",
        ) from None


def _check_str(name: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise InvalidParameterError(
            name, value, reason=f"{name} must be a string, got {type(value).__name__}"
        )
    check_text(name, value)


def _check_prompt(prompt: Any) -> None:
    if not isinstance(prompt, str):
        raise InvalidParameterError(
            "prompt",
            prompt,
            reason=f"prompt must be a string, got {type(prompt).__name__}",
        )
    check_text("prompt", prompt)
    if not prompt.strip():
        raise InvalidParameterError(
            "prompt",
            prompt,
            reason="prompt is empty (the server would answer INVALID_PROMPT)",
        )


def _check_url(name: str, value: Any) -> None:
    _check_str(name, value)
    if value is not None and not value.strip():
        raise InvalidParameterError(name, value, reason=f"{name} is empty")


def _check_model(name: str, value: Any) -> None:
    _check_str(name, value)
    if value is not None and not value.strip():
        raise InvalidParameterError(name, value, reason=f"{name} is empty")


def _drop_none(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _row(
    model: str | None, table: Mapping[str, SpecT], default: str, kind: str
) -> tuple[SpecT, str] | None:
    """The row a request is checked against, and how an error names it; None for an
    unknown model id (the server decides)."""
    if model is None:
        return table[default], (
            f" (no model given: checked against {default}, the reference's default "
            f"{kind} model; pass model=... to use another model's row)"
        )
    spec = table.get(model)
    return None if spec is None else (spec, f" (model {spec.id})")


def _check_image_row(model: str | None, aspect_ratio: Any, resolution: Any) -> None:
    found = _row(model, IMAGE_MODELS, DEFAULT_IMAGE_MODEL, "image")
    if found is None:
        return  # an unknown model id: the server decides
    spec, where = found
    if aspect_ratio is not None and aspect_ratio not in spec.aspect_ratios:
        raise InvalidParameterError(
            "aspect_ratio", aspect_ratio, _allowed(spec.aspect_ratios) + where
        )
    if resolution is not None and resolution not in spec.resolutions:
        raise InvalidParameterError("resolution", resolution, _allowed(spec.resolutions) + where)


def _check_num_images(num_images: Any) -> None:
    if num_images is None:
        return
    if (
        isinstance(num_images, bool)
        or not isinstance(num_images, int)
        or num_images not in NUM_IMAGES
    ):
        raise InvalidParameterError("num_images", num_images, "an int from 1 to 4")


def image_body(
    prompt: Any,
    *,
    mode: Any = None,
    model: Any = None,
    image_url: Any = None,
    aspect_ratio: Any = None,
    resolution: Any = None,
    num_images: Any = None,
    quality: Any = None,
    output_format: Any = None,
) -> dict[str, Any]:
    """Validate an image request and return its JSON body (unset parameters left out)."""
    _check_prompt(prompt)
    _check_model("model", model)
    _check_url("image_url", image_url)
    if mode is None:
        mode = "image" if image_url is not None else "text"
    _one_of("mode", mode, MODES)
    if mode == "image" and image_url is None:
        raise InvalidParameterError("image_url", None, reason='mode="image" requires image_url')
    _check_str("aspect_ratio", aspect_ratio)
    _check_str("resolution", resolution)
    _check_num_images(num_images)
    _one_of("quality", quality, QUALITIES)
    _one_of("output_format", output_format, OUTPUT_FORMATS)
    _check_image_row(model, aspect_ratio, resolution)
    return _drop_none(
        prompt=prompt,
        mode=mode,
        model=model,
        image_url=image_url,
        aspect_ratio=aspect_ratio,
        resolution=resolution,
        num_images=num_images,
        quality=quality,
        output_format=output_format,
    )


def _check_video_row(
    model: str | None,
    aspect_ratio: Any,
    resolution: Any,
    duration: Any,
    generate_audio: Any,
    image_url: Any,
) -> None:
    found = _row(model, VIDEO_MODELS, DEFAULT_VIDEO_MODEL, "video")
    if found is None:
        return  # an unknown model id: the server decides
    spec, where = found
    if aspect_ratio is not None and aspect_ratio not in spec.aspect_ratios:
        raise InvalidParameterError(
            "aspect_ratio", aspect_ratio, _allowed(spec.aspect_ratios) + where
        )
    if resolution is not None and resolution not in spec.resolutions:
        raise InvalidParameterError("resolution", resolution, _allowed(spec.resolutions) + where)
    if duration is not None and duration not in spec.durations:
        raise InvalidParameterError("duration", duration, _allowed(spec.durations) + where)
    if model is not None:
        where = ""  # the messages below name the model already
    if spec.audio == "no" and generate_audio is True:
        raise InvalidParameterError(
            "generate_audio", True, f"False or unset: {spec.id} has no audio" + where
        )
    if spec.audio == "always" and generate_audio is False:
        raise InvalidParameterError(
            "generate_audio", False, f"True or unset: {spec.id} always has audio" + where
        )
    if not spec.image_input and image_url is not None:
        raise InvalidParameterError(
            "image_url", image_url, f"unset: {spec.id} takes no image input" + where
        )


def _check_duration(duration: Any) -> None:
    if duration is None:
        return
    if isinstance(duration, bool) or not isinstance(duration, int) or duration <= 0:
        raise InvalidParameterError("duration", duration, "a positive whole number of seconds")


def _check_bool(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, bool):
        raise InvalidParameterError(name, value, "True or False")


def video_body(
    prompt: Any,
    *,
    model: Any = None,
    aspect_ratio: Any = None,
    duration: Any = None,
    resolution: Any = None,
    image_url: Any = None,
    generate_audio: Any = None,
    negative_prompt: Any = None,
) -> dict[str, Any]:
    """Validate a video request and return its JSON body (the model is sent as ``model_id``)."""
    _check_prompt(prompt)
    _check_model("model", model)
    _check_str("aspect_ratio", aspect_ratio)
    _check_str("resolution", resolution)
    _check_duration(duration)
    _check_url("image_url", image_url)
    _check_bool("generate_audio", generate_audio)
    _check_str("negative_prompt", negative_prompt)
    _check_video_row(model, aspect_ratio, resolution, duration, generate_audio, image_url)
    return _drop_none(
        prompt=prompt,
        model_id=model,
        aspect_ratio=aspect_ratio,
        duration=duration,
        resolution=resolution,
        image_url=image_url,
        generate_audio=generate_audio,
        negative_prompt=negative_prompt,
    )


def cost_body(
    type: Any,
    *,
    mode: Any = None,
    model: Any = None,
    num_images: Any = None,
    resolution: Any = None,
    quality: Any = None,
    aspect_ratio: Any = None,
    duration: Any = None,
    generate_audio: Any = None,
) -> dict[str, Any]:
    """Validate a cost preview and return its body. ``model`` is sent as ``model`` for both types."""
    if type not in COST_TYPES:  # required: the server cannot price a preview of no kind
        raise InvalidParameterError("type", type, _allowed(COST_TYPES))
    _check_model("model", model)
    _check_str("resolution", resolution)
    _check_str("aspect_ratio", aspect_ratio)
    if type == "image":
        _one_of("mode", mode, MODES)
        _check_num_images(num_images)
        _one_of("quality", quality, QUALITIES)
        for name, value in (("duration", duration), ("generate_audio", generate_audio)):
            if value is not None:
                raise InvalidParameterError(
                    name, value, reason=f"{name} applies to type='video' only"
                )
        _check_image_row(model, aspect_ratio, resolution)
    else:
        for name, value in (
            ("mode", mode),
            ("num_images", num_images),
            ("quality", quality),
        ):
            if value is not None:
                raise InvalidParameterError(
                    name, value, reason=f"{name} applies to type='image' only"
                )
        _check_duration(duration)
        _check_bool("generate_audio", generate_audio)
        _check_video_row(model, aspect_ratio, resolution, duration, generate_audio, None)
    return _drop_none(
        type=type,
        mode=mode,
        model=model,
        num_images=num_images,
        resolution=resolution,
        quality=quality,
        aspect_ratio=aspect_ratio,
        duration=duration,
        generate_audio=generate_audio,
    )
