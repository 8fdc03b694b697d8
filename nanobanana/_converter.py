"""The one cattrs converter, and ``decode``: JSON data to a model or UnexpectedResponseError.

Lenient where the wire is loose, strict where it is wrong:

* counts (credits) are whole numbers: ``2``, ``2.0`` and ``"2"`` read as 2; ``1.5``,
  ``NaN`` or ``true`` are a malformed response, never rounded or read as 1;
* ``progress`` is a percentage shown to users: any finite number, rounded down;
* a sequence is a JSON list, never a string or an object read item by item (that would
  turn a URL into its characters). ``image_urls`` alone takes a bare string as one URL,
  since a server that usually sends one result may well send it unwrapped;
* times are ISO-8601 or epoch seconds, read as UTC when naive; booleans may be 0/1.

A status's free text (``error``, a ``status`` the SDK does not know, the fields it does not
declare, kept in ``extra``) is where the server's words enter the SDK's own messages
(TaskFailedError, the unknown-status warning, a status's repr, a batch's journal):
``decode`` masks any API key echoed there, once, as the status is read.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timezone
from typing import Any, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, override
from cattrs.v import format_exception

from ._exceptions import InvalidParameterError, UnexpectedResponseError
from ._models import (
    KNOWN_STATES,
    NO_EXTRA,
    Extra,
    ImageStatus,
    Model,
    VideoStatus,
    declared_fields,
)
from ._protocol import brief
from ._secrets import mask_in_data, mask_secret, sent_key

__all__ = ["converter", "decode", "structure", "unstructure", "unstructure_value"]

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


def _is_model(type_: Any) -> bool:
    return isinstance(type_, type) and issubclass(type_, Model)


def _model_hook(cls: type[Model]) -> Callable[[Any, Any], Model]:
    """Every model's structuring: its declared fields by the rules above, every other key
    of the object into ``extra`` (nested models keep their own). A status's ``error`` may
    be an object (its text is kept); ``image_urls`` may be one URL, unwrapped, or null
    (``ImageStatus`` itself puts ``image_url`` in ``image_urls``)."""
    known = declared_fields(cls)
    overrides = {"extra": override(omit=True)}
    if "progress" in known:
        overrides["progress"] = _PROGRESS
    base = make_dict_structure_fn(cls, converter, **overrides)  # type: ignore[arg-type]
    status = cls in (ImageStatus, VideoStatus)
    image = cls is ImageStatus

    def structure(data: Any, _: Any) -> Model:
        if type(data) is not dict:
            if not isinstance(data, Mapping):
                raise TypeError(f"expected an object, got {type(data).__name__}")
            data = dict(data)
        if status:
            if isinstance(data.get("error"), (dict, list)):
                data = {**data, "error": _error_message(data["error"], None)}
            if image:
                urls = data.get("image_urls")
                if urls is None or isinstance(urls, str):
                    data = {**data, "image_urls": [urls] if urls and urls.strip() else []}
        model = base(data, cls)
        if known.issuperset(data):  # the usual answer: nothing the model does not declare
            return model
        extra = {key: value for key, value in data.items() if key not in known}
        for key in extra:
            if not isinstance(key, str):
                raise TypeError(f"field names are strings, got {brief(key)}")
        return attrs.evolve(model, extra=Extra(extra))

    return structure


converter.register_structure_hook_factory(_is_model, _model_hook)


# -- the fast path of a status -------------------------------------------------------------
#
# A status is decoded on every poll. The common answer (every field absent, null or of its
# exact type, a progress that is a plain integer, no field the model does not declare) is
# built directly; anything else (an unknown field for ``extra`` included) returns
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


_S = TypeVar("_S", ImageStatus, VideoStatus)

_IMAGE_KEYS = declared_fields(ImageStatus)
_VIDEO_KEYS = declared_fields(VideoStatus)


def _fast_image_status(data: Any) -> ImageStatus | None:
    if type(data) is not dict or not _IMAGE_KEYS.issuperset(data):  # extra: the hook's
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
        urls = ()
    elif type(urls) is not list or not all(type(u) is str for u in urls):
        return None
    try:
        completed_at = _plain_time(get("completed_at"))
    except _Unusual:
        return None
    return ImageStatus(  # (ImageStatus itself puts image_url in image_urls)
        task_id=task_id,
        status=status,
        progress=progress,
        image_url=url,
        image_urls=tuple(urls),
        completed_at=completed_at,
        error=error,
    )


def _fast_video_status(data: Any) -> VideoStatus | None:
    if type(data) is not dict or not _VIDEO_KEYS.issuperset(data):  # extra: the hook's
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


# The status types only: ``decode`` also masks what their free text echoes (``_masked``).
_FAST: dict[type[Any], Callable[[Any], Any]] = {
    ImageStatus: _fast_image_status,
    VideoStatus: _fast_video_status,
}


def _reason(exc: BaseException, type_: Any) -> str:
    """Our own hooks' words where they have them ("expected a whole number, got 1.5")."""
    if type(exc) in (TypeError, ValueError) and str(exc):
        return str(exc)
    return format_exception(exc, type_)


_FAILURES = (
    cattrs.BaseValidationError,
    TypeError,
    ValueError,
    KeyError,
    AttributeError,
    RecursionError,
)


