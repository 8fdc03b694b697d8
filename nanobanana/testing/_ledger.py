"""Credits: debiting an account, and the record of every charge."""

from __future__ import annotations

from ._records import Account, Charge
from ._wire import Refusal

__all__ = ["Ledger", "double_charges"]


class Ledger:
    """Every charge, in order. Not locked: the service calls it under its lock."""

    def __init__(self) -> None:
        self.charges: list[Charge] = []

    @staticmethod
    def debit(account: Account, price: int) -> None:
        """Take ``price`` off the balance; 402 (and nothing taken) when it is short."""
        if account.credits < price:
            raise Refusal(
                402,
                "INSUFFICIENT_CREDITS",
                f"Not enough credits: {price} needed, {account.credits} available",
            )
        account.credits -= price

    def record(self, charge: Charge) -> None:
        """Add a charge to the record."""
        self.charges.append(charge)

    def clear(self) -> None:
        """Forget every charge."""
        self.charges.clear()


def double_charges(charges: list[Charge], window: float) -> list[Charge]:
    """Charges repeating an earlier one (same key, same body) within ``window`` seconds."""
    seen: dict[tuple[str, str], float] = {}
    doubles: list[Charge] = []
    for charge in charges:
        key = (charge.key_hash, charge.request)
        last = seen.get(key)
        if last is not None and charge.time - last <= window:
            doubles.append(charge)
        seen[key] = charge.time
    return doubles
