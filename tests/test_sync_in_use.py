"""The blocking client as its users run it: one client shared by a web app's threads and
closed by one of them, a script stopped with Ctrl-C (KeyboardInterrupt) in the middle of
a call or of a batch, a process forked after a client was used.

Ctrl-C is raised from a transport, a clock or the loop's body (where the interrupt lands
in a real run), or, in a child process, is a real SIGINT; a fork is a real one.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import nanobanana as nb
from nanobanana._ratelimit import REGISTRY
from nanobanana.testing import FakeNanoBanana, ManualClock

HANG = 60.0
"""Real seconds after which something that should end at once counts as hung."""


class _InterruptingTransport(httpx.BaseTransport):
    """The simulator, with Ctrl-C landing once the request of ``route`` has reached it
    (processed, answered) and before its answer is read: where a real interrupt lands
    while the client waits for the answer."""

    def __init__(self, fake: FakeNanoBanana, route: str) -> None:
        self._fake = fake
        self._route = route

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._fake.transport.handle_request(request)
        if request.url.path.endswith(self._route):
            raise KeyboardInterrupt
        return response


def _client(fake: FakeNanoBanana, route: str) -> nb.Client:
    return nb.Client(
        api_key=fake.api_key,
        base_url=fake.base_url,
        rate_limit=None,
        _clock=fake.clock,
        _transport=_InterruptingTransport(fake, route),
    )


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "nanobanana" and r.levelno == logging.WARNING
    ]


def _notes(exc: BaseException) -> list[str]:
    return list(getattr(exc, "__notes__", []))


# -- close() from one thread while another waits ---------------------------------------


class _ClosingClock(ManualClock):
    """A manual clock on which the first sleep of a wait (until its first poll is due)
    is when another thread closes the client."""

    def __init__(self) -> None:
        super().__init__()
        self.on_sleep: list[Any] = []

    def sleep(self, seconds: float) -> None:
        while self.on_sleep:
            self.on_sleep.pop()()
        super().sleep(seconds)


def test_a_wait_on_a_client_closed_under_it_ends_at_once_saying_so() -> None:
    """Before: every poll of the closed client failed as 'not sent', which a wait takes
    for a transient error; it slept and retried until its timeout (10 minutes for an
    image, 30 for a video: a web app's thread held that long at shutdown) and then said
    TaskTimeoutError, 'it may still complete'."""
    clock = _ClosingClock()
    fake = FakeNanoBanana(clock=clock, durations={"image": 30})
    client = fake.client()
    task = client.images.generate("a fox")
    clock.on_sleep.append(client.close)  # another thread closes it meanwhile
    with pytest.raises(nb.APIConnectionError) as info:
        task.wait()
    assert "client is closed" in str(info.value)
    assert not isinstance(info.value, nb.TaskTimeoutError)
    assert [r.route for r in fake.api_requests] == ["images/generate"]  # no poll sent


def test_a_closed_client_ends_every_threads_wait() -> None:
    """A web app's threads waiting for their tasks when the app closes the client."""
    fake = FakeNanoBanana(time_scale=60.0, durations={"image": 30})
    client = fake.client(rate_limit=None)
    tasks = [client.images.generate(f"a fox, take {i}") for i in range(4)]
    errors: list[BaseException] = []

    def view(task: nb.ImageTask) -> None:
        try:
            task.wait(timeout=36_000)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=view, args=(t,), daemon=True) for t in tasks]
    for thread in threads:
        thread.start()
    client.close()
    deadline = time.monotonic() + HANG  # a hang guard for the four, not a time to meet
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads)
    assert len(errors) == 4
    assert all(isinstance(e, nb.APIConnectionError) for e in errors), errors


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_an_async_wait_on_a_client_closed_under_it_ends_at_once_saying_so() -> None:
    """The same on the async client (a task closes it while another waits)."""

    class Clock(ManualClock):
        async def asleep(self, seconds: float) -> None:
            await client.aclose()
            await super().asleep(seconds)

    fake = FakeNanoBanana(clock=Clock(), durations={"image": 30})
    client = fake.async_client()
    task = await client.images.generate("a fox")
    with pytest.raises(nb.APIConnectionError) as info:
        await task
    assert "client is closed" in str(info.value)
    assert [r.route for r in fake.api_requests] == ["images/generate"]


# -- Ctrl-C in the middle of a call ----------------------------------------------------


