"""The one place a request is sent: limiter, retries, the size cap, decoding.

Its own module, not ``AsyncClient``'s methods, so that naming the client class costs
little (import time): this module, and the protocol, policy, models and attrs it brings,
load with the resources when the first client is made, and every call then runs on
module globals, with no import on its path.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, TypeVar

import httpx

from .. import _policy, _protocol
from .._concurrency import Stopped
from .._config import capped_timeout
from .._exceptions import NanoBananaError, RateLimitError
from .._log import logger, note_interrupt, scrub_error
from ._limiter import acquire_permit
from ._raw import AsyncRawResponse
from ._stopping import StoppableClock

if TYPE_CHECKING:
    from .._clock import Clock
    from .._options import OnSend, RequestOptions
    from ._client import AsyncClient

__all__ = ["request", "request_raw"]

T = TypeVar("T")

_LEAST_TIMEOUT = 0.1
"""Seconds an attempt gets at least when sent at (or just past) a wait's deadline."""


async def request(
    client: AsyncClient,
    op: _protocol.Operation[T],
    options: RequestOptions,
    *,
    on_send: OnSend | None = None,
    deadline: float | None = None,
) -> T:
    """Send ``op`` (see ``request_raw``) and return its decoded answer."""
    raw = await request_raw(client, op, options, on_send=on_send, deadline=deadline)
    return raw.parse()


async def request_raw(
    client: AsyncClient,
    op: _protocol.Operation[T],
    options: RequestOptions,
    *,
    on_send: OnSend | None = None,
    deadline: float | None = None,
) -> AsyncRawResponse[T]:
    """Send ``op`` with the call's ``options`` through the client's limiter with retries,
    and decode its answer; the decoded answer comes with the response it was read from.

    Every attempt waits for the key's budget; the slot is released when the answer
    (or the failure) arrives, and freed at once when the request provably never left.
    A closed client sends nothing: ``APIConnectionError`` before any slot is held (or
    with the slot freed, when it was closed while the request waited for one). Its close
    ends the wait for a slot of the built-in limiter, or a pause before a retry, at once
    (the closed client's error, as the next attempt would have raised).
    Whether to retry is ``_policy.retry_delay``'s decision: a generate request is
    retried only when it never reached processing (a failed connect, a 429).

    ``on_send`` (the batch's hook) runs on every attempt once the permit is taken,
    just before the request leaves; if it raises, the permit is released unsent and
    the error propagates: nothing was sent.

    ``deadline`` (the client's clock; a poll of a wait with a timeout): no attempt's
    timeout, nor retry's pause, reaches past it.
    """
    request = op.build(client._base_url, client._headers, options)
    timeout = options.resolved_timeout(client._timeout)
    request.extensions["timeout"] = timeout.as_dict()
    # Checked once a call: the clock reads below only feed the DEBUG line.
    debug = logger.isEnabledFor(logging.DEBUG)
    clock = client._clock
    limiter = client._limiter
    http = client._http
    attempt = 0
    while True:
        if http.is_closed:  # httpx would refuse it: say so, before it waits for a slot
            raise _policy.client_closed(request, op.safety, sent=False)
        waited_from = clock.now() if debug else 0.0
        try:
            permit = await acquire_permit(limiter, client._closing)
        except Stopped:  # closed while it waited for a slot (none taken): it never leaves
            raise _policy.client_closed(request, op.safety, sent=False) from None
        try:  # until it leaves, whatever ends the attempt (a Ctrl-C included) frees the slot
            started = clock.now() if debug else 0.0
            if http.is_closed:  # closed while it waited: it never leaves
                raise _policy.client_closed(request, op.safety, sent=False)
            if deadline is not None:
                left = max(deadline - clock.now(), _LEAST_TIMEOUT)
                request.extensions["timeout"] = capped_timeout(timeout, left).as_dict()
            if on_send is not None:
                on_send()
        except BaseException:
            permit.release(sent=False)
            raise
        try:
            if op.safety == "generate":
                # Once it leaves, a paid request's answer is read even when its caller is
                # cancelled meanwhile: it names the task bought, which is then logged.
                response, unreadable = await client._run_to_end.run(
                    lambda: _exchange(http, request, client._max_response_size, op.safety),
                    lambda outcome: _policy.report_abandoned(op, request, outcome, client._api_key),
                )
            else:
                response, unreadable = await _exchange(
                    http, request, client._max_response_size, op.safety
                )
        except httpx.TransportError as exc:
            permit.release(sent=not _policy.never_sent(exc))
            error: NanoBananaError = _policy.classify_transport_error(exc, request, op.safety)
            cause: BaseException | None = exc
            outcome = type(exc).__name__
        except RuntimeError as exc:
            permit.release(sent=True)  # it may have left
            if not http.is_closed:
                raise
            # Closed by another thread or task while this request was under way.
            closed = _policy.client_closed(request, op.safety, sent=True)
            raise closed from exc
        except BaseException as exc:
            permit.release(sent=True)  # cancelled mid-flight: it may have left
            if op.safety == "generate" and isinstance(exc, KeyboardInterrupt):
                note_interrupt(exc, _policy.interrupted_generate(request))
            raise
        else:
            permit.release(sent=True)
            outcome = str(response.status_code)
            try:
                if unreadable is not None:
                    raise unreadable
                result = op.parse(response)
            except NanoBananaError as exc:
                error, cause = _policy.mark_unknown_fate(exc, op.safety), None
            else:
                if debug:
                    _log_request(request, outcome, attempt, waited_from, started, clock)
                return AsyncRawResponse(response, result)
        if debug:
            _log_request(request, outcome, attempt, waited_from, started, clock)
        delay = _policy.retry_delay(
            error,
            op.safety,
            attempt,
            client._max_retries,
            client._random.random,
            left=math.inf if deadline is None else deadline - clock.now(),
        )
        if isinstance(error, RateLimitError):
            # The server's window is full: hold every waiter of this key, not just us.
            limiter.pause(_policy.rate_limit_pause(error, attempt))
        if delay is None:
            scrub_error(error, client._api_key)
            if cause is not None:
                scrub_error(cause, client._api_key)
            raise error from cause
        logger.info(
            "%s %s: %s; retry %d of %d in %.2fs",
            request.method,
            request.url.path,
            _describe(error),
            attempt + 1,
            client._max_retries,
            delay,
        )
        attempt += 1
        try:
            await StoppableClock(clock, client._closing).asleep(delay)
        except Stopped:  # closed during the pause: the next attempt would be refused
            raise _policy.client_closed(request, op.safety, sent=False) from None


