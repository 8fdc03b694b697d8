"""The sans-IO protocol: operations to ``httpx.Request``, ``httpx.Response`` to models or errors.

Nothing here does I/O. Both clients call ``Operation.build`` and ``Operation.parse``,
so a request, a decode and an error mapping exist exactly once. A request object
(``_requests``) becomes its JSON body here, by its fields' wire names.
"""

from __future__ import annotations

import email.utils
import functools
import json
import math
import reprlib
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlencode

import attrs
import httpx

from ._exceptions import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ContentFilteredError,
    InsufficientCreditsError,
    InternalServerError,
    NanoBananaError,
    PermissionDeniedError,
    RateLimitError,
    TaskNotFoundError,
    UnexpectedResponseError,
)
from ._models import (
    CostEstimate,
    Credits,
    ImageStatus,
    ModelCatalog,
    TaskCreated,
    VideoStatus,
)
from ._options import RequestOptions
from ._requests import CostRequest, ImageRequest, VideoRequest, resolved_mode, wire_name
from ._secrets import clip, mask_tokens
from ._version import __version__

__all__ = [
    "USER_AGENT",
    "Operation",
    "ApiHeaders",
    "api_headers",
    "encode",
    "error_from_response",
    "parse_retry_after",
    "response_too_large",
    "undecodable_body",
]

T = TypeVar("T")

USER_AGENT = f"nanobanana-python/{__version__}"


def _tables() -> Any:
    """The validation tables, loaded with the first generate or cost request, not with the
    package (they are a twentieth of its import time)."""
    from . import _catalog

    return _catalog


Safety = Literal["read", "generate"]
"""How a request may be retried: ``read`` is safe to repeat; ``generate`` charges credits."""

_CODE_TO_ERROR: Mapping[str, type[APIStatusError]] = {
    "UNAUTHORIZED": AuthenticationError,
    "INSUFFICIENT_CREDITS": InsufficientCreditsError,
    "FORBIDDEN": PermissionDeniedError,
    "RATE_LIMIT_EXCEEDED": RateLimitError,
    "INVALID_PROMPT": BadRequestError,
    "INVALID_MODEL": BadRequestError,
    "INVALID_REQUEST": BadRequestError,
    "TASK_NOT_FOUND": TaskNotFoundError,
    "CONTENT_FILTERED": ContentFilteredError,
    "INTERNAL_ERROR": InternalServerError,
}

_STATUS_TO_ERROR: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: TaskNotFoundError,
    429: RateLimitError,
    451: ContentFilteredError,
}

_CODE_STATUS: Mapping[str, int] = {
    "UNAUTHORIZED": 401,
    "INSUFFICIENT_CREDITS": 402,
    "FORBIDDEN": 403,
    "RATE_LIMIT_EXCEEDED": 429,
    "INVALID_PROMPT": 400,
    "INVALID_MODEL": 400,
    "TASK_NOT_FOUND": 404,
    "CONTENT_FILTERED": 451,
    "INTERNAL_ERROR": 500,
}


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None.

    A negative number is not delta-seconds (RFC 9110, 10.2.3): None, as for garbage, so
    the caller's own backoff applies; a date already past is 0."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
        if seconds < 0:
            return None
    except ValueError:
        when = parse_http_date(text)
        if when is None:
            return None
        seconds = when.timestamp() - now()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


@functools.lru_cache(maxsize=4)
def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP date (a ``Date`` header, or a ``Retry-After`` that is a date) as an aware
    date-time, or None when absent or not a date. Every HTTP date is GMT (RFC 9110,
    5.6.7), the obsolete asctime form too, which names no zone: a date without a zone is
    read as GMT, never as this machine's local time. Whole seconds: HTTP dates have no
    fraction. Cached: a server's ``Date`` changes once a second."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def _snippet(response: httpx.Response) -> str:
    """The start of a body for an error message, with any echoed key masked first (a
    proxy may echo the request's ``Authorization`` header; cutting before masking would
    leave a prefix of the key)."""
    try:
        text = response.text
    except Exception:  # undecodable bytes: say so rather than fail while failing
        return "<undecodable body>"
    return clip(" ".join(text.split()), 200)


