"""Every operation against every simulator fault ends in its documented outcome
(docs/resilience.md), and the ledger never shows a double charge.

A fault fires once (``times=1``, a transient failure) or on every request (a persistent
one). Reads retry transient failures away; a generate request is retried only when it
provably never reached processing (connection refused, reset before sending, 429).
"""

from __future__ import annotations

from typing import Any

import pytest

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana, FaultHandle

SCALE = 2000.0  # backoffs and Retry-After pauses of API seconds take about a millisecond

OPERATIONS: dict[str, tuple[str, bool]] = {
    # name: (route, is a generate)
    "images.generate": ("images/generate", True),
    "videos.generate": ("videos/generate", True),
    "images.status": ("images/status", False),
    "videos.status": ("videos/status", False),
    "account.credits": ("account/credits", False),
    "account.calculate_cost": ("account/calculate-cost", False),
    "models.list": ("models", False),
}

FAULTS: dict[str, dict[str, Any]] = {
    "connection_refused": {},
    "reset_before": {},
    "reset_after": {},
    "read_timeout": {},
    "http_500": {},
    "http_502_html": {},
    "http_503": {"retry_after": 2.0},
    "http_429": {"retry_after": 2.0},
    "http_429_no_retry_after": {"retry_after": None},
    "malformed_json": {},
}

NEVER_REACHED = {"connection_refused", "reset_before", "http_429", "http_429_no_retry_after"}
"""Faults that prove the request never reached processing: generate retries them too."""

ERROR_OF: dict[str, type[nb.NanoBananaError]] = {
    "connection_refused": nb.APIConnectionError,
    "reset_before": nb.APIConnectionError,
    "reset_after": nb.APIConnectionError,
    "read_timeout": nb.APITimeoutError,
    "http_500": nb.InternalServerError,
    "http_502_html": nb.InternalServerError,
    "http_503": nb.InternalServerError,
    "http_429": nb.RateLimitError,
    "http_429_no_retry_after": nb.RateLimitError,
    "malformed_json": nb.UnexpectedResponseError,
}


def expected(op: str, fault: str, persistent: bool) -> tuple[type[BaseException] | None, int]:
    """The documented outcome: (error raised or None for success, requests on the route)."""
    _, generate = OPERATIONS[op]
    attempts = 1 + 2  # max_retries=2
    if fault == "malformed_json":
        return nb.UnexpectedResponseError, 1  # not a transient failure we can recognise
    retried = fault in NEVER_REACHED or not generate
    if not retried:
        return ERROR_OF[fault], 1
    if persistent:
        return ERROR_OF[fault], attempts
    return None, 2


def call(client: Any, op: str, ids: dict[str, str]) -> Any:
    if op == "images.generate":
        return client.images.generate("a lighthouse at dawn")
    if op == "videos.generate":
        return client.videos.generate("a lighthouse at dawn")
    if op == "images.status":
        return client.images.status(ids["image"])
    if op == "videos.status":
        return client.videos.status(ids["video"])
    if op == "account.credits":
        return client.account.credits()
    if op == "account.calculate_cost":
        return client.account.calculate_cost("image", mode="text", model="nano-banana")
    return client.models.list()


def inject(fake: FakeNanoBanana, fault: str, route: str, persistent: bool) -> FaultHandle:
    kind = "http_429" if fault.startswith("http_429") else fault
    return fake.inject(kind, route=route, times=None if persistent else 1, **FAULTS[fault])


