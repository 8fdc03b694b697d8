"""What the simulator puts on the wire and reads off it: replies, the JSON envelope,
request bodies. Pure; the front ends (``_transport``, ``_asgi``) carry the bytes."""

from __future__ import annotations

import json
import reprlib
from collections.abc import Sequence
from typing import Any, Literal

import attrs

__all__ = [
    "API_PREFIX",
    "BAD_JSON",
    "JSON",
    "Action",
    "Outcome",
    "Refusal",
    "Reply",
    "canonical",
    "error",
    "json_object",
    "ok",
    "parse_body",
    "shown",
    "text",
]

API_PREFIX = "/api/v1/"
JSON = "application/json"

Action = Literal["respond", "connection_refused", "reset_before", "reset_after", "hang"]


@attrs.frozen
class Reply:
    """An HTTP answer: status, headers, body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@attrs.frozen
class Outcome:
    """What a front end does: after ``delay`` API seconds, ``action`` (with ``reply``)."""

    action: Action
    reply: Reply | None = None
    delay: float = 0.0


def _json_reply(status: int, payload: Any, headers: Sequence[tuple[str, str]] = ()) -> Reply:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Reply(status, (("content-type", JSON), *headers), body)


def ok(data: Any) -> Reply:
    """The success envelope."""
    return _json_reply(200, {"success": True, "data": data})


_MESSAGE_LIMIT = 300
"""Longest error message sent: a huge value in a body must not make a huge answer."""


def error(status: int, code: str, message: str, headers: Sequence[tuple[str, str]] = ()) -> Reply:
    """The error envelope (the message clipped to 300 characters)."""
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 3] + "..."
    return _json_reply(
        status, {"success": False, "error": {"code": code, "message": message}}, headers
    )


def text(status: int, body: str) -> Reply:
    """A plain-text answer (the asset host's)."""
    return Reply(status, (("content-type", "text/plain; charset=utf-8"),), body.encode())


class Refusal(Exception):
    """Raised by a handler to answer with an error envelope instead of going on."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, code, message)
        self.reply = error(status, code, message)


_REPR = reprlib.Repr()
_REPR.maxstring = 80
_REPR.maxother = 80
_REPR.maxlong = 40
_REPR.maxlevel = 3


def shown(value: Any) -> str:
    """A short repr of a body value for an error message (bounded in size and depth)."""
    try:
        return _REPR.repr(value)
    except (ValueError, RecursionError):  # pragma: no cover - JSON cannot produce these
        return f"<{type(value).__name__}>"


# -- request bodies -------------------------------------------------------------------------

BAD_JSON: Any = object()
"""What ``parse_body`` returns for bytes that are not JSON."""


def parse_body(body: bytes) -> Any:
    """The decoded JSON body, None when empty, ``BAD_JSON`` when undecodable."""
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # ValueError covers bad UTF-8 and huge integers
        return BAD_JSON


def json_object(body: Any, allowed: frozenset[str]) -> dict[str, Any]:
    """The body's fields (nulls dropped, as if not sent); 400 unless it is a JSON object
    of known fields only."""
    if body is BAD_JSON:
        raise Refusal(400, "INVALID_REQUEST", "The request body is not valid JSON")
    if not isinstance(body, dict):
        raise Refusal(400, "INVALID_REQUEST", "The request body must be a JSON object")
    fields: dict[str, Any] = dict(body)  # pyright: ignore[reportUnknownArgumentType]
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise Refusal(400, "INVALID_REQUEST", f"Unknown field(s): {', '.join(unknown)}")
    return {k: v for k, v in fields.items() if v is not None}


def canonical(body: Any) -> str:
    """A body as canonical JSON: what the ledger compares to spot a double submission."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"))
