"""Task durations, learned online: where a waiting task's first poll should go.

With the default poll policy the client learns how long tasks take, per *profile*: the
kind, the model and the parameters that change durations (resolution, number of images,
video length, ...; see ``profile``), falling back to the model and then the kind while a
profile is new. Each finished task leaves one observation: when its first poll came, and
its duration when that poll found it still running (read from ``progress``: at progress
p after t seconds, the task takes about t * 100 / p). From those the tracker estimates
quantiles of the durations without bias (a task's first poll time does not depend on its
own duration; see ``_History.quantile``).

A task found ended leaves its exact duration when its status has a ``completed_at``: the
server's clock is not the client's, so their offset is estimated from bounds (a task
ended before the answer that found it ended, and after a poll that found it running;
every answer's ``Date`` was written before it arrived; ``_server_clock``), whole seconds
read as the second they stand for; with none usable, the observation is only "ended by
its first poll". Once a profile's durations are exact, its history keeps up to
``LONG_WINDOW`` tasks while they hold still and forgets the older ones at a change (rank
tests, on what a steady trend leaves), and a significant trend over submission times moves
them to the newest task's values (``_History._view``). A quantile is the order statistic
a new task outlasts at most ``1 - q`` of the time, at any sample size
(``_History.quantile``).

With one profile the first poll goes to the ``FIRST_POLL_QUANTILE`` point; with several,
one *price* (seconds of waiting a request is worth) places each profile's first poll
where it costs least, and is set so that the same share of all tasks,
``1 - FIRST_POLL_QUANTILE``, are still running at it: the extra polls go to the profiles
where they save the most waiting (see ``DurationTracker``), and never goes below
``PRICE_FLOOR``: durations that end close together are then first polled at their top,
the latest any recent task ended (one request a task). A few tasks are *probes*,
first polled earlier, so that the estimate can also come down; more of them while a
profile is new, or when first polls stop finding tasks running (not once durations are
exact).

Pure: the clock's readings and the rng come in as arguments, so every decision is
testable without sleeping; ``_polling.PollState`` feeds the tracker and asks it.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from ._policy import DEFAULT_POLICIES
from ._server_clock import ClockOffset, timestamp

__all__ = ["FIRST_POLL_QUANTILE", "DurationTracker", "profile"]

FIRST_POLL_QUANTILE = 0.93
"""About 93% of tasks are done by their first poll; the rest get a second one planned
from their progress. Higher costs latency for every task; lower costs requests (each one
a share of the budget). With one profile, the quantile of its durations the first poll
aims at; with several, the share of all tasks done by their first poll (the profiles'
own shares differ: see ``DurationTracker``)."""

WINDOW = 64
"""Finished tasks a profile's estimate uses while durations are censored (no completion
times): enough for a 93% quantile, short enough to follow durations that drift."""
LONG_WINDOW = 128
"""Finished tasks it uses once their durations are exact, while they do not change (a
change test shortens it: ``_History.add``)."""
CHANGE_Z = 3.5
"""The rank test's z past which the recent durations differ from the older ones."""
CHANGE_STEP = 8
"""The recent parts the change test compares with the rest: multiples of this many tasks,
at least two of them on either side."""
TREND_T = 3.0
"""The t statistic past which a trend of the (log) durations over submission times is
real (on durations that hold still, a window of 32-128 shows one past 3 about 0.3% of
the time)."""
EXACT_SHARE = 0.9
"""The share of exact durations past which a history is read as exact."""
MIN_OBSERVATIONS = 6
"""Observations an estimate needs at a point before it is trusted there."""
PROBE_RATE = 0.0
"""The share of tasks first polled early (a probe) once a profile is known and first
polls find about as many tasks running as they should (none: each costs a request)."""
PROBE_RATE_LOST = 0.3
"""The share while first polls find (almost) no task running: the estimate may be high."""
PROBE_SPAN = (0.3, 0.8)
"""A probe's first poll comes at this fraction of the current estimate (uniform)."""
QUANTILES = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.96, 0.98, 1.0)
"""The points a profile's first poll may go to (quantiles of its durations): a grid, fine
near the top, where a single profile's first polls go. 1.0 is the *top*: the latest any
recent task may have ended (``_History.top``), known once durations are exact."""
RATE_MEMORY = 128
"""Tasks over which the mix of profiles (the weight of each in the budget) is counted."""
PRICE_FLOOR = 20.0
"""Seconds of waiting a request is worth at least: a poll that finds its task running
takes a slot of the budget that a submission or another task's poll was queued for (at
27 tasks a minute under 60/min, 90% of the budget, every request waits; see
``DurationTracker``). A profile whose last few percent of durations end close together
is then first polled near its top (its 98% point, or the top itself when the rest of
the way costs less than this much per request saved): about one request a task."""
PRICE_RANGE = (0.01, 100_000.0)
"""Seconds of waiting a request may be worth: the bounds of the price."""
_MIN_FIRST = 0.5
"""Seconds: the adaptive first poll never comes sooner than this."""
_DURATION_FIELDS = (
    "mode",
    "resolution",
    "num_images",
    "quality",
    "duration",
    "generate_audio",
    "aspect_ratio",
)
"""The request fields that may change how long a task takes (besides the model)."""


