"""What a request is: ``ImageRequest``, ``VideoRequest``, ``CostRequest``.

These classes are the one description of a request: each field's name, type, default
(None: not sent), wire name and a one-line doc (``meta``). Everything else is derived from them:
``generate(...)``'s signature and docstring (``scripts/generate.py``), local validation
(``_catalog.validate``), the JSON body (``_protocol.encode``), the batch's inputs and cost
keys, and the command line's flags. Adding a field is one edit here (plus a catalog row if
its values are checked) and ``nox -s generate``.

Construction does not validate: a request is plain data, so a batch can turn a bad one
into an item. ``_catalog.validate(request)`` checks one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._types import (
    AspectRatio,
    CostType,
    ImageMode,
    ImageModel,
    ImageResolution,
    OutputFormat,
    Quality,
    VideoAspectRatio,
    VideoModel,
    VideoResolution,
)

__all__ = [
    "CostRequest",
    "ImageRequest",
    "VideoRequest",
    "cost_request",
    "doc",
    "kinds",
    "meta",
    "resolved_mode",
    "wire_name",
]

_DOC = "nanobanana.doc"
_WIRE = "nanobanana.wire"
_KINDS = "nanobanana.kinds"


def meta(
    doc: str, *, wire: str | None = None, kinds: tuple[CostType, ...] = ("image", "video")
) -> dict[str, Any]:
    """A field's facts, for ``attrs.field(metadata=...)``: its one-line ``doc``, its name on
    the wire when it differs, and the types of cost preview it applies to.

    (Fields are spelled ``attrs.field(default=None, kw_only=True, ...)`` in full, not
    through a helper: mypy and pyright see keyword-only fields only in that spelling.)"""
    return {_DOC: doc, _WIRE: wire, _KINDS: kinds}


def doc(field: attrs.Attribute[Any]) -> str:
    """The field's one-line description."""
    return str(field.metadata[_DOC])


def wire_name(field: attrs.Attribute[Any]) -> str:
    """The field's name in the JSON body."""
    wire = field.metadata[_WIRE]
    return field.name if wire is None else str(wire)


def kinds(field: attrs.Attribute[Any]) -> tuple[CostType, ...]:
    """The cost-preview types a field applies to (``type``, ``model``... apply to both)."""
    value: tuple[CostType, ...] = field.metadata[_KINDS]
    return value


@attrs.frozen
class ImageRequest:
    """An image request: the parameters of ``images.generate`` (a batch takes these too)."""

    prompt: str = attrs.field(metadata=meta("What to draw."))
    mode: ImageMode | None = attrs.field(
        default=None,
        kw_only=True,
        metadata=meta(
            '"text" (text to image) or "image" (image to image); default: "image" when '
            'image_url is given, else "text".'
        ),
    )
    model: ImageModel | None = attrs.field(
        default=None,
        kw_only=True,
        metadata=meta(
            "The image model id, e.g. nano-banana-pro; default: the server's (nano-banana)."
        ),
    )
    image_url: str | None = attrs.field(
        default=None, kw_only=True, metadata=meta("A reference image URL (image to image).")
    )
    aspect_ratio: AspectRatio | None = attrs.field(
        default=None,
        kw_only=True,
        metadata=meta("The aspect ratio, e.g. 16:9; each model takes the ratios of its row."),
    )
    resolution: ImageResolution | None = attrs.field(
        default=None,
        kw_only=True,
        metadata=meta("1K, 2K or 4K, for the models that take a resolution."),
    )
    num_images: int | None = attrs.field(
        default=None, kw_only=True, metadata=meta("How many images to generate, 1 to 4.")
    )
    quality: Quality | None = attrs.field(
        default=None,
        kw_only=True,
        metadata=meta('"standard" or "hd" (hd costs 2 more credits an image).'),
    )
    output_format: OutputFormat | None = attrs.field(
        default=None, kw_only=True, metadata=meta('The file format: "png" or "jpeg".')
    )


