"""Batch outputs: BatchItem (the inputs are ``_requests``' classes; the batch errors are
``_exceptions``').

Also the pure helpers of a batch: turning an input into a request, a request's
fingerprint (parameters + position, what the journal checks on a rerun), which errors
stop a whole batch, and an item as JSON-safe data (``BatchItem.to_dict``) and back.
"""

from __future__ import annotations

import builtins
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, cast

import attrs

from . import _catalog
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BudgetExceededError,
    InsufficientCreditsError,
    InvalidParameterError,
    NanoBananaError,
    NotSubmittedError,
    PermissionDeniedError,
    RateLimitError,
    TaskFailedError,
    TaskTimeoutError,
    UnexpectedResponseError,
)
from ._models import ImageStatus, VideoStatus
from ._requests import ImageRequest, VideoRequest

__all__ = ["BatchItem"]


Request = ImageRequest | VideoRequest
Status = ImageStatus | VideoStatus

StatusT = TypeVar("StatusT", bound=ImageStatus | VideoStatus, covariant=True)


def _error_key(error: BaseException | None) -> str | None:
    """What makes two errors of items equal: their class and description (an exception
    compares by identity, so an item read back from JSON would never equal itself)."""
    if error is None:
        return None
    return json.dumps(error_to_dict(error), sort_keys=True)