def check(
    fake: FakeNanoBanana,
    handle: FaultHandle,
    op: str,
    fault: str,
    persistent: bool,
    outcome: BaseException | None,
    charges_before: int,
) -> list[str]:
    """Mismatches between what happened and the documented outcome (empty: as documented)."""
    route, generate = OPERATIONS[op]
    error, count = expected(op, fault, persistent)
    label = f"{op} x {fault} ({'persistent' if persistent else 'once'})"
    problems: list[str] = []
    # attempts: those the fault shaped (a refused one never reaches the simulator's
    # records) plus those answered normally
    seen = handle.fired + sum(1 for r in fake.requests if r.route == route and r.fault is None)
    if seen != count:
        problems.append(f"{label}: {seen} attempts, expected {count}")
    if error is None:
        if outcome is not None:
            problems.append(f"{label}: raised {outcome!r}, expected success")
    elif not isinstance(outcome, error):
        problems.append(f"{label}: got {outcome!r}, expected {error.__name__}")
    elif generate:
        unknown = fault not in NEVER_REACHED
        if getattr(outcome, "may_have_been_processed", None) is not unknown:
            problems.append(f"{label}: may_have_been_processed should be {unknown}")
        if unknown and "may have been charged" not in str(outcome):
            problems.append(f"{label}: the message does not say it may have been charged")
        if unknown and "credits()" not in str(outcome):
            problems.append(f"{label}: the message does not say how to check")
    new_charges = len(fake.charges) - charges_before
    if new_charges > 1:
        problems.append(f"{label}: charged {new_charges} times")
    if fake.double_charges():
        problems.append(f"{label}: double charge {fake.double_charges()}")
    if any(r.status == 429 and r.fault is None for r in fake.requests):
        problems.append(f"{label}: the simulator's own rate limit answered 429")
    return problems


CASES = [
    (op, fault, persistent) for op in OPERATIONS for fault in FAULTS for persistent in (False, True)
]


def new_fake() -> FakeNanoBanana:
    return FakeNanoBanana(time_scale=SCALE)


@pytest.mark.anyio
async def test_fault_matrix_async_client() -> None:
    problems: list[str] = []
    for op, fault, persistent in CASES:
        fake = new_fake()
        async with fake.async_client() as client:
            ids: dict[str, str] = {}
            if op.endswith(".status"):
                ids["image"] = (await client.images.generate("seed task")).task_id
                ids["video"] = (await client.videos.generate("seed task")).task_id

            charges_before = len(fake.charges)
            handle = inject(fake, fault, OPERATIONS[op][0], persistent)
            outcome: BaseException | None = None
            try:
                await call(client, op, ids)
            except nb.NanoBananaError as exc:
                outcome = exc
            problems += check(fake, handle, op, fault, persistent, outcome, charges_before)
    assert not problems, "\n".join(problems)


def test_fault_matrix_sync_client() -> None:
    problems: list[str] = []
    for op, fault, persistent in CASES:
        fake = new_fake()
        with fake.client() as client:
            ids: dict[str, str] = {}
            if op.endswith(".status"):
                ids["image"] = client.images.generate("seed task").task_id
                ids["video"] = client.videos.generate("seed task").task_id

            charges_before = len(fake.charges)
            handle = inject(fake, fault, OPERATIONS[op][0], persistent)
            outcome: BaseException | None = None
            try:
                call(client, op, ids)
            except nb.NanoBananaError as exc:
                outcome = exc
            problems += check(fake, handle, op, fault, persistent, outcome, charges_before)
    assert not problems, "\n".join(problems)


@pytest.mark.anyio
async def test_a_generate_of_unknown_fate_leaves_exactly_the_one_charge_to_find() -> None:
    """What the error tells the user to do works: the balance shows whether it was charged."""
    fake = new_fake()
    async with fake.async_client() as client:
        before = (await client.account.credits()).credits
        fake.inject("read_timeout", route="images/generate", times=1)
        with pytest.raises(nb.APITimeoutError) as info:
            await client.images.generate("a lighthouse at dawn")
        assert info.value.may_have_been_processed
        after = (await client.account.credits()).credits
    assert len(fake.charges) == 1
    assert before - after == fake.charges[0].credits


def test_matrix_is_complete() -> None:
    """Every fault kind the simulator knows (but latency, covered by timeouts) is in it."""
    from nanobanana.testing import Fault

    kinds: set[str] = {f if not f.startswith("http_429") else "http_429" for f in FAULTS}
    assert kinds == set(Fault.ALL) - {"latency"}
    assert len(CASES) == len(OPERATIONS) * len(FAULTS) * 2
