"""Batch outputs: BatchItem (the inputs are ``_requests``' classes; the batch errors are
``_exceptions``').

Also the pure helpers of a batch: turning an input into a request, a request's
fingerprint (parameters + position, what the journal checks on a rerun), and which errors
stop a whole batch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from . import _catalog
from ._exceptions import (
    AuthenticationError,
    BudgetExceededError,
    InsufficientCreditsError,
    InvalidParameterError,
    PermissionDeniedError,
)
from ._models import ImageStatus, VideoStatus
from ._requests import ImageRequest, VideoRequest

__all__ = ["BatchItem"]


Request = ImageRequest | VideoRequest
Status = ImageStatus | VideoStatus


@attrs.frozen
class BatchItem:
    """How one request of a batch ended.

    ``index`` is the request's position in the input; ``task_id`` is None when nothing
    was submitted; ``status`` the final status when the task ended; ``error`` None on
    success; ``paths`` the files written under ``save_to``.
    """

    index: int
    request: ImageRequest | VideoRequest
    task_id: str | None = None
    status: ImageStatus | VideoStatus | None = None
    error: BaseException | None = None
    paths: tuple[Path, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the task succeeded (and its files, if asked for, were saved)."""
        return self.error is None and self.status is not None and self.status.succeeded

    @property
    def submitted(self) -> bool:
        """True when the request reached the server and has a task id."""
        return self.task_id is not None

    @property
    def needs_attention(self) -> bool:
        """True when the request may have been charged without a task id to show for it.

        The generate request was sent and its answer lost (timeout, broken connection,
        5xx, or a crash in a previous run). It is never resubmitted automatically.
        """
        return bool(getattr(self.error, "may_have_been_processed", False))


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


def request_json(request: Request) -> str:
    """The request's fields as canonical JSON, unset (None) ones left out: a field added to
    the schema later does not change the fingerprint of a request that does not use it, so
    a journal written before still resumes."""
    fields = {k: v for k, v in attrs.asdict(request).items() if v is not None}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"))


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
    """A final status as wire-shaped JSON (what the journal keeps)."""
    data: dict[str, Any] = {
        "task_id": status.task_id,
        "status": status.status,
        "progress": status.progress,
        "error": status.error,
        "completed_at": status.completed_at.isoformat() if status.completed_at else None,
    }
    if isinstance(status, ImageStatus):
        data["image_url"] = status.image_url
        data["image_urls"] = list(status.image_urls)
    else:
        data["video_url"] = status.video_url
    return json.dumps(data, sort_keys=True)


def status_from_json(kind: str, text: str) -> Status:
    """The status model back from ``status_to_json``."""
    from ._converter import decode

    data = json.loads(text)
    data = {k: v for k, v in data.items() if v is not None}
    if kind == "image":
        return decode(ImageStatus, data)
    return decode(VideoStatus, data)
