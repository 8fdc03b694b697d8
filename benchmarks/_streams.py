"""Workloads for the polling benchmark: arrivals, durations, and the pollers compared.

Everything runs on the simulator in *virtual time*: Trio's ``MockClock`` with
``autojump_threshold=0`` jumps straight to the next timer whenever every task is blocked,
so twenty minutes of API time take a second or two of CPU and no figure depends on how
busy the machine is. The client and the simulator share that clock (``VirtualClock``);
the simulator enforces a strict sliding window (60 requests in any 60 s per key), the
client its own 60/min budget (the default), and a 429 would be counted.

Three pollers see the same arrivals, with the same durations (drawn once per workload,
handed to the simulator in submission order), each on its own simulator and key:

- ``ours``: ``await task`` (the client's poll scheduler and its duration model);
- ``oracle``: reads the task's true end from the simulator (``fake.tasks[id].ends``) and
  polls exactly once at that moment, through the same client and budget: the physical
  limit of this budget (2 requests a task, every poll on time);
- ``fixed_1s``: polls every second until the task is done (what a hand-written loop does);
- ``known``: knows the durations' *distribution* (the workload's, at that point of the
  run) but not each task's end: it polls once at a quantile ``q`` of it, and a task found
  running once more exactly at its end (generous). The best ``q`` of a few is the most a
  poller that does not know each task's end can do with one planned poll a task; it is
  informational, beside the oracle (``run(..., "known", known=q)``).

``run(..., "oracle", extra=x)`` is the oracle made to spend more requests: a share ``x``
of the tasks (drawn from the seed) also get one poll at half their duration, which finds
them running. With ``x`` set to what ours spends beyond 2 requests a task, it tells how
much of ours' gap is the queueing those requests cause, whoever sends them.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from statistics import NormalDist
from typing import Any

import anyio
import attrs

from nanobanana.testing import FakeNanoBanana

RATE = (60, 60.0)
PER_MINUTE = 27.0
"""Tasks a minute: 90% of what 2 requests a task allow under 60/min."""

POLICIES = ("ours", "oracle", "fixed_1s")


class VirtualClock:
    """The client's and the simulator's clock on Trio's virtual time (1 API second is one
    virtual second; every timer is virtual, so nothing waits in real time).

    Trio jumps only when every task waits, and only to a deadline it can represent, so
    no wait may be too short to move the clock: a sleep of 0 sleeps 0.1 ms (a limiter
    yields in a loop while its slot is under a millisecond away), and ``to_real`` rounds
    up to whole microseconds (a limiter's timeout of ``real - 1 ms`` could otherwise come
    out at 1e-16 s, which a clock at t = 60 s cannot add: it would spin there forever).
    """

    def now(self) -> float:
        import trio

        try:
            return float(trio.current_time())
        except RuntimeError:
            # Outside its run (a process-wide budget registry pruning old budgets): the
            # run is over, and everything that happened on this clock is in the past.
            return math.inf

    def to_real(self, seconds: float) -> float:
        return math.ceil(max(0.0, seconds) * 1e6) / 1e6

    async def asleep(self, seconds: float) -> None:
        import trio

        await trio.sleep(max(1e-4, seconds))

    def sleep(self, seconds: float) -> None:  # pragma: no cover - async only
        raise RuntimeError("the virtual clock is for async code")


@attrs.frozen
class Arrival:
    """One job: when it arrives (s from the start), what it asks for, how long it takes."""

    at: float
    kind: str  # "image", "video" or "credits"
    model: str | None = None
    params: tuple[tuple[str, Any], ...] = ()
    duration: float = 0.0
    workload: str = ""
    """The workload it was drawn from (its distribution: ``Workload.point``)."""
    phase: float = 0.0
    """How far into the run it arrives (0 to 1): where a drifting distribution stands."""


# -- duration distributions ---------------------------------------------------------------

Draw = Callable[[random.Random, float], float]
"""(rng, fraction of the run elapsed) -> seconds."""
Point = Callable[[float, float], float]
"""(q, fraction of the run elapsed) -> the q quantile of the durations drawn then."""


def _bisect(cdf: Callable[[float], float], q: float, high: float) -> float:
    low = 0.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if cdf(mid) < q else (low, mid)
    return high


def _uniform(low: float, high: float) -> tuple[Draw, Point]:
    return (lambda rng, _: rng.uniform(low, high)), (lambda q, _: low + (high - low) * q)


def _lognormal(median: float, sigma: float, cap: float) -> tuple[Draw, Point]:
    def point(q: float, _: float) -> float:
        return cap if q >= 1.0 else min(cap, median * math.exp(sigma * NormalDist().inv_cdf(q)))

    return (lambda rng, _: min(cap, median * math.exp(rng.gauss(0.0, sigma)))), point


def _bimodal(short: float, long: float, p_short: float) -> tuple[Draw, Point]:
    def draw(rng: random.Random, _: float) -> float:
        centre = short if rng.random() < p_short else long
        return max(0.5, rng.gauss(centre, 0.1 * centre))

    parts = ((p_short, NormalDist(short, 0.1 * short)), (1 - p_short, NormalDist(long, 0.1 * long)))

    def point(q: float, _: float) -> float:
        top = 2.0 * long
        return top if q >= 1.0 else _bisect(lambda x: sum(p * n.cdf(x) for p, n in parts), q, top)

    return draw, point


def _drift(low: float, high: float) -> tuple[Draw, Point]:
    """Uniform ±33% around a centre that climbs from ``low`` to ``high`` and back."""

    def centre(frac: float) -> float:
        return low + (high - low) * (1.0 - abs(2.0 * frac - 1.0))

    def draw(rng: random.Random, frac: float) -> float:
        c = centre(frac)
        return rng.uniform(0.67 * c, 1.33 * c)

    return draw, lambda q, frac: centre(frac) * (0.67 + 0.66 * q)


@attrs.frozen
class Workload:
    name: str
    label: str
    kind: str
    draw: Draw
    point: Point
    """The quantiles of ``draw`` (what the ``known`` poller is told)."""

    @classmethod
    def of(cls, name: str, label: str, kind: str, shape: tuple[Draw, Point]) -> Workload:
        return cls(name, label, kind, *shape)


WORKLOADS: tuple[Workload, ...] = (
    Workload.of("uniform", "images, uniform 10-20 s", "image", _uniform(10.0, 20.0)),
    Workload.of(
        "long_tail", "images, log-normal (median 15 s, σ 0.6)", "image", _lognormal(15, 0.6, 300)
    ),
    Workload.of("bimodal", "images, bimodal (60% ~4 s, 40% ~40 s)", "image", _bimodal(4, 40, 0.6)),
    Workload.of("fast", "images, uniform 2-5 s", "image", _uniform(2.0, 5.0)),
    Workload.of("videos", "videos, uniform 60-300 s", "video", _uniform(60.0, 300.0)),
    Workload.of("drift", "images, centre 12 s -> 48 s -> 12 s", "image", _drift(12.0, 48.0)),
)
WORKLOAD = {w.name: w for w in WORKLOADS}

MODEL = {"image": "nano-banana", "video": "veo-3.1-fast"}


def arrivals(workload: Workload, minutes: float, seed: int) -> list[Arrival]:
    """A Poisson stream conditioned on its count (uniform times), at PER_MINUTE."""
    rng = random.Random(seed)
    span = minutes * 60.0
    times = sorted(rng.uniform(0.0, span) for _ in range(round(PER_MINUTE * minutes)))
    return [
        Arrival(
            t,
            workload.kind,
            MODEL[workload.kind],
            (),
            workload.draw(rng, t / span),
            workload.name,
            t / span,
        )
        for t in times
    ]


# The mixed load: per minute 13 images of the default model (10-20 s), 7 Pro images whose
# durations depend on the resolution (1K: 15-25 s, 4K: 35-55 s), 5 videos (two models:
# 60-150 s and 150-300 s) and 4 credits calls: 25 tasks and 4 reads, 54 requests a minute
# at 2 a task.
MIXED: tuple[
    tuple[float, str, str | None, tuple[tuple[str, Any], ...], tuple[Draw, Point]], ...
] = (
    (13.0, "image", "nano-banana", (), _uniform(10.0, 20.0)),
    (3.5, "image", "nano-banana-pro", (("resolution", "1K"),), _uniform(15.0, 25.0)),
    (3.5, "image", "nano-banana-pro", (("resolution", "4K"),), _uniform(35.0, 55.0)),
    (2.5, "video", "veo-3.1-fast", (), _uniform(60.0, 150.0)),
    (2.5, "video", "veo-3.1", (), _uniform(150.0, 300.0)),
    (4.0, "credits", None, (), _uniform(0.0, 0.0)),
)


def mixed_arrivals(minutes: float, seed: int) -> list[Arrival]:
    rng = random.Random(seed)
    span = minutes * 60.0
    out: list[Arrival] = []
    for rate, kind, model, params, (draw, _) in MIXED:
        for _ in range(round(rate * minutes)):
            t = rng.uniform(0.0, span)
            out.append(Arrival(t, kind, model, params, draw(rng, t / span)))
    out.sort(key=lambda a: a.at)
    return out


# -- one run ------------------------------------------------------------------------------


@attrs.frozen
class Result:
    """One run: per job (arrival, latency, kind), the API requests (time, route, status)."""

    policy: str
    jobs: tuple[tuple[float, float, str], ...]
    requests: tuple[tuple[float, str, int | None], ...]
    seconds: float

    def latencies(self, kind: str | None = None) -> list[float]:
        if kind is None:
            return [lat for _, lat, k in self.jobs if k != "credits"]
        return [lat for _, lat, k in self.jobs if k == kind]

    @property
    def tasks(self) -> int:
        return sum(1 for *_, k in self.jobs if k != "credits")

    @property
    def task_requests(self) -> int:
        return sum(1 for _, route, _ in self.requests if route != "account/credits")

    @property
    def rate_limited(self) -> int:
        return sum(1 for *_, status in self.requests if status == 429)


async def _run(jobs: list[Arrival], policy: str, seed: int, extra: float, known: float) -> Result:
    clock = VirtualClock()
    extras = random.Random(seed)
    fake = FakeNanoBanana(rate_limit=RATE, clock=clock, seed=seed, credits=10**9)
    # The simulator draws a duration per task in submission order, per model: hand it the
    # durations drawn for the workload, in arrival order (the limiter is FIFO, so
    # submissions keep that order and every poller sees the same durations).
    by_model: dict[str, list[float]] = defaultdict(list)
    for job in jobs:
        if job.model is not None:
            by_model[job.model].append(job.duration)
    feeds: dict[str, Iterator[float]] = {m: iter(d) for m, d in by_model.items()}
    for model, feed in feeds.items():
        fake.durations[model] = lambda _rng, feed=feed: next(feed)

    done: list[tuple[float, float, str]] = []
    async with fake.async_client(max_retries=5) as client:
        start = clock.now()

        async def status(kind: str, task_id: str) -> Any:
            resource = client.images if kind == "image" else client.videos
            return await resource.status(task_id)

        async def one(job: Arrival, wasted: bool) -> None:
            arrived = clock.now()
            if job.kind == "credits":
                await client.account.credits()
                done.append((job.at, clock.now() - arrived, job.kind))
                return
            resource = client.images if job.kind == "image" else client.videos
            task = await resource.generate(
                "a lighthouse at dusk", model=job.model, **dict(job.params)
            )
            if policy == "ours":
                await task
            elif policy in ("oracle", "known"):
                if wasted:  # a poll that finds the task running, as a miss would
                    ends = fake.tasks[task.task_id].ends
                    await clock.asleep((ends - clock.now()) / 2)
                    await status(job.kind, task.task_id)
                found = None
                if policy == "known":  # one poll where the distribution says, then the end
                    await clock.asleep(WORKLOAD[job.workload].point(known, job.phase))
                    found = await status(job.kind, task.task_id)
                while found is None or not found.done:
                    ends = fake.tasks[task.task_id].ends
                    await clock.asleep(ends - clock.now())
                    found = await status(job.kind, task.task_id)
            else:
                while not (await status(job.kind, task.task_id)).done:
                    await clock.asleep(1.0)
            done.append((job.at, clock.now() - arrived, job.kind))

        async with anyio.create_task_group() as tg:
            for job in jobs:
                await clock.asleep(start + job.at - clock.now())
                tg.start_soon(one, job, job.kind != "credits" and extras.random() < extra)
        seconds = clock.now() - start
    requests = tuple((r.time - start, r.route or "", r.status) for r in fake.api_requests)
    return Result(policy, tuple(done), requests, seconds)


def run(
    jobs: list[Arrival], policy: str, seed: int, extra: float = 0.0, known: float = 0.93
) -> Result:
    """One workload under one poller, on a fresh simulator, in virtual time (``extra``:
    the share of tasks the oracle polls once more; ``known``: the quantile at which the
    ``known`` poller polls first; see above)."""
    import trio.testing

    return anyio.run(
        _run,
        jobs,
        policy,
        seed,
        extra,
        known,
        backend="trio",
        backend_options={"clock": trio.testing.MockClock(autojump_threshold=0)},
    )
