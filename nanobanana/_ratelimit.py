"""The per-key budget shared by every client of a key in the process.

``SharedBudget`` wraps the pure ``SlidingWindow`` with a threading lock and the waiters'
wake-ups, so one budget serves asyncio tasks, Trio tasks and threads at once. The
limiters in ``_async/_limiter.py`` (and its generated sync twin) only wait.

Budgets live in a ``BudgetRegistry`` keyed by the key's fingerprint (a hash, never the
key), the limit and the clock. A budget outlives its clients: it stays while it matters
(a slot held, a waiter waiting, a window not yet over since the last answer), so a
client made per request still waits for the requests of the clients before it. Clients
hold a ``BudgetRef``, a name, and find the budget at each request.
"""

from __future__ import annotations

import math
import os
import threading
from typing import Any, Protocol

from ._config import key_fingerprint
from ._exceptions import LimiterDeadlockError
from ._policy import RateLimit
from ._window import Deadlock, SlidingWindow

__all__ = ["BudgetPermit", "BudgetRef", "BudgetRegistry", "SharedBudget", "budget_ref"]


class _Clock(Protocol):
    def now(self) -> float: ...

    def to_real(self, seconds: float) -> float: ...

    async def asleep(self, seconds: float) -> None: ...

    def sleep(self, seconds: float) -> None: ...


class _Wakeable(Protocol):
    def wake(self) -> None: ...


