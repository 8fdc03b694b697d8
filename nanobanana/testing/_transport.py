"""The in-process front end: one httpx transport object for both Client and AsyncClient."""

from __future__ import annotations

import time

import anyio
import httpx

from ._service import ClockLike, Service
from ._wire import API_PREFIX, Outcome, error

__all__ = ["FakeTransport"]


class FakeTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Routes requests to the simulator without a socket.

    Requests to ``api_host`` under ``/api/v1/`` reach the API; requests to ``asset_host``
    reach the result files; any other host fails to connect, as an unknown name would.
    """

    def __init__(
        self, service: Service, clock: ClockLike, *, api_base: httpx.URL, asset_base: str
    ) -> None:
        self._service = service
        self._clock = clock
        self._api_host = api_base.host
        self._api_port = api_base.port
        self._asset_base = asset_base.rstrip("/")
        self._asset_host = httpx.URL(asset_base).host

    def _dispatch(self, request: httpx.Request) -> Outcome:
        url = request.url
        headers = {k.lower(): v for k, v in request.headers.items()}
        query = dict(url.params.items())
        method = request.method.upper()
        if url.host == self._api_host and url.port == self._api_port:
            if not url.path.startswith(API_PREFIX):
                return Outcome("respond", error(404, "NOT_FOUND", f"No such endpoint: {url.path}"))
            return self._service.handle_api(
                method,
                url.host,
                url.path[len(API_PREFIX) :],
                query,
                headers,
                request.content,
                asset_base=self._asset_base,
            )
        if url.host == self._asset_host:
            return self._service.handle_asset(method, url.host, url.path, query, headers)
        raise httpx.ConnectError(f"[simulator] cannot resolve host {url.host!r}", request=request)

    def _too_slow(self, request: httpx.Request, delay: float) -> float | None:
        """Real seconds after which the client's read timeout fires, if the delay exceeds it."""
        timeout = request.extensions.get("timeout", {})
        read = timeout.get("read") if isinstance(timeout, dict) else None
        if isinstance(read, (int, float)) and self._clock.to_real(delay) > read:
            return float(read)
        return None

    def _finish(self, request: httpx.Request, outcome: Outcome) -> httpx.Response:
        action = outcome.action
        if action == "connection_refused":
            raise httpx.ConnectError("[simulator] connection refused", request=request)
        if action == "reset_before":
            raise httpx.ConnectError(
                "connection reset before the request was sent", request=request
            )
        if action == "reset_after":
            raise httpx.RemoteProtocolError(
                "[simulator] server disconnected without sending a response", request=request
            )
        if action == "hang":
            raise httpx.ReadTimeout("[simulator] the response never came", request=request)
        assert outcome.reply is not None
        reply = outcome.reply
        return httpx.Response(
            reply.status,
            headers=list(reply.headers),
            content=reply.body,
            request=request,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer a blocking client's request (its latency slept on the clock)."""
        request.read()
        outcome = self._dispatch(request)
        if outcome.delay > 0:
            cutoff = self._too_slow(request, outcome.delay)
            if cutoff is not None:
                time.sleep(cutoff)
                raise httpx.ReadTimeout("[simulator] read timed out (latency)", request=request)
            self._clock.sleep(outcome.delay)
        return self._finish(request, outcome)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer an async client's request (its latency slept on the clock)."""
        await request.aread()
        outcome = self._dispatch(request)
        if outcome.delay > 0:
            cutoff = self._too_slow(request, outcome.delay)
            if cutoff is not None:
                await anyio.sleep(cutoff)
                raise httpx.ReadTimeout("[simulator] read timed out (latency)", request=request)
            await self._clock.asleep(outcome.delay)
        return self._finish(request, outcome)
