"""Request bodies checked the way the server checks them, against ``_tables``.

Each function takes a decoded body and returns its parameters (nulls dropped, the model
and the image ``mode`` filled in) or raises ``Refusal``: 400 ``INVALID_PROMPT`` for a
prompt that is missing, not a string or blank; 400 ``INVALID_MODEL`` for a model id the
tables do not have; 400 ``INVALID_REQUEST`` for everything else (a wrong type, a value
outside the model's row, an unknown field, a body that is not a JSON object). A body
that names no model is a request for the default model, and that row applies.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, TypeVar

from ._tables import (
    COST_FIELDS,
    COST_TYPES,
    DEFAULT_IMAGE_MODEL,
    DEFAULT_VIDEO_MODEL,
    IMAGE_FIELDS,
    IMAGE_MODELS,
    MODES,
    NUM_IMAGES,
    OUTPUT_FORMATS,
    QUALITIES,
    VIDEO_FIELDS,
    VIDEO_MODELS,
    ImageRow,
    VideoRow,
)
from ._wire import Refusal, json_object, shown

__all__ = ["cost_request", "image_request", "video_request"]

RowT = TypeVar("RowT", ImageRow, VideoRow)


def _bad(message: str) -> Refusal:
    return Refusal(400, "INVALID_REQUEST", message)


def _listed(values: Collection[object]) -> str:
    return ", ".join(str(v) for v in values) if values else "none (leave it out)"


def _unicode(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" in the JSON)
        return False
    return True


def _model(value: Any, table: Mapping[str, RowT]) -> RowT:
    if not isinstance(value, str) or value not in table:
        raise Refusal(400, "INVALID_MODEL", f"Unknown model ID: {shown(value)}")
    return table[value]


def _prompt(value: Any) -> str:
    if not isinstance(value, str) or not _unicode(value) or not value.strip():
        raise Refusal(400, "INVALID_PROMPT", "Prompt is empty or invalid")
    return value


def _string(fields: Mapping[str, Any], name: str, *, blank: bool = True) -> None:
    value = fields.get(name)
    if value is None:
        return
    if not isinstance(value, str) or not _unicode(value):
        raise _bad(f"{name} must be a string, got {shown(value)}")
    if not blank and not value.strip():
        raise _bad(f"{name} is empty")


def _one_of(fields: Mapping[str, Any], name: str, allowed: Collection[object], where: str) -> None:
    value = fields.get(name)
    if value is not None and value not in allowed:
        raise _bad(f"Invalid {name} {shown(value)}{where}; allowed: {_listed(allowed)}")


def _count(fields: Mapping[str, Any]) -> None:
    value = fields.get("num_images")
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or value not in NUM_IMAGES
    ):
        raise _bad(f"num_images must be an integer from 1 to 4, got {shown(value)}")


def _duration(fields: Mapping[str, Any]) -> None:
    value = fields.get("duration")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise _bad(f"duration must be a positive whole number of seconds, got {shown(value)}")


def _flag(fields: Mapping[str, Any], name: str) -> None:
    value = fields.get(name)
    if value is not None and not isinstance(value, bool):
        raise _bad(f"{name} must be true or false, got {shown(value)}")


def _none_of(fields: Mapping[str, Any], names: tuple[str, ...], kind: str) -> None:
    for name in names:
        if name in fields:
            raise _bad(f"{name} applies to type '{kind}' only")


def _image_row(fields: Mapping[str, Any], row: ImageRow) -> None:
    where = f" for model {row.id}"
    _one_of(fields, "aspect_ratio", row.aspect_ratios, where)
    _one_of(fields, "resolution", row.resolutions, where)


def _video_row(fields: Mapping[str, Any], row: VideoRow) -> None:
    where = f" for model {row.id}"
    _one_of(fields, "aspect_ratio", row.aspect_ratios, where)
    _one_of(fields, "resolution", row.resolutions, where)
    _one_of(fields, "duration", row.durations, where)
    audio = fields.get("generate_audio")
    if row.audio == "no" and audio is True:
        raise _bad(f"Model {row.id} has no audio: generate_audio must be false or left out")
    if row.audio == "always" and audio is False:
        raise _bad(f"Model {row.id} always has audio: generate_audio must be true or left out")
    if not row.image_input and "image_url" in fields:
        raise _bad(f"Model {row.id} takes no image input")


def image_request(body: Any) -> dict[str, Any]:
    """An ``images/generate`` body's parameters, with ``model`` and ``mode`` filled in."""
    fields = json_object(body, IMAGE_FIELDS)
    row = _model(fields.get("model", DEFAULT_IMAGE_MODEL), IMAGE_MODELS)
    fields["prompt"] = _prompt(fields.get("prompt"))
    fields["model"] = row.id
    _string(fields, "image_url", blank=False)
    fields.setdefault("mode", "image" if "image_url" in fields else "text")
    _one_of(fields, "mode", MODES, "")
    if fields["mode"] == "image" and "image_url" not in fields:
        raise _bad('mode "image" requires image_url')
    _string(fields, "aspect_ratio")
    _string(fields, "resolution")
    _count(fields)
    _one_of(fields, "quality", QUALITIES, "")
    _one_of(fields, "output_format", OUTPUT_FORMATS, "")
    _image_row(fields, row)
    return fields


def video_request(body: Any) -> dict[str, Any]:
    """A ``videos/generate`` body's parameters, with ``model_id`` filled in."""
    fields = json_object(body, VIDEO_FIELDS)
    row = _model(fields.get("model_id", DEFAULT_VIDEO_MODEL), VIDEO_MODELS)
    fields["prompt"] = _prompt(fields.get("prompt"))
    fields["model_id"] = row.id
    _string(fields, "aspect_ratio")
    _string(fields, "resolution")
    _duration(fields)
    _string(fields, "image_url", blank=False)
    _flag(fields, "generate_audio")
    _string(fields, "negative_prompt")
    _video_row(fields, row)
    return fields


def cost_request(body: Any) -> dict[str, Any]:
    """A ``calculate-cost`` body's parameters, with ``model`` filled in."""
    fields = json_object(body, COST_FIELDS)
    kind = fields.get("type")
    if kind not in COST_TYPES:
        raise _bad("type must be 'image' or 'video'")
    if kind == "image":
        image = _model(fields.get("model", DEFAULT_IMAGE_MODEL), IMAGE_MODELS)
        fields["model"] = image.id
        _string(fields, "resolution")
        _string(fields, "aspect_ratio")
        _one_of(fields, "mode", MODES, "")
        _count(fields)
        _one_of(fields, "quality", QUALITIES, "")
        _none_of(fields, ("duration", "generate_audio"), "video")
        _image_row(fields, image)
    else:
        video = _model(fields.get("model", DEFAULT_VIDEO_MODEL), VIDEO_MODELS)
        fields["model"] = video.id
        _string(fields, "resolution")
        _string(fields, "aspect_ratio")
        _none_of(fields, ("mode", "num_images", "quality"), "image")
        _duration(fields)
        _flag(fields, "generate_audio")
        _video_row(fields, video)
    return fields