def profile(body: Mapping[str, Any] | None) -> str | None:
    """The duration profile of a generate request's body: ``"model|field=value,..."``.

    The prompt and inputs are not part of it (every task would be its own profile). None
    for no body (nothing is known about the task, e.g. a task id from elsewhere).
    """
    if body is None:
        return None
    model = body.get("model", body.get("model_id"))
    fields = ",".join(f"{k}={body[k]}" for k in _DURATION_FIELDS if body.get(k) is not None)
    return f"{model if model is not None else ''}|{fields}"


class _Item(NamedTuple):
    """A finished task in a ``_History``."""

    first: float
    """Seconds from submission to the answer of its first poll."""
    duration: float | None
    """Its length when known (found running at its first poll, or found ended with a
    usable ``completed_at``); None when that poll found it ended and nothing more is known."""
    exact: bool
    """Whether the duration would have been known whatever the first poll found: then the
    task tells about every point, not just those past its first poll."""
    spread: float
    """How much longer it may have lasted: ``duration`` is the middle of what its completion
    time allows (whole seconds leave half a second)."""
    submitted: float
    """When it was submitted (the client's clock): where a trend of durations is read."""


class _History:
    """The recent finished tasks of one profile (``_Item``)."""

    __slots__ = ("_cache", "_items", "_swept", "_used", "probes")

    def __init__(self) -> None:
        self._items: deque[_Item] = deque(maxlen=LONG_WINDOW)
        self._used: list[_Item] | None = None
        self._cache: dict[float, float | None] = {}
        self._swept: list[tuple[float, int, int]] | None = None
        self.probes = 0
        """Probes planned for this profile (see ``DurationTracker.first_poll``)."""

    def __len__(self) -> int:
        return len(self._items)

    def add(
        self,
        first: float,
        duration: float | None,
        exact: bool = False,
        spread: float = 0.0,
        submitted: float = 0.0,
    ) -> None:
        self._items.append(
            _Item(first, duration, exact and duration is not None, spread, submitted)
        )
        self._cache.clear()
        self._swept = None
        self._used = None
        self._cut()

    def _cut(self) -> None:
        """Forget the tasks before a change of durations (exact ones only, which all tell
        the same; an ADWIN-like test): the recent ``m`` durations against the older ones,
        for every ``m`` a multiple of ``CHANGE_STEP``, by their ranks (Mann-Whitney: any
        distribution); where they differ past ``CHANGE_Z``, the older ones go, the most
        recent part kept being the longest that differs. So a long window while durations
        hold still (a sharper estimate), and a short one soon after they move. Durations
        that drift steadily are compared once the trend is taken out (``_trend``): a
        steady drift is followed by ``_detrended`` over the whole window; cut down to a
        few dozen tasks, it could not be read (benchmarks/README.md)."""
        exact = [i for i, item in enumerate(self._items) if item.exact]
        n = len(exact)
        if n < 4 * CHANGE_STEP:
            return
        points = [(self._items[i].submitted, _log(self._items[i].duration)) for i in exact]
        slope = _trend(points)
        durations = [y - (slope or 0.0) * t for t, y in points]
        order = sorted(range(n), key=lambda j: durations[j])
        rank = [0] * n
        for r, j in enumerate(order):
            rank[j] = r + 1
        keep: int | None = None
        recent = 0
        for m in range(1, n - 2 * CHANGE_STEP + 1):
            recent += rank[n - m]
            if m % CHANGE_STEP or m < 2 * CHANGE_STEP:
                continue
            if _differ(recent, m, n) or (2 * m <= n and _differs_from_before(durations, m)):
                keep = m
        if keep is not None:
            for _ in range(exact[n - keep]):
                self._items.popleft()

    def _view(self) -> list[_Item]:
        """The tasks the estimate uses: all kept while (nearly) every duration is exact,
        else the last ``WINDOW``."""
        if self._used is None:
            items = list(self._items)
            exact = sum(1 for item in items if item.exact)
            items = items[-WINDOW:] if exact < EXACT_SHARE * len(items) else _detrended(items)
            self._used = items
        return self._used

    def quantile(self, q: float) -> float | None:
        """The point past which at most ``1 - q`` of the tasks last; None until known.

        At a point ``x`` the tasks that tell whether they lasted longer than ``x`` are the
        ones first polled by ``x`` (found ended: not longer; found running: their duration
        says). Which tasks those are does not depend on their durations (a first poll is
        planned before its task's duration is known), so their share above ``x`` is an
        unbiased estimate of the share of all tasks, once ``MIN_OBSERVATIONS`` of them tell.

        "Too many" is the order-statistic rule: of ``n`` tasks that tell, more than
        ``(n + 1)(1 - q) - 1``. With every duration known the answer is then the
        ``ceil((n + 1) q)``-th shortest, which the next task outlasts with probability at
        most ``1 - q`` at any ``n`` and whatever the distribution (the ``k``-th of ``n``
        draws is outlasted by a new one ``(n + 1 - k) / (n + 1)`` of the time). So early,
        with few tasks, the point is the longest seen, not a lower one that many new tasks
        outlast (a rule of "``1 - q`` give or take chance" let 1 task in 6 run past it at
        first, and held first polls early for minutes: benchmarks/README.md). The answer is
        the point just past the *last* one where too many lasted longer: noise at a point
        informed by few tasks moves it less than a first crossing would.
        """
        if q in self._cache:
            return self._cache[q]
        if q >= 1.0:
            self._cache[q] = top = self.top()
            return top
        found: float | None = None
        informed = False
        last = 0.0
        for x, seen, exceeding in self._sweep():
            if seen < MIN_OBSERVATIONS:
                continue
            informed = True
            last = x
            if exceeding > (seen + 1) * (1.0 - q) - 1.0:
                found = None  # too many lasted longer than x: the answer is further on
            elif found is None:
                found = x
        if informed and found is None:
            found = last  # every point so far is too soon: the last one, at least
        self._cache[q] = found
        return found

    def priced(self, price: float) -> tuple[float, float] | None:
        """The first poll that costs least at ``price`` seconds of waiting per request, and
        the share of tasks it finds ended (None until the history knows its durations).

        A first poll at ``t`` makes a task that ended at ``d < t`` wait ``t - d`` for its
        result, and a task still running spend one more request (its next poll comes where
        its progress says it ends): per task, ``J(t) = E[(t - D)+] + price * (1 - F(t))``,
        with ``F`` the share of durations up to ``t``. The candidates are the ``QUANTILES``
        of the durations (estimated by ``quantile``, so every candidate is a point the
        history can judge, and ``F`` is known there: its ``q``). Between two of them,
        ``E[(t - D)+]`` grows by the integral of ``F`` (trapezoids). Where ``F`` has a
        density ``f`` the best point has ``F / f = price``: a poll ``dt`` sooner saves
        ``F dt`` of waiting and costs ``f dt`` requests. Comparing costs rather than
        solving that holds also for durations of several modes (``F / f`` not monotone).
        """
        best: tuple[float, float, float] | None = None  # (J, point, q)
        wait = 0.0
        previous: tuple[float, float] | None = None
        for q in QUANTILES:
            point = self.quantile(q)
            if point is None:
                if q >= 1.0 and best is not None:
                    break  # the top is known only from exact durations
                return None
            if previous is not None:
                point = max(point, previous[0])
                wait += (previous[1] + q) / 2 * (point - previous[0])
            previous = (point, q)
            cost = wait + price * (1.0 - q)
            if best is None or cost <= best[0]:
                best = (cost, point, q)
        return None if best is None else (best[1], best[2])

    def sooner(self, point: float, q: float) -> tuple[float, float] | None:
        """The next point of the grid sooner than ``point`` (reached from its ``q``), and
        the highest of the ``QUANTILES`` at it; None when there is none."""
        for lower in reversed([p for p in QUANTILES if p < q]):
            x = self.quantile(lower)
            if x is not None and x < point:
                return x, lower
        return None

    def _sweep(self) -> list[tuple[float, int, int]]:
        """Per point (every first poll and duration), lowest first: how many tasks were
        first polled by it, and how many of those lasted longer (one pass, shared by every
        quantile asked of the same history)."""
        if self._swept is not None:
            return self._swept
        # (x, what happens there): 0 polled and found ended, 1 polled and running, 2 ends.
        # A task of known duration tells from 0 on (as if polled then and found running).
        events: list[tuple[float, int]] = []
        for first, duration, exact, _, _ in self._view():
            if exact:
                first = 0.0
            running = duration is not None and duration > first
            events.append((first, int(running)))
            if duration is not None and running:
                events.append((duration, 2))
        events.sort(key=lambda event: event[0])
        swept: list[tuple[float, int, int]] = []
        seen = longer = j = 0
        for x in sorted({at for at, _ in events}):
            while j < len(events) and events[j][0] <= x:
                what = events[j][1]
                if what < 2:
                    seen += 1
                    longer += what
                else:
                    longer -= 1
                j += 1
            swept.append((x, seen, longer))
        self._swept = swept
        return swept

    def top(self) -> float | None:
        """The latest any task of the view may have ended (its duration plus its spread):
        where a first poll finds every one of them ended. None unless the view is exact
        (a censored history does not know how long its longest tasks took) and holds
        ``MIN_OBSERVATIONS`` exact durations."""
        view = self._view()
        ends = [i.duration + i.spread for i in view if i.exact and i.duration is not None]
        if len(ends) < max(MIN_OBSERVATIONS, EXACT_SHARE * len(view)):
            return None
        return max(ends)

    def running_share(self, x: float) -> float | None:
        """The share of tasks first polled by ``x`` that were still running at their first
        poll (None with too few of them)."""
        polled = [
            i.duration is not None and i.duration > i.first for i in self._view() if i.first <= x
        ]
        if len(polled) < MIN_OBSERVATIONS:
            return None
        return sum(polled) / len(polled)

    def beyond(self, elapsed: float, q: float) -> float | None:
        """The ``q`` quantile of the durations longer than ``elapsed`` (None with fewer
        than three): how long a task still running at ``elapsed`` is likely to take."""
        longer = sorted(i.duration for i in self._view() if i.duration and i.duration > elapsed)
        if len(longer) < 3:
            return None
        return longer[min(len(longer) - 1, int(q * len(longer)))]


