"""The one cattrs converter, and ``decode``: JSON data to a model or UnexpectedResponseError.

Lenient where the wire is loose, strict where it is wrong:

* counts (credits) are whole numbers: ``2``, ``2.0`` and ``"2"`` read as 2; ``1.5``,
  ``NaN`` or ``true`` are a malformed response, never rounded or read as 1;
* ``progress`` is a percentage shown to users: any finite number, rounded down;
* a sequence is a JSON list, never a string or an object read item by item (that would
  turn a URL into its characters). ``image_urls`` alone takes a bare string as one URL,
  since a server that usually sends one result may well send it unwrapped;
* times are ISO-8601 or epoch seconds, read as UTC when naive; booleans may be 0/1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar, get_args, get_origin

import cattrs
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, override
from cattrs.v import format_exception

from ._exceptions import UnexpectedResponseError
from ._models import ImageStatus
from ._protocol import brief

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


_WHOLE = re.compile(r"[+-]?[0-9]+(?:\.0*)?")


def _int(value: Any, _: Any) -> int:
    """A count: a whole number, possibly written ``2.0`` or ``"2"``; anything else raises."""
    if isinstance(value, bool):
        raise TypeError(f"expected a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError(f"expected a whole number, got {value!r}")
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        return int(value.strip().partition(".")[0])
    raise TypeError(f"expected a whole number, got {brief(value)}")


def _progress(value: Any, _: Any) -> int | None:
    """A percentage for display: a finite number (or numeric string), rounded down so a
    task never shows 100 before it is done."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(f"expected a number, got {brief(value)}")
    try:
        number = float(value)
    except ValueError:
        raise TypeError(f"expected a number, got {brief(value)}") from None
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return math.floor(number)


