"""The credit arithmetic of a batch, without I/O: what it costs, and what it may commit.

Pricing. ``CostTally`` counts the requests still to submit by their cost request (the
parameters ``calculate_cost`` prices), so each distinct one is priced once, over the
network, by the caller; ``total`` is then the sum of price x count. ``preflight`` decides
whether a batch of that total may start at all.

Reservation. With ``max_credits``, a ``Budget`` holds each request's price before it is
sent (``reserve``); a request that was never processed gives it back (``refund``); one
the server charged settles at what it says it charged (``settle``). So the credits
committed never exceed ``max_credits``, however many requests run at once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from ._exceptions import BudgetExceededError
from ._requests import CostRequest, ImageRequest, VideoRequest, cost_request

__all__ = ["Budget", "CostTally", "preflight"]


class CostTally:
    """How many requests there are of each distinct cost request."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[CostRequest, int] = {}

    def add(self, request: ImageRequest | VideoRequest) -> None:
        """Count ``request`` (one more of its cost request)."""
        key = cost_request(request)
        self._counts[key] = self._counts.get(key, 0) + 1

    def distinct(self) -> list[CostRequest]:
        """The cost requests to price, once each, in the order first seen."""
        return list(self._counts)

    def total(self, prices: Mapping[CostRequest, int]) -> int:
        """The credits of every request counted, from the price of each cost request. One
        without a price (``calculate_cost`` refused it: its requests fail unpaid) adds 0."""
        return sum(prices[key] * n for key, n in self._counts.items() if key in prices)


def preflight(total: int, *, balance: int, max_credits: int | None) -> None:
    """Refuse (``BudgetExceededError``) a batch of ``total`` credits over the balance or
    over ``max_credits``: nothing is submitted then."""
    if total > balance:
        raise BudgetExceededError(
            f"this batch needs {total} credits but the account has {balance}: "
            "nothing was submitted",
            needed=total,
            available=balance,
            balance=balance,
            max_credits=max_credits,
        )
    if max_credits is not None and total > max_credits:
        raise BudgetExceededError(
            f"this batch needs {total} credits, more than max_credits={max_credits}: "
            "nothing was submitted",
            needed=total,
            available=max_credits,
            balance=balance,
            max_credits=max_credits,
        )


class Budget:
    """The credits a batch committed against ``max_credits``. Thread-safe: each operation
    is one step, whichever worker (task or thread) does it."""

    __slots__ = ("_committed", "_lock", "max_credits")

    def __init__(self, max_credits: int) -> None:
        self.max_credits = max_credits
        self._committed = 0
        self._lock = threading.Lock()

    @property
    def committed(self) -> int:
        """Credits held by requests sent or about to be, and charged by those answered."""
        with self._lock:
            return self._committed

    def reserve(self, cost: int) -> None:
        """Hold ``cost`` for a request about to be sent; ``BudgetExceededError`` (nothing
        held) when that would pass ``max_credits``."""
        with self._lock:
            committed = self._committed
            if committed + cost > self.max_credits:
                raise BudgetExceededError(
                    f"max_credits={self.max_credits} reached ({committed} credits "
                    f"committed, the next request costs {cost})",
                    needed=committed + cost,
                    available=self.max_credits,
                    max_credits=self.max_credits,
                )
            self._committed = committed + cost

    def refund(self, reserved: int) -> None:
        """Give back what ``reserve`` held for a request the server never processed."""
        with self._lock:
            self._committed -= reserved

    def settle(self, reserved: int, credits_used: int | None) -> None:
        """The request was charged ``credits_used`` (None: not said, the price stands)."""
        if credits_used is None:
            return
        with self._lock:
            self._committed += credits_used - reserved
