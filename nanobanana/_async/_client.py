"""AsyncClient: configuration, the connection pool, and the one place a request is sent."""

from __future__ import annotations

import logging
import os
import random
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from .. import _policy, _protocol
from .._clock import SYSTEM_CLOCK, Clock
from .._config import (
    DEFAULT_MAX_RESPONSE_SIZE,
    key_fingerprint,
    redact,
    resolve_api_key,
    resolve_base_url,
    resolve_max_response_size,
    resolve_max_retries,
    resolve_timeout,
)
from .._exceptions import NanoBananaError, RateLimitError
from .._limits import AsyncLimiter, resolve_limiter
from .._log import logger, scrub_error
from .._policy import PollPolicy, RateLimit
from ._resources import AsyncAccount, AsyncImages, AsyncModels, AsyncVideos

__all__ = ["AsyncClient"]

T = TypeVar("T")


class _Default:
    """The ``rate_limit`` default: RateLimit(60, per=60.0), shared per key in the process."""

    def __repr__(self) -> str:
        return "RateLimit(60, per=60.0)"


DEFAULT_RATE_LIMIT: Any = _Default()


class AsyncClient:
    """The async client of the Nano Banana API.

    One client is meant to be shared: by every request of a web app, by every task of a
    batch. Its limiter is shared with every other client of the same key in the process.
    """

    images: AsyncImages
    videos: AsyncVideos
    account: AsyncAccount
    models: AsyncModels

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 2,
        rate_limit: RateLimit | AsyncLimiter | None = DEFAULT_RATE_LIMIT,
        http_client: httpx.AsyncClient | None = None,
        poll_policy: PollPolicy | None = None,
        *,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        _clock: Clock | None = None,
        _limiter: AsyncLimiter | None = None,
        _transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api_key = resolve_api_key(api_key)
        self._base_url = resolve_base_url(base_url)
        if timeout is None and http_client is not None:
            self._timeout = http_client.timeout  # the user configured it
        else:
            self._timeout = resolve_timeout(timeout)
        self._max_retries = resolve_max_retries(max_retries)
        self._max_response_size = resolve_max_response_size(max_response_size)
        if poll_policy is not None and not isinstance(poll_policy, PollPolicy):
            from .._exceptions import InvalidParameterError

            raise InvalidParameterError("poll_policy", poll_policy, "an nb.PollPolicy or None")
        self._poll_policy = poll_policy
        self._clock = _clock or SYSTEM_CLOCK
        self._headers = _protocol.auth_headers(self._api_key)
        self._key_id = key_fingerprint(self._api_key)
        self._rate_limit = rate_limit
        if _limiter is not None:
            self._limiter: AsyncLimiter = _limiter
        else:
            self._limiter = resolve_limiter(
                RateLimit(60, per=60.0) if rate_limit is DEFAULT_RATE_LIMIT else rate_limit,
                self._api_key,
                kind="async",
                clock=self._clock,
            )
        self._owns_http = http_client is None
        if http_client is not None:
            self._http = http_client
        else:
            self._http = httpx.AsyncClient(timeout=self._timeout, transport=_transport)
        self._random = random.Random()
        self.images = AsyncImages(self)
        self.videos = AsyncVideos(self)
        self.account = AsyncAccount(self)
        self.models = AsyncModels(self)

    # -- the one place a request is sent ------------------------------------------------

    async def _request(self, op: _protocol.Operation[T]) -> T:
        """Send ``op`` through the limiter with retries, and decode its answer.

        Every attempt waits for the key's budget; the slot is released when the answer
        (or the failure) arrives, and freed at once when the request provably never left.
        Whether to retry is ``_policy.retry_delay``'s decision: a generate request is
        retried only when it never reached processing (a failed connect, a 429).
        """
        request = op.build(self._base_url, self._headers)
        request.extensions["timeout"] = self._timeout.as_dict()
        # Checked once a call: the clock reads below only feed the DEBUG line.
        debug = logger.isEnabledFor(logging.DEBUG)
        clock = self._clock
        attempt = 0
        while True:
            waited_from = clock.now() if debug else 0.0
            permit = await self._limiter.acquire()
            started = clock.now() if debug else 0.0
            try:
                # auth=None: a user's http_client configured with auth= must not replace
                # the Bearer header (nor see the request).
                response = await self._http.send(request, auth=None, stream=True)
                try:
                    unreadable = await _read_body(response, self._max_response_size, op.safety)
                finally:
                    await response.aclose()
            except httpx.TransportError as exc:
                permit.release(sent=not _policy.never_sent(exc))
                error: NanoBananaError = _policy.classify_transport_error(exc, request, op.safety)
                cause: BaseException | None = exc
                outcome = type(exc).__name__
            except BaseException:
                permit.release(sent=True)  # cancelled mid-flight: it may have left
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
                    return result
            if debug:
                _log_request(request, outcome, attempt, waited_from, started, clock)
            delay = _policy.retry_delay(
                error, op.safety, attempt, self._max_retries, self._random.random
            )
            if isinstance(error, RateLimitError):
                # The server's window is full: hold every waiter of this key, not just us.
                pause = getattr(self._limiter, "pause", None)
                if pause is not None:
                    pause(_policy.rate_limit_pause(error, attempt))
            if delay is None:
                scrub_error(error, self._api_key)
                if cause is not None:
                    scrub_error(cause, self._api_key)
                raise error from cause
            logger.info(
                "%s %s: %s; retry %d of %d in %.2fs",
                request.method,
                request.url.path,
                _describe(error),
                attempt + 1,
                self._max_retries,
                delay,
            )
            attempt += 1
            await clock.asleep(delay)

    async def download(self, url: str, dest: str | os.PathLike[str]) -> Path:
        """Stream a result URL to ``dest`` (a file, or a directory) and return the path written.

        The API key is never sent to the asset host; the file appears atomically.
        """
        from ._download import download  # on first use: most programs never download

        return await download(self, url, dest)

    # -- lifecycle ---------------------------------------------------------------------

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        max_response_size: int | None = None,
    ) -> AsyncClient:
        """A client with other settings that shares this one's connection pool and limiter."""
        clone = AsyncClient(
            api_key=self._api_key,
            base_url=self._base_url,
            timeout=self._timeout if timeout is None else timeout,
            max_retries=self._max_retries if max_retries is None else max_retries,
            rate_limit=self._rate_limit,
            http_client=self._http,
            poll_policy=self._poll_policy,
            max_response_size=(
                self._max_response_size if max_response_size is None else max_response_size
            ),
            _clock=self._clock,
            _limiter=self._limiter,
        )
        clone._owns_http = False
        return clone

    async def aclose(self) -> None:
        """Close the connection pool, unless it was given to us."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} base_url={str(self._base_url)!r} api_key={redact(self._api_key)!r}>"


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
