"""``fake.serve()``: the ASGI app under uvicorn, in a thread, on a free loopback port."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Generator

from ._asgi import API_HOST, SimulatorApp
from ._service import ClockLike, Service

__all__ = ["serve"]


@contextlib.contextmanager
def serve(service: Service, clock: ClockLike) -> Generator[str, None, None]:
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - the testing extra is missing
        raise RuntimeError("fake.serve() needs uvicorn: pip install 'nanobanana[testing]'") from exc
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only when the proto
    # says TCP; with proto=0 every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((API_HOST, 0))
    port: int = sock.getsockname()[1]
    app = SimulatorApp(service, clock, port)
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        http="h11",
        date_header=False,  # the simulator's own Date: its clock, which may be simulated
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="nanobanana-fake", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the simulator's server did not start")
        time.sleep(0.005)
    try:
        yield f"http://{API_HOST}:{port}/api/v1"
    finally:
        app.closing = True
        server.should_exit = True
        thread.join(10.0)
        sock.close()
