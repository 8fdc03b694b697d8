"""A key's budget outlives its clients: a web app that makes a client per request still
never sees a 429 from a strict server. And a budget that no longer matters is forgotten,
so a process cycling through many keys keeps bounded memory.

Time is a ManualClock: a client waiting for its budget sleeps on it, so the runs are exact.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

import nanobanana as nb
from nanobanana._concurrency import Wakeup
from nanobanana._ratelimit import PRUNE_MIN, BudgetRef, BudgetRegistry, SharedBudget, budget_ref
from nanobanana.testing import FakeNanoBanana, ManualClock

# (the client's budget, the server's strict window, how many requests, one per client)
SCENARIOS = {
    "5 per 2s, 12 clients": (nb.RateLimit(5, per=2.0), (5, 2.0), 12),
    "the default 60 a minute, 75 clients": (nb.RateLimit(), (60, 60.0), 75),
}


@pytest.fixture
def quick_gc() -> Iterator[None]:
    """gc.collect() between clients, without scanning the rest of the test process each
    time: what exists now is frozen, so each collection looks at what the clients made."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def expected_arrivals(limit: nb.RateLimit, calls: int) -> list[float]:
    """Zero latency: bursts of N, each a window plus the margin after the one before."""
    step = limit.per + min(0.01 * limit.per, 0.25)
    return [step * (i // limit.requests) for i in range(calls)]


@pytest.mark.usefixtures("quick_gc")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_sequential_per_request_clients_never_see_a_429(scenario: str) -> None:
    limit, window, calls = SCENARIOS[scenario]
    fake = FakeNanoBanana(clock=ManualClock(), rate_limit=window)
    for _ in range(calls):
        with fake.client(rate_limit=limit) as client:
            client.account.credits()
        del client
        gc.collect()  # the client and everything it held is gone
    requests = fake.api_requests
    assert [r.status for r in requests] == [200] * calls
    assert [r.time for r in requests] == pytest.approx(expected_arrivals(limit, calls))


@pytest.mark.anyio
@pytest.mark.usefixtures("quick_gc")
@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_sequential_per_request_async_clients_never_see_a_429(scenario: str) -> None:
    limit, window, calls = SCENARIOS[scenario]
    fake = FakeNanoBanana(clock=ManualClock(), rate_limit=window)
    for _ in range(calls):
        async with fake.async_client(rate_limit=limit) as client:
            await client.account.credits()
        del client
        gc.collect()
    requests = fake.api_requests
    assert [r.status for r in requests] == [200] * calls
    assert [r.time for r in requests] == pytest.approx(expected_arrivals(limit, calls))


# -- the registry: what it keeps, and for how long (exact, on a ManualClock) ---------------


def touch(ref: BudgetRef) -> SharedBudget:
    """Look a budget up (creating it) and leave at once, as a waiter that gives up."""
    budget, ticket = ref.enqueue(blocking=True)
    budget.cancel(ticket)
    return budget


def spend(ref: BudgetRef) -> nb.Permit:
    budget, ticket = ref.enqueue(blocking=True)
    permit = budget.poll(ticket, Wakeup())
    assert isinstance(permit, nb.Permit)
    return permit


def test_a_budget_is_kept_for_a_window_after_its_last_answer_then_forgotten() -> None:
    clock = ManualClock()
    registry = BudgetRegistry()
    key = budget_ref(nb.RateLimit(2, per=10.0), "nb_sk_a", clock, registry)
    permit = spend(key)
    clock.advance(1.0)
    permit.release()  # the slot is held until 1 + 10 + 0.1
    del permit
    kept = weakref.ref(touch(key))
    others = [
        budget_ref(nb.RateLimit(2, per=10.0), f"nb_sk_{i}", clock, registry) for i in range(100)
    ]
    clock.advance(10.0)  # t = 11: still inside the window
    for ref in others[:50]:
        touch(ref)  # idle budgets of other keys come and go...
    assert len(registry) <= PRUNE_MIN
    gc.collect()
    assert kept() is not None  # ...but this one still matters
    assert touch(key) is kept()
    clock.advance(0.1)  # t = 11.1: it is now exactly like a new budget
    for ref in others[50:]:
        touch(ref)
    assert len(registry) <= PRUNE_MIN
    gc.collect()
    assert kept() is None
    # the key's next request finds one budget again, whichever client asks
    again = budget_ref(nb.RateLimit(2, per=10.0), "nb_sk_a", clock, registry)
    assert touch(key) is touch(again)


def test_a_budget_with_a_request_in_flight_or_a_waiter_is_never_forgotten() -> None:
    clock = ManualClock()
    registry = BudgetRegistry()
    limit = nb.RateLimit(1, per=1.0)
    busy = budget_ref(limit, "nb_sk_busy", clock, registry)
    queued = budget_ref(limit, "nb_sk_queued", clock, registry)
    permit = spend(busy)  # its answer never comes (yet)
    spend(queued).release()
    waiter_budget, ticket = queued.enqueue(blocking=False)  # a waiter that stays
    busy_budget = touch(busy)
    clock.advance(3600.0)
    for i in range(4 * PRUNE_MIN):
        touch(budget_ref(limit, f"nb_sk_{i}", clock, registry))
    assert len(registry) <= PRUNE_MIN
    assert touch(busy) is busy_budget
    assert touch(queued) is waiter_budget
    permit.release()
    waiter_budget.cancel(ticket)


def test_memory_follows_the_keys_in_use_not_every_key_seen() -> None:
    clock = ManualClock()
    registry = BudgetRegistry()
    limit = nb.RateLimit(60, per=60.0)
    for i in range(2000):
        spend(budget_ref(limit, f"nb_sk_{i}", clock, registry)).release()
        clock.advance(1.0)  # a new key every second: about 61 keys matter at any time
    assert len(registry) <= 2 * 62


class StoppedClock:
    """A clock that cannot tell the time any more (an event loop's clock, its loop gone)."""

    def now(self) -> float:
        raise RuntimeError("no event loop")

    def to_real(self, seconds: float) -> float:
        return seconds


def test_a_budget_whose_clock_stopped_does_not_break_other_keys() -> None:
    clock = ManualClock()
    registry = BudgetRegistry()
    limit = nb.RateLimit(1, per=1.0)
    stopped = budget_ref(limit, "nb_sk_stopped", StoppedClock(), registry)  # type: ignore[arg-type]
    gone = weakref.ref(touch(stopped))  # idle: nothing holds it
    for i in range(4 * PRUNE_MIN):  # enough new keys to prune the registry: none raises
        touch(budget_ref(limit, f"nb_sk_{i}", clock, registry))
    assert len(registry) <= PRUNE_MIN
    gc.collect()
    assert gone() is None  # forgotten: nobody can wait on it any more
