"""The one cattrs converter, and ``decode``: JSON data to a model or UnexpectedResponseError."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, TypeVar

import cattrs
from cattrs.gen import make_dict_structure_fn

from ._exceptions import UnexpectedResponseError
from ._models import ImageStatus

__all__ = ["converter", "decode"]

T = TypeVar("T")

converter = cattrs.Converter(forbid_extra_keys=False, prefer_attrib_converters=False)


def _parse_datetime(value: Any, _: Any) -> datetime:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO-8601 string, got {type(value).__name__}")
    text = value.strip()
    if text.endswith(("Z", "z")):  # fromisoformat accepts "Z" only from 3.11 on
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:  # the API speaks UTC; a naive time is read as UTC
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _strict_str(value: Any, _: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _int(value: Any, _: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return round(value)


def _bool(value: Any, _: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    raise TypeError(f"expected a boolean, got {value!r}")


def _error_message(value: Any, _: Any) -> str:
    # Providers put either a string or {"code", "message"} here; keep a readable text.
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        message = value.get("message") or value.get("code")
        if message is not None:
            return str(message)
    return str(value)


converter.register_structure_hook(datetime, _parse_datetime)
converter.register_structure_hook(str, _strict_str)
converter.register_structure_hook(int, _int)
converter.register_structure_hook(bool, _bool)

_image_status = make_dict_structure_fn(ImageStatus, converter)


def _structure_image_status(data: Any, cls: Any) -> ImageStatus:
    if not isinstance(data, dict):
        raise TypeError(f"expected an object, got {type(data).__name__}")
    data = dict(data)
    if isinstance(data.get("error"), (dict, list)):
        data["error"] = _error_message(data["error"], None)
    urls = data.get("image_urls")
    if urls is None:
        urls = []
    url = data.get("image_url")
    if isinstance(urls, list) and all(isinstance(u, str) for u in urls):
        merged = list(urls)
        if isinstance(url, str) and url not in merged:
            merged.insert(0, url)
        data["image_urls"] = merged
        if url is None and merged:
            data["image_url"] = merged[0]
    return _image_status(data, cls)


converter.register_structure_hook(ImageStatus, _structure_image_status)


def _with_error_text(cls: type[Any]) -> None:
    base = make_dict_structure_fn(cls, converter)

    def structure(data: Any, c: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("error"), (dict, list)):
            data = {**data, "error": _error_message(data["error"], None)}
        return base(data, c)

    converter.register_structure_hook(cls, structure)


def _register_late() -> None:
    from ._models import VideoStatus

    _with_error_text(VideoStatus)


_register_late()


def decode(cls: type[T], data: Any, *, response: Any = None) -> T:
    """Structure ``data`` into ``cls``; any failure is an UnexpectedResponseError naming the path."""
    try:
        return converter.structure(data, cls)
    except cattrs.BaseValidationError as exc:
        details = "; ".join(cattrs.transform_error(exc, path="data"))
        raise UnexpectedResponseError(
            f"could not decode {cls.__name__}: {details}",
            response=response,
            status_code=getattr(response, "status_code", None),
        ) from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise UnexpectedResponseError(
            f"could not decode {cls.__name__} at data: {exc}",
            response=response,
            status_code=getattr(response, "status_code", None),
        ) from None
