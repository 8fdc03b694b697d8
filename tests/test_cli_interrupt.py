"""Ctrl-C in the command line, in a real subprocess sent a real SIGINT.

The command says at once that it is stopping, names every task that was charged and is
still running, says how to get the results, and exits 130, with no traceback. A journaled
``--fake`` batch rerun then finishes without paying twice. (Never a duration asserted:
the timeouts below only keep a broken run from hanging the suite.)
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import anyio.to_thread
import pytest

from nanobanana._cli import main
from nanobanana.testing import FakeNanoBanana, Fault, ManualClock

pytestmark = pytest.mark.slow

# The command line, with the simulator's task durations taken from the environment (so a
# task is still running when the signal comes).
RUN_CLI = """
import faulthandler, json, os, signal, sys
faulthandler.register(signal.SIGUSR1)  # the test asks for every thread's stack on a hang
# Ctrl-C as a terminal delivers it to a command in the foreground, whatever the suite was
# started with: a background job (nohup, `cmd &` in a script) inherits SIGINT ignored.
signal.signal(signal.SIGINT, signal.default_int_handler)
import nanobanana.testing as testing
from nanobanana._cli import main
durations = os.environ.get("NB_TEST_FAKE_DURATIONS")
if durations:
    real = testing.FakeNanoBanana
    testing.FakeNanoBanana = lambda **kw: real(durations=json.loads(durations), **kw)