def _bool(value: Any, _: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise TypeError(f"expected a boolean, got {brief(value)}")


def _error_message(value: Any, _: Any) -> str:
    # Providers put either a string or {"code", "message"} here; keep a readable text.
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        message = value.get("message") or value.get("code")
        if message is not None:
            return message if isinstance(message, str) else brief(message)
    return brief(value)


def _is_homogeneous_tuple(type_: Any) -> bool:
    args = get_args(type_)
    return get_origin(type_) is tuple and len(args) == 2 and args[1] is Ellipsis


def _tuple_hook(type_: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
    """``tuple[X, ...]`` from a JSON list only: a string or an object is refused, never read
    item by item. Item errors keep their index in the path (``data.image_models[0].name``)."""
    item_type = get_args(type_)[0]

    def structure(value: Any, _: Any) -> tuple[Any, ...]:
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        items: list[Any] = []
        errors: list[Exception] = []
        for index, raw in enumerate(value):
            try:
                items.append(converter.structure(raw, item_type))
            except Exception as exc:
                note = IterableValidationNote(
                    f"Structuring {type_} @ index {index}", index, item_type
                )
                exc.__notes__ = [*getattr(exc, "__notes__", []), note]  # type: ignore[attr-defined]
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"While structuring {type_!r}", errors, type_)
        return tuple(items)

    return structure


converter.register_structure_hook(datetime, _parse_datetime)
converter.register_structure_hook(str, _strict_str)
converter.register_structure_hook(int, _int)
converter.register_structure_hook(bool, _bool)
converter.register_structure_hook_factory(_is_homogeneous_tuple, _tuple_hook)

_PROGRESS = override(struct_hook=_progress)
_image_status = make_dict_structure_fn(ImageStatus, converter, progress=_PROGRESS)


def _structure_image_status(data: Any, cls: Any) -> ImageStatus:
    if not isinstance(data, dict):
        raise TypeError(f"expected an object, got {type(data).__name__}")
    data = dict(data)
    if isinstance(data.get("error"), (dict, list)):
        data["error"] = _error_message(data["error"], None)
    urls = data.get("image_urls")
    if urls is None:
        urls = []
    elif isinstance(urls, str):  # one URL, unwrapped: one result, not its characters
        urls = [urls] if urls.strip() else []
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
    base = make_dict_structure_fn(cls, converter, progress=_PROGRESS)

    def structure(data: Any, c: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("error"), (dict, list)):
            data = {**data, "error": _error_message(data["error"], None)}
        return base(data, c)

    converter.register_structure_hook(cls, structure)


def _register_late() -> None:
    from ._models import VideoStatus

    _with_error_text(VideoStatus)


_register_late()


# -- the fast path of a status -------------------------------------------------------------
#
# A status is decoded on every poll. The common answer (every field absent, null or of its
# exact type, a progress that is a plain integer) is built directly; anything else returns
# None and goes through the converter above, which owns every rule and every error message.
# tests/test_models.py checks that both give the same model for the shapes they share.


def _plain_progress(value: Any) -> bool:
    return value is None or (type(value) is int and -(2**53) < value < 2**53)


def _plain_time(value: Any) -> datetime | None:
    """A completion time the fast path can read (None: absent, or leave it to the hooks)."""
    if value is None:
        return None
    if type(value) is not str:
        raise _Unusual
    try:
        return _parse_datetime(value, None)
    except ValueError:
        raise _Unusual from None


class _Unusual(Exception):
    """The data is not the common shape: decode it the general way."""


def _fast_image_status(data: Any) -> ImageStatus | None:
    if type(data) is not dict:
        return None
    get = data.get
    task_id, status, progress = get("task_id"), get("status"), get("progress")
    url, urls, error = get("image_url"), get("image_urls"), get("error")
    if (
        type(task_id) is not str
        or type(status) is not str
        or not _plain_progress(progress)
        or (url is not None and type(url) is not str)
        or (error is not None and type(error) is not str)
    ):
        return None
    if urls is None:
        merged: list[str] = []
    elif type(urls) is list and all(type(u) is str for u in urls):
        merged = list(urls)
    else:
        return None
    if url is not None and url not in merged:
        merged.insert(0, url)
    elif url is None and merged:
        url = merged[0]
    try:
        completed_at = _plain_time(get("completed_at"))
    except _Unusual:
        return None
    return ImageStatus(
        task_id=task_id,
        status=status,
        progress=progress,
        image_url=url,
        image_urls=tuple(merged),
        completed_at=completed_at,
        error=error,
    )


def _fast_video_status(data: Any) -> Any:
    from ._models import VideoStatus

    if type(data) is not dict:
        return None
    get = data.get
    task_id, status, progress = get("task_id"), get("status"), get("progress")
    url, error = get("video_url"), get("error")
    if (
        type(task_id) is not str
        or type(status) is not str
        or not _plain_progress(progress)
        or (url is not None and type(url) is not str)
        or (error is not None and type(error) is not str)
    ):
        return None
    try:
        completed_at = _plain_time(get("completed_at"))
    except _Unusual:
        return None
    return VideoStatus(
        task_id=task_id,
        status=status,
        progress=progress,
        video_url=url,
        completed_at=completed_at,
        error=error,
    )


def _fast_paths() -> dict[type[Any], Callable[[Any], Any]]:
    from ._models import VideoStatus

    return {ImageStatus: _fast_image_status, VideoStatus: _fast_video_status}


_FAST: dict[type[Any], Callable[[Any], Any]] = _fast_paths()


def _reason(exc: BaseException, type_: Any) -> str:
    """Our own hooks' words where they have them ("expected a whole number, got 1.5")."""
    if type(exc) in (TypeError, ValueError) and str(exc):
        return str(exc)
    return format_exception(exc, type_)


def decode(cls: type[T], data: Any, *, response: Any = None) -> T:
    """Structure ``data`` into ``cls``; any failure is an UnexpectedResponseError naming the path."""
    fast = _FAST.get(cls)
    if fast is not None:
        found = fast(data)
        if found is not None:
            return found  # type: ignore[no-any-return]
    try:
        return converter.structure(data, cls)
    except cattrs.BaseValidationError as exc:
        details = "; ".join(cattrs.transform_error(exc, path="data", format_exception=_reason))
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
    except RecursionError:
        raise UnexpectedResponseError(
            f"could not decode {cls.__name__}: the data nests too deeply",
            response=response,
            status_code=getattr(response, "status_code", None),
        ) from None