async def _exchange(
    http: httpx.AsyncClient, request: httpx.Request, limit: int, safety: _protocol.Safety
) -> tuple[httpx.Response, NanoBananaError | None]:
    """Send ``request`` once and read its answer: the response, and the error that makes
    its body unreadable (None when ``response.content`` is ready)."""
    # auth=None: a user's http_client configured with auth= must not replace the Bearer
    # header (nor see the request). follow_redirects=False, whatever the http_client says:
    # a redirect would resend a generate request (and its body, and the user's headers)
    # to wherever it points.
    response = await http.send(request, auth=None, stream=True, follow_redirects=False)
    try:
        unreadable = await _read_body(response, limit, safety)
    finally:
        await response.aclose()
        _protocol.detach_stream(response)  # freed once dropped, not by the collector
    return response, unreadable


async def _read_body(
    response: httpx.Response, limit: int, safety: _protocol.Safety
) -> NanoBananaError | None:
    """Read a streamed answer's decoded body, stopping past ``limit`` bytes; the error
    when it is too big or cannot be decoded, None when ``response.content`` is ready.

    Counting decoded bytes as they stream is what stops a small gzip body that inflates
    to gigabytes: memory holds at most ``limit`` plus what one network read inflates to
    (httpx decodes a read at a time).
    """
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                return _protocol.response_too_large(response, limit, safety=safety)
            chunks.append(chunk)
    except httpx.DecodingError as exc:
        return _protocol.undecodable_body(response, exc, safety=safety)
    # What httpx's own aread() stores: .content, .text and .json() read it.
    response._content = b"".join(chunks)
    return None


def _log_request(
    request: httpx.Request,
    outcome: str,
    attempt: int,
    waited_from: float,
    started: float,
    clock: Clock,
) -> None:
    """One DEBUG line per attempt: never the key (not in a path), never a body. The
    attempt asked the limiter for a slot at ``waited_from`` and got it at ``started``."""
    logger.debug(
        "%s %s -> %s (attempt %d, waited %.3fs for the budget, took %.3fs)",
        request.method,
        request.url.path,
        outcome,
        attempt + 1,
        started - waited_from,
        clock.now() - started,
    )


def _describe(error: NanoBananaError) -> str:
    status = getattr(error, "status_code", None)
    return f"{type(error).__name__} {status}" if status is not None else type(error).__name__
