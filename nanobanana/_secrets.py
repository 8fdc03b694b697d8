"""The API key in text: what a well-formed key is, and how it is kept out of messages.

A key travels in one header (``Authorization: Bearer <key>``), so it must be header-safe:
printable ASCII without whitespace. Text that may echo it (an error body a proxy filled
with the request's headers, httpx's own error text) is masked *before* it is cut to
length, so a truncation never leaves a prefix of the key behind; and a key fragment an
upstream truncation left (``Bearer nb_sk_S3cr3t``) is masked too.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from ._exceptions import AuthenticationError

__all__ = [
    "FRAGMENT",
    "check_api_key",
    "clip",
    "mask_secret",
    "mask_tokens",
    "redact",
    "sent_key",
]

FRAGMENT = 8
"""A run of this many characters of the key is masked wherever it appears."""

# A bearer token's characters (RFC 6750), with ``\`` and ``%`` for escaped spellings. A key
# holding others is cut short here, but mask_secret still masks the rest.
_TOKEN_CHARS = r"[A-Za-z0-9\-._~+/=\\%]"
# ``Bearer <token>`` (any case), and an ``nb_sk_`` key standing alone.
# (Patterns stay strings, compiled on first use by ``re``'s cache: not at import.)
_TOKENS = rf"(?i)(\bbearer\s+)({_TOKEN_CHARS}+)|nb_sk_{_TOKEN_CHARS}*"


def redact(token: str) -> str:
    """How a key (or what looks like one) appears in text: its ``nb_sk_`` prefix at most."""
    return "nb_sk_..." if token.startswith("nb_sk_") else "..."


def check_api_key(api_key: str) -> str:
    """``api_key`` without surrounding whitespace, or AuthenticationError (never quoting it)."""
    key = api_key.strip()
    if not key:
        raise AuthenticationError("The API key is empty.", status_code=401, code="UNAUTHORIZED")
    for position, char in enumerate(key):
        if not "!" <= char <= "~":
            what = (
                "a non-ASCII character"
                if ord(char) > 0x7F
                else "whitespace"
                if char.isspace()
                else "a control character"
            )
            raise AuthenticationError(
                f"The API key holds {what} at position {position}: a key is printable "
                "ASCII without spaces (it is sent in an HTTP header). Check how it was "
                "copied or read.",
                status_code=401,
                code="UNAUTHORIZED",
            )
    return key


def sent_key(response: Any) -> str:
    """The key a response's request carried (its ``Authorization: Bearer`` value), to mask
    in what the response says; "" when there is none to read (no request, no header)."""
    try:
        value = response.request.headers.get("authorization", "")
    except (AttributeError, RuntimeError):  # no response, or an httpx.Response without request
        return ""
    scheme, _, token = str(value).partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def mask_tokens(text: str) -> str:
    """``text`` with every ``Bearer <token>`` and ``nb_sk_...`` token masked (no key needed)."""

    def masked(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1) + redact(match.group(2))
        return redact(match.group(0))

    return re.sub(_TOKENS, masked, text)


def clip(text: str, limit: int) -> str:
    """Mask tokens, then cut to ``limit`` characters: masking first, so no key prefix survives."""
    text = mask_tokens(text)
    return text[:limit] + ("..." if len(text) > limit else "")


def _spellings(secret: str) -> set[str]:
    """How an echo may spell the key: raw, JSON- or repr-escaped, as bytes, URL-encoded."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        repr(secret)[1:-1],
        repr(secret.encode("utf-8", "backslashreplace"))[2:-1],
        quote(secret, safe=""),
    }


def mask_secret(text: str, secret: str) -> str:
    """``text`` with the key, and any run of FRAGMENT or more of its characters, masked.

    Also masks ``Bearer``/``nb_sk_`` tokens, so a fragment shorter than FRAGMENT that
    follows ``Bearer`` goes too.
    """
    if not secret:
        return mask_tokens(text)
    mask = redact(secret)
    spans: list[tuple[int, int]] = []
    for form in _spellings(secret):
        if len(form) < FRAGMENT:
            start = text.find(form)
            while start != -1:
                spans.append((start, start + len(form)))
                start = text.find(form, start + 1)
            continue
        for i in range(len(form) - FRAGMENT + 1):
            gram = form[i : i + FRAGMENT]
            start = text.find(gram)
            while start != -1:
                spans.append((start, start + FRAGMENT))
                start = text.find(gram, start + 1)
    if spans:
        spans.sort()
        pieces: list[str] = []
        end = 0
        run_start, run_end = spans[0]
        for start, stop in [*spans[1:], (len(text) + 1, len(text) + 1)]:
            if start <= run_end:  # overlapping or adjacent: one run
                run_end = max(run_end, stop)
                continue
            pieces += [text[end:run_start], mask]
            end = run_end
            run_start, run_end = start, stop
        pieces.append(text[end:])
        text = "".join(pieces)
    return mask_tokens(text)