sys.exit(main())
"""

LIMIT = 60.0  # seconds: only a broken run gets anywhere near it


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NANOBANANA_")}
    env.update(extra)
    return env


def _interrupt(
    argv: list[str], tmp_path: Path, ready: Callable[[str], bool], env: dict[str, str]
) -> tuple[int, str]:
    """Run the command; once ``ready(stderr so far)``, send SIGINT; its exit code and stderr."""
    err_path = tmp_path / "stderr.txt"
    with err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", RUN_CLI, *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
        )
        try:
            _until(lambda: ready(err_path.read_text(errors="replace")), proc, err_path)
            proc.send_signal(signal.SIGINT)
            code = _exit_code(proc, err_path)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return code, err_path.read_text()


def _until(ready: Callable[[], bool], proc: subprocess.Popen[bytes], err_path: Path) -> None:
    deadline = time.monotonic() + LIMIT
    while not ready():
        assert proc.poll() is None, "ended first:\n" + err_path.read_text()
        assert time.monotonic() < deadline, "never ready:\n" + err_path.read_text()
        time.sleep(0.02)


def _exit_code(proc: subprocess.Popen[bytes], err_path: Path) -> int:
    """The command's exit code once it quits; a hang fails with every thread's stack."""
    try:
        return proc.wait(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)  # where it hangs, into stderr
        time.sleep(1.0)
        raise AssertionError("no exit after Ctrl-C:\n" + err_path.read_text()) from None


def _state_ids(state: Path) -> list[str]:
    records = [json.loads(line) for line in state.read_text().splitlines()[1:]]
    return [r["task_id"] for r in records if "task_id" in r]  # not the "seen" lines


def test_ctrl_c_in_a_fake_batch_names_the_running_tasks_and_a_rerun_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(f"a lighthouse, study {i}\n" for i in range(30)))
    out, journal = tmp_path / "out", tmp_path / "run.sqlite"
    argv = ["--fake", "batch", str(prompts), "-o", str(out), "--journal", str(journal)]
    code, err = _interrupt(
        [*argv, "-c", "3"],
        tmp_path,
        lambda text: "images: 2/30" in text,
        # a second of real time a task (x60): the batch is far from done when Ctrl-C comes
        _env(NB_TEST_FAKE_DURATIONS=json.dumps({"image": 60.0})),
    )
    assert code == 130, err
    assert "Traceback" not in err
    assert err.index("stopping: submitting nothing more") < err.index("error: interrupted:")
    # --fake: the simulator's credits, and it says so (nothing real was spent)
    named = re.search(
        r"charged simulated credits and (?:is|are) still running: ([a-z0-9, ]+);", err
    )
    assert named is not None, err
    running = named.group(1).split(", ")
    assert f"rerun the same command to resume (the journal {journal} keeps the ids)" in err
    state = Path(f"{journal}.fake-state")
    charged = _state_ids(state)
    assert set(running) <= set(charged) and len(charged) < 30

    # The rerun: a new simulator (another process would be no different) that knows the
    # tasks of the first run from the state file, only faster.
    import nanobanana.testing

    real = FakeNanoBanana
    monkeypatch.setattr(
        nanobanana.testing,
        "FakeNanoBanana",
        lambda state=None, **kw: real(time_scale=3000, result_ttl=None, state=state),
    )
    assert main(argv) == 0
    assert "30 ok of 30; 30 files in" in capsys.readouterr().err
    files = sorted(p.stem for p in out.glob("*.png"))
    assert files == sorted(_state_ids(state))  # each request charged exactly once
    assert set(running) <= set(files)


def test_ctrl_c_after_an_image_is_submitted_names_it_and_wait_gets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeNanoBanana(clock=ManualClock(), durations={"image": 100.0}, rate_limit=None)
    out = tmp_path / "out"
    with fake.serve() as url:
        env = _env(NANOBANANA_API_KEY=fake.api_key, NANOBANANA_BASE_URL=url)
        code, err = _interrupt(
            ["image", "a lighthouse", "-o", str(out)],
            tmp_path,
            lambda text: re.search(r"image clx[a-z0-9]+: 0% submitted", text) is not None,
            env,
        )
        assert code == 130, err
        [charge] = fake.charges
        task_id = charge.task_id
        assert f"1 task was charged and is still running: {task_id}" in err
        assert f"get the results with: nanobanana wait {task_id} -o {out}" in err
        assert "Traceback" not in err

        # `wait` interrupted too, with --json: one JSON error object on stderr.
        code, err = _interrupt(
            ["--json", "wait", task_id, "-o", str(out)],
            tmp_path,
            lambda text: any(r.query.get("task_id") == task_id for r in fake.api_requests),
            env,
        )
        assert code == 130, err
        [line] = err.splitlines()
        error = json.loads(line)["error"]
        assert error["type"] == "Interrupted" and error["exit_code"] == 130
        assert error["task_ids"] == [task_id]
        assert error["resume"] == f"get the results with: nanobanana wait {task_id} -o {out}"

        fake.advance(100)
        monkeypatch.setenv("NANOBANANA_API_KEY", fake.api_key)
        monkeypatch.setenv("NANOBANANA_BASE_URL", url)
        assert main(["wait", task_id, "-o", str(out)]) == 0
    assert (out / f"{task_id}.png").read_bytes().startswith(b"\x89PNG")
    assert len(fake.charges) == 1
    assert str(out / f"{task_id}.png") in capsys.readouterr().out


def test_ctrl_c_in_a_fake_video_names_it(tmp_path: Path) -> None:
    code, err = _interrupt(
        ["--fake", "video", "a cat in a garden"],
        tmp_path,
        lambda text: re.search(r"video clx[a-z0-9]+: 0% submitted", text) is not None,
        _env(NB_TEST_FAKE_DURATIONS=json.dumps({"video": 1e9})),
    )
    assert code == 130, err
    task_id = re.search(r"video (clx[a-z0-9]+): 0% submitted", err).group(1)  # type: ignore[union-attr]
    assert f"1 task was charged simulated credits and is still running: {task_id}" in err
    assert f"nanobanana wait {task_id} --kind video" in err
    assert "not with --fake" in err and "Traceback" not in err
    assert "nothing real was spent" in err and "for real" not in err


class _GateClock(ManualClock):
    """A manual clock whose sleeps (the simulator's latency) last until ``gate`` opens:
    the test decides when a delayed answer leaves the server."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    async def asleep(self, seconds: float) -> None:
        await anyio.to_thread.run_sync(self.gate.wait)


@pytest.mark.parametrize("second_ctrl_c", [False, True])
def test_ctrl_c_while_the_generate_request_is_on_the_wire(
    tmp_path: Path, second_ctrl_c: bool
) -> None:
    """The first Ctrl-C waits for the answer, so the task id is not lost; a second one
    quits at once and says the request may have been charged."""
    clock = _GateClock()
    fake = FakeNanoBanana(clock=clock, rate_limit=None, durations={"image": 100.0})
    fake.inject(Fault.LATENCY, route="images/generate", seconds=1.0)
    err_path = tmp_path / "stderr.txt"
    with fake.serve() as url, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", RUN_CLI, "image", "a lighthouse"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=_env(NANOBANANA_API_KEY=fake.api_key, NANOBANANA_BASE_URL=url),
        )
        try:
            _until(lambda: bool(fake.charges), proc, err_path)  # charged, answer held back
            proc.send_signal(signal.SIGINT)
            _until(
                lambda: (
                    "stopping: waiting for the answer to the generate request"
                    in err_path.read_text()
                ),
                proc,
                err_path,
            )
            if second_ctrl_c:
                proc.send_signal(signal.SIGINT)
                code = proc.wait(timeout=LIMIT)
            clock.gate.set()
            if not second_ctrl_c:
                code = proc.wait(timeout=LIMIT)
        finally:
            clock.gate.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = err_path.read_text()
    assert code == 130, text
    assert "Traceback" not in text
    task_id = fake.charges[0].task_id
    if second_ctrl_c:
        assert "no task was left running" in text
        assert "1 generate request(s) had been sent with no answer yet" in text
        assert "check `nanobanana credits` before resubmitting" in text
    else:
        assert f"1 task was charged and is still running: {task_id}" in text
        assert f"nanobanana wait {task_id}" in text


