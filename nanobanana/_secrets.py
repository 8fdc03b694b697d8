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
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

from ._exceptions import AuthenticationError

__all__ = [
    "FRAGMENT",
    "check_api_key",
    "clip",
    "mask_in_data",
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


def mask_in_data(data: Any, secret: str) -> Any:
    """``data`` (what JSON decodes to) with every string in it masked as ``mask_secret``
    masks one, the keys of its objects included; ``data`` itself when nothing is masked.

    ``mask_secret`` is costly, and its answer almost always "nothing": so the strings are
    joined and searched once for what any masked text must hold (``_may_hold``); only
    when that finds something are they masked one by one, and the containers that hold
    a masked one copied. The walks use a stack, not recursion: a value as deep as the
    JSON parser accepts never raises RecursionError here.
    """
    texts = _strings(data)
    if not texts or not _may_hold("\x00".join(texts), secret):
        return data
    return _rebuilt(data, lambda text: mask_secret(text, secret))


_PROBE = 4
"""``_may_hold`` looks for pieces of the key this long, ``FRAGMENT - _PROBE + 1`` apart:
so any run of FRAGMENT characters of the key holds one of them whole."""


def _may_hold(text: str, secret: str) -> bool:
    """False when ``mask_secret(text, secret)`` is surely ``text``: a cheap test (a few
    substring searches) that never says False when it would mask something: a masked
    run of a spelling of the key holds one of its ``_PROBE``-character pieces that start
    at a multiple of ``FRAGMENT - _PROBE + 1``, and a masked token holds ``nb_sk_`` or
    ``bearer``, in any case (``_TOKENS`` ignores case: so does ``casefold``, ``ſ`` too)."""
    folded = text.casefold()
    if "nb_sk_" in folded or "bearer" in folded:
        return True
    if not secret:
        return False
    rest = secret.replace("_", "").replace("-", "").replace(".", "").replace("~", "")
    if secret.isascii() and rest.isalnum():
        forms: Iterable[str] = (secret,)  # every spelling of such a key is the key itself
    else:
        forms = _spellings(secret)
    for form in forms:
        if len(form) < FRAGMENT:
            if form in text:
                return True
            continue
        for start in range(0, len(form) - _PROBE + 1, FRAGMENT - _PROBE + 1):
            if form[start : start + _PROBE] in text:
                return True
    return False


def _is_container(value: Any) -> bool:
    return isinstance(value, (Mapping, list, tuple))


def _entries(value: Any) -> Iterable[tuple[Any, Any]]:
    """A container's children as (key, value) pairs; the key is None in a list."""
    return value.items() if isinstance(value, Mapping) else ((None, v) for v in value)


def _strings(data: Any) -> list[str]:
    """Every string in ``data``: the values, and the keys of its mappings."""
    if isinstance(data, str):
        return [data]
    found: list[str] = []
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            found += [key for key in node if isinstance(key, str)]
            children: Iterable[Any] = node.values()
        elif isinstance(node, (list, tuple)):
            children = node
        else:
            continue
        for child in children:
            kind = type(child)  # what JSON gives, first: an ABC's isinstance is slow
            if kind is str:
                found.append(child)
            elif kind is dict or kind is list:
                stack.append(child)
            elif kind is int or kind is float or kind is bool or child is None:
                continue
            elif isinstance(child, str):
                found.append(child)
            else:
                stack.append(child)
    return found


def _rebuilt(data: Any, mask: Callable[[str], str]) -> Any:
    """``data`` with ``mask`` applied to each of its strings (mapping keys too): a mapping
    becomes a dict and a list or tuple keeps its type where a string under it changed;
    every other container is the same object."""

    def leaf(value: Any) -> Any:
        return mask(value) if isinstance(value, str) else value

    if not _is_container(data):
        return leaf(data)
    # A frame: a container, its entries still to see, its entries rebuilt so far (the
    # last one a placeholder while a container under it is rebuilt).
    frames: list[tuple[Any, Iterator[tuple[Any, Any]], list[tuple[Any, Any]]]] = [
        (data, iter(_entries(data)), [])
    ]
    while True:
        node, entries, done = frames[-1]
        for key, value in entries:
            if _is_container(value):
                done.append((leaf(key), value))
                frames.append((value, iter(_entries(value)), []))
                break
            done.append((leaf(key), leaf(value)))
        else:
            frames.pop()
            result = _assembled(node, done)
            if not frames:
                return result
            parent = frames[-1][2]
            parent[-1] = (parent[-1][0], result)


def _assembled(node: Any, done: list[tuple[Any, Any]]) -> Any:
    """``node`` again, or its copy from the entries ``done`` when any of them changed."""
    for (key, value), (old_key, old_value) in zip(done, _entries(node), strict=True):
        if _changed(key, old_key) or _changed(value, old_value):
            break
    else:
        return node
    if isinstance(node, Mapping):
        return dict(done)
    return type(node)(value for _, value in done)


def _changed(new: Any, old: Any) -> bool:
    # A container is rebuilt only when it changed (never compared: that would recurse).
    return new is not old and (not isinstance(new, str) or new != old)
