"""A slot taken from the key's budget and dropped unreleased comes back.

A Ctrl-C (a signal, raised between any two bytecodes of the main thread) can land after
the budget granted a slot and before the code that releases it holds the permit: the
slot would stay taken for the life of the process (a notebook's kernel lives on), and
after as many such interrupts as the budget has slots every request would wait forever.
"""

from __future__ import annotations

import pytest

import nanobanana as nb
from nanobanana._concurrency import Wakeup
from nanobanana._ratelimit import BudgetRegistry, budget_ref
from nanobanana._sync._limiter import RateLimiter
from nanobanana._window import default_margin
from nanobanana.testing import FakeNanoBanana, ManualClock


def test_a_permit_dropped_unreleased_frees_its_slot_a_window_later() -> None:
    clock = ManualClock()
    ref = budget_ref(nb.RateLimit(1, per=10.0), "nb_sk_dropped", clock, BudgetRegistry())
    budget, ticket = ref.enqueue(blocking=True)
    assert isinstance(budget.poll(ticket, Wakeup()), nb.Permit)  # taken, then dropped
    clock.advance(1.0)
    budget, ticket = ref.enqueue(blocking=True)
    # Counted as sent (whether it left is not known): free a window after it was dropped,
    # as for an answer that came at the next look.
    assert budget.poll(ticket, Wakeup()) == pytest.approx(1.0 + 10.0 + default_margin(10.0))
    clock.advance(10.0 + default_margin(10.0))
    permit = budget.poll(ticket, Wakeup())
    assert isinstance(permit, nb.Permit)
    permit.release()
    assert budget.in_flight == 0


def test_a_released_permit_that_is_dropped_gives_back_nothing_more() -> None:
    clock = ManualClock()
    ref = budget_ref(nb.RateLimit(2, per=10.0), "nb_sk_released", clock, BudgetRegistry())
    budget, ticket = ref.enqueue(blocking=True)
    permit = budget.poll(ticket, Wakeup())
    assert isinstance(permit, nb.Permit)
    permit.release(sent=False)
    del permit
    for _ in range(2):  # both slots are free at once: the release was counted once
        budget, ticket = ref.enqueue(blocking=True)
        assert isinstance(budget.poll(ticket, Wakeup()), nb.Permit)
    assert budget.in_flight == 0  # the two above were dropped too, and came back


@pytest.mark.timeout(60)  # a hang guard: on the old code the second call waits forever
def test_a_ctrl_c_right_after_the_grant_does_not_take_the_slot_for_good() -> None:
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock)
    key = fake.api_key
    limit = nb.RateLimit(1, per=60.0)
    budget = RateLimiter(budget_ref(limit, key, clock))  # the key's budget, as clients see it

    class CtrlCAfterTheGrant:
        """The permit is taken, then a KeyboardInterrupt lands before anyone holds it."""

        def acquire(self) -> nb.Permit:
            budget.acquire()
            raise KeyboardInterrupt

        def pause(self, seconds: float) -> None:
            budget.pause(seconds)

    with fake.client(api_key=key, rate_limit=CtrlCAfterTheGrant()) as interrupted:
        with pytest.raises(KeyboardInterrupt):
            interrupted.account.credits()
    assert fake.api_requests == []  # nothing left
    with fake.client(api_key=key, rate_limit=limit) as client:
        client.account.credits()  # waits for the slot (counted as sent), then goes
    assert [r.time for r in fake.api_requests] == [
        pytest.approx(limit.per + default_margin(limit.per))
    ]