def test_ctrl_c_while_a_generate_is_answered_says_it_may_have_been_charged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before: the KeyboardInterrupt went through and nothing said that a paid request
    had reached the server and its task id was thrown away with its answer."""
    fake = FakeNanoBanana()
    client = _client(fake, "images/generate")
    with pytest.raises(KeyboardInterrupt) as info:
        client.images.generate("a fox")
    assert len(fake.charges) == 1  # it was charged: nothing may hide that
    (warning,) = _warnings(caplog)
    assert "generate request" in warning and "/images/generate" in warning
    assert "charged" in warning and "credits()" in warning
    assert fake.api_key not in warning
    if sys.version_info >= (3, 11):
        assert _notes(info.value) == [f"nanobanana: {warning}"]


def test_ctrl_c_during_a_read_says_nothing_of_charges(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeNanoBanana()
    client = _client(fake, "account/credits")
    with pytest.raises(KeyboardInterrupt) as info:
        client.account.credits()
    assert _warnings(caplog) == []
    assert _notes(info.value) == []


@pytest.mark.parametrize("how", ["task.wait", "images.wait", "save"])
def test_ctrl_c_during_a_wait_names_the_task(
    caplog: pytest.LogCaptureFixture, how: str, tmp_path: Path
) -> None:
    """``client.images.generate(prompt).wait()`` (the README's and the notebook guide's
    way) keeps no handle: before, a Ctrl-C during the wait lost the only task id."""
    fake = FakeNanoBanana(clock=ManualClock())
    client = _client(fake, "images/status")
    task = client.images.generate("a fox")
    calls = {
        "task.wait": lambda: task.wait(),
        "images.wait": lambda: client.images.wait(task.task_id),
        "save": lambda: client.images.save(task, tmp_path),
    }
    with pytest.raises(KeyboardInterrupt) as info:
        calls[how]()
    (warning,) = _warnings(caplog)
    assert task.task_id in warning
    assert f"client.images.wait({task.task_id!r})" in warning
    if sys.version_info >= (3, 11):
        assert _notes(info.value) == [f"nanobanana: {warning}"]


# -- Ctrl-C out of a batch's loop ------------------------------------------------------

BATCH_SCRIPT = """
import atexit, sys, threading, time
import httpx
import nanobanana as nb
from nanobanana.testing import FakeNanoBanana

state, journal = sys.argv[1], sys.argv[2]
fake = FakeNanoBanana(state=state, time_scale=1000.0, durations={"image": 1})
sent, exiting = threading.Event(), threading.Event()


class Transport(httpx.BaseTransport):
    def handle_request(self, request):
        if request.url.path.endswith("/images/generate") and b"slow" in request.content:
            sent.set()
            exiting.wait()  # on the wire until the process exits...
            time.sleep(0.5)  # ...and then some: an answer on its way back
        return fake.transport.handle_request(request)


client = nb.Client(
    api_key=fake.api_key, base_url=fake.base_url, rate_limit=None,
    _clock=fake.clock, _transport=Transport(),
)
for item in client.images.generate_many(["fast", "slow"], journal=journal, concurrency=2):
    sent.wait()
    atexit.register(exiting.set)  # runs first at exit (last registered)
    raise KeyboardInterrupt  # Ctrl-C as the first result comes in
"""


@pytest.mark.slow
def test_ctrl_c_out_of_a_plain_batch_loop_journals_the_generate_on_the_wire(
    tmp_path: Path,
) -> None:
    """``for item in client.images.generate_many(...)``, the guide's loop, without
    ``with``: a Ctrl-C ended the script while a generate request was on the wire, and
    the batch's threads (daemons) died with the interpreter before its answer was
    journaled. The task was charged, the journal said 'sending' with no task id, and the
    rerun gave it up as needs_attention. Now the exit waits for that answer."""
    script = tmp_path / "script.py"
    script.write_text(BATCH_SCRIPT)
    state, journal = tmp_path / "fake.jsonl", tmp_path / "run.sqlite"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(script), str(state), str(journal)],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG,
        check=False,
    )
    assert "KeyboardInterrupt" in done.stderr, done.stderr
    fake = FakeNanoBanana(state=state, time_scale=1000.0, durations={"image": 1})
    with fake.client(rate_limit=None) as client:
        items = sorted(
            client.images.generate_many(["fast", "slow"], journal=journal),
            key=lambda item: item.index,
        )
    slow = items[1]
    assert not slow.needs_attention, slow.error
    assert slow.ok and slow.task_id is not None
    assert slow.task_id in done.stderr  # the exit's WARNING named the task left running
    assert fake.charges == []  # the rerun submitted nothing: both tasks were known


# -- a fork after a client was used ----------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="no fork here")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # 3.12+: fork with threads
def test_a_client_made_after_a_fork_is_not_held_by_the_parents_waiters() -> None:
    """The guides make a client in each worker after the fork (Gunicorn, Celery: "then
    safe"). Every client of a key shares the process's budget, which the child inherits:
    a thread of the parent that waited for it at the fork stayed at the head of the
    child's queue, where nobody would ever take its turn, and the child's first request
    waited forever."""
    limit = nb.RateLimit(1, per=60.0)
    fake = FakeNanoBanana(time_scale=30.0)  # the window: 2 real seconds
    parent = fake.client(rate_limit=limit)
    parent.account.credits()  # the one slot is held for a window
    threading.Thread(target=parent.account.credits, daemon=True).start()
    budget = REGISTRY._budgets[parent._limiter._ref.key]
    deadline = time.monotonic() + HANG
    while budget.waiting == 0:  # that thread waits for the budget
        assert time.monotonic() < deadline
        time.sleep(0.001)

    def worker() -> None:
        fake.client(rate_limit=limit).account.credits()  # a client of its own

    child = multiprocessing.get_context("fork").Process(target=worker)
    child.start()
    child.join(HANG)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail("the child's request waited for a thread it does not have")
    assert child.exitcode == 0


SECOND_CTRL_C_SCRIPT = """
import faulthandler, os, signal, sys, threading, time
faulthandler.dump_traceback_later(45, exit=True)  # a hang shows every thread's stack
# Ctrl-C as a terminal delivers it to a program in the foreground, whatever the suite was
# started with: a background job (`cmd &` in a script, as CI may start it) inherits SIGINT
# ignored, and the second Ctrl-C would then do nothing.
signal.signal(signal.SIGINT, signal.default_int_handler)
import httpx
import nanobanana as nb
from nanobanana.testing import FakeNanoBanana

fake = FakeNanoBanana(time_scale=1000.0, durations={"image": 1})
sent, never = threading.Event(), threading.Event()


class Transport(httpx.BaseTransport):
    def handle_request(self, request):
        if request.url.path.endswith("/images/generate") and b"slow" in request.content:
            sent.set()
            never.wait()  # a generate request whose answer does not come
        return fake.transport.handle_request(request)


client = nb.Client(
    api_key=fake.api_key, base_url=fake.base_url, rate_limit=None,
    _clock=fake.clock, _transport=Transport(),
)


def second_ctrl_c(run):
    while not run.closing:  # close() has begun (and waits for the generate on the wire)...
        time.sleep(0.01)
    # ...and the user presses Ctrl-C again
    if sys.argv[1] == "process":
        os.kill(os.getpid(), signal.SIGINT)
    else:  # its signal taken by another thread: the main thread's wait is not interrupted
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)