@attrs.frozen
class VideoRequest:
    """A video request: the parameters of ``videos.generate`` (a batch takes these too)."""

    prompt: str = attrs.field(metadata=meta("What to film."))
    model: VideoModel | None = attrs.field(
        default=None,
        kw_only=True,
        metadata=meta(
            "The video model id, e.g. sora-2 (sent as model_id); default: the server's "
            "(veo-3.1-fast).",
            wire="model_id",
        ),
    )
    aspect_ratio: VideoAspectRatio | None = attrs.field(
        default=None,
        kw_only=True,
        metadata=meta("The aspect ratio, e.g. 16:9; each model takes the ratios of its row."),
    )
    duration: int | None = attrs.field(
        default=None,
        kw_only=True,
        metadata=meta("Seconds of video, e.g. 4, 6 or 8; each model takes its own."),
    )
    resolution: VideoResolution | None = attrs.field(
        default=None,
        kw_only=True,
        metadata=meta("480p, 720p or 1080p; each model takes the resolutions of its row."),
    )
    image_url: str | None = attrs.field(
        default=None, kw_only=True, metadata=meta("A reference image URL (image to video).")
    )
    generate_audio: bool | None = attrs.field(
        default=None,
        kw_only=True,
        metadata=meta("Whether the video has sound, for models that choose."),
    )
    negative_prompt: str | None = attrs.field(
        default=None, kw_only=True, metadata=meta("What the video should not show.")
    )


@attrs.frozen
class CostRequest:
    """A cost preview: the parameters of ``account.calculate_cost`` (nothing is charged).

    ``model`` is sent as ``model`` for both types, as in the reference's only example.
    """

    type: CostType = attrs.field(metadata=meta('What to price: "image" or "video".'))
    mode: ImageMode | None = attrs.field(
        default=None, kw_only=True, metadata=meta('Images: "text" or "image".', kinds=("image",))
    )
    model: ImageModel | VideoModel | None = attrs.field(
        default=None,
        kw_only=True,
        metadata=meta("The model id; default: the server's default model of the type."),
    )
    num_images: int | None = attrs.field(
        default=None, kw_only=True, metadata=meta("Images: how many, 1 to 4.", kinds=("image",))
    )
    resolution: ImageResolution | VideoResolution | None = attrs.field(
        default=None,
        kw_only=True,
        metadata=meta("Images: 1K, 2K or 4K; videos: 480p, 720p or 1080p."),
    )
    quality: Quality | None = attrs.field(
        default=None,
        kw_only=True,
        metadata=meta('Images: "standard" or "hd".', kinds=("image",)),
    )
    aspect_ratio: AspectRatio | VideoAspectRatio | None = attrs.field(
        default=None, kw_only=True, metadata=meta("The aspect ratio, e.g. 16:9.")
    )
    duration: int | None = attrs.field(
        default=None, kw_only=True, metadata=meta("Videos: seconds of video.", kinds=("video",))
    )
    generate_audio: bool | None = attrs.field(
        default=None,
        kw_only=True,
        metadata=meta("Videos: whether the video has sound.", kinds=("video",)),
    )


def resolved_mode(request: ImageRequest) -> str:
    """The mode an image request is sent with: the one given, else "image" when it has an
    ``image_url``, else "text" (what the server would assume; sent explicitly)."""
    if request.mode is not None:
        return request.mode
    return "image" if request.image_url is not None else "text"


def cost_request(request: ImageRequest | VideoRequest) -> CostRequest:
    """The cost preview of a generate request: every field of ``request`` that
    calculate-cost takes for its type (the mode as it will be sent)."""
    kind: CostType = "image" if isinstance(request, ImageRequest) else "video"
    own: Mapping[str, Any] = attrs.asdict(request, recurse=False)
    values = {
        f.name: own[f.name]
        for f in attrs.fields(CostRequest)
        if f.name != "type" and f.name in own and kind in kinds(f)
    }
    if isinstance(request, ImageRequest):
        values["mode"] = resolved_mode(request)
    return CostRequest(kind, **values)