class SharedBudget:
    """One key's budget: a SlidingWindow behind a lock, plus who to wake when it changes.

    Only the head of the FIFO queue may take a slot, so only the head is woken: when a
    slot is released, or when the head changed (the previous head got its slot, gave up,
    or was passed over because a blocking call on its thread holds its event loop).

    Each waiter is owned by its thread. A blocking waiter (``Client``'s) blocks its
    thread: async waiters of an event loop on that thread cannot run meanwhile, so the
    queue passes over them instead of waiting for them forever.
    """

    __slots__ = (
        "__weakref__",
        "_dropped",
        "_lock",
        "_wakers",
        "_window",
        "clock",
        "key_id",
        "limit",
    )

    def __init__(self, limit: RateLimit, clock: _Clock, key_id: str = "") -> None:
        self.limit = limit
        self.clock = clock
        self.key_id = key_id
        self._window = SlidingWindow(limit.requests, limit.per)
        self._lock = threading.Lock()
        self._wakers: dict[int, _Wakeable] = {}
        # Owners of permits dropped unreleased (``BudgetPermit.__del__``), released at the
        # next look under the lock: a finalizer may run while this thread holds it.
        self._dropped: list[int] = []

    limit: RateLimit
    clock: _Clock
    key_id: str

    def __repr__(self) -> str:
        return (
            f"<SharedBudget key={self.key_id} {self.limit.requests}/{self.limit.per:g}s "
            f"in_flight={self._window.in_flight} waiting={self._window.waiting}>"
        )

    @property
    def poll_cap(self) -> float:
        """Real seconds a waiter sleeps at most before looking again: a safety net only
        (every change that matters wakes the head, from any thread), so a lost wake-up
        would cost at most this."""
        return min(self.clock.to_real(self.limit.per), 1.0)

    def enqueue(self, *, blocking: bool) -> int:
        """A ticket for a waiter of this thread; a ``blocking`` waiter blocks the thread."""
        with self._lock:
            window = self._window
            before = window.head()
            ticket = window.enqueue(threading.get_ident(), blocking=blocking)
            after = window.head()
            nxt = self._wakers.get(after) if after not in (before, ticket, None) else None
        if nxt is not None:  # the old head was passed over: tell the new one
            nxt.wake()
        return ticket

    def poll(self, ticket: int, waker: _Wakeable) -> BudgetPermit | float:
        """Take a slot for ``ticket`` now (a permit), or register ``waker`` and return the
        API time to look again (inf: until woken).

        Raises LimiterDeadlockError (the ticket withdrawn) when ``ticket`` blocks its
        thread and no slot can ever free: all are held by requests of blocked threads.
        """
        with self._lock:
            if self._dropped:
                self._release_dropped()
            try:
                result = self._window.try_acquire(ticket, self.clock.now())
            except Deadlock:
                stuck = True
            else:
                stuck = False
                if result is not None:
                    self._wakers[ticket] = waker
                    return result
            self._wakers.pop(ticket, None)
            nxt = self._head_waker()
        if nxt is not None:  # the ticket left the queue: the next one may go
            nxt.wake()
        if stuck:
            raise LimiterDeadlockError(
                f"a blocking nb.Client call would wait forever for the rate limit "
                f"({self.limit.requests} per {self.limit.per:g}s, key {self.key_id}): every "
                "slot is held by requests of the event loop running on this thread, which "
                "cannot finish while this call blocks it. Nothing was sent. Use "
                "nb.AsyncClient in async code, or run the blocking call in a worker thread "
                "(anyio.to_thread.run_sync, asyncio.to_thread)."
            )
        return BudgetPermit(self, threading.get_ident())  # the waiter's thread, as at enqueue

    def cancel(self, ticket: int) -> None:
        """The waiter of ``ticket`` gave up: it takes no slot and blocks nobody."""
        with self._lock:
            self._wakers.pop(ticket, None)
            head_changed = self._window.cancel(ticket)
            nxt = self._head_waker() if head_changed else None
        if nxt is not None:
            nxt.wake()

    def release(self, owner: int, *, sent: bool) -> None:
        with self._lock:
            self._window.release(self.clock.now(), sent=sent, owner=owner)
            if self._dropped:
                self._release_dropped()
            nxt = self._head_waker()
        if nxt is not None:
            nxt.wake()

    def dropped(self, owner: int) -> None:
        """A permit of ``owner`` was dropped unreleased: its holder was interrupted between
        the grant and its ``try`` (a Ctrl-C lands between any two bytecodes). Takes no lock
        (see ``_dropped``); the slot comes back, as sent, at the budget's next look, or
        within ``poll_cap`` for a waiter that sleeps until a release."""
        self._dropped.append(owner)

    def _release_dropped(self) -> None:
        # Under the lock. Counted as sent: whether it left is not known here. An owner
        # holding nothing had its slots forgotten (a forked child's copy of a permit).
        now = self.clock.now()
        window = self._window
        while self._dropped:
            owner = self._dropped.pop()
            if window.holds(owner):
                window.release(now, sent=True, owner=owner)

    def pause(self, seconds: float) -> None:
        """Hold every waiter for ``seconds`` of API time (after a 429)."""
        if not seconds > 0 or math.isinf(seconds):
            return
        with self._lock:
            self._window.pause_until(self.clock.now() + seconds)

    def forgettable(self) -> bool:
        """True when this budget behaves like a new one from now on (so may be dropped).

        Any client may prune the registry, so one budget's clock must not break another
        key's request: an idle budget whose clock cannot tell the time any more (a test's
        event-loop clock, its loop gone) is forgotten, since nobody can wait on it.
        """
        with self._lock:
            if self._dropped:
                self._release_dropped()
            at = self._window.forgettable_at()
            if at == math.inf:  # a request in flight or a waiter
                return False
            try:
                now = self.clock.now()
            except Exception:
                return True
            return at <= now

    def _after_fork(self) -> None:
        """In a forked child: a lock of its own (the parent's may have been held by a
        thread the child does not have), and none of the parent's waiters or requests in
        flight, which would hold the queue or their slots forever."""
        self._lock = threading.Lock()
        self._wakers = {}
        self._dropped = []
        try:
            now = self.clock.now()
        except Exception:  # a clock that cannot tell the time any more: nobody waits on it
            now = -math.inf
        self._window.forget_owners(now)

    def _head_waker(self) -> _Wakeable | None:
        head = self._window.head()
        return None if head is None else self._wakers.get(head)

    # introspection for tests and debugging
    @property
    def in_flight(self) -> int:
        with self._lock:
            if self._dropped:
                self._release_dropped()
            return self._window.in_flight

    @property
    def waiting(self) -> int:
        with self._lock:
            return self._window.waiting


class BudgetPermit:
    """One request's slot, held by the thread that took it. ``release`` is idempotent:
    only the first call counts. A permit dropped unreleased gives its slot back (as sent):
    a Ctrl-C between the grant and the code that releases it would otherwise keep the
    slot for the life of the process."""

    __slots__ = ("_budget", "_done", "_owner")

    def __init__(self, budget: SharedBudget, owner: int) -> None:
        self._budget = budget
        self._owner = owner
        self._done = False

    def release(self, *, sent: bool = True) -> None:
        if self._done:
            return
        self._done = True
        self._budget.release(self._owner, sent=sent)

    def __del__(self) -> None:
        if not self._done:
            self._done = True
            self._budget.dropped(self._owner)