with client.images.generate_many(["fast", "slow"], concurrency=2) as batch:
    threading.Thread(target=second_ctrl_c, args=(batch._engine.run,), daemon=True).start()
    for item in batch:
        sent.wait()
        raise KeyboardInterrupt  # the first Ctrl-C
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "delivered",
    [
        "process",
        pytest.param(
            "thread",
            marks=pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="POSIX"),
        ),
    ],
)
def test_a_second_ctrl_c_while_a_batch_closes_quits_at_once(tmp_path: Path, delivered: str) -> None:
    """``with`` closes the batch on the first Ctrl-C, waiting for the generate requests
    on the wire; a second one quits, and the process's exit must not wait again.

    ``process``: the signal as a terminal sends it. ``thread``: the signal handled by
    another thread, so that the main thread's blocking wait is not interrupted by it:
    what a busy machine does to a Ctrl-C that comes just as that wait begins (the thread
    let go of the GIL and is not blocked yet), which once hung this test in CI."""
    script = tmp_path / "script.py"
    script.write_text(SECOND_CTRL_C_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as sink:
        child = subprocess.Popen(
            [sys.executable, str(script), delivered],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        try:
            child.wait(timeout=HANG)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            pytest.fail(
                "the exit waited again for the generate the user gave up on; its stderr:\n"
                + errors.read_text()
            )
    stderr = errors.read_text()
    assert "most recent call first" not in stderr, stderr  # faulthandler: it hung
    assert "KeyboardInterrupt" in stderr, stderr
    assert "waiting for the answers" not in stderr


FORK_DURING_BATCH_SCRIPT = """
import os, sys, threading, time
import httpx
import nanobanana as nb
from nanobanana.testing import FakeNanoBanana

fake = FakeNanoBanana(time_scale=1000.0, durations={"image": 1})
sent, never = threading.Event(), threading.Event()


class Transport(httpx.BaseTransport):
    def handle_request(self, request):
        if request.url.path.endswith("/images/generate"):
            sent.set()
            never.wait()  # on the wire in the parent for as long as this runs
        return fake.transport.handle_request(request)


client = nb.Client(
    api_key=fake.api_key, base_url=fake.base_url, rate_limit=None,
    _clock=fake.clock, _transport=Transport(),
)
batch = client.images.generate_many(["slow"], preflight=False)
threading.Thread(target=lambda: next(batch), daemon=True).start()
sent.wait()
pid = os.fork()
if pid == 0:
    sys.exit(0)  # the child ends as a script does: its exit runs atexit
for _ in range(3000):
    if os.waitpid(pid, os.WNOHANG) != (0, 0):
        print("child exited", flush=True)
        break
    time.sleep(0.01)
os._exit(0)
"""


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_does_not_wait_at_exit_for_the_parents_batch(tmp_path: Path) -> None:
    """The exit's wait for a batch's generate requests is the parent's: a child forked
    while one was on the wire would have waited at its exit for threads it does not have."""
    script = tmp_path / "script.py"
    script.write_text(FORK_DURING_BATCH_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG,
        check=False,
    )
    assert "child exited" in done.stdout, done.stderr
