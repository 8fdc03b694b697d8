"""Per-call options (openai-python's conventions): ``extra_headers``, ``extra_query``,
``extra_body`` and ``timeout``, which every endpoint method takes.

They travel as one ``RequestOptions`` value, checked when it is made (a bad option is an
InvalidParameterError before anything is sent) and applied by ``Operation.build`` and
``AsyncClient._request``. The fields' docs are the methods' docs: ``scripts/generate.py``
reads them from here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import httpx

from ._exceptions import InvalidParameterError

__all__ = ["NO_OPTIONS", "OnSend", "RequestOptions", "check_headers", "option_doc", "options_for"]

OnSend = Callable[[], None]
"""``_request``'s hook: run once per attempt, after the budget's permit is taken and before
the request leaves. If it raises, the permit is released unsent and the error propagates."""

_DOC = "nanobanana.doc"

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""A header name: an HTTP token (RFC 9110, 5.6.2)."""

_FORBIDDEN_HEADERS = frozenset({"authorization"})
"""Headers a call (or ``default_headers``) cannot set: the client's key always
authenticates its requests (and the key's budget counts them)."""


def _check_headers(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_headers(attribute.name, value)


def check_headers(name: str, value: Any) -> None:
    """Refuse headers that cannot be sent as given (InvalidParameterError naming ``name``):
    not a mapping of strings, a name that is not an HTTP token, a value that is not ASCII
    text (a line break, a control character), or an ``Authorization`` header.
    ``extra_headers`` and the client's ``default_headers`` follow these rules."""
    if value is None:
        return
    _check_mapping(name, value)
    for header, text in value.items():
        if not isinstance(text, str):
            raise InvalidParameterError(
                name,
                value,
                reason=f"{name}[{header!r}] must be a string, got {type(text).__name__}",
            )
        if header.lower() in _FORBIDDEN_HEADERS:
            raise InvalidParameterError(
                name,
                value,
                reason=f"{name} cannot set {header}: the client's API key authenticates "
                "every request (use a client made with that key instead)",
            )
        if not _TOKEN.fullmatch(header):
            raise InvalidParameterError(
                name,
                value,
                reason=f"{name}: {header!r} is not a header name (letters, digits and "
                "!#$%&'*+-.^_`|~ only)",
            )
        if not text.isascii() or any((c < " " and c != "\t") or c == "\x7f" for c in text):
            raise InvalidParameterError(
                name,
                value,
                reason=f"{name}[{header!r}]: a header value is ASCII text without line "
                "breaks or control characters",
            )


def _check_query(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    _check_mapping(attribute.name, value)
    for name, item in value.items():
        if not isinstance(item, (str, int, float)):  # bool is an int
            raise InvalidParameterError(
                attribute.name,
                value,
                reason=f"extra_query[{name!r}] must be a str, int, float or bool, "
                f"got {type(item).__name__}",
            )


def _check_body(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    _check_mapping(attribute.name, value)
    try:  # encoded as the body will be: a failure here, not a raw error at send time
        # allow_nan=False: NaN and infinity are not JSON, and a server would refuse the body
        json.dumps(dict(value), ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError) as exc:  # UnicodeEncodeError is a ValueError
        raise InvalidParameterError(
            attribute.name, value, reason=f"extra_body cannot be sent as JSON: {exc}"
        ) from None


def _check_mapping(name: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise InvalidParameterError(
            name, value, reason=f"{name} must be a mapping, got {type(value).__name__}"
        )
    for key in value:
        if not isinstance(key, str):
            raise InvalidParameterError(
                name, value, reason=f"{name} keys must be strings, got {key!r}"
            )


def _check_timeout(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        from ._config import resolve_timeout

        resolve_timeout(value)  # the client's own rules: InvalidParameterError when bad


def option_doc(field: attrs.Attribute[Any]) -> str:
    """The option's one-line description."""
    return str(field.metadata[_DOC])


@attrs.frozen
class RequestOptions:
    """What one call adds to its request. All None: the request as the SDK builds it."""

    extra_headers: Mapping[str, str] | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_check_headers,
        metadata={
            _DOC: "Headers added to this request; they replace the SDK's of the same name "
            "(Authorization cannot be set)."
        },
    )
    extra_query: Mapping[str, str | int | float | bool] | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_check_query,
        metadata={
            _DOC: "Query parameters added to this request's URL; they replace the SDK's of "
            "the same name."
        },
    )
    extra_body: Mapping[str, object] | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_check_body,
        metadata={
            _DOC: "Fields merged into the JSON body as given, unvalidated, replacing the "
            "SDK's of the same name: how to send a parameter the SDK does not know yet."
        },
    )
    timeout: float | httpx.Timeout | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_check_timeout,
        metadata={
            _DOC: "Seconds (or an httpx.Timeout) for this request; None: the client's timeout."
        },
    )

    def resolved_timeout(self, default: httpx.Timeout) -> httpx.Timeout:
        """This call's timeout: its own, else ``default`` (the client's)."""
        if self.timeout is None:
            return default
        from ._config import resolve_timeout

        return resolve_timeout(self.timeout)


NO_OPTIONS = RequestOptions()
"""A call with no options (polls, the batch's own requests)."""


def options_for(
    *,
    extra_headers: Mapping[str, str] | None = None,
    extra_query: Mapping[str, str | int | float | bool] | None = None,
    extra_body: Mapping[str, object] | None = None,
    timeout: float | httpx.Timeout | None = None,
) -> RequestOptions:
    """A call's options: the shared ``NO_OPTIONS`` when it gives none (most calls, every
    poll: nothing to check, no object built), else a checked ``RequestOptions``."""
    if extra_headers is None and extra_query is None and extra_body is None and timeout is None:
        return NO_OPTIONS
    return RequestOptions(
        extra_headers=extra_headers, extra_query=extra_query, extra_body=extra_body, timeout=timeout
    )