PRUNE_MIN = 16
"""The registry looks for budgets to forget once it holds this many, and again whenever
it has doubled since it last looked: bounded memory at an amortised constant cost."""


class BudgetRegistry:
    """The budgets of a process, by (key fingerprint, limit, clock), held strongly.

    A budget stays while it matters: while a request holds a slot or a waiter waits, and
    until a window (plus margin, plus any 429 pause) has passed since its last answer.
    After that it behaves exactly like a new budget, so dropping it changes nothing a
    server could see. Budgets are dropped lazily, when a new one is made; memory follows
    the keys in use, not every key the process has seen.
    """

    __slots__ = ("_budgets", "_lock", "_prune_at")

    def __init__(self) -> None:
        self._budgets: dict[tuple[Any, ...], SharedBudget] = {}
        self._lock = threading.Lock()
        self._prune_at = PRUNE_MIN

    def __len__(self) -> int:
        with self._lock:
            return len(self._budgets)

    def enqueue(self, ref: BudgetRef, *, blocking: bool) -> tuple[SharedBudget, int]:
        """The budget of ``ref`` and a ticket in its queue, in one step: a budget being
        waited on is never forgotten, and one that was forgotten is never used again."""
        with self._lock:
            budget = self._get(ref)
            return budget, budget.enqueue(blocking=blocking)

    def pause(self, ref: BudgetRef, seconds: float) -> None:
        with self._lock:
            self._get(ref).pause(seconds)

    def _after_fork(self) -> None:
        """In a forked child (``os.register_at_fork``): each budget keeps what its window
        knows of the requests sent, and forgets the parent's threads (``SharedBudget``)."""
        self._lock = threading.Lock()
        for budget in self._budgets.values():
            budget._after_fork()

    def _get(self, ref: BudgetRef) -> SharedBudget:
        budget = self._budgets.get(ref.key)
        if budget is None:
            if len(self._budgets) >= self._prune_at:
                self._prune()
            budget = SharedBudget(ref.limit, ref.clock, ref.key_id)
            self._budgets[ref.key] = budget
        return budget

    def _prune(self) -> None:
        for key, budget in list(self._budgets.items()):
            if budget.forgettable():
                del self._budgets[key]
        self._prune_at = max(PRUNE_MIN, 2 * len(self._budgets))


REGISTRY = BudgetRegistry()
"""The process's budgets: every client of a key shares its budget through this."""

if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=REGISTRY._after_fork)


class BudgetRef:
    """What a limiter holds: the name of one key's budget, not the budget itself.

    Each request finds the budget in the registry and queues on it in one step, so a
    budget outlives the clients that used it, and a key never has two budgets at once.
    """

    __slots__ = ("clock", "key", "key_id", "limit", "registry")

    def __init__(
        self, limit: RateLimit, clock: _Clock, key_id: str, registry: BudgetRegistry = REGISTRY
    ) -> None:
        try:
            hash(clock)
            clock_key: Any = clock
        except TypeError:
            clock_key = id(clock)  # the budget keeps the clock alive, so the id stays its own
        self.key = (key_id, limit.requests, float(limit.per), clock_key)
        self.limit = limit
        self.clock = clock
        self.key_id = key_id
        self.registry = registry

    def enqueue(self, *, blocking: bool) -> tuple[SharedBudget, int]:
        """The budget and a ticket in its FIFO queue (``blocking``: the waiter blocks its
        thread until served)."""
        return self.registry.enqueue(self, blocking=blocking)

    def pause(self, seconds: float) -> None:
        """Hold every waiter of this budget for ``seconds`` (after a 429)."""
        self.registry.pause(self, seconds)


def budget_ref(
    limit: RateLimit, api_key: str, clock: _Clock, registry: BudgetRegistry = REGISTRY
) -> BudgetRef:
    """The name of ``api_key``'s budget for ``limit`` and ``clock`` (the key is hashed)."""
    return BudgetRef(limit, clock, key_fingerprint(api_key), registry)
