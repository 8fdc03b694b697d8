"""The socket front end: a raw ASGI app wrapping the same ``Service`` (used by ``serve()``).

Two host names share one port: ``127.0.0.1`` is the API, ``localhost`` the asset host,
so result URLs really point at another host than the API's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import anyio
import anyio.to_thread

from ._service import ClockLike, Service
from ._wire import API_PREFIX, Outcome, error

__all__ = ["SimulatorApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

API_HOST = "127.0.0.1"
ASSET_HOST = "localhost"


class SimulatorApp:
    """ASGI 3 application. ``closing`` set to True releases requests left hanging."""

    def __init__(self, service: Service, clock: ClockLike, port: int) -> None:
        self._service = service
        self._clock = clock
        self._port = port
        self.asset_base = f"http://{ASSET_HOST}:{port}"
        self.closing = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        host = headers.get("host", "").rsplit(":", 1)[0].strip("[]")
        path: str = scope.get("path", "/")
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        method = str(scope.get("method", "GET")).upper()
        outcome = await anyio.to_thread.run_sync(
            self._dispatch, method, host, path, query, headers, body
        )
        if outcome.delay > 0:
            await self._clock.asleep(outcome.delay)
        action = outcome.action
        if action in ("connection_refused", "reset_before", "reset_after"):
            await self._drop(receive, send)
            return
        if action == "hang":
            await self._hang(receive, send)
            return
        assert outcome.reply is not None
        reply = outcome.reply
        response_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
        if not any(k == b"content-length" for k, _ in response_headers):
            response_headers.append((b"content-length", str(len(reply.body)).encode()))
        await send(
            {"type": "http.response.start", "status": reply.status, "headers": response_headers}
        )
        await send({"type": "http.response.body", "body": reply.body})

    def _dispatch(
        self,
        method: str,
        host: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> Outcome:
        if host == ASSET_HOST:
            return self._service.handle_asset(method, host, path, query, headers)
        if not path.startswith(API_PREFIX):
            return Outcome("respond", error(404, "NOT_FOUND", f"No such endpoint: {path}"))
        return self._service.handle_api(
            method,
            host,
            path[len(API_PREFIX) :],
            query,
            headers,
            body,
            asset_base=self.asset_base,
        )

    async def _drop(self, receive: Receive, send: Send) -> None:
        """Close the connection without a response (abort the server's transport)."""
        cycle = getattr(send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is not None and hasattr(transport, "abort"):
            transport.abort()
            with anyio.move_on_after(5):
                while (await receive())["type"] != "http.disconnect":
                    pass
            return
        # Not uvicorn: start a response, then fail, which makes the server cut it short.
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ConnectionAbortedError("simulated connection drop")

    async def _hang(self, receive: Receive, send: Send) -> None:
        """Never answer: wait until the client gives up or the server shuts down."""
        while not self.closing:
            with anyio.move_on_after(0.05):
                if (await receive())["type"] == "http.disconnect":
                    return
        await self._drop(receive, send)
