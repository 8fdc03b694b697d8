"""A batch's numbers (``batch.stats``): what it handed out, spent and sent, and for how long.

``BatchTally`` counts as the batch runs (its workers and whoever iterates it, from any
thread) and keeps the items handed out, up to ``GALLERY_LIMIT``, for ``write_gallery``;
``BatchStats`` is a snapshot of it. Pure: the time is the batch's clock's, given.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from ._batch_models import BatchItem
from ._policy import RateLimit

__all__ = ["GALLERY_LIMIT", "BatchStats", "BatchTally"]

GALLERY_LIMIT = 10_000
"""Items a batch keeps for its gallery: the first ones handed out. A page of more cards
is more than a browser shows well; the counts of the header cover every item."""


@attrs.frozen
class BatchStats:
    """A batch's numbers so far (``batch.stats``): a snapshot, taken when read.

    ``succeeded`` and ``failed`` count the items handed out; ``pending`` the requests
    without one yet. The page of ``batch.write_gallery`` shows them in its header.
    """

    total: int | None
    """Requests in the input, when known: a list, a file, or an input read to its end."""
    succeeded: int
    """Items handed out that succeeded (``item.ok``)."""
    failed: int
    """Items handed out that did not."""
    credits_used: int
    """Credits the generate answers of this run charged."""
    requests: int
    """API requests this run sent: generate, polls, prices, the balance; retries
    included, downloads (not API requests) not."""
    elapsed: float
    """Seconds on the client's clock since the batch started, until it ended."""
    ended: bool
    """True once the batch ended (ran to its end, or stopped)."""
    rate_limit: RateLimit | None = None
    """The budget the requests counted against, when the client's ``rate_limit`` names one
    (an ``nb.RateLimit``, the default, a ``RedisRateLimiter``)."""

    @property
    def pending(self) -> int | None:
        """Requests without an item yet (in flight, or not started), when ``total`` is known."""
        if self.total is None:
            return None
        return max(0, self.total - self.succeeded - self.failed)

    @property
    def budget_allowed(self) -> int | None:
        """The most requests ``rate_limit`` allowed in ``elapsed``: ``requests`` per ``per``
        seconds, for each window the run began (None without a budget)."""
        if self.rate_limit is None:
            return None
        windows = max(1, math.ceil(self.elapsed / self.rate_limit.per - 1e-9))
        return self.rate_limit.requests * windows


class BatchTally:
    """What a batch counts as it runs (thread-safe). ``clock`` is the batch's: seconds of
    API time; the wall times it gives (``wall``) are anchored at its ``start()``."""

    def __init__(self, clock: Callable[[], float], rate_limit: RateLimit | None) -> None:
        self._clock = clock
        self.rate_limit = rate_limit
        self._lock = threading.Lock()
        self._started: float | None = None
        self._anchor = datetime.now(timezone.utc)
        self._ended: float | None = None
        self._total: int | None = None
        self._succeeded = 0
        self._failed = 0
        self._credits = 0
        self._requests = 0
        self._kept: list[BatchItem[Any]] = []

    def start(self) -> None:
        """The batch starts: ``elapsed`` and ``wall`` count from now."""
        with self._lock:
            self._started = self._clock()
            self._anchor = datetime.now(timezone.utc)

    def wall(self) -> datetime:
        """Now, as a date-time: the batch's start plus its clock's seconds since (so the
        times of one run are as exact as its clock: a ManualClock's exactly)."""
        started = self._started
        if started is None:
            return datetime.now(timezone.utc)
        return self._anchor + timedelta(seconds=self._clock() - started)

    def request(self) -> None:
        """An API request of the batch got its turn and leaves."""
        with self._lock:
            self._requests += 1

    def paid(self, credits: int | None) -> None:
        """A generate answer charged ``credits``."""
        if credits:
            with self._lock:
                self._credits += credits

    def total(self, count: int) -> None:
        """The input holds ``count`` requests."""
        with self._lock:
            self._total = count

    def handed_out(self, item: BatchItem[Any]) -> None:
        """``item`` was handed out: count it, and keep it for the gallery (up to the limit)."""
        with self._lock:
            if item.ok:
                self._succeeded += 1
            else:
                self._failed += 1
            if len(self._kept) < GALLERY_LIMIT:
                self._kept.append(item)

    def end(self) -> None:
        """The batch ended (its clock stops for ``elapsed``); once."""
        with self._lock:
            if self._ended is None and self._started is not None:
                self._ended = self._clock()

    def items(self) -> list[BatchItem[Any]]:
        """The items kept, in the order they were handed out."""
        with self._lock:
            return list(self._kept)

    def snapshot(self) -> BatchStats:
        with self._lock:
            start = self._started
            end = self._ended if self._ended is not None else self._clock()
            return BatchStats(
                total=self._total,
                succeeded=self._succeeded,
                failed=self._failed,
                credits_used=self._credits,
                requests=self._requests,
                elapsed=0.0 if start is None else max(0.0, end - start),
                ended=self._ended is not None,
                rate_limit=self.rate_limit,
            )