def _explain(cls: type[Any], exc: BaseException, path: str) -> str:
    """Why ``data`` is not a ``cls``, naming the field (``data.image_models[0].name``)."""
    if isinstance(exc, cattrs.BaseValidationError):
        details = "; ".join(cattrs.transform_error(exc, path=path, format_exception=_reason))
        return f"could not decode {cls.__name__}: {details}"
    if isinstance(exc, RecursionError):
        return f"could not decode {cls.__name__}: the data nests too deeply"
    return f"could not decode {cls.__name__} at {path}: {exc}"


def decode(cls: type[T], data: Any, *, response: Any = None) -> T:
    """Structure ``data`` into ``cls``; any failure is an UnexpectedResponseError naming the path.

    A status comes back with any API key its free text echoes masked (``_masked``)."""
    fast = _FAST.get(cls)
    if fast is None:
        return _structure(cls, data, response)
    found = fast(data)
    if found is None:
        found = _structure(cls, data, response)
    return _masked(found, response)  # type: ignore[no-any-return]


def _structure(cls: type[T], data: Any, response: Any) -> T:
    try:
        return converter.structure(data, cls)
    except _FAILURES as exc:
        raise UnexpectedResponseError(
            _explain(cls, exc, "data"),
            response=response,
            status_code=getattr(response, "status_code", None),
        ) from None


def _masked(status: _S, response: Any) -> _S:
    """``status`` with the API key masked in its ``error``, an unknown ``status`` and the
    fields it does not declare (``extra``: a string, or one anywhere in an object or a
    list there): a server (or a provider behind it) may echo the request's
    ``Authorization`` there, and all of it goes on into exception messages, reprs, log
    lines and a batch's journal. Masked as ``_secrets.mask_secret`` does (the key the
    response's request carried, any 8 of its characters, any ``Bearer``/``nb_sk_``
    token)."""
    error, state, extra = status.error, status.status, status.extra
    if error is None and state in KNOWN_STATES and extra is NO_EXTRA:
        return status  # the common poll: no free text
    secret = sent_key(response)
    masked_error = None if error is None else mask_secret(error, secret)
    masked_state = state if state in KNOWN_STATES else mask_secret(state, secret)
    masked_extra = extra if extra is NO_EXTRA else mask_in_data(extra, secret)
    if masked_error == error and masked_state == state and masked_extra is extra:
        return status
    return attrs.evolve(status, error=masked_error, status=masked_state, extra=masked_extra)


def structure(cls: type[T], data: Any, *, path: str = "data") -> T:
    """``cls.from_dict(data)``: data a program kept, by the decoder's rules. It is the
    caller's argument, not the server's answer, so a failure is an InvalidParameterError
    (a ValueError) naming the field: ``data.subscription.end_date: ...``."""
    try:
        return converter.structure(data, cls)
    except _FAILURES as exc:
        raise InvalidParameterError("data", data, reason=_explain(cls, exc, path)) from None


# -- to_dict -----------------------------------------------------------------------------
#
# Written out rather than cattrs' unstructuring: the output must be JSON-safe whatever a
# hand-built model holds (a NaN, an object, a cycle in ``extra``), which cattrs does not
# promise. A model decoded from JSON comes back as the JSON it was read from.

MAX_DEPTH = 100
"""Nesting deeper than this (only a hand-built ``extra`` has it) is cut to a short text,
so neither ``to_dict`` nor ``json.dumps`` of its result can run out of stack."""


def unstructure(model: Model) -> dict[str, Any]:
    """``model.to_dict()`` (the rules are in its docstring)."""
    data: dict[str, Any] = _plain(model, 0)
    return data


def unstructure_value(value: Any) -> Any:
    """Any value as JSON-safe data, by the rules of ``Model.to_dict`` (for what a
    ``BatchItem`` holds besides models: its request's fields, its error's attributes)."""
    return _plain(value, 0)


def _plain(value: Any, depth: int) -> Any:
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if kind is float:
        return value if math.isfinite(value) else str(value)
    if depth >= MAX_DEPTH:
        return _text(value, brief)
    try:
        return _plain_object(value, depth + 1)
    except Exception:  # a hand-built value that cannot even be read: its text
        return _text(value, str)


def _plain_object(value: Any, depth: int) -> Any:
    if isinstance(value, Model):
        data = {
            a.name: _plain(getattr(value, a.name), depth)
            for a in attrs.fields(type(value))
            if a.name != "extra"
        }
        for key, item in value.extra.items():  # never a declared name: Model checks
            data[key] = _plain(item, depth)
        return data
    if isinstance(value, datetime):
        if value.utcoffset() is None:  # naive: UTC, as the decoder reads it
            value = value.replace(tzinfo=timezone.utc)
        return value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return _plain(value.value, depth)
    if isinstance(value, float):  # a subclass: the plain value, by the float rule
        return _plain(float.__float__(value), depth)
    if isinstance(value, (str, int)):  # a subclass: JSON writes it as the plain value
        return value
    if isinstance(value, Mapping):
        return {
            key if isinstance(key, str) else _text(key, str): _plain(item, depth)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(item, depth) for item in value]
    return _text(value, str)


def _text(value: Any, how: Callable[[Any], str]) -> str:
    try:
        return how(value)
    except Exception:  # even str() fails (a broken __str__, or a cycle): the type
        return f"<{type(value).__name__}>"
