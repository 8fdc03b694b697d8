"""Waits that a ``StopSignal`` ends at once: a client's close, a batch's stop.

Every wait of a client that can last (a wait's sleep until its next poll, its queueing
for a poll turn or for a slot of the budget, a retry's pause) watches the client's
``_closing`` signal, so that closing the client ends it at once rather than at its next
poll; a batch's requests also watch the batch's stop. ``StoppableClock`` makes a clock's
sleeps such waits; ``wait_or_stop`` makes a wake-up's wait one.
"""

from __future__ import annotations

from .._clock import AsyncTimeSource
from .._concurrency import AsyncWakeup, StopSignal

__all__ = ["StoppableClock", "wait_or_stop"]


async def wait_or_stop(wakeup: AsyncWakeup, timeout: float | None, *stops: StopSignal) -> bool:
    """``wakeup.wait(timeout)`` (real seconds; True when woken), which any of ``stops``
    firing ends at once, raising that signal's error (without waiting when one fired
    already). Create ``wakeup`` in the task (or thread) that waits."""
    for stop in stops:
        stop.watch(wakeup)
    try:
        for stop in stops:
            stop.check()
        woken = await wakeup.wait(timeout)
        for stop in stops:
            stop.check()
        return woken
    finally:
        for stop in stops:
            stop.unwatch(wakeup)


class StoppableClock:
    """A clock whose sleeps end at once when one of its signals fires: the sleep raises
    that signal's error (a batch's stop: ``Abandoned``; a client's close: ``Stopped``).
    A stoppable clock made on a stoppable clock watches the signals of both.

    A clock that does not wait in real time (``to_real`` is 0: a ManualClock) is asked
    to sleep itself, so that its time moves on as before; a signal fired before the sleep
    ends it without moving the time.
    """

    __slots__ = ("_inner", "_stops")

    _inner: AsyncTimeSource
    _stops: tuple[StopSignal, ...]

    def __init__(self, inner: AsyncTimeSource, *stops: StopSignal) -> None:
        if isinstance(inner, StoppableClock):
            stops = inner._stops + stops
            inner = inner._inner
        self._inner = inner
        self._stops = stops

    def now(self) -> float:
        return self._inner.now()

    def to_real(self, seconds: float) -> float:
        return self._inner.to_real(seconds)

    async def asleep(self, seconds: float) -> None:
        for stop in self._stops:
            stop.check()
        real = self._inner.to_real(seconds)
        if real <= 0:
            await self._inner.asleep(seconds)
        else:
            await wait_or_stop(AsyncWakeup(), real, *self._stops)
