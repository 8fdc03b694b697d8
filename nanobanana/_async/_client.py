"""AsyncClient: configuration, the connection pool, and the client's lifecycle.

Naming ``nb.AsyncClient`` loads this module and no more of the package than the class
needs (import time: a program pays for the rest when it makes its first client). What a
client is made of (resources, limiter, poll scheduler; and through them the protocol,
the models and attrs) is ``_client_parts``, which the constructor imports; requests are
sent by ``_send``, which the resources load.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, cast

import httpx

from .._config import (
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    NotGiven,
    configured_headers,
    key_fingerprint,
    redact,
    resolve_api_key,
    resolve_base_url,
    resolve_default_headers,
    resolve_max_response_size,
    resolve_max_retries,
    resolve_timeout,
)

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping
    from pathlib import Path
    from types import TracebackType

    # typing.Self is 3.11+; checkers know typing_extensions, so it costs no dependency.
    from typing_extensions import Self

    from .._clock import AsyncTimeSource, Clock
    from .._concurrency import AsyncRunToEnd, StopSignal
    from .._limits import AsyncLimiter, AsyncLimiterFactory
    from .._policy import PollPolicy, RateLimit
    from ._raw import AsyncClientWithRawResponse
    from ._resources import AsyncAccount, AsyncImages, AsyncModels, AsyncVideos
    from ._scheduler import AsyncPollScheduler

__all__ = ["AsyncClient"]


class _Default:
    """The ``rate_limit`` default: RateLimit(60, per=60.0), shared per key in the process."""

    def __repr__(self) -> str:
        return "RateLimit(60, per=60.0)"


DEFAULT_RATE_LIMIT: Any = _Default()


class AsyncClient:
    """The async client of the Nano Banana API.

    One client is meant to be shared: by every request of a web app, by every task of a
    batch. Its limiter is shared with every other client of the same key in the process.

    Every argument is keyword-only. Headers reach API requests in this order, a later
    one replacing an earlier one of the same name: the SDK's (``User-Agent``,
    ``Accept``), those set on your ``http_client`` (as it is when the client is made;
    httpx's own defaults do not count), ``default_headers``, then a call's
    ``extra_headers``. ``Authorization`` is always the client's key. None of them is sent
    to the asset host a result is downloaded from.

    Args:
        api_key: The API key; None: ``NANOBANANA_API_KEY``. It is never logged, shown in
            a repr, or sent to any host but ``base_url``.
        base_url: The API's base URL; None: ``NANOBANANA_BASE_URL``, else
            ``https://imgeditor.co/api/v1``.
        timeout: Seconds for every phase of a request, or an ``httpx.Timeout``; None:
            the ``http_client``'s, else connect 10 s, read 60 s, write 30 s, pool 30 s.
        max_retries: Retries of a failed request (see the errors guide: a generate
            request is retried only when it provably never left).
        rate_limit: The key's budget: an ``nb.RateLimit`` (default 60 requests a
            minute, shared by every client of the key in this process), an
            ``AsyncLimiter`` or ``AsyncLimiterFactory`` of yours (``RedisRateLimiter``
            shares it across processes), or None for no limit.
        http_client: An ``httpx.AsyncClient`` you configured (proxies, headers, limits);
            you close it. None: the client makes and closes its own.
        poll_policy: Poll timing for every kind of task; None: a policy per kind.
        default_headers: Headers sent on every API request (not ``Authorization``).
        max_response_size: Bytes an API answer may hold once decoded; a bigger one is
            refused as it streams (``UnexpectedResponseError``).

    Raises:
        AuthenticationError: No API key was given or found, or it is malformed.
        InvalidParameterError: Another argument was refused.
    """

    images: AsyncImages
    """Image tasks: ``generate``, ``status``, ``wait``, ``save``, ``generate_many``."""
    videos: AsyncVideos
    """Video tasks: ``generate``, ``status``, ``wait``, ``save``, ``generate_many``."""
    account: AsyncAccount
    """The account: ``credits``, ``calculate_cost``."""
    models: AsyncModels
    """The model catalog: ``list``."""
    with_raw_response: AsyncClientWithRawResponse
    """The same methods, answering ``AsyncRawResponse`` (``.http_response`` and ``.parse()``)."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 2,
        rate_limit: RateLimit | AsyncLimiter | AsyncLimiterFactory | None = DEFAULT_RATE_LIMIT,
        http_client: httpx.AsyncClient | None = None,
        poll_policy: PollPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        _clock: Clock | None = None,
        _limiter: AsyncLimiter | None = None,
        _transport: httpx.AsyncBaseTransport | None = None,
        _poll_scheduler: AsyncPollScheduler | None = None,
        _random: random.Random | None = None,
        _run_to_end: AsyncRunToEnd | None = None,
        _closing: StopSignal | None = None,
    ) -> None:
        # Imported here, not with the class: the first client made loads it.
        from . import _client_parts as parts

        self._api_key = resolve_api_key(api_key)
        self._base_url = resolve_base_url(base_url)
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise parts.InvalidParameterError(
                "http_client", http_client, "an httpx.AsyncClient or None"
            )
        if timeout is None and http_client is not None:
            self._timeout = http_client.timeout  # the user configured it
        else:
            self._timeout = resolve_timeout(timeout)
        self._max_retries = resolve_max_retries(max_retries)
        self._max_response_size = resolve_max_response_size(max_response_size)
        if poll_policy is not None and not isinstance(poll_policy, parts.PollPolicy):
            raise parts.InvalidParameterError(
                "poll_policy", poll_policy, "an nb.PollPolicy or None"
            )
        self._poll_policy = poll_policy
        self._clock = _clock or parts.SYSTEM_CLOCK
        self._default_headers = resolve_default_headers(default_headers)
        self._headers = parts.protocol.api_headers(
            self._api_key,
            None if http_client is None else configured_headers(http_client.headers),
            self._default_headers,
        )
        self._key_id = key_fingerprint(self._api_key)
        self._rate_limit = rate_limit
        if _limiter is not None:
            self._limiter: AsyncLimiter = _limiter
        else:
            self._limiter = parts.limiter_for(
                parts.RateLimit(60, per=60.0) if rate_limit is DEFAULT_RATE_LIMIT else rate_limit,
                self._api_key,
                self._clock,
            )
        self._owns_http = http_client is None
        # Generate requests on their way (their caller's, or abandoned by a cancelled one):
        # closing the pool waits for their answers. Shared by the clients sharing the pool.
        self._run_to_end = _run_to_end or parts.AsyncRunToEnd()
        # Fired once the pool is closed (never before): every wait of the clients sharing
        # the pool (a sleep until its next poll, its queueing for a turn or a slot of the
        # budget, a retry's pause) watches it, and ends at once with the closed client's error.
        self._closing = _closing or parts.StopSignal()
        self._transport = _transport
        if http_client is not None:
            self._http = http_client
        else:
            # Every request carries its timeout; the pool's own is the default, which is
            # what a clone sharing it reads for with_options(timeout=None).
            self._http = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, transport=_transport)
        # The jitter of its polls and retry backoffs; a simulator with a seed gives a seeded
        # one, so a run on a virtual clock repeats exactly.
        self._random = _random if _random is not None else random.Random()
        # Every wait of this client polls through it (turns, first-poll learning, outcomes).
        self._poll_scheduler = _poll_scheduler or parts.AsyncPollScheduler(self._clock)
        self.images = parts.AsyncImages(self)
        self.videos = parts.AsyncVideos(self)
        self.account = parts.AsyncAccount(self)
        self.models = parts.AsyncModels(self)
        self.with_raw_response = parts.AsyncClientWithRawResponse(self)

    async def download(self, url: str, dest: str | os.PathLike[str]) -> Path:
        """Stream a result URL to a file.

        The API key is never sent to the asset host (nor any header of yours); redirects
        are followed; the file appears whole or not at all. Downloads do not count
        against the key's budget.

        Args:
            url: A result URL (``status.image_url``, ``status.video_url``...).
            dest: A file path, used as given, or a directory (existing, or ending in
                ``/``): the file is then named after the URL's last path segment, made
                safe.

        Returns:
            The path written.

        Raises:
            InvalidParameterError: ``url`` is not an absolute http(s) URL, or the name
                it gives would land outside ``dest``.
            APIStatusError: The asset host answered an error status (e.g. 404 once the
                URL expired).
            APIConnectionError: The download failed in transit (APITimeoutError when it
                timed out).
            NanoBananaError: The host redirected too often, or away from http(s).
            OSError: The file could not be written.
        """
        from ._download import download  # on first use: most programs never download

        return await download(self, url, dest)

    # -- lifecycle ---------------------------------------------------------------------

    def with_options(
        self,
        *,
        api_key: str | NotGiven | None = NOT_GIVEN,
        base_url: str | httpx.URL | NotGiven | None = NOT_GIVEN,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        rate_limit: RateLimit | AsyncLimiter | AsyncLimiterFactory | NotGiven | None = NOT_GIVEN,
        http_client: httpx.AsyncClient | NotGiven | None = NOT_GIVEN,
        poll_policy: PollPolicy | NotGiven | None = NOT_GIVEN,
        default_headers: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        max_response_size: int | NotGiven = NOT_GIVEN,
    ) -> Self:
        """A client of the same type with some arguments changed, the others this one's.

        Takes every constructor argument. The clone shares this client's connection pool
        (this client closes it, which ends the clone's waits too; closing the clone does
        not) unless given its own ``http_client``, and, for the same key, its budget:
        with the same ``rate_limit`` the very same limiter, with another ``nb.RateLimit``
        that limit's budget of the key. Another key has its own budget (a limiter object
        of yours is used as given). With the same key and limit it also shares the poll
        scheduler: the clone's waits take turns with this client's under the one budget.

        Args:
            api_key: See the constructor; left out: this client's.
            base_url: See the constructor; left out: this client's.
            timeout: See the constructor; left out: this client's.
            max_retries: See the constructor; left out: this client's.
            rate_limit: See the constructor; left out: this client's (the same limiter).
            http_client: See the constructor; left out: this client's pool, shared.
            poll_policy: See the constructor; left out: this client's.
            default_headers: See the constructor; left out: this client's.
            max_response_size: See the constructor; left out: this client's.

        Returns:
            A new client of this client's type.

        Raises:
            AuthenticationError: A new ``api_key`` is malformed (or None, with no
                ``NANOBANANA_API_KEY`` set).
            InvalidParameterError: Another argument was refused.
        """
        same_key = isinstance(api_key, NotGiven) or api_key == self._api_key
        same_limit = isinstance(rate_limit, NotGiven) or rate_limit == self._rate_limit
        return type(self)(
            api_key=self._api_key if isinstance(api_key, NotGiven) else api_key,
            base_url=self._base_url if isinstance(base_url, NotGiven) else base_url,
            timeout=self._timeout if isinstance(timeout, NotGiven) else timeout,
            max_retries=self._max_retries if isinstance(max_retries, NotGiven) else max_retries,
            rate_limit=self._rate_limit if isinstance(rate_limit, NotGiven) else rate_limit,
            http_client=self._http if isinstance(http_client, NotGiven) else http_client,
            poll_policy=self._poll_policy if isinstance(poll_policy, NotGiven) else poll_policy,
            default_headers=(
                self._default_headers if isinstance(default_headers, NotGiven) else default_headers
            ),
            max_response_size=(
                self._max_response_size
                if isinstance(max_response_size, NotGiven)
                else max_response_size
            ),
            _clock=self._clock,
            _limiter=self._limiter if same_key and same_limit else None,
            _transport=self._transport,
            # Same budget, same polls: the clone's waits take turns with this client's.
            _poll_scheduler=self._poll_scheduler if same_key and same_limit else None,
            _random=self._random,
            _run_to_end=self._run_to_end if isinstance(http_client, NotGiven) else None,
            _closing=self._closing if isinstance(http_client, NotGiven) else None,
        )

    def _copy(self, *, clock: AsyncTimeSource, limiter: AsyncLimiter) -> Self:
        """This client with a clock and a limiter of its caller's: a batch's, whose sleeps
        end and whose gate on the budget closes when the batch stops. It shares the pool;
        its polls take turns in a scheduler of its own, on ``clock``."""
        return type(self)(
            api_key=self._api_key,
            base_url=self._base_url,
            timeout=self._timeout,
            max_retries=self._max_retries,
            rate_limit=self._rate_limit,
            http_client=self._http,
            poll_policy=self._poll_policy,
            default_headers=self._default_headers,
            max_response_size=self._max_response_size,
            # The limiter is given, so the clock never becomes a shared budget's (which
            # also needs the blocking ``sleep``): the copy only reads and sleeps on it.
            _clock=cast("Clock", clock),
            _limiter=limiter,
            _transport=self._transport,
            _random=self._random,
            _run_to_end=self._run_to_end,
            _closing=self._closing,
        )

    async def aclose(self) -> None:
        """Close the connection pool, unless it was given (``http_client=``): then it is
        yours to close, and this client stays open (its waits go on). Clients made by
        ``with_options`` share this client's pool: close this one last.

        Closing first waits for the answers to generate requests already sent (each
        within its timeout), from any task, or one whose caller was cancelled (its task
        id is then logged): closing the pool under them would lose the tasks they bought.
        Then every wait on the pool (of any task or thread, of the ``with_options``
        clients too), and every request queued in the built-in rate limit, ends at once
        with the closed client's ``APIConnectionError``, nothing sent: not after its sleep
        until the next poll, which would hold a web app's shutdown (tens of seconds for a
        video)."""
        await self._run_to_end.wait()
        if self._owns_http:
            try:
                await self._http.aclose()
            finally:
                if self._http.is_closed:  # what a woken wait finds: nothing is sent
                    self._closing.fire()

    async def __aenter__(self) -> Self:
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
