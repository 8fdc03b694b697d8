"""RedisRateLimiter against a real redis-server (tests/redis_server.py starts one).

Windows are scaled down to a fraction of a second of real time: the limiter's times are
Redis's own clock, so there is nothing to inject; a small window is the scaling. So the
tests check only what no scheduling can change: never N+1 in a window, never a 429, no
slot freed before its time, what Redis holds. How much of the budget a run uses is a
benchmark (benchmarks/bench_redis.py). A bound on a wait only guards against a wait
that would never end, with seconds of room.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from redis_server import RedisServer, free_port, running_redis

import nanobanana as nb
from nanobanana.limiters import RateLimiterUnavailableError, RedisRateLimiter
from nanobanana.testing import FakeNanoBanana

redis = pytest.importorskip("redis")

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.redis, pytest.mark.slow]


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    r = redis.Redis.from_url(redis_server.url)
    r.flushall()
    r.close()
    return redis_server.url


@pytest.fixture
def inspect_redis(redis_url: str) -> Iterator[Any]:
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    yield r
    r.close()


@pytest.fixture
def key() -> str:
    return f"nb_sk_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def limiters() -> Iterator[list[RedisRateLimiter]]:
    """Limiters made by a test, closed after it (their worker threads end)."""
    made: list[RedisRateLimiter] = []
    yield made
    for lim in made:
        lim.close()


def make(limiters: list[RedisRateLimiter], url: Any, **kw: Any) -> RedisRateLimiter:
    lim = RedisRateLimiter(url, **kw)
    limiters.append(lim)
    return lim


def max_in_window(times: list[float], per: float) -> int:
    """The most of ``times`` inside any half-open span of ``per`` seconds."""
    ts = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(ts):
        while ts[j] <= t - per:
            j += 1
        best = max(best, i - j + 1)
    return best


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


# -- packaging -----------------------------------------------------------------------------


def test_import_nanobanana_never_imports_redis() -> None:
    code = (
        "import sys, nanobanana, nanobanana.limiters\n"
        "assert 'redis' not in sys.modules, 'redis imported'\n"
        "assert nanobanana.RateLimiterUnavailableError is "
        "nanobanana.limiters.RateLimiterUnavailableError\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_error_is_a_nanobanana_error() -> None:
    assert issubclass(RateLimiterUnavailableError, nb.NanoBananaError)
    assert nb.RateLimiterUnavailableError is RateLimiterUnavailableError


def test_bad_arguments_are_refused(redis_url: str) -> None:
    for kw in (
        {"requests": 0},
        {"requests": True},
        {"per": 0},
        {"per": float("inf")},
        {"namespace": ""},
        {"on_redis_error": "ignore"},
        {"lease": -1},
        {"margin": -0.1},
        {"margin": float("nan")},
    ):
        with pytest.raises(nb.InvalidParameterError):
            RedisRateLimiter(redis_url, **kw)
    with pytest.raises(nb.InvalidParameterError):
        RedisRateLimiter(object())  # type: ignore[arg-type]


@pytest.mark.parametrize(("requests", "per"), [(0, 60.0), (True, 60.0), (60, 0), (60, -1.0)])
def test_a_bad_budget_is_refused_as_nb_rate_limit_refuses_it(requests: Any, per: Any) -> None:
    with pytest.raises(nb.InvalidParameterError) as built_in:
        nb.RateLimit(requests, per=per)
    with pytest.raises(nb.InvalidParameterError) as shared:
        RedisRateLimiter("redis://127.0.0.1:1/0", requests=requests, per=per)
    assert shared.value.parameter == built_in.value.parameter
    assert str(shared.value) == str(built_in.value).replace("RateLimit.", "RedisRateLimiter.")


def test_the_default_margin_is_the_built_in_limiters(limiters: list[RedisRateLimiter]) -> None:
    from nanobanana._window import SlidingWindow

    for per in (0.2, 1.0, 60.0, 3600.0):
        shared = make(limiters, "redis://127.0.0.1:1/0", per=per)
        assert shared.margin == SlidingWindow(60, per).margin
        assert shared.hold == per + shared.margin
    assert make(limiters, "redis://127.0.0.1:1/0").margin == 0.25  # the API's 60 s window


# -- the strict window, across processes ----------------------------------------------------

WORKER = textwrap.dedent(
    """
    import json, random, sys, time
    from nanobanana.limiters import RedisRateLimiter

    url, key, n, per, count, mode = sys.argv[1:7]
    n, per, count = int(n), float(per), int(count)
    limiter = RedisRateLimiter(url, requests=n, per=per, margin=0.0)
    rng = random.Random()
    times = []
    print("ready", flush=True)
    sys.stdin.readline()  # go
    if mode == "sync":
        lim = limiter.bind_sync(key)
        for _ in range(count):
            permit = lim.acquire()
            times.append(time.time())
            time.sleep(rng.uniform(0, 0.02))  # the request's round trip
            permit.release()
    else:
        import anyio

        async def main():
            lim = limiter.bind_async(key)

            async def one():
                permit = await lim.acquire()
                times.append(time.time())
                await anyio.sleep(rng.uniform(0, 0.02))
                permit.release()

            async with anyio.create_task_group() as tg:
                for _ in range(count):
                    tg.start_soon(one)

        anyio.run(main, backend=mode)
    limiter.close()
    print(json.dumps(times), flush=True)
    """
)


def test_strict_window_across_processes(redis_url: str, key: str) -> None:
    """Three processes (blocking, asyncio, Trio) share one key's budget: no N+1 requests
    in any window, by the send times each recorded (the margin is set to 0 to test the
    mechanism itself, not the slack)."""
    n, per, count = 4, 0.3, 5
    modes = ("sync", "asyncio", "trio")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, redis_url, key, str(n), str(per), str(count), mode],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for mode in modes
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outputs = [p.communicate(timeout=30)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:  # pragma: no cover - only when the test already failed
                p.kill()
    assert [p.returncode for p in procs] == [0, 0, 0]
    times = [t for out in outputs for t in json.loads(out.strip().splitlines()[-1])]
    assert len(times) == len(modes) * count
    ts = sorted(times)
    # strict: request i + n is sent at least `per` after request i
    assert min(ts[i + n] - ts[i] for i in range(len(ts) - n)) >= per - 1e-4
    assert max_in_window(ts, per) <= n


# -- the clients ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_client_shares_the_budget_with_no_429(
    redis_url: str, limiters: list[RedisRateLimiter]
) -> None:
    fake = FakeNanoBanana(rate_limit=(3, 0.2))
    limiter = make(limiters, redis_url, requests=3, per=0.2)
    a = fake.async_client(rate_limit=limiter, max_retries=0)
    b = fake.async_client(rate_limit=limiter, max_retries=0)
    async with a, b:
        async with anyio.create_task_group() as tg:
            for i in range(6):
                tg.start_soon((a if i % 2 else b).account.credits)
    reqs = fake.api_requests
    assert [r.status for r in reqs] == [200] * 6  # a 429 would have raised (no retries)
    assert max_in_window([r.time for r in reqs], 0.2) <= 3


def test_sync_client_from_threads_with_no_429(
    redis_url: str, limiters: list[RedisRateLimiter]
) -> None:
    fake = FakeNanoBanana(rate_limit=(3, 0.2))
    limiter = make(limiters, redis_url, requests=3, per=0.2)
    errors: list[BaseException] = []
    with fake.client(rate_limit=limiter, max_retries=0) as client:

        def work() -> None:
            try:
                client.account.credits()
                client.account.credits()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    reqs = fake.api_requests
    assert [r.status for r in reqs] == [200] * 6
    assert max_in_window([r.time for r in reqs], 0.2) <= 3


@pytest.mark.anyio
async def test_sync_and_async_clients_share_one_budget(
    redis_url: str, limiters: list[RedisRateLimiter]
) -> None:
    fake = FakeNanoBanana(rate_limit=(2, 0.2))
    limiter = make(limiters, redis_url, requests=2, per=0.2)
    with fake.client(rate_limit=limiter, max_retries=0) as sync_client:
        async with fake.async_client(rate_limit=limiter, max_retries=0) as async_client:
            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(async_client.account.credits)
                tg.start_soon(anyio.to_thread.run_sync, sync_client.account.credits)
                tg.start_soon(anyio.to_thread.run_sync, sync_client.account.credits)
    reqs = fake.api_requests
    assert [r.status for r in reqs] == [200] * 5
    assert max_in_window([r.time for r in reqs], 0.2) <= 2


def test_bind_is_per_key_and_client(redis_url: str, limiters: list[RedisRateLimiter]) -> None:
    limiter = make(limiters, redis_url, requests=2, per=1.0)
    k1, k2 = "nb_sk_test_key_one", "nb_sk_test_key_two"
    assert limiter.bind_sync(k1) is limiter.bind_sync(k1)
    assert limiter.bind_sync(k1) is not limiter.bind_sync(k2)
    assert limiter.bind_async(k1) is not limiter.bind_sync(k1)
    # a factory for both clients, by the public protocols; itself no limiter
    assert isinstance(limiter, nb.AsyncLimiterFactory)
    assert isinstance(limiter, nb.LimiterFactory)
    assert not isinstance(limiter, (nb.AsyncLimiter, nb.Limiter))
    assert isinstance(limiter.bind_async(k1), nb.AsyncLimiter)
    assert isinstance(limiter.bind_sync(k1), nb.Limiter)
    # two keys: two budgets
    one, two = limiter.bind_sync(k1), limiter.bind_sync(k2)
    held = [one.acquire(), one.acquire(), two.acquire(), two.acquire()]
    for p in held:
        p.release(sent=False)


# -- release, leases, cancellation --------------------------------------------------------


def test_release_not_sent_frees_the_slot_at_once_sync(
    redis_url: str, key: str, limiters: list[RedisRateLimiter], inspect_redis: Any
) -> None:
    lim = make(limiters, redis_url, requests=1, per=5.0).bind_sync(key)
    for _ in range(3):  # the one slot, three times: never held for the window
        permit = lim.acquire()
        (slots,) = inspect_redis.keys("*:slots")
        permit.release(sent=False)
        wait_for(lambda s=slots: inspect_redis.zcard(s) == 0)  # released in the background
    permit = lim.acquire()
    permit.release()  # sent: the slot is now held for the window
    # a second limiter object (another process, as far as Redis knows) sees it held
    other = make(limiters, redis_url, requests=1, per=5.0).bind_sync(key)
    done = threading.Event()

    def waiter() -> None:
        other.acquire()
        done.set()

    t = threading.Thread(target=waiter, daemon=True)
    t.start()
    assert not done.wait(0.15)
    redis.Redis.from_url(redis_url).flushall()  # let the waiter finish
    assert done.wait(6)


@pytest.mark.anyio
async def test_release_not_sent_frees_the_slot_at_once_async(
    redis_url: str, key: str, limiters: list[RedisRateLimiter], inspect_redis: Any
) -> None:
    limiter = make(limiters, redis_url, requests=1, per=5.0)
    lim = limiter.bind_async(key)
    for _ in range(3):  # the one slot, three times: never held for the window
        permit = await lim.acquire()
        (slots,) = inspect_redis.keys("*:slots")
        permit.release(sent=False)
        with anyio.fail_after(10.0):  # released in the background; held, it stays for ever
            while inspect_redis.zcard(slots):
                await anyio.sleep(0.005)
    (await lim.acquire()).release(sent=True)
    with anyio.move_on_after(0.2) as scope:
        await lim.acquire()
    assert scope.cancelled_caught  # held for the window after a sent request


def test_a_permit_never_released_frees_after_its_lease(
    redis_url: str, key: str, limiters: list[RedisRateLimiter]
) -> None:
    """A process that dies holding a slot (no release ever comes) leaks it only until
    the lease ends."""
    lim = make(limiters, redis_url, requests=1, per=0.05, lease=0.3).bind_sync(key)
    start = time.monotonic()
    lim.acquire()  # and never released: the process "crashed"
    lim.acquire().release(sent=False)  # returns once the lease ends (or the test times out)
    assert time.monotonic() - start >= 0.3 - 0.01


@pytest.mark.anyio
async def test_a_cancelled_waiter_holds_nothing(
    redis_url: str, key: str, limiters: list[RedisRateLimiter], inspect_redis: Any
) -> None:
    limiter = make(limiters, redis_url, requests=1, per=5.0)
    lim = limiter.bind_async(key)
    first = await lim.acquire()
    with anyio.move_on_after(0.2):
        await lim.acquire()  # waits, then is cancelled
    with anyio.move_on_after(0.2):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lim.acquire)
            await anyio.sleep(0.05)
            tg.cancel_scope.cancel()
    (slots,) = inspect_redis.keys("*:slots")
    assert inspect_redis.zcard(slots) == 1  # the first permit only
    first.release(sent=False)
    with anyio.fail_after(10.0):  # a waiter left behind would hold it for its lease (185 s)
        second = await lim.acquire()
    second.release(sent=False)


# -- what Redis holds ---------------------------------------------------------------------


def test_keys_have_ttls_and_vanish_when_idle(
    redis_url: str, key: str, limiters: list[RedisRateLimiter], inspect_redis: Any
) -> None:
    lim = make(limiters, redis_url, requests=2, per=0.1, lease=1.0).bind_sync(key)
    lim.acquire().release()
    lim.pause(1.0)
    for k in inspect_redis.keys("*"):  # the slots and the pause
        # every key expires: a TTL of at most the lease (-2: it already has; -1 would be none)
        assert inspect_redis.pttl(k) == -2 or 0 < inspect_redis.pttl(k) <= 1100
    wait_for(lambda: inspect_redis.dbsize() == 0)


def test_redis_holds_a_hash_of_the_key_never_the_key(
    redis_url: str, key: str, limiters: list[RedisRateLimiter], inspect_redis: Any
) -> None:
    from nanobanana._config import key_fingerprint

    limiter = make(limiters, redis_url, requests=3, per=1.0, namespace="myapp")
    lim = limiter.bind_sync(key)
    held = lim.acquire()
    lim.acquire().release()
    lim.pause(5)
    keys = sorted(inspect_redis.keys("*"))
    fp = key_fingerprint(key)
    assert keys == [f"myapp:ratelimit:{{{fp}}}:pause", f"myapp:ratelimit:{{{fp}}}:slots"]
    stored = " ".join(keys)
    stored += " ".join(inspect_redis.zrange(keys[1], 0, -1)) + inspect_redis.get(keys[0])
    assert key not in stored
    assert key[6:] not in stored  # not even the secret part
    assert key not in repr(limiter) + repr(lim)
    held.release(sent=False)


def test_repr_hides_the_url(limiters: list[RedisRateLimiter]) -> None:
    limiter = make(limiters, "redis://:s3cret-password@127.0.0.1:1/0")
    assert "s3cret" not in repr(limiter)


# -- a 429 pauses every process ------------------------------------------------------------

PAUSER = textwrap.dedent(
    """
    import sys
    from nanobanana.limiters import RedisRateLimiter

    limiter = RedisRateLimiter(sys.argv[1], requests=5, per=1.0)
    limiter.bind_sync(sys.argv[2]).pause(float(sys.argv[3]))
    limiter.close()
    """
)


def test_a_pause_in_one_process_holds_the_others(
    redis_url: str, key: str, limiters: list[RedisRateLimiter], inspect_redis: Any
) -> None:
    # another process saw a 429 and paused the key's budget for a minute
    subprocess.run([sys.executable, "-c", PAUSER, redis_url, key, "60"], cwd=ROOT, check=True)
    (pause_key,) = inspect_redis.keys("*:pause")
    assert 0 < inspect_redis.pttl(pause_key) <= 60_000
    lim = make(limiters, redis_url, requests=5, per=1.0).bind_sync(key)
    done = threading.Event()

    def waiter() -> None:
        lim.acquire().release(sent=False)
        done.set()

    threading.Thread(target=waiter, daemon=True).start()
    assert not done.wait(0.3)  # held by the other process's pause
    inspect_redis.delete(pause_key)  # the pause ends
    assert done.wait(10)


@pytest.mark.anyio
async def test_a_429_seen_by_a_client_pauses_the_shared_budget(
    redis_url: str, limiters: list[RedisRateLimiter], inspect_redis: Any
) -> None:
    fake = FakeNanoBanana(rate_limit=None)
    fake.inject("http_429", times=1, retry_after=60.0)
    async with fake.async_client(
        rate_limit=make(limiters, redis_url, requests=5, per=1.0), max_retries=0
    ) as client:
        with pytest.raises(nb.RateLimitError):
            await client.account.credits()
    wait_for(lambda: len(inspect_redis.keys("*:pause")) == 1)
    (pause_key,) = inspect_redis.keys("*:pause")
    assert 0 < inspect_redis.pttl(pause_key) <= 60_000  # the Retry-After, shared through Redis
    # another process (a limiter object of its own) waits for the pause to end
    other = make(limiters, redis_url, requests=5, per=1.0).bind_async(fake.api_key)
    with anyio.move_on_after(0.3) as held:
        await other.acquire()
    assert held.cancelled_caught
    inspect_redis.delete(pause_key)  # the pause ends
    with anyio.fail_after(10.0):
        (await other.acquire()).release(sent=False)


@pytest.mark.anyio
async def test_a_local_pause_holds_local_waiters_at_once(
    redis_url: str, key: str, limiters: list[RedisRateLimiter]
) -> None:
    lim = make(limiters, redis_url, requests=5, per=1.0).bind_async(key)
    start = time.monotonic()
    lim.pause(0.3)
    lim.pause(0)  # ignored
    (await lim.acquire()).release(sent=False)
    assert time.monotonic() - start >= 0.3 - 0.01


# -- the redis.asyncio and redis.Redis clients ---------------------------------------------


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_redis_asyncio_client(
    redis_url: str, key: str, limiters: list[RedisRateLimiter], inspect_redis: Any
) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    try:
        limiter = make(limiters, client, requests=2, per=0.3)
        with pytest.raises(nb.InvalidParameterError, match="AsyncClient only"):
            limiter.bind_sync(key)
        lim = limiter.bind_async(key)
        start = time.monotonic()
        for _ in range(4):
            (await lim.acquire()).release()
        assert time.monotonic() - start >= 0.3  # the third waited for a window
        lim.pause(60.0)
        wait_for_async = anyio.fail_after(10.0)  # it is shared in the background
        with wait_for_async:
            while not inspect_redis.keys("*:pause"):
                await anyio.sleep(0.01)
    finally:
        await anyio.sleep(0.05)  # let the background releases land
        await client.aclose()


def test_a_redis_client_object(
    redis_url: str, key: str, limiters: list[RedisRateLimiter], inspect_redis: Any
) -> None:
    client = redis.Redis.from_url(redis_url)
    limiter = make(limiters, client, requests=1, per=0.2)
    lim = limiter.bind_sync(key)
    start = time.monotonic()
    lim.acquire().release()
    lim.acquire().release()
    assert time.monotonic() - start >= 0.2
    limiter.close()
    assert client.ping()  # a client we were given stays open
    client.close()


# -- when Redis is down -------------------------------------------------------------------


def down_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


def test_redis_down_raises_a_typed_error_sync(limiters: list[RedisRateLimiter]) -> None:
    fake = FakeNanoBanana(rate_limit=None)
    with fake.client(rate_limit=make(limiters, down_url()), max_retries=0) as client:
        with pytest.raises(RateLimiterUnavailableError, match="on_redis_error='local'"):
            client.account.credits()
    assert fake.api_requests == []  # nothing was sent


@pytest.mark.anyio
async def test_redis_down_raises_a_typed_error_async(limiters: list[RedisRateLimiter]) -> None:
    fake = FakeNanoBanana(rate_limit=None)
    async with fake.async_client(rate_limit=make(limiters, down_url()), max_retries=0) as client:
        with pytest.raises(nb.NanoBananaError) as info:
            await client.account.credits()
    assert isinstance(info.value, RateLimiterUnavailableError)
    assert fake.api_requests == []


@pytest.mark.anyio
async def test_redis_going_down_mid_run(key: str, limiters: list[RedisRateLimiter]) -> None:
    with running_redis() as server:
        limiter = make(limiters, server.url, requests=5, per=1.0)
        lim = limiter.bind_async(key)
        permit = await lim.acquire()
        server.stop()
        permit.release()  # logged, not raised: the lease will free the slot
        with pytest.raises(RateLimiterUnavailableError):
            await lim.acquire()


@pytest.mark.anyio
async def test_redis_down_falls_back_to_the_local_limiter(
    limiters: list[RedisRateLimiter], caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeNanoBanana(rate_limit=(2, 0.2))
    limiter = make(limiters, down_url(), requests=2, per=0.2, on_redis_error="local")
    with caplog.at_level(logging.WARNING, logger="nanobanana"):
        async with fake.async_client(rate_limit=limiter, max_retries=0) as client:
            async with anyio.create_task_group() as tg:
                for _ in range(5):
                    tg.start_soon(client.account.credits)
            client._limiter.pause(0.01)  # forwarded to the local limiter too
    reqs = fake.api_requests
    assert [r.status for r in reqs] == [200] * 5
    assert max_in_window([r.time for r in reqs], 0.2) <= 2
    warnings = [r for r in caplog.records if "in-process limiter" in r.getMessage()]
    assert len(warnings) == 1  # once per outage, not per request
    assert fake.api_key not in caplog.text


def test_redis_down_falls_back_to_the_local_limiter_sync(
    limiters: list[RedisRateLimiter],
) -> None:
    fake = FakeNanoBanana(rate_limit=(2, 0.2))
    limiter = make(limiters, down_url(), requests=2, per=0.2, on_redis_error="local")
    with fake.client(rate_limit=limiter, max_retries=0) as client:
        for _ in range(3):
            client.account.credits()
        client._limiter.pause(0.01)
    reqs = fake.api_requests
    assert [r.status for r in reqs] == [200] * 3
    assert max_in_window([r.time for r in reqs], 0.2) <= 2


def test_release_and_pause_never_raise_when_redis_goes_down(
    key: str, limiters: list[RedisRateLimiter], caplog: pytest.LogCaptureFixture
) -> None:
    with running_redis() as server:
        lim = make(limiters, server.url, requests=5, per=1.0).bind_sync(key)
        permit = lim.acquire()
        server.stop()
        with caplog.at_level(logging.WARNING, logger="nanobanana"):
            permit.release()  # the lease will free the slot
            permit.release()  # a second release is a no-op
            start = time.monotonic()
            lim.pause(0.1)  # still holds this process's waiters
        assert "could not release a slot" in caplog.text
        assert "could not share a pause" in caplog.text
        with pytest.raises(RateLimiterUnavailableError):
            lim.acquire()
        assert time.monotonic() - start >= 0.1 - 0.01  # the local pause came first
