"""A batch's credit arithmetic (``nanobanana._budgeting``): pricing and reservation,
exactly, with no network and no clock."""

from __future__ import annotations

import threading

import pytest

import nanobanana as nb
from nanobanana._batch_models import is_fatal
from nanobanana._budgeting import Budget, CostTally, preflight
from nanobanana._requests import cost_request

PRO_2K = nb.ImageRequest("a", model="nano-banana-pro", resolution="2K")


def test_each_distinct_cost_request_is_counted_once_in_order() -> None:
    tally = CostTally()
    for request in [
        nb.ImageRequest("a"),
        PRO_2K,
        nb.ImageRequest("another prompt, same price"),
        nb.ImageRequest("b", model="nano-banana-pro", resolution="2K", aspect_ratio="1:1"),
    ]:
        tally.add(request)
    plain, pro = cost_request(nb.ImageRequest("x")), cost_request(PRO_2K)
    square = cost_request(
        nb.ImageRequest("y", model="nano-banana-pro", resolution="2K", aspect_ratio="1:1")
    )
    assert tally.distinct() == [plain, pro, square]  # the prompt is not priced
    assert tally.total({plain: 2, pro: 5, square: 6}) == 2 * 2 + 5 + 6


def test_a_cost_request_without_a_price_adds_nothing() -> None:
    tally = CostTally()
    tally.add(nb.ImageRequest("a"))
    tally.add(nb.VideoRequest("b", duration=8))
    assert tally.total({cost_request(nb.ImageRequest("a")): 3}) == 3
    assert CostTally().total({}) == 0


def test_preflight_refuses_over_the_balance_first() -> None:
    preflight(10, balance=10, max_credits=10)  # exactly enough: runs
    preflight(0, balance=0, max_credits=0)
    with pytest.raises(nb.BudgetExceededError) as caught:
        preflight(11, balance=10, max_credits=5)
    error = caught.value
    assert (error.needed, error.available, error.balance, error.max_credits) == (11, 10, 10, 5)
    assert str(error) == "this batch needs 11 credits but the account has 10: nothing was submitted"


def test_preflight_refuses_over_max_credits() -> None:
    with pytest.raises(nb.BudgetExceededError) as caught:
        preflight(27, balance=100, max_credits=20)
    error = caught.value
    assert (error.needed, error.available, error.balance, error.max_credits) == (27, 20, 100, 20)
    assert str(error) == (
        "this batch needs 27 credits, more than max_credits=20: nothing was submitted"
    )
    preflight(27, balance=100, max_credits=None)


def test_reserve_up_to_max_credits_then_refuse_holding_nothing() -> None:
    budget = Budget(10)
    budget.reserve(4)
    budget.reserve(6)
    assert budget.committed == 10
    with pytest.raises(nb.BudgetExceededError) as caught:
        budget.reserve(1)
    assert budget.committed == 10  # the refused request holds nothing
    error = caught.value
    assert (error.needed, error.available, error.max_credits, error.balance) == (11, 10, 10, None)
    assert str(error) == ("max_credits=10 reached (10 credits committed, the next request costs 1)")


def test_refund_and_settle_at_what_was_charged() -> None:
    budget = Budget(20)
    budget.reserve(5)
    budget.reserve(5)
    budget.refund(5)  # never processed (a 4xx): given back
    assert budget.committed == 5
    budget.settle(5, 3)  # charged less than the price
    assert budget.committed == 3
    budget.reserve(4)
    budget.settle(4, 6)  # charged more
    assert budget.committed == 9
    budget.reserve(2)
    budget.settle(2, None)  # the answer did not say: the price stands
    assert budget.committed == 11
    budget.reserve(9)  # exactly to the limit again
    assert budget.committed == 20


def test_concurrent_reservations_never_pass_max_credits() -> None:
    budget = Budget(100)
    held: list[int] = []

    def work() -> None:
        for _ in range(50):
            try:
                budget.reserve(3)
            except nb.BudgetExceededError:
                continue
            held.append(3)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(held) == 33 and budget.committed == 99  # 33 * 3; a 34th would pass 100


def test_a_budget_refusal_is_local_and_stops_a_batch() -> None:
    error = nb.BudgetExceededError("over", needed=2, available=1)
    assert isinstance(error, nb.NanoBananaError)
    assert not isinstance(error, nb.APIStatusError)  # the API was never asked
    assert not isinstance(error, nb.InsufficientCreditsError)
    assert str(error) == "over"
    assert is_fatal(error)
