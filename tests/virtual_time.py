"""Virtual time for async tests: the event loop's clock jumps to the next timer whenever
every task waits, so a test's answer does not depend on how fast the machine runs.

Mark a test (or a module) ``@pytest.mark.virtual_time``; the ``anyio_backend`` fixture then
runs it on a loop whose clock stands still while any task can run and jumps straight to
the next deadline when none can (asyncio: a selector that never sleeps on a timer; Trio:
``MockClock(autojump_threshold=0)``). ``LoopClock`` hands that time to the SDK and to the
simulator (``FakeNanoBanana(clock=LoopClock())``): an hour of API time costs only the CPU
its requests take, and every figure (when each poll came, how many requests a window saw,
how long a wait took) is the same on a fast machine and on a loaded one.

Only code on the event loop lives in virtual time. A thread (a sync ``Client``,
``anyio.to_thread``), a socket server or a subprocess runs in real time, and the loop may
jump past it: tests of those use ``ManualClock`` or a scaled clock and assert only what no
scheduling can change.
"""

from __future__ import annotations

import asyncio
import math
import selectors
import sys
from typing import Any

import anyio

__all__ = ["LoopClock", "VirtualTimeLoop", "backend_options"]

TICK = 1e-3
"""Loop seconds a zero sleep lets pass. The limiter yields in a loop while it waits out
the last millisecond before a slot frees (a real timer may fire that late); in virtual
time nothing passes while a task can run, so such a loop would spin forever."""

GRAIN = 1e-6
"""Waits are rounded up to whole microseconds of the loop, so a float residue (a deadline
an ulp after now) never becomes a wait of zero that fires again and again at one instant."""


class _JumpingSelector(selectors.DefaultSelector):
    """Never sleeps on a timer: when nothing is ready, the loop's clock jumps ahead."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[Any]:
        ready: list[Any] = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:  # no timer at all: wait for I/O or another thread, for real
            return super().select(None)
        self.now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop in virtual time (see the module's docstring)."""

    def __init__(self) -> None:
        self._jumping = _JumpingSelector()
        super().__init__(self._jumping)

    def time(self) -> float:
        return self._jumping.now


def backend_options(backend: str) -> dict[str, Any]:
    """anyio's backend options that run ``backend`` in virtual time."""
    if backend == "trio":
        import trio.testing

        return {"clock": trio.testing.MockClock(autojump_threshold=0)}
    return {"loop_factory": VirtualTimeLoop}


def _in_virtual_time() -> bool:
    if "trio" in sys.modules:
        import trio
        import trio.testing

        try:
            return isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock)
        except RuntimeError:
            pass
    try:
        return isinstance(asyncio.get_running_loop(), VirtualTimeLoop)
    except RuntimeError:
        return False


class LoopClock:
    """API time = the running (virtual-time) event loop's time, times ``scale``.

    A ``ClockLike`` for ``FakeNanoBanana(clock=...)`` and for clients (``_clock=``); create
    it inside the test. With ``scale=1`` (the default) an API second is a loop second, so
    the test's own ``anyio.sleep``/``move_on_after`` speak API time. A larger scale only
    matters where the SDK counts in real seconds: its waiters look at the budget again
    after at most a real second, which in virtual time costs CPU and nothing else.
    """

    def __init__(self, scale: float = 1.0) -> None:
        if not _in_virtual_time():
            raise RuntimeError("LoopClock needs a virtual-time loop: mark the test virtual_time")
        self.scale = scale

    def now(self) -> float:
        return anyio.current_time() * self.scale

    def to_real(self, seconds: float) -> float:
        return 0.0 if seconds <= 0 else math.ceil(seconds / self.scale / GRAIN) * GRAIN

    async def asleep(self, seconds: float) -> None:
        await anyio.sleep(self.to_real(seconds) or TICK)

    def sleep(self, seconds: float) -> None:
        raise RuntimeError("LoopClock is for code on the event loop; a thread lives in real time")

    def __repr__(self) -> str:
        return f"LoopClock(now={self.now():g}, scale={self.scale:g})"
