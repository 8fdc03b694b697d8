"""Construction-time settings shared by both clients: key, base URL, timeouts, size cap,
headers."""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Mapping
from typing import Any

import httpx

from ._exceptions import AuthenticationError, InvalidParameterError
from ._secrets import check_api_key, redact

# The client classes import this module: the checks that need attrs (``_options``,
# ``_policy``) import it where they run, at construction, so naming a class stays cheap.

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "NotGiven",
    "configured_headers",
    "key_fingerprint",
    "redact",
    "resolve_api_key",
    "resolve_base_url",
    "resolve_default_headers",
    "resolve_max_response_size",
    "resolve_timeout",
]

DEFAULT_BASE_URL = "https://imgeditor.co/api/v1"


class NotGiven:
    """The type of ``NOT_GIVEN``: an argument of ``with_options`` left out (None is a value
    there: ``rate_limit=None`` switches the limit off)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False


NOT_GIVEN = NotGiven()

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=30.0)
"""connect 10 s, read 60 s (a generate call may take a while to answer), write 30 s, pool 30 s."""

DEFAULT_MAX_RESPONSE_SIZE = 16 * 1024 * 1024
"""Bytes: the most an API answer may hold once decoded (its JSON is a few hundred bytes).
A bigger one (a gzip bomb, a proxy's runaway page) is refused while it streams."""


def resolve_api_key(api_key: str | None) -> str:
    """The key from the argument or ``NANOBANANA_API_KEY``, checked to be header-safe.

    AuthenticationError when there is none, or when it is malformed (empty, whitespace or
    control characters inside, non-ASCII): refused here, without quoting it, rather than
    by the HTTP layer at the first request with the header in its message.
    """
    if api_key is None:
        api_key = os.environ.get("NANOBANANA_API_KEY") or None
    if api_key is None:
        raise AuthenticationError(
            "No API key: pass api_key=... or set NANOBANANA_API_KEY.",
            status_code=401,
            code="UNAUTHORIZED",
        )
    if not isinstance(api_key, str):
        raise AuthenticationError(
            f"The API key must be a str, not {type(api_key).__name__}.",
            status_code=401,
            code="UNAUTHORIZED",
        )
    return check_api_key(api_key)


def capped_timeout(timeout: httpx.Timeout, seconds: float) -> httpx.Timeout:
    """``timeout`` with no phase longer than ``seconds`` (what is left of a wait with a
    timeout: its poll must not outlast it). A phase of None (no limit) gets ``seconds``."""
    phases = {
        phase: seconds if value is None else min(value, seconds)
        for phase, value in timeout.as_dict().items()
    }
    return httpx.Timeout(**phases)


def resolve_base_url(base_url: str | httpx.URL | None) -> httpx.URL:
    """The base URL from the argument, ``NANOBANANA_BASE_URL`` or the default, ending in ``/``."""
    from ._protocol import base_url as normalise

    if base_url is None:
        base_url = os.environ.get("NANOBANANA_BASE_URL") or DEFAULT_BASE_URL
    return normalise(base_url)


def resolve_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    """A float (every phase) or an ``httpx.Timeout``; None gives DEFAULT_TIMEOUT.

    Checked here, at construction: NaN, infinity, a bool or a string would otherwise pass
    and fail at the first request with a raw ValueError or OverflowError. Inside an
    ``httpx.Timeout`` a phase may be None (httpx's "no limit" for that phase)."""
    if timeout is None or timeout is DEFAULT_TIMEOUT:
        return DEFAULT_TIMEOUT
    from ._policy import finite_seconds

    if isinstance(timeout, httpx.Timeout):
        for phase, value in timeout.as_dict().items():
            if value is not None and not finite_seconds(value, positive=True):
                raise InvalidParameterError(
                    "timeout",
                    timeout,
                    reason=f"invalid timeout: its {phase} phase is {value!r}; each phase "
                    "must be a positive, finite number of seconds, or None for no limit",
                )
        return timeout
    if not finite_seconds(timeout, positive=True):
        raise InvalidParameterError(
            "timeout", timeout, "a positive, finite number of seconds, or an httpx.Timeout"
        )
    return httpx.Timeout(float(timeout))


def resolve_max_retries(max_retries: int) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise InvalidParameterError("max_retries", max_retries, "an int >= 0")
    return max_retries


def resolve_max_response_size(max_response_size: int) -> int:
    if (
        isinstance(max_response_size, bool)
        or not isinstance(max_response_size, int)
        or max_response_size < 1
    ):
        raise InvalidParameterError("max_response_size", max_response_size, "an int >= 1 (bytes)")
    return max_response_size


def key_fingerprint(api_key: str) -> str:
    """A short, non-reversible name for a key: what logs, limiters and ledgers may show."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def resolve_default_headers(default_headers: Mapping[str, str] | None) -> dict[str, str] | None:
    """A copy of ``default_headers``, checked as ``extra_headers`` is (no Authorization)."""
    if default_headers is None:
        return None
    from ._options import check_headers

    check_headers("default_headers", default_headers)
    return dict(default_headers)


def configured_headers(headers: httpx.Headers) -> dict[str, str]:
    """The headers a user set on their own httpx client: those that differ from what every
    new httpx client carries (its ``User-Agent: python-httpx/...``, ``Accept: */*``, ...),
    which must not replace ours. Names are lowercase; repeated values are joined."""
    defaults = _httpx_default_headers()
    return {name: value for name, value in headers.items() if defaults.get(name) != value}


@functools.cache
def _httpx_default_headers() -> dict[str, str]:
    """The headers httpx gives a client nobody configured (asked once, of httpx itself)."""
    with httpx.Client(trust_env=False, transport=httpx.MockTransport(_unused)) as probe:
        return dict(probe.headers.items())


def _unused(request: httpx.Request) -> Any:  # pragma: no cover - the probe sends nothing
    raise AssertionError("the probe client sends nothing")
