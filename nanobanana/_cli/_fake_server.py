"""``nanobanana fake-server``: the simulator served over HTTP on loopback until Ctrl-C (or
SIGTERM), for programs in other processes or languages to run against."""

from __future__ import annotations

import signal
import threading
from typing import Any

from ._context import Context
from ._exit import EXIT_OK

__all__ = ["fake_server"]


def fake_server(ctx: Context) -> int:
    """Serve; print the base URL and key to point a program at (JSON with --json)."""
    from nanobanana.testing import FakeNanoBanana

    a = ctx.args
    fake = FakeNanoBanana(
        time_scale=a.time_scale, seed=a.seed, credits=a.credits, failure_rate=a.failure_rate
    )
    stop = threading.Event()
    with fake.serve() as url:
        if a.json:
            ctx.ui.data({"base_url": url, "api_key": fake.api_key})
        else:
            ctx.ui.print(f"export NANOBANANA_BASE_URL={url}")
            ctx.ui.print(f"export NANOBANANA_API_KEY={fake.api_key}")
            ctx.ui.note(
                f"the simulator is serving on {url} (time x{a.time_scale:g}); Ctrl-C stops it"
            )

        def on_term(signum: int, frame: Any) -> None:
            stop.set()

        previous = signal.signal(signal.SIGTERM, on_term)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
    return EXIT_OK
