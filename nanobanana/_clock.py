"""Injected time. Everything that waits asks a Clock, so tests and the simulator can
run minutes of API time in milliseconds (``Clock(scale=600)`` runs ten minutes a second).
"""

from __future__ import annotations

import time
from typing import Protocol

import attrs

__all__ = ["SYSTEM_CLOCK", "AsyncTimeSource", "Clock", "TimeSource"]


class AsyncTimeSource(Protocol):
    """What async code asks of a clock: a ``Clock``, a test's ``ManualClock``, or a
    batch's clock whose sleeps end when the batch stops.

    A wait that a client's close (or a batch's stop) may end waits ``to_real(seconds)``
    on an event of its own; ``asleep`` is called for a clock that does not wait in real
    time (``to_real`` is 0: a ManualClock, whose time moves when slept on)."""

    def now(self) -> float: ...

    def to_real(self, seconds: float) -> float: ...

    async def asleep(self, seconds: float) -> None: ...


class TimeSource(Protocol):
    """What blocking code asks of a clock (the twin of ``AsyncTimeSource``)."""

    def now(self) -> float: ...

    def to_real(self, seconds: float) -> float: ...

    def sleep(self, seconds: float) -> None: ...


@attrs.frozen
class Clock:
    """Monotonic seconds of API time. ``scale`` is API seconds per real second."""

    scale: float = 1.0
    offset: float = 0.0

    def now(self) -> float:
        """The current API time, in seconds (monotonic)."""
        return time.monotonic() * self.scale + self.offset

    def to_real(self, seconds: float) -> float:
        """Real seconds that ``seconds`` of API time take."""
        return max(0.0, seconds) / self.scale

    async def asleep(self, seconds: float) -> None:
        """Wait ``seconds`` of API time (async)."""
        import anyio  # here, not at import: a sync program never needs it

        await anyio.sleep(self.to_real(seconds))

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of API time (blocking)."""
        time.sleep(self.to_real(seconds))


SYSTEM_CLOCK = Clock()