def _error_class(code: str | None, status_code: int) -> type[APIStatusError]:
    if code is not None and code in _CODE_TO_ERROR:
        return _CODE_TO_ERROR[code]
    if status_code in _STATUS_TO_ERROR:
        return _STATUS_TO_ERROR[status_code]
    if status_code >= 500:
        return InternalServerError
    return APIStatusError


def _make_error(
    cls: type[APIStatusError],
    message: str,
    status_code: int,
    code: str | None,
    response: httpx.Response,
    unknown_fate: bool = False,
) -> APIStatusError:
    if issubclass(cls, RateLimitError):
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return cls(
            message,
            status_code=status_code,
            code=code,
            response=response,
            retry_after=retry_after,
            may_have_been_processed=unknown_fate,
        )
    return cls(
        message,
        status_code=status_code,
        code=code,
        response=response,
        may_have_been_processed=unknown_fate,
    )


def _load_json(response: httpx.Response) -> Any:
    """The parsed body; ``_NOT_JSON`` when it is not JSON, ``_TOO_DEEP`` when it nests
    deeper than the interpreter can parse (a RecursionError, never let out raw)."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON
    except RecursionError:
        return _TOO_DEEP


_NOT_JSON = object()
_TOO_DEEP = object()


def brief(value: Any) -> str:
    """A short repr of any decoded value: bounded in depth and length, so a huge or deeply
    nested body cannot blow up (or flood) an error message."""
    return _BRIEF.repr(value)


_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxstring, _BRIEF.maxother = 3, 200, 80


def error_from_response(
    response: httpx.Response, body: Any = None, *, safety: Safety = "read"
) -> APIStatusError:
    """The typed error for an error response: envelope ``code`` first, HTTP status otherwise.

    A 5xx answer to a generate request leaves its fate unknown (the server may have
    created and charged the task before failing); the error says so.
    """
    if body is None:
        body = _load_json(response)
    status_code = response.status_code
    code: str | None = None
    message: str | None = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            raw_code = err.get("code")
            code = raw_code if isinstance(raw_code, str) else None
            raw_message = err.get("message")
            message = mask_tokens(raw_message) if isinstance(raw_message, str) else None
        elif isinstance(err, str):
            message = mask_tokens(err)
    if message is None:
        reason = response.reason_phrase or "error"
        snippet = _snippet(response)
        kind = "non-JSON body" if body is _NOT_JSON else "body that is not the error envelope"
        message = f"HTTP {status_code} {reason} with a {kind}" + (f": {snippet}" if snippet else "")
    if status_code < 400 and code is not None:
        status_code = _CODE_STATUS.get(code, status_code)
    unknown_fate = safety == "generate" and status_code >= 500
    return _make_error(
        _error_class(code, status_code), message, status_code, code, response, unknown_fate
    )


_SPENT = httpx.ByteStream(b"")


def detach_stream(response: httpx.Response) -> None:
    """Cut a read (or abandoned) and closed answer from its stream. httpx's response and
    its stream refer to each other: a cycle only the garbage collector frees, and late
    when the answer outlived a collection (10,000 generate answers, each read in a task of
    its own, held ~6 KB a task until a full one). Closed, the stream is never read again:
    ``.content`` holds what was read, and reading more raises as before."""
    response.stream = _SPENT


def response_too_large(
    response: httpx.Response, limit: int, *, safety: Safety = "read"
) -> NanoBananaError:
    """The error for an answer whose decoded body passed ``limit`` bytes (reading stopped)."""
    return _unreadable(
        response,
        f"HTTP {response.status_code}: the response body is larger than max_response_size="
        f"{limit} bytes once decoded, so reading stopped. An API answer is a few hundred "
        "bytes: a proxy, or a compressed body that inflates without end, is the likely "
        "cause. To accept more, pass max_response_size=... to the client.",
        safety,
    )


def undecodable_body(
    response: httpx.Response, exc: Exception, *, safety: Safety = "read"
) -> NanoBananaError:
    """The error for an answer whose ``Content-Encoding`` could not be undone."""
    encoding = response.headers.get("content-encoding", "none")
    return _unreadable(
        response,
        f"HTTP {response.status_code}: the body could not be decoded "
        f"(Content-Encoding: {clip(encoding, 40)}): {clip(str(exc), 200)}",
        safety,
    )


def _unreadable(response: httpx.Response, message: str, safety: Safety) -> NanoBananaError:
    # An error status keeps its class (a huge 5xx page is still a 5xx: its retry rule
    # holds, and a generate's fate is unknown); a 2xx is an UnexpectedResponseError, which
    # ``_policy.mark_unknown_fate`` marks for a generate request.
    status_code = response.status_code
    if status_code >= 400:
        unknown_fate = safety == "generate" and status_code >= 500
        return _make_error(
            _error_class(None, status_code), message, status_code, None, response, unknown_fate
        )
    return UnexpectedResponseError(message, response=response, status_code=status_code)


def _unwrap(response: httpx.Response, safety: Safety) -> Any:
    """The ``data`` of a success envelope, or raise the typed error."""
    body = _load_json(response)
    if response.status_code >= 400:
        raise error_from_response(response, body, safety=safety)
    if 300 <= response.status_code < 400 and response.is_redirect:
        location = clip(mask_tokens(response.headers.get("location", "")), 120)
        raise UnexpectedResponseError(
            f"HTTP {response.status_code}: a redirect (to {location or 'nowhere said'}), "
            "which API requests never follow: is base_url the API's address?",
            response=response,
            status_code=response.status_code,
        )
    if body is _NOT_JSON:
        raise UnexpectedResponseError(
            f"HTTP {response.status_code}: the body is not JSON: {_snippet(response)}",
            response=response,
            status_code=response.status_code,
        )
    if body is _TOO_DEEP:
        raise UnexpectedResponseError(
            f"HTTP {response.status_code}: the body nests too deeply to be read as JSON",
            response=response,
            status_code=response.status_code,
        )
    if not isinstance(body, dict) or "success" not in body:
        raise UnexpectedResponseError(
            f"HTTP {response.status_code}: the body is not the API's envelope: {_snippet(response)}",
            response=response,
            status_code=response.status_code,
        )
    if body.get("success") is not True:
        if isinstance(body.get("error"), dict):
            raise error_from_response(response, body, safety=safety)
        raise UnexpectedResponseError(
            f"HTTP {response.status_code}: an envelope with success={brief(body.get('success'))} and no error",
            response=response,
            status_code=response.status_code,
        )
    data = body.get("data")
    if not isinstance(data, dict):
        raise UnexpectedResponseError(
            f"HTTP {response.status_code}: the envelope has no data object (data={clip(brief(data), 80)})",
            response=response,
            status_code=response.status_code,
        )
    return data


_ENDPOINTS: dict[tuple[int, str], tuple[httpx.URL, httpx.URL, str]] = {}


def _endpoint(base_url: httpx.URL, path: str) -> tuple[httpx.URL, str]:
    """``base_url.join(path)`` without query or fragment, parsed and as a string, cached per
    base URL object and path.

    A join parses URLs twice, and even hashing an ``httpx.URL`` rebuilds its string, so the
    cache is keyed by the object's identity (it is kept in the entry, so the identity
    cannot be reused while the entry lives). ``httpx.Request`` given the parsed URL shares
    its parts instead of parsing a string again; a URL with a query is written from the
    string (``str()`` of a parsed URL would build it again on every call).
    """
    key = (id(base_url), path)
    found = _ENDPOINTS.get(key)
    if found is not None and found[0] is base_url:
        return found[1], found[2]
    endpoint = base_url.join(path).copy_with(query=None, fragment=None)
    if len(_ENDPOINTS) >= 256:
        _ENDPOINTS.clear()
    written = str(endpoint)
    _ENDPOINTS[key] = (base_url, endpoint, written)
    return endpoint, written


def _query(params: Mapping[str, Any]) -> str:
    """The encoded query string, as ``httpx.QueryParams`` would write it."""
    if all(type(v) is str for v in params.values()):
        return urlencode(params)
    return str(httpx.QueryParams(params))


_DECODE: list[Callable[..., Any]] = []


def _decoder() -> Callable[..., Any]:
    """``_converter.decode``, imported on the first decode so cattrs does not load with the
    package (-11 ms); kept here after that, since an import statement costs a lookup a call."""
    if not _DECODE:
        from ._converter import decode

        _DECODE.append(decode)
    return _DECODE[0]


@attrs.frozen
class Operation(Generic[T]):
    """One API call, described without I/O: how to build it, how to read its answer."""

    name: str
    method: str
    path: str
    result: type[T]
    safety: Safety
    params: Mapping[str, str] | None = None
    body: Mapping[str, Any] | None = None

    def build(
        self, base_url: httpx.URL, headers: ApiHeaders, options: RequestOptions
    ) -> httpx.Request:
        """The ``httpx.Request`` for this operation; ``headers`` are ``api_headers(...)``.

        A JSON body is sent with ``headers.json``. The call's options are merged last, so
        their keys replace ours: ``extra_query``
        into the URL's parameters, ``extra_body`` into the JSON body (sent even on a GET,
        as openai does), ``extra_headers`` into the headers (``RequestOptions`` refuses an
        Authorization header, so the client's key always authenticates).
        """
        endpoint, written = _endpoint(base_url, self.path)
        url: httpx.URL | str = endpoint
        params = self.params
        if options.extra_query:
            extra = {k: _query_value(v) for k, v in options.extra_query.items()}
            params = {**(params or {}), **extra}
        if params:
            url = f"{written}?{_query(params)}"
        body = self.body
        if options.extra_body is not None:
            body = {**(body or {}), **options.extra_body}
        content: bytes | None = None
        chosen = headers.plain
        if body is not None:
            content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            chosen = headers.json
        if options.extra_headers:
            chosen = httpx.Headers(chosen)
            chosen.update(options.extra_headers)
            chosen["Authorization"] = headers.plain["Authorization"]
        return httpx.Request(self.method, url, headers=chosen, content=content)

    def parse(self, response: httpx.Response) -> T:
        """The decoded model, or the typed error the response stands for. A generate
        answer whose ``task_id`` reads while another field does not keeps the id on the
        error: the task exists and is charged, and must not be lost."""
        data = _unwrap(response, self.safety)
        try:
            decoded: T = _decoder()(self.result, data, response=response)
        except UnexpectedResponseError as exc:
            task_id = data.get("task_id")
            if self.safety != "generate" or not isinstance(task_id, str) or not task_id:
                raise
            raise UnexpectedResponseError(
                str(exc), response=response, status_code=exc.status_code, task_id=task_id
            ) from None
        return decoded


def base_url(raw: str | httpx.URL) -> httpx.URL:
    """Normalise a base URL so relative endpoint paths join under it."""
    url = httpx.URL(str(raw))
    if url.scheme not in ("http", "https") or not url.host:
        from ._exceptions import InvalidParameterError

        raise InvalidParameterError("base_url", str(raw), "an absolute http(s) URL")
    if not url.raw_path.endswith(b"/"):
        url = url.copy_with(raw_path=url.raw_path + b"/")
    return url


@attrs.frozen
class ApiHeaders:
    """The headers every API request of a client carries, built once: ``httpx.Request``
    given an ``httpx.Headers`` copies its list and shares the encoded entries, instead of
    encoding every name and value again (a tenth of a request's objects). Never changed
    after ``api_headers`` makes them."""

    plain: httpx.Headers
    """For a request without a body."""
    json: httpx.Headers
    """For one with a JSON body: ``plain`` with ``Content-Type: application/json``."""


def api_headers(api_key: str, *layers: Mapping[str, str] | None) -> ApiHeaders:
    """The headers every API request carries.

    Ours (``User-Agent``, ``Accept``), then each of ``layers`` in order, a later one
    replacing an earlier one's header of the same name (any case): the client passes the
    headers set on the user's http client, then ``default_headers``. ``Authorization``
    comes last, always the client's key. A JSON body's ``Content-Type`` replaces any other.
    """
    merged: dict[str, tuple[str, str]] = {
        "user-agent": ("User-Agent", USER_AGENT),
        "accept": ("Accept", "application/json"),
    }
    for layer in layers:
        for name, value in (layer or {}).items():
            merged[name.lower()] = (name, value)
    merged["authorization"] = ("Authorization", f"Bearer {api_key}")
    plain = dict(merged.values())
    with_json = {k: v for k, v in plain.items() if k.lower() != "content-type"}
    with_json["Content-Type"] = "application/json"
    return ApiHeaders(httpx.Headers(plain), httpx.Headers(with_json))


def _task_id(task_id: Any) -> str:
    if not isinstance(task_id, str) or not task_id.strip():
        from ._exceptions import InvalidParameterError

        raise InvalidParameterError(
            "task_id",
            task_id,
            reason=f"task_id must be a non-empty string, got {task_id!r}",
        )
    if not task_id.isascii():  # task ids are ASCII; the rare other one is checked in full
        _tables().check_text("task_id", task_id)
    return task_id


def _query_value(value: str | int | float | bool) -> str:
    """A query value as text: JSON's spelling for booleans (``true``), as openai sends them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_WIRE_NAMES: dict[type[Any], tuple[tuple[str, str], ...]] = {}


def _wire_names(cls: type[Any]) -> tuple[tuple[str, str], ...]:
    """``(field name, wire name)`` of every field of a request class, in order (cached)."""
    names = _WIRE_NAMES.get(cls)
    if names is None:
        names = _WIRE_NAMES[cls] = tuple((f.name, wire_name(f)) for f in attrs.fields(cls))
    return names


def encode(request: ImageRequest | VideoRequest | CostRequest) -> dict[str, Any]:
    """The JSON body of a request: its fields by wire name, None left out, and an image
    request's mode as it is resolved (``_requests.resolved_mode``). Does not validate."""
    resolved = {"mode": resolved_mode(request)} if isinstance(request, ImageRequest) else {}
    body: dict[str, Any] = {}
    for name, wire in _wire_names(type(request)):
        value = resolved[name] if name in resolved else getattr(request, name)
        if value is not None:
            body[wire] = value
    return body


# -- the operations of the API --------------------------------------------------------


def generate(request: ImageRequest | VideoRequest) -> Operation[TaskCreated]:
    """The generate request of ``request``, validated (InvalidParameterError: nothing sent)."""
    _tables().validate(request)
    if isinstance(request, ImageRequest):
        name, path = "images.generate", "images/generate"
    else:
        name, path = "videos.generate", "videos/generate"
    return Operation(name, "POST", path, TaskCreated, "generate", body=encode(request))


def image_status(task_id: Any) -> Operation[ImageStatus]:
    return Operation(
        "images.status",
        "GET",
        "images/status",
        ImageStatus,
        "read",
        params={"task_id": _task_id(task_id)},
    )


def video_status(task_id: Any) -> Operation[VideoStatus]:
    return Operation(
        "videos.status",
        "GET",
        "videos/status",
        VideoStatus,
        "read",
        params={"task_id": _task_id(task_id)},
    )


def credits() -> Operation[Credits]:
    return Operation("account.credits", "GET", "account/credits", Credits, "read")


def calculate_cost(request: CostRequest) -> Operation[CostEstimate]:
    """The cost preview of ``request``, validated. It charges nothing, so it is retried
    like a read."""
    _tables().validate(request)
    return Operation(
        "account.calculate_cost",
        "POST",
        "account/calculate-cost",
        CostEstimate,
        "read",
        body=encode(request),
    )


def models() -> Operation[ModelCatalog]:
    return Operation("models.list", "GET", "models", ModelCatalog, "read")
