"""The one-shot event every async wait of the SDK sleeps on (a wait's sleep until its next
poll, a place in the rate limit's queue): a bare future and a timer on asyncio, anyio's
event on Trio; the same answers on both. Timeouts are real seconds, kept tiny or never
reached: nothing here depends on how fast the machine is."""

from __future__ import annotations

import threading

import anyio
import pytest

from nanobanana._concurrency import AsyncEvent, AsyncWakeup

pytestmark = pytest.mark.anyio


async def test_a_timeout_passes_and_says_so() -> None:
    event = AsyncEvent()
    assert await event.wait(0.001) is False
    assert await event.wait(0) is False
    assert not event.is_set()


async def test_set_before_or_during_a_wait_ends_it() -> None:
    event = AsyncEvent()
    async with anyio.create_task_group() as tg:
        results: list[bool] = []

        async def waiter() -> None:
            results.append(await event.wait(None))
            results.append(await event.wait(3600.0))  # set already: at once

        tg.start_soon(waiter)
        tg.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        event.set()
    assert results == [True] * 4


async def test_a_cancelled_waiter_leaves_the_others_waiting() -> None:
    event = AsyncEvent()
    first = anyio.CancelScope()
    woken: list[bool] = []

    async def cancelled() -> None:
        with first:
            await event.wait(3600.0)

    async def stays() -> None:
        woken.append(await event.wait(3600.0))

    async with anyio.create_task_group() as tg:
        tg.start_soon(cancelled)
        tg.start_soon(stays)
        await anyio.wait_all_tasks_blocked()
        first.cancel()
        await anyio.wait_all_tasks_blocked()
        assert woken == []
        event.set()
    assert woken == [True]


async def test_a_wakeup_is_woken_from_another_thread() -> None:
    wakeup = AsyncWakeup()
    thread = threading.Thread(target=wakeup.wake)
    async with anyio.create_task_group() as tg:

        async def wait() -> None:
            assert await wakeup.wait(3600.0) is True

        tg.start_soon(wait)
        await anyio.wait_all_tasks_blocked()
        thread.start()
    thread.join()
    assert wakeup.is_set()