@attrs.frozen
class BatchItem(Generic[StatusT]):
    """How one request of a batch ended: ``BatchItem[nb.ImageStatus]`` from
    ``images.generate_many``, ``BatchItem[nb.VideoStatus]`` from ``videos.generate_many``.

    Two items are equal when their fields are, errors compared by class and description
    (as ``to_dict`` writes them).
    """

    index: int
    """The request's position in the input (from 0)."""
    request: ImageRequest | VideoRequest
    """The request, as sent (or as it would have been)."""
    task_id: str | None = None
    """The task's id; None when nothing was submitted."""
    status: StatusT | None = None
    """The final status, when the task ended."""
    error: BaseException | None = attrs.field(default=None, eq=_error_key)
    """Why the item did not succeed (``TaskFailedError``, ``NotSubmittedError``...); None
    on success."""
    paths: tuple[Path, ...] = ()
    """The files written under ``save_to``."""
    credits_used: int | None = attrs.field(default=None, kw_only=True)
    """What the generate answer said the task cost; None when nothing was charged."""
    submitted_at: datetime | None = attrs.field(default=None, kw_only=True)
    """When the generate answer came, on the client's clock; None when not submitted."""
    ended_at: datetime | None = attrs.field(default=None, kw_only=True)
    """When the batch saw the task end (the poll that saw it; ``status.completed_at`` is
    the API's own time), on the client's clock; None while it runs."""

    @property
    def kind(self) -> Literal["image", "video"]:
        """``"image"`` or ``"video"``: the kind of the request."""
        return "video" if isinstance(self.request, VideoRequest) else "image"

    @property
    def ok(self) -> bool:
        """True when the task succeeded (and its files, if asked for, were saved)."""
        return self.error is None and self.status is not None and self.status.succeeded

    @property
    def submitted(self) -> bool:
        """True when the request reached the server and has a task id."""
        return self.task_id is not None

    @property
    def duration(self) -> float | None:
        """Seconds from ``submitted_at`` to ``ended_at``: None unless both are known, and
        when they disagree (an end before the submission: two runs of a journal on a
        simulator whose time runs faster than real time)."""
        if self.submitted_at is None or self.ended_at is None:
            return None
        seconds = (self.ended_at - self.submitted_at).total_seconds()
        return seconds if seconds >= 0 else None

    @property
    def needs_attention(self) -> bool:
        """True when the request may have been charged without a task id to show for it.

        The generate request was sent and its answer lost (timeout, broken connection,
        5xx, or a crash in a previous run). It is never resubmitted automatically.
        """
        return bool(getattr(self.error, "may_have_been_processed", False))

    def to_dict(self) -> dict[str, Any]:
        """The item as JSON-safe data, to log it or keep it.

        ``error`` is None or ``{"type": class name, "message": ...}`` plus the error's
        attributes among ``status_code``, ``code``, ``retry_after``,
        ``may_have_been_processed``, ``task_id``, ``timeout``, ``last_status``,
        ``parameter``, ``value``, ``allowed``, ``needed``, ``available``, ``balance``,
        ``max_credits`` and ``reason`` (an error, described the same way). ``message`` is
        what the error was made with (for an API error, the server's message, without
        the ``"402 CODE: "`` that ``str()`` puts before it).

        Returns:
            A new dict: ``kind``, ``index``, ``request`` (its fields, unset ones left
            out), ``task_id``, ``status`` (``status.to_dict()``), ``error``, ``paths``
            (strings), ``credits_used``, ``submitted_at`` and ``ended_at`` (ISO 8601, or
            None).
        """
        from ._converter import unstructure_value

        return {
            "kind": self.kind,
            "index": self.index,
            "request": unstructure_value(request_fields(self.request)),
            "task_id": self.task_id,
            "status": None if self.status is None else self.status.to_dict(),
            "error": None if self.error is None else error_to_dict(self.error),
            "paths": [str(p) for p in self.paths],
            "credits_used": self.credits_used,
            "submitted_at": unstructure_value(self.submitted_at),
            "ended_at": unstructure_value(self.ended_at),
        }

    def to_json(self, **json_kwargs: Any) -> str:
        """The item as a JSON text: ``json.dumps(self.to_dict(), **json_kwargs)``.

        Args:
            **json_kwargs: Passed to ``json.dumps`` (``indent=2``, ``sort_keys=True``...).

        Returns:
            The JSON text; ``from_dict(json.loads(text))`` gives the item back.
        """
        return json.dumps(self.to_dict(), **json_kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchItem[ImageStatus | VideoStatus]:
        """The item back from ``to_dict()``; equal to the one written.

        The error is rebuilt as the same class (any ``nanobanana`` error, or a built-in
        one such as ``OSError``) with the attributes written; an error of another class
        becomes an ``nb.NanoBananaError`` whose message starts with the class name.

        Args:
            data: What ``to_dict()`` gave (or the same read back from JSON).

        Returns:
            The item, its ``status`` an ``ImageStatus`` or a ``VideoStatus`` by ``kind``.

        Raises:
            InvalidParameterError: The data does not decode; the message names the field
                (``data.status.progress: ...``).
        """
        return _item_from_dict(data)

    def _repr_html_(self) -> str:
        """The item in a notebook: its picture(s) or video, prompt and status once it
        ended; its error when it failed (``nanobanana._gallery``)."""
        from ._gallery import item_html

        return item_html(self)


# -- pure helpers ----------------------------------------------------------------------

_FIELDS: Mapping[str, type[Any]] = {"image": ImageRequest, "video": VideoRequest}


def to_request(kind: str, raw: object) -> Request:
    """A prompt, a request object or a mapping of its fields, as the request of ``kind``."""
    cls = _FIELDS[kind]
    if isinstance(raw, str):
        return cls(raw)  # type: ignore[no-any-return]
    if isinstance(raw, (ImageRequest, VideoRequest)) and isinstance(raw, cls):
        return raw
    if isinstance(raw, Mapping):
        names = {a.name for a in attrs.fields(cls)}
        unknown = sorted(str(k) for k in raw if k not in names)  # pyright: ignore[reportUnknownVariableType]
        if unknown:
            raise InvalidParameterError(
                "request",
                dict(raw),  # pyright: ignore[reportUnknownArgumentType]
                reason=f"unknown field(s) for a {kind} request: {', '.join(unknown)}",
            )
        if "prompt" not in raw:
            raise InvalidParameterError(
                "request", dict(raw), reason=f"a {kind} request needs a prompt"
            )
        return cls(**raw)  # type: ignore[no-any-return]
    raise InvalidParameterError(
        "request",
        raw,
        reason=f"a {kind} batch takes prompts (str) or nb.{cls.__name__} objects, "
        f"got {type(raw).__name__}",
    )


def request_fields(request: Request) -> dict[str, Any]:
    """The request's fields, unset (None) ones left out: a field added to the schema later
    changes nothing for a request that does not use it (its fingerprint, its JSON)."""
    return {k: v for k, v in attrs.asdict(request).items() if v is not None}


def request_json(request: Request) -> str:
    """The request's fields as canonical JSON (``request_fields``), so a journal written
    before a field was added still resumes."""
    return json.dumps(request_fields(request), sort_keys=True, separators=(",", ":"))


def fingerprint(kind: str, index: int, request: Request) -> str:
    """A digest of the request's kind, position and parameters."""
    text = f"{kind}\n{index}\n{request_json(request)}"
    return hashlib.sha256(text.encode()).hexdigest()


def is_fatal(error: BaseException, request: Request | None = None) -> bool:
    """True when ``error`` stops a whole batch: 401, 402, a 403 on the key, or the batch's
    own budget refusing.

    A 403 for a subscription-only model (NOTES §6) is that request's own failure.
    """
    if isinstance(error, (AuthenticationError, InsufficientCreditsError, BudgetExceededError)):
        return True
    if isinstance(error, PermissionDeniedError):
        model = request.model if isinstance(request, ImageRequest) else None
        spec = _catalog.IMAGE_MODELS.get(model) if model is not None else None
        return not (spec is not None and spec.subscription_required)
    return False


def status_to_json(status: Status) -> str:
    """A final status as the journal keeps it: ``status.to_json()``, the wire shape."""
    return status.to_json()


def status_from_json(kind: str, text: str) -> Status:
    """The status back from the journal (rows written before ``to_json`` existed have the
    same shape, and load the same)."""
    cls: type[Status] = ImageStatus if kind == "image" else VideoStatus
    return cls.from_dict(json.loads(text))


# -- an item as data (BatchItem.to_dict / from_dict) ---------------------------------------

_ERROR_ATTRIBUTES = (
    "status_code",
    "code",
    "retry_after",
    "may_have_been_processed",
    "task_id",
    "timeout",
    "last_status",
    "parameter",
    "value",
    "allowed",
    "needed",
    "available",
    "balance",
    "max_credits",
)


def error_to_dict(error: BaseException) -> dict[str, Any]:
    """An error as JSON-safe data (the rules are in ``BatchItem.to_dict``)."""
    from ._converter import unstructure_value

    message = error.message if isinstance(error, APIStatusError) else str(error)
    data: dict[str, Any] = {"type": type(error).__name__, "message": message}
    for name in _ERROR_ATTRIBUTES:
        if hasattr(error, name):
            data[name] = unstructure_value(getattr(error, name))
    if isinstance(error, NotSubmittedError):
        data["reason"] = None if error.reason is None else error_to_dict(error.reason)
    return data


def _item_from_dict(data: Any) -> BatchItem[ImageStatus | VideoStatus]:
    from ._converter import structure

    _check(data, "data", Mapping, "an object")
    kind = data.get("kind")
    if kind not in ("image", "video"):
        raise _malformed("data.kind", f"expected 'image' or 'video', got {kind!r}")
    status_cls: type[Status] = ImageStatus if kind == "image" else VideoStatus
    index = _field(data, "index", int, "a whole number", required=True)
    raw_request = _field(data, "request", Mapping, "an object", required=True)
    try:
        request = to_request(kind, raw_request)
    except InvalidParameterError as exc:
        raise _malformed("data.request", str(exc)) from None
    raw_status = data.get("status")
    status = None if raw_status is None else structure(status_cls, raw_status, path="data.status")
    raw_paths = _field(data, "paths", list, "a list of paths") or []
    for n, path in enumerate(raw_paths):
        _check(path, f"data.paths[{n}]", str, "a path (a string)")
    raw_error = data.get("error")
    error = (
        None if raw_error is None else _error_from_dict(raw_error, "data.error", status_cls, status)
    )
    times = {}
    for key in ("submitted_at", "ended_at"):
        raw_time = data.get(key)
        times[key] = None if raw_time is None else structure(datetime, raw_time, path=f"data.{key}")
    return BatchItem(
        index,
        request,
        _field(data, "task_id", str, "a string"),
        status,
        error,
        tuple(Path(p) for p in raw_paths),
        credits_used=_field(data, "credits_used", int, "a whole number"),
        **times,
    )


def _error_from_dict(
    data: Any, path: str, status_cls: type[Status], status: Status | None
) -> BaseException:
    """The error a description stands for (see ``BatchItem.from_dict``)."""
    from ._converter import structure

    _check(data, path, Mapping, "an object")

    def get(key: str, type_: Any, expected: str, *, required: bool = False) -> Any:
        return _field(data, key, type_, expected, required=required, path=path)

    def whole(key: str, *, required: bool = False) -> Any:
        return get(key, int, "a whole number", required=required)

    def text(key: str) -> Any:
        return get(key, str, "a string")

    name = get("type", str, "a class name", required=True)
    message = get("message", str, "a string", required=True)
    cls = _error_class(name)
    if cls is None or (issubclass(cls, TaskFailedError) and status is None):
        return NanoBananaError(f"{name}: {message}")
    unknown_fate = bool(get("may_have_been_processed", bool, "true or false"))
    if issubclass(cls, BudgetExceededError):
        return cls(
            message,
            needed=whole("needed", required=True),
            available=whole("available", required=True),
            balance=whole("balance"),
            max_credits=whole("max_credits"),
        )
    if issubclass(cls, APIStatusError):
        status_code = whole("status_code", required=True)
        if issubclass(cls, RateLimitError):
            return cls(
                message,
                status_code=status_code,
                code=text("code"),
                retry_after=get("retry_after", (int, float), "a number"),
                may_have_been_processed=unknown_fate,
            )
        return cls(
            message,
            status_code=status_code,
            code=text("code"),
            may_have_been_processed=unknown_fate,
        )
    if issubclass(cls, APIConnectionError):
        return cls(message, may_have_been_processed=unknown_fate)
    if issubclass(cls, UnexpectedResponseError):
        return cls(message, status_code=whole("status_code"), may_have_been_processed=unknown_fate)
    if issubclass(cls, InvalidParameterError):
        parameter = get("parameter", str, "a string", required=True)
        return cls(parameter, data.get("value"), text("allowed"), reason=message)
    if issubclass(cls, TaskFailedError):
        assert status is not None  # (checked above)
        return cls(text("task_id") or status.task_id, status, status.error)
    if issubclass(cls, TaskTimeoutError):
        raw_last = data.get("last_status")
        last = None
        if raw_last is not None:
            last = structure(status_cls, raw_last, path=f"{path}.last_status")
        task_id = get("task_id", str, "a string", required=True)
        return cls(task_id, get("timeout", (int, float), "a number"), last)
    if issubclass(cls, NotSubmittedError):
        raw_reason = data.get("reason")
        reason = None
        if raw_reason is not None:
            reason = _error_from_dict(raw_reason, f"{path}.reason", status_cls, None)
        return cls(message, reason=reason)
    try:
        made: BaseException = cast(Any, cls)(message)
    except Exception:  # a class made with other arguments: keep the text
        return NanoBananaError(f"{name}: {message}")
    return made


def _error_class(name: str) -> type[BaseException] | None:
    """The class an error description names: a nanobanana error or a built-in one."""
    import nanobanana

    found = getattr(nanobanana, name, None) if name in nanobanana.__all__ else None
    if not (isinstance(found, type) and issubclass(found, NanoBananaError)):
        found = getattr(builtins, name, None)
        if not (isinstance(found, type) and issubclass(found, Exception)):
            return None
    return found


def _malformed(path: str, reason: str) -> InvalidParameterError:
    return InvalidParameterError(
        "data", None, reason=f"could not read a BatchItem: {path}: {reason}"
    )


def _check(value: Any, path: str, type_: type[Any] | tuple[type[Any], ...], expected: str) -> None:
    types = type_ if isinstance(type_, tuple) else (type_,)
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise _malformed(path, f"expected {expected}, got {type(value).__name__}")


def _field(
    data: Mapping[str, Any],
    key: str,
    type_: type[Any] | tuple[type[Any], ...],
    expected: str,
    *,
    required: bool = False,
    path: str = "data",
) -> Any:
    """``data[key]``: None when absent (or null) unless required, else of ``type_``."""
    value = data.get(key)
    if value is None:
        if required:
            raise _malformed(f"{path}.{key}", "missing")
        return None
    _check(value, f"{path}.{key}", type_, expected)
    return value
