"""What a command runs with: its arguments and output, the API key, a client for the real
API or for ``--fake``'s simulator, and the ledger of tasks that Ctrl-C reports from.

The key is read from the environment or ``--api-key-file``, never from the command line,
and only when a command talks to the real API.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from ._exit import MissingKeyError
from ._stop import TaskLedger
from ._ui import UI

if TYPE_CHECKING:
    from nanobanana._sync._client import Client

__all__ = ["FAKE_TIME_SCALE", "Context", "fake_state_path", "resource_for"]

FAKE_TIME_SCALE = 60.0
"""--fake runs the simulator 60x faster than real time: a demo batch finishes in seconds."""


class Context:
    """What a command needs: the parsed arguments, the output, a client factory, and what
    Ctrl-C must report (the ledger of tasks charged and not finished, the journal)."""

    def __init__(self, args: argparse.Namespace, ui: UI) -> None:
        self.args = args
        self.ui = ui
        self.fake_state: Path | None = None
        """With --fake and a journal: where the simulator keeps its tasks for a rerun."""
        self.journal: str | None = None
        """The batch's journal, once the command has one."""
        self.ledger = TaskLedger(httpx.URL("http://unused.invalid/"))

    @contextlib.contextmanager
    def client(self) -> Generator[Client, None, None]:
        """The sync client; its HTTP traffic feeds ``ledger``. After Ctrl-C it is left open:
        a stopping batch may still be finishing a request on it, and the process is ending."""
        from nanobanana._config import resolve_base_url, resolve_timeout
        from nanobanana._sync._client import Client

        args = self.args
        transport: httpx.BaseTransport | None = None
        key = ""
        fake: Any = None
        if args.fake:
            from nanobanana.testing import FakeNanoBanana

            fake = FakeNanoBanana(time_scale=FAKE_TIME_SCALE, state=self.fake_state)
            base_url = resolve_base_url(fake.base_url)
            transport = fake.transport
        else:
            key = _read_key(args.api_key_file)
            base_url = resolve_base_url(args.base_url)
        self.ledger = TaskLedger(base_url)
        http = httpx.Client(
            timeout=resolve_timeout(None),
            transport=transport,
            event_hooks=self.ledger.event_hooks(),
        )
        if args.fake:
            client = fake.client(http_client=http)
        else:
            client = Client(api_key=key, base_url=base_url, http_client=http)
        interrupted = False
        try:
            yield client
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            if not interrupted:
                client.close()
                http.close()

    def stopping(self, text: str) -> None:
        """Say at once what Ctrl-C is doing."""
        self.ui.notice(f"stopping: {text}")


def resource_for(client: Client, kind: str) -> Any:
    """``client.images`` or ``client.videos``."""
    return client.images if kind == "image" else client.videos


def _read_key(path: str | None) -> str:
    """The API key: from the file at ``path``, else from ``NANOBANANA_API_KEY``."""
    if path is not None:
        try:
            key = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise MissingKeyError(
                f"cannot read the API key file {path!r}: {exc.strerror}"
            ) from None
        except UnicodeDecodeError:
            raise MissingKeyError(f"the API key file {path!r} is not UTF-8 text") from None
        if not key:
            raise MissingKeyError(f"the API key file {path} is empty")
        return key
    key = os.environ.get("NANOBANANA_API_KEY", "").strip()
    if not key:
        raise MissingKeyError(
            "no API key found: set NANOBANANA_API_KEY or pass --api-key-file FILE "
            "(or add --fake to run against the embedded simulator, no key needed)"
        )
    return key


def fake_state_path(journal: str) -> Path:
    """Where ``--fake`` keeps its simulator's tasks for a rerun of a journaled batch. A
    new journal starts a new simulated world: a state file left without one is dropped."""
    state = Path(journal + ".fake-state")
    if not Path(journal).exists():
        state.unlink(missing_ok=True)
    return state
