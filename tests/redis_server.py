"""A real ``redis-server`` for the tests: started on a free loopback port in a temp dir.

The tests of ``RedisRateLimiter`` need the real thing (no fakeredis): Lua scripts,
``TIME``, TTLs. When the ``redis-server`` binary is missing the tests are skipped with a
reason, except under CI (``CI`` set), where ``.ci/run`` installs Debian's package and a
missing binary is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["RedisServer", "free_port", "redis_server_binary", "running_redis"]


def redis_server_binary() -> str:
    """The path of ``redis-server``; skips the test without it (fails under CI)."""
    found = shutil.which("redis-server")
    if found is None:
        message = (
            "redis-server is not installed (Debian/Ubuntu: apt-get install redis-server); "
            "the Redis limiter tests need a real server"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {message}", pytrace=False)
        pytest.skip(message)
    return found


def free_port() -> int:
    """A TCP port nothing listens on right now (on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process with no persistence, in its own temp dir."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, attempts: int = 5) -> None:
        """Start on a free port (another port is tried if one was taken meanwhile)."""
        last = ""
        for _ in range(attempts):
            self.port = free_port()
            log = self.directory / f"redis-{self.port}.log"
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "--port", str(self.port),
                    "--bind", "127.0.0.1",
                    "--dir", str(self.directory),
                    "--save", "",
                    "--appendonly", "no",
                    "--daemonize", "no",
                    "--logfile", str(log),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            if self._wait_ready(timeout=5.0):
                return
            self.stop()
            last = log.read_text(errors="replace")[-500:] if log.exists() else ""
        raise RuntimeError(f"redis-server did not start: {last}")

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return True
            except OSError:
                pass
            time.sleep(0.01)
        return False

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()
            process.wait()


@contextmanager
def running_redis() -> Iterator[RedisServer]:
    """A started ``RedisServer`` for the ``with`` block, stopped and cleaned up after."""
    binary = redis_server_binary()
    with tempfile.TemporaryDirectory(prefix="nanobanana-redis-") as directory:
        server = RedisServer(binary, Path(directory))
        server.start()
        try:
            yield server
        finally:
            server.stop()