# The command line over a simulator whose answer to the generate request of a "held"
# prompt never comes (its transport blocks: no timeout ends it). It says on stderr when
# that request is on the wire, and when the other task is polled (its charge is known).
RUN_CLI_HELD = """
import faulthandler, signal, sys, threading
faulthandler.register(signal.SIGUSR1)
signal.signal(signal.SIGINT, signal.default_int_handler)
import httpx
import nanobanana.testing as testing
from nanobanana._cli import main

real = testing.FakeNanoBanana


class Held(httpx.BaseTransport):
    def __init__(self, inner):
        self.inner = inner
        self.polled = False

    def handle_request(self, request):
        if request.url.path.endswith("/images/generate") and b"held" in request.content:
            print("test: generate held", file=sys.stderr, flush=True)
            threading.Event().wait()  # its answer never comes
        response = self.inner.handle_request(request)
        # A status poll, not the preflight's balance read: the other task's generate
        # request was answered (its task id is known, its charge counted).
        if request.url.path.endswith("/images/status") and not self.polled:
            self.polled = True
            print("test: polled", file=sys.stderr, flush=True)
        return response


def fake(**kw):
    simulator = real(durations={"image": 1e9}, **kw)
    simulator.transport = Held(simulator.transport)
    return simulator


testing.FakeNanoBanana = fake
sys.exit(main())
"""


@pytest.mark.parametrize("second_ctrl_c", [False, True])
def test_ctrl_c_in_a_batch_quits_once_it_stops_waiting_for_the_generate_on_the_wire(
    tmp_path: Path, second_ctrl_c: bool
) -> None:
    """Ctrl-C in a batch waits for the generate request on the wire at most its limit
    (``SENDING_LIMIT``, real time), or until a second Ctrl-C; then the command reports
    what it knows (the task charged, the request with no answer, how to resume) and
    quits: its exit does not wait for that request again."""
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a lighthouse\nheld: a lighthouse at night\n")
    journal = tmp_path / "run.sqlite"
    argv = ["--fake", "batch", str(prompts), "-o", str(tmp_path / "out")]
    argv += ["--journal", str(journal), "-c", "2"]
    err_path = tmp_path / "stderr.txt"
    with err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", RUN_CLI_HELD, *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=_env(),
        )
        try:
            _until(
                lambda: all(s in err_path.read_text() for s in ("generate held", "polled")),
                proc,
                err_path,
            )
            proc.send_signal(signal.SIGINT)
            if second_ctrl_c:
                _until(lambda: "stopping: " in err_path.read_text(), proc, err_path)
                proc.send_signal(signal.SIGINT)
            code = _exit_code(proc, err_path)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = err_path.read_text()
    assert code == 130, text
    assert "Traceback" not in text
    assert "waiting for the answer to 1 generate request(s) already sent" in text
    assert re.search(r"1 task was charged simulated credits and is still running: clx", text)
    assert "1 generate request(s) had been sent with no answer yet" in text
    assert f"rerun the same command to resume (the journal {journal} keeps the ids)" in text
