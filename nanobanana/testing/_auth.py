"""Keys and accounts: who is asking, and may they.

Keys are known by a hash only (the first 16 hex digits of their SHA-256, the same name
the SDK's logs give a key), so no record of the simulator ever holds a raw key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime

from ._records import Account
from ._tables import GENERATE_ROUTES
from ._wire import Reply, error

__all__ = [
    "UNKNOWN_KEY",
    "bearer_hash",
    "has_plan",
    "key_hash",
    "redacted",
    "refuse_key",
    "refuse_scope",
]


def key_hash(key: str) -> str:
    """The simulator's name for a key."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def bearer_hash(headers: Mapping[str, str]) -> str | None:
    """The hash of the ``Authorization: Bearer`` key, None when there is none."""
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return key_hash(token.strip())


def redacted(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers as recorded: lower-cased names, the ``authorization`` value hidden."""
    return {
        k.lower(): ("<redacted>" if k.lower() == "authorization" else v) for k, v in headers.items()
    }


UNKNOWN_KEY = error(401, "UNAUTHORIZED", "Missing or invalid API key")
"""The answer to a request without a key, or with a key of no account."""


def refuse_key(account: Account) -> Reply | None:
    """403 for a disabled or expired key."""
    if account.state == "disabled":
        return error(403, "FORBIDDEN", "API key disabled")
    if account.state == "expired":
        return error(403, "FORBIDDEN", "API key expired")
    return None


def refuse_scope(account: Account, route: str) -> Reply | None:
    """403 for a key without the ``generate`` scope on a generate route."""
    if account.state == "missing_scope" and route in GENERATE_ROUTES:
        return error(403, "FORBIDDEN", "API key lacks required scope: generate")
    return None


def has_plan(account: Account, at: datetime) -> bool:
    """Whether the account has an active subscription at (simulated) date-time ``at``."""
    plan = account.subscription
    if plan is None:
        return False
    return plan.end_date is None or plan.end_date > at