def _differ(rank_sum: float, m: int, n: int) -> bool:
    """Whether the last ``m`` of ``n`` values, of ranks summing to ``rank_sum``, differ
    from the others past ``CHANGE_Z`` (Mann-Whitney, normal approximation)."""
    mean = m * (n + 1) / 2
    return abs(rank_sum - mean) > CHANGE_Z * math.sqrt(m * (n - m) * (n + 1) / 12)


def _differs_from_before(values: list[float], m: int) -> bool:
    """Whether the last ``m`` values differ from the ``m`` before them: a turn (durations
    that climbed then fall) leaves the last ones like the older ones taken together."""
    both = values[-2 * m :]
    order = sorted(range(2 * m), key=lambda j: both[j])
    return _differ(sum(r + 1 for r, j in enumerate(order) if j >= m), m, 2 * m)


def _log(duration: float | None) -> float:
    """A duration's logarithm (a drift scales durations; a zero one read as 10 ms)."""
    return math.log(max(duration or 0.0, 0.01))


def _trend(points: list[tuple[float, float]]) -> float | None:
    """The slope of a straight line fit to ``(submitted, log duration)`` points, when it is
    beyond ``TREND_T`` standard errors (None with fewer than ``4 * CHANGE_STEP`` points,
    or no significant slope): how fast durations drift, per second of the client's clock."""
    n = len(points)
    if n < 4 * CHANGE_STEP:
        return None
    mx = sum(t for t, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((t - mx) ** 2 for t, _ in points)
    if sxx <= 0:
        return None  # submitted together (or not told when): no trend to read
    slope = sum((t - mx) * (y - my) for t, y in points) / sxx
    residual = sum((y - my - slope * (t - mx)) ** 2 for t, y in points) / (n - 2)
    if residual <= 0 or abs(slope) * math.sqrt(sxx / residual) < TREND_T:
        return None
    return slope


def _detrended(items: list[_Item]) -> list[_Item]:
    """The exact durations as they would be now, when they drift (``_trend``): each one
    moved along the trend to the newest task's submission. Durations that climb or fall
    steadily then give today's quantiles, not those of the window's middle (the change
    test alone leaves a lag of half the window kept)."""
    slope = _trend([(i.submitted, _log(i.duration)) for i in items if i.exact])
    if slope is None:
        return items
    newest = max(i.submitted for i in items)
    moved: list[_Item] = []
    for i in items:
        if i.exact and i.duration:
            scale = math.exp(slope * (newest - i.submitted))
            i = i._replace(duration=i.duration * scale, spread=i.spread * scale)
        moved.append(i)
    return moved


class DurationTracker:
    """What this client has learned about task durations, per profile (see the module
    docstring). Pure: every decision takes the rng it uses; thread-safe, since the sync
    client may wait from many threads.

    Where first polls go, once profiles are known: at one *price* for every profile, since
    they all spend one budget, and a first poll that finds its task running costs the
    same request whatever the task. Each profile's first poll is the point that costs
    least at that price (``_History.priced``), and the price is the lowest at which the
    tasks submitted lately (their mix of profiles, over ``RATE_MEMORY`` tasks) would find
    no more than ``1 - quantile`` of them running. So the extra requests go where they
    save the most waiting: to profiles whose durations spread wide (a minute-long spread
    of videos) rather than to ones whose last seconds are all that is left to gain. With
    one profile this is the ``quantile`` point. The price is read off the histories
    directly, not steered by the misses it causes: that loop would wait minutes for the
    misses of long tasks and overshoot. Nor by the budget's congestion: near the limit an
    extra request delays every request queued after it (about ``rho * wait / (1 - rho)``
    seconds in all), but a price that high moves long-tailed profiles' first polls far
    out and a mixed load's videos late (benchmarks/bench_polling.py: 1.58 and 1.32 x
    the oracle's p95). Moving sooner the first polls of tasks that waited long to be
    submitted (so their result comes by the recent p95) is worse still (1.67): it sends
    extra polls into the very congestion that sets the p95.
    """

    __slots__ = (
        "_count",
        "_dirty",
        "_histories",
        "_lock",
        "_mix",
        "_offset",
        "_price",
        "_sooner",
        "quantile",
    )

    def __init__(self, quantile: float = FIRST_POLL_QUANTILE) -> None:
        self.quantile: float = quantile
        self._histories: dict[tuple[str, str | None], _History] = {}
        self._mix: dict[tuple[str, str | None], tuple[float, int]] = {}
        """Per profile planned: its decayed count of tasks, as of the ``_count``-th plan."""
        self._count = 0
        self._price: float | None = None
        self._sooner: dict[tuple[str, str | None], float] = {}
        """Per profile moved sooner than its priced point: the quantile it goes to, to
        spend the rest of the budget (``_fill``)."""
        self._dirty = True
        self._offset = ClockOffset()
        self._lock = threading.Lock()

    @staticmethod
    def _levels(kind: str, key: str | None) -> list[tuple[str, str | None]]:
        """From the most specific to the kind: the profile, its model, every task."""
        levels: list[tuple[str, str | None]] = []
        if key is not None:
            levels.append((kind, key))
            model = key.partition("|")[0] + "|"
            if model != key:
                levels.append((kind, model))
        levels.append((kind, None))
        return levels

    def _weight(self, profile: tuple[str, str | None]) -> float:
        weight, at = self._mix[profile]
        return weight * (1.0 - 1.0 / RATE_MEMORY) ** (self._count - at)

    @property
    def price(self) -> float | None:
        """Seconds of waiting that one extra request is worth, for this client's mix of
        tasks; None while no profile is known."""
        with self._lock:
            return self._priced()

    def _priced(self) -> float | None:
        """The price (call with the lock held): the lowest at which the profiles' best
        first polls would find at most ``1 - quantile`` of the tasks still running, their
        shares weighted by the mix (bisection: a higher price never moves a point sooner),
        and never below ``PRICE_FLOOR``. At the floor the budget is not spent on sooner
        points (``_fill``): a request is worth at least that much whatever is left.
        """
        if not self._dirty:
            return self._price
        self._dirty = False
        self._sooner.clear()
        known = [
            (p, self._weight(p), self._histories[p])
            for p in self._mix
            if p in self._histories and self._histories[p].priced(1.0) is not None
        ]
        if not known:
            self._price = None
            return None
        total = sum(w for _, w, _ in known)
        budget = 1.0 - self.quantile

        def running(price: float) -> float:
            share = 0.0
            for _, weight, history in known:
                found = history.priced(price)
                if found is not None:
                    share += weight * (1.0 - found[1])
            return share / total

        floor = max(PRICE_RANGE[0], PRICE_FLOOR)
        low, high = math.log(floor), math.log(PRICE_RANGE[1])
        if running(floor) <= budget + 1e-9:
            self._price = floor
            return floor
        while high - low > 1e-3:  # to 0.1% of the price
            mid = (low + high) / 2
            if running(math.exp(mid)) <= budget + 1e-9:
                high = mid
            else:
                low = mid
        self._price = math.exp(high)
        self._fill(known, total, budget - running(self._price))
        return self._price

    def _fill(
        self,
        known: list[tuple[tuple[str, str | None], float, _History]],
        total: float,
        slack: float,
    ) -> None:
        """Spend what the price leaves of the budget (call with the lock held).

        The points are a grid, so the lowest price that keeps within the budget may leave
        some of it: at that price a profile can jump from its 90% point to its 96% one
        (past 93%, whose cost ties with them). Move profiles sooner, a step at a time (to
        the next lower point of the grid), the step that saves the most waiting per share
        of the budget first, while its share fits: with one profile, its first poll is
        then the ``quantile`` point, as without a price.
        """
        at: dict[tuple[str, str | None], tuple[float, float]] = {}  # (point, q) so far
        for profile, _, history in known:
            found = history.priced(self._price or 0.0)
            if found is not None:
                at[profile] = found
        while True:
            best: tuple[float, float, tuple[str, str | None], tuple[float, float]] | None = None
            for profile, weight, history in known:
                if profile not in at:
                    continue
                point, q = at[profile]
                step = history.sooner(point, q)
                if step is None:
                    continue
                share = weight * (q - step[1]) / total
                if share > slack + 1e-9:
                    continue
                rate = weight * (q + step[1]) / 2 * (point - step[0]) / share
                if best is None or rate > best[0]:
                    best = (rate, share, profile, step)
            if best is None:
                return
            _, share, profile, step = best
            at[profile] = step
            self._sooner[profile] = step[1]
            slack -= share

    def _point(self, kind: str, key: str | None) -> tuple[float, float]:
        """The first-poll estimate and the share of tasks it is meant to find ended: of the
        most specific level that has one (priced when a price is known, else the
        ``quantile`` point), else the kind's default."""
        price = self._priced()
        for level in self._levels(kind, key):
            history = self._histories.get(level)
            if history is None:
                continue
            if price is not None:
                found = history.priced(price)
                if found is not None:
                    target = self._sooner.get(level)
                    if target is not None and target < found[1]:
                        sooner = history.quantile(target)
                        if sooner is not None:
                            return max(_MIN_FIRST, sooner), target
                    return max(_MIN_FIRST, found[0]), found[1]
            quantile = history.quantile(self.quantile)
            if quantile is not None:
                return max(_MIN_FIRST, quantile), self.quantile
        return DEFAULT_POLICIES[kind].initial_delay, self.quantile

    def estimate(self, kind: str, key: str | None) -> float:
        """Seconds after submission at which a first poll should come."""
        with self._lock:
            return self._point(kind, key)[0]

    def first_poll(self, kind: str, key: str | None, rng: Callable[[], float]) -> float:
        """Seconds after submission of this task's first poll: the estimate; or, for a
        probe, a fraction of it. Not jittered: tasks' submissions are spread already (they
        arrive apart, and the budget lets them through a slot at a time), and a poll moved
        sooner than the estimate's top finds its task running (benchmarks/bench_polling.py:
        ±5% cost 0.01 x the oracle's p95 on most streams).

        Probes: the first ``MIN_OBSERVATIONS`` tasks of a new profile (what it takes to
        know it), then ``PROBE_RATE_LOST`` of them while first polls find almost no task
        still running, a quarter of what they should (the estimate may be too high: only an
        earlier poll can tell), else ``PROBE_RATE``.
        """
        with self._lock:
            self._count += 1
            profile = (kind, key)
            weight = self._weight(profile) if profile in self._mix else 0.0
            self._mix[profile] = (weight + 1.0, self._count)
            if weight == 0.0:
                self._dirty = True
            estimate, q = self._point(kind, key)
            own = self._histories.get(profile)
            if own is None:
                own = self._histories[profile] = _History()
            if len(own) < MIN_OBSERVATIONS:
                rate = 1.0 if own.probes < MIN_OBSERVATIONS else 0.0
            elif self._offset.known:
                rate = 0.0  # every task leaves its duration: an early poll tells nothing more
            else:
                running = own.running_share(estimate)
                lost = running is not None and running < (1.0 - q) / 4
                rate = PROBE_RATE_LOST if lost else PROBE_RATE
            probe = rate > 0 and rng() < rate
            if probe:
                own.probes += 1
        if probe:
            low, high = PROBE_SPAN
            return max(_MIN_FIRST, estimate * (low + (high - low) * rng()))
        return max(_MIN_FIRST, estimate)

    def remaining(self, kind: str, key: str | None, elapsed: float) -> float | None:
        """Seconds after submission at which a task still running at ``elapsed`` (with no
        usable progress) is likely done: the median of the longer durations seen."""
        with self._lock:
            for level in self._levels(kind, key):
                history = self._histories.get(level)
                if history is not None:
                    found = history.beyond(elapsed, 0.5)
                    if found is not None:
                        return found
        return None

    def record(
        self,
        kind: str,
        key: str | None,
        first: float,
        duration: float | None,
        exact: bool = False,
        spread: float = 0.0,
        submitted: float = 0.0,
    ) -> None:
        """A task ended: its first poll was answered ``first`` s after submission, and found
        it running (``duration``: how long it took) or ended (``duration`` None, or how long
        it took when its completion time said). ``exact``: the duration would have been
        known whatever the first poll found (completion times are read); ``spread``: how
        much longer than ``duration`` it may have lasted; ``submitted``: when the task was
        submitted (the client's clock; tasks recorded without it read as submitted
        together, and no trend is read from them)."""
        with self._lock:
            for level in self._levels(kind, key):
                history = self._histories.get(level)
                if history is None:
                    history = self._histories[level] = _History()
                history.add(first, duration, exact, spread, submitted)
            self._dirty = True

    @property
    def exact(self) -> bool:
        """Whether the server's completion times are read (its clock offset is known)."""
        with self._lock:
            return self._offset.known

    def server_date(self, date: datetime, answered: float) -> None:
        """A response answered at ``answered`` (client seconds) carried the server's
        ``Date`` (a date-time, read like a ``completed_at``): a bound on the clocks'
        offset."""
        seconds = timestamp(date)
        if seconds is None:
            return
        with self._lock:
            self._offset.date(seconds, answered)

    def ended_at(
        self, completed_at: Any, answered: float, running_at: float | None = None
    ) -> tuple[float, float] | None:
        """When (client seconds, between the two) a task ended, from the ``completed_at``
        of a status that a poll answered at ``answered`` found ended (and one sent at
        ``running_at`` found running); None when it has none usable."""
        completed = timestamp(completed_at)
        if completed is None:
            return None
        with self._lock:
            return self._offset.end(completed, answered, running_at)
