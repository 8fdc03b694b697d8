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
from typing import Any, Literal, TypeVar, get_args
from urllib.parse import urlsplit

import attrs

from ._exceptions import InvalidParameterError
from ._requests import CostRequest, ImageRequest, VideoRequest, kinds, resolved_mode
from ._secrets import clip
from ._types import (
    AspectRatio,
    CostType,
    ImageMode,
    ImageResolution,
    KnownImageModel,
    KnownVideoModel,
    OutputFormat,
    Quality,
    VideoAspectRatio,
    VideoResolution,
)

__all__ = [
    "DEFAULT_IMAGE_MODEL",
    "DEFAULT_VIDEO_MODEL",
    "IMAGE_MODELS",
    "VIDEO_MODELS",
    "ImageModelSpec",
    "VideoModelSpec",
    "validate",
    "image_body",
    "video_body",
    "cost_body",
]

# The closed sets, from their Literal types (written once, in _types).
MODES: tuple[ImageMode, ...] = get_args(ImageMode)
QUALITIES: tuple[Quality, ...] = get_args(Quality)
OUTPUT_FORMATS: tuple[OutputFormat, ...] = get_args(OutputFormat)
COST_TYPES: tuple[CostType, ...] = get_args(CostType)
NUM_IMAGES = (1, 2, 3, 4)

_RATIOS_5: tuple[AspectRatio, ...] = ("1:1", "3:4", "4:3", "9:16", "16:9")
_RATIOS_10: tuple[AspectRatio, ...] = (
    "1:1",
    "3:2",
    "2:3",
    "3:4",
    "4:3",
    "4:5",
    "5:4",
    "9:16",
    "16:9",
    "21:9",
)


@attrs.frozen
class ImageModelSpec:
    """One row of the reference's image table. Empty ``resolutions`` is the table's ``-``."""

    id: KnownImageModel
    name: str
    resolutions: tuple[ImageResolution, ...]
    aspect_ratios: tuple[AspectRatio, ...]
    subscription_required: bool


@attrs.frozen
class VideoModelSpec:
    """One row of the reference's video table."""

    id: KnownVideoModel
    name: str
    resolutions: tuple[VideoResolution, ...]
    aspect_ratios: tuple[VideoAspectRatio, ...]
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
    """An input image is fetched by the server: an absolute http(s) URL (or a ``data:``
    URL), never a local path, which the server cannot read (and a request in image mode
    may be charged before it finds out)."""
    _check_str(name, value)
    if value is None:
        return
    if not value.strip():
        raise InvalidParameterError(name, value, reason=f"{name} is empty")
    parts = urlsplit(value.strip())
    scheme = parts.scheme.lower()
    if not ((scheme in ("http", "https") and parts.hostname) or scheme == "data"):
        raise InvalidParameterError(
            name,
            value,
            reason=f"{name} must be an http(s) URL the server can fetch, got {clip(value, 80)!r}"
            " (a local file must be uploaded somewhere the server can reach first)",
        )


def _check_model(name: str, value: Any) -> None:
    _check_str(name, value)
    if value is not None and not value.strip():
        raise InvalidParameterError(name, value, reason=f"{name} is empty")


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


def _validate_image(request: ImageRequest) -> None:
    _check_prompt(request.prompt)
    _check_model("model", request.model)
    _check_url("image_url", request.image_url)
    mode = resolved_mode(request)
    _one_of("mode", mode, MODES)
    if mode == "image" and request.image_url is None:
        raise InvalidParameterError("image_url", None, reason='mode="image" requires image_url')
    _check_str("aspect_ratio", request.aspect_ratio)
    _check_str("resolution", request.resolution)
    _check_num_images(request.num_images)
    _one_of("quality", request.quality, QUALITIES)
    _one_of("output_format", request.output_format, OUTPUT_FORMATS)
    _check_image_row(request.model, request.aspect_ratio, request.resolution)


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


def _validate_video(request: VideoRequest) -> None:
    _check_prompt(request.prompt)
    _check_model("model", request.model)
    _check_str("aspect_ratio", request.aspect_ratio)
    _check_str("resolution", request.resolution)
    _check_duration(request.duration)
    _check_url("image_url", request.image_url)
    _check_bool("generate_audio", request.generate_audio)
    _check_str("negative_prompt", request.negative_prompt)
    _check_video_row(
        request.model,
        request.aspect_ratio,
        request.resolution,
        request.duration,
        request.generate_audio,
        request.image_url,
    )


def _only_for(request: CostRequest, kind: CostType) -> None:
    """Refuse a field set on a cost preview of the other type (the schema says which)."""
    for field in attrs.fields(CostRequest):
        value = getattr(request, field.name)
        if value is not None and kind not in kinds(field):
            (other,) = kinds(field)
            raise InvalidParameterError(
                field.name, value, reason=f"{field.name} applies to type={other!r} only"
            )


def _validate_cost(request: CostRequest) -> None:
    # The type is required: the server cannot price a preview of no kind.
    if request.type not in COST_TYPES:
        raise InvalidParameterError("type", request.type, _allowed(COST_TYPES))
    _check_model("model", request.model)
    _check_str("resolution", request.resolution)
    _check_str("aspect_ratio", request.aspect_ratio)
    if request.type == "image":
        _one_of("mode", request.mode, MODES)
        _check_num_images(request.num_images)
        _one_of("quality", request.quality, QUALITIES)
        _only_for(request, "image")
        _check_image_row(request.model, request.aspect_ratio, request.resolution)
    else:
        _only_for(request, "video")
        _check_duration(request.duration)
        _check_bool("generate_audio", request.generate_audio)
        _check_video_row(
            request.model,
            request.aspect_ratio,
            request.resolution,
            request.duration,
            request.generate_audio,
            None,
        )


def _check_every_text(request: ImageRequest | VideoRequest | CostRequest) -> None:
    """Every string of the request is valid Unicode, fields without a check of their own
    included: a lone surrogate would make the body unencodable."""
    for field in attrs.fields(type(request)):
        value = getattr(request, field.name)
        if isinstance(value, str) and not value.isascii():
            check_text(field.name, value)


def validate(request: ImageRequest | VideoRequest | CostRequest) -> None:
    """Check a request locally; InvalidParameterError (nothing is sent) when it is refused.

    The checks and their order are the reference's reading (module docstring); a field
    the tables do not cover is left to the server, but must still be encodable.
    """
    if isinstance(request, ImageRequest):
        _validate_image(request)
    elif isinstance(request, VideoRequest):
        _validate_video(request)
    elif isinstance(request, CostRequest):
        _validate_cost(request)
    else:
        raise InvalidParameterError(
            "request",
            request,
            reason="expected an nb.ImageRequest, nb.VideoRequest or a cost request, "
            f"got {type(request).__name__}",
        )
    _check_every_text(request)


# -- the simulator's entry points (until it keeps tables of its own) -------------------------


def image_body(prompt: Any, **params: Any) -> dict[str, Any]:
    """Validate an image request given as fields; its JSON body (unset fields left out)."""
    return _checked_body(ImageRequest(prompt, **params))


def video_body(prompt: Any, **params: Any) -> dict[str, Any]:
    """Validate a video request given as fields; its JSON body (the model as ``model_id``)."""
    return _checked_body(VideoRequest(prompt, **params))


def cost_body(type: Any, **params: Any) -> dict[str, Any]:
    """Validate a cost preview given as fields; its JSON body."""
    return _checked_body(CostRequest(type, **params))


def _checked_body(request: ImageRequest | VideoRequest | CostRequest) -> dict[str, Any]:
    from ._protocol import encode

    validate(request)
    return encode(request)
