"""The nanobanana command line: --help of every command, --fake runs, keys, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import nanobanana as nb
from nanobanana._cli import EXIT_CODES, build_parser, main
from nanobanana.testing import FakeNanoBanana

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = [
    "image",
    "video",
    "batch",
    "report",
    "status",
    "wait",
    "credits",
    "models",
    "cost",
    "fake-server",
]


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def test_top_level_help_lists_every_command_and_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _help(capsys)
    for command in COMMANDS:
        assert command in text
    for code in EXIT_CODES:
        assert f"{code:>3}  " in text
    assert "NANOBANANA_API_KEY" in text and "--api-key-file" in text and "--fake" in text


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_complete_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    text = _help(capsys, command)
    assert f"usage: nanobanana {command}" in text
    assert "--fake" in text and "--json" in text and "--api-key-file" in text
    assert "exit codes" in text
    parser = build_parser()
    sub = next(
        a for a in parser._actions if isinstance(a, type(parser._subparsers._group_actions[0]))
    )  # type: ignore[union-attr]
    for action in sub.choices[command]._actions:  # type: ignore[attr-defined]
        if action.option_strings and action.dest != "help":
            assert action.help, f"{command} {action.option_strings} has no help"


def test_the_key_is_never_a_command_line_value(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["credits", "--api-key", "nb_sk_x"]) == 2
    err = capsys.readouterr().err
    assert "usage: nanobanana" in err and "unrecognized arguments: --api-key" in err


def test_no_key_says_so_and_mentions_fake(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["credits"]) == 3
    err = capsys.readouterr().err
    assert "no API key" in err and "NANOBANANA_API_KEY" in err and "--fake" in err


@pytest.mark.slow
def test_api_key_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["credits", "--api-key-file", str(tmp_path / "missing")]) == 3
    assert "cannot read the API key file" in capsys.readouterr().err
    fake = FakeNanoBanana(time_scale=1000)
    key_file = tmp_path / "key"
    key_file.write_text(fake.api_key + "\n")
    with fake.serve() as url:
        code = main(["--json", "--api-key-file", str(key_file), "--base-url", url, "credits"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["credits"] == 1000


@pytest.mark.slow
def test_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeNanoBanana(time_scale=1000)
    with fake.serve() as url:
        monkeypatch.setenv("NANOBANANA_API_KEY", fake.api_key)
        monkeypatch.setenv("NANOBANANA_BASE_URL", url)
        assert main(["models", "--json"]) == 0
    models = json.loads(capsys.readouterr().out)
    assert "nano-banana" in [m["id"] for m in models["image_models"]]


def test_fake_account_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--fake", "credits"]) == 0
    assert "credits" in capsys.readouterr().out
    assert main(["--fake", "models"]) == 0
    assert "veo-3.1-fast" in capsys.readouterr().out
    assert main(["cost", "image", "--fake", "--json", "--model", "nano-banana-pro", "-n", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["credits_needed"] == 12
    assert (
        main(
            [
                "--fake",
                "cost",
                "video",
                "--model",
                "veo-3.1-fast",
                "--duration",
                "8",
                "--generate-audio",
            ]
        )
        == 0
    )
    assert "credits" in capsys.readouterr().out


def test_fake_image_is_saved(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--fake", "image", "A sunset", "-o", str(tmp_path), "--aspect-ratio", "16:9"]) == 0
    files = list(tmp_path.glob("*.png"))
    assert len(files) == 1 and files[0].read_bytes().startswith(b"\x89PNG")
    assert str(files[0]) in capsys.readouterr().out


def test_fake_image_json_and_no_wait(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--fake", "--json", "image", "A fox", "-n", "2", "-o", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] and len(result["paths"]) == 2 and len(result["urls"]) == 2
    assert main(["--fake", "--json", "image", "A fox", "--no-wait"]) == 0
    assert json.loads(capsys.readouterr().out)["task_id"]


def test_fake_video(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import nanobanana.testing

    fast = FakeNanoBanana(time_scale=20_000, result_ttl=None)  # however late the download
    monkeypatch.setattr(nanobanana.testing, "FakeNanoBanana", lambda **kw: fast)
    code = main(
        ["--fake", "--json", "video", "A cat walking", "--duration", "4", "-o", str(tmp_path)]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["paths"][0].endswith(".mp4") and Path(result["paths"][0]).stat().st_size > 0


def test_invalid_parameter_exits_2_and_sends_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--fake", "image", "x", "--model", "nano-banana", "--resolution", "4K"]) == 2
    assert "resolution" in capsys.readouterr().err


def test_unknown_task_exits_5(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--fake", "status", "clx-nope"]) == 5
    assert main(["--fake", "wait", "clx-nope", "--kind", "video", "--no-download"]) == 5


@pytest.mark.slow
def test_fake_batch_writes_every_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["--fake", "batch", str(ROOT / "examples" / "prompts.txt"), "-o", str(out)]) == 0
    assert len(list(out.glob("*.png"))) == 20
    assert "20 ok of 20" in capsys.readouterr().err


def test_batch_jsonl_with_a_bad_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "requests.jsonl"
    file.write_text(
        '{"prompt": "a lighthouse", "model": "nano-banana-pro", "resolution": "2K"}\n'
        "\n# a comment\n"
        '{"prompt": "a harbour", "num_images": 9}\n'
        "a plain prompt line\n"
    )
    code = main(["--fake", "--json", "batch", str(file), "--no-download", "--aspect-ratio", "1:1"])
    assert code == 1
    items = {i["index"]: i for i in map(json.loads, capsys.readouterr().out.splitlines())}
    assert items[0]["ok"] and items[2]["ok"] and items[0]["urls"]
    assert items[1]["error"]["type"] == "InvalidParameterError" and items[1]["task_id"] is None


def test_batch_bad_json_line_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "requests.jsonl"
    file.write_text('{"prompt": "ok"}\n{"prompt": broken\n')
    assert main(["--fake", "batch", str(file)]) == 2
    assert ":2:" in capsys.readouterr().err
    assert main(["--fake", "batch", str(tmp_path / "missing.txt")]) == 2


def test_batch_over_budget_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--fake", "batch", str(ROOT / "examples" / "prompts.txt"), "--max-credits", "3"])
    assert code == 4
    err = capsys.readouterr().err
    assert "20 credits" in err and "max_credits=3" in err


def test_batch_resumes_from_its_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import nanobanana.testing

    # Each run has a simulator of its own, as two processes would; the second knows the
    # first one's tasks from the state file kept beside the journal.
    fakes: list[FakeNanoBanana] = []
    real = FakeNanoBanana

    def fake_for_this_run(*, state: Path | None = None, **kw: object) -> FakeNanoBanana:
        fakes.append(real(time_scale=2000, result_ttl=None, state=state))  # rerun downloads
        return fakes[-1]

    monkeypatch.setattr(nanobanana.testing, "FakeNanoBanana", fake_for_this_run)
    out, journal = tmp_path / "out", tmp_path / "j.sqlite"
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\nthree\n")
    argv = ["--fake", "batch", str(prompts), "-o", str(out), "--journal", str(journal)]
    assert main([*argv, "--no-preflight", "-c", "3"]) == 0
    first = fakes[0].charges
    (out / f"{first[0].task_id}.png").unlink()
    assert main(argv) == 0
    assert len(first) == 3 and fakes[1].charges == []  # nothing paid twice
    assert set(fakes[1].tasks) == {c.task_id for c in first}
    assert sorted(p.stem for p in out.glob("*.png")) == sorted(c.task_id for c in first)
    assert "rerun the same command to resume" in capsys.readouterr().err


class _NotGzipAssets(httpx.BaseTransport):
    """The simulator's transport, whose asset host answers a body that is not the gzip
    its Content-Encoding says."""

    def __init__(self, inner: httpx.BaseTransport, asset_host: str) -> None:
        self.inner = inner
        self.asset_host = asset_host

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != self.asset_host:
            return self.inner.handle_request(request)
        return httpx.Response(
            200,
            headers={"Content-Encoding": "gzip", "Content-Type": "image/png"},
            stream=httpx.ByteStream(b"this body is not gzip at all"),
        )


def test_batch_json_names_the_task_of_a_file_that_does_not_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A result whose body did not decode printed "task_id": null and httpx's
    DecodingError for a task that was paid for; now the line names the task and the
    error is an APIConnectionError."""
    import nanobanana.testing

    fakes: list[FakeNanoBanana] = []
    real = FakeNanoBanana

    def fake_for_this_run(*, state: Path | None = None, **kw: object) -> FakeNanoBanana:
        fake = real(time_scale=2000, result_ttl=None, state=state)
        fake.transport = _NotGzipAssets(fake.transport, fake.asset_host)  # type: ignore[assignment]
        fakes.append(fake)
        return fake

    monkeypatch.setattr(nanobanana.testing, "FakeNanoBanana", fake_for_this_run)
    prompts = tmp_path / "p.txt"
    prompts.write_text("a fox\n")
    out = tmp_path / "out"
    assert main(["--fake", "--json", "batch", str(prompts), "-o", str(out)]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    item = json.loads(line)
    (charge,) = fakes[0].charges
    assert item["task_id"] == charge.task_id and item["status"]["status"] == "completed"
    assert item["error"]["type"] == "APIConnectionError"
    assert "could not be decoded" in item["error"]["message"]
    assert [p.name for p in out.iterdir()] == ["index.html"]  # the gallery, no partial file


def test_batch_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("a\nb\n"))
    assert main(["--fake", "--json", "batch", "-", "--no-download"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_missing_rich_is_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "rich.console", None)
    assert main(["--fake", "credits"]) == 2
    assert "pip install 'nanobanana[cli]'" in capsys.readouterr().err
    assert main(["--fake", "--json", "credits"]) == 0  # --json needs no rich


def test_exit_codes_by_error_class() -> None:
    from nanobanana._cli._exit import exit_code

    assert exit_code(nb.InvalidParameterError("x", 1)) == 2
    assert exit_code(nb.AuthenticationError("m", status_code=401)) == 3
    assert exit_code(nb.PermissionDeniedError("m", status_code=403)) == 3
    assert exit_code(nb.InsufficientCreditsError("m", status_code=402)) == 4
    assert exit_code(nb.BudgetExceededError("m", needed=2, available=1)) == 4  # not a 402
    assert exit_code(nb.TaskNotFoundError("m", status_code=404)) == 5
    assert exit_code(nb.RateLimitError("m")) == 6
    assert exit_code(nb.InternalServerError("m", status_code=500)) == 7
    assert exit_code(nb.APIConnectionError()) == 7
    assert exit_code(nb.TaskTimeoutError("t", 1.0)) == 8
    assert exit_code(nb.TaskFailedError("t", None, "boom")) == 1


@pytest.mark.slow
def test_fake_server_serves_until_terminated() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from nanobanana._cli import main; sys.exit(main())",
            "fake-server",
            "--json",
            "--time-scale",
            "100",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        with nb.Client(api_key=info["api_key"], base_url=info["base_url"]) as client:
            assert client.account.credits().credits == 1000
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0


@pytest.mark.slow
def test_readme_main_command(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "nanobanana"
    if not script.exists():
        pytest.skip("the console script is not installed in this environment")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NANOBANANA_")}
    proc = subprocess.run(
        [str(script), "--fake", "batch", str(ROOT / "examples" / "prompts.txt"), "-o", "out/"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    # stderr is a pipe here: plain progress lines, one per finished item, not a bar.
    lines = proc.stderr.splitlines()
    assert [line for line in lines if line.startswith("images: ")][-1].startswith("images: 20/20")
    assert len([line for line in lines if line.startswith("images: ")]) == 21  # 0/20 .. 20/20
    assert "━" not in proc.stderr
    assert "20 ok of 20; 20 files in out/" in proc.stderr
    assert len(list((tmp_path / "out").glob("*.png"))) == 20


@pytest.mark.slow
def test_python_dash_m_nanobanana_runs_the_command_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "nanobanana", "--fake", "--json", "credits"],
        env={**_cli_env(), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "credits" in json.loads(proc.stdout)


# -- input that is not text, empty input, machine-readable errors ----------------------

RUN_CLI = "import sys; from nanobanana._cli import main; sys.exit(main())"


def _cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NANOBANANA_")}
    env["LC_ALL"] = "C.UTF-8"
    return env


@pytest.mark.slow
def test_a_prompt_that_is_not_utf8_is_a_usage_error() -> None:
    for extra in ([], ["--json"]):
        proc = subprocess.run(
            [sys.executable, "-c", RUN_CLI, "--fake", *extra, "image", b"a \xff\xfe sunset"],
            env=_cli_env(),
            capture_output=True,
            timeout=60,
        )
        err = proc.stderr.decode("utf-8", "replace")
        assert proc.returncode == 2, err
        assert "Traceback" not in err
        if extra:
            error = json.loads(err)["error"]
            assert error["type"] == "UsageError" and error["exit_code"] == 2
            assert "PROMPT is not valid UTF-8" in error["message"]
        else:
            assert "PROMPT is not valid UTF-8" in err


def test_a_batch_file_that_is_not_utf8_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "prompts.txt"
    file.write_bytes(b"a lighthouse\n\xff\xfe a harbour\n")
    assert main(["--fake", "batch", str(file), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{file}:2: not valid UTF-8 text" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    key = tmp_path / "key"
    key.write_bytes(b"nb_sk_\xff")
    assert main(["credits", "--api-key-file", str(key)]) == 3
    assert "is not UTF-8 text" in capsys.readouterr().err


def test_an_empty_batch_file_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    file = tmp_path / "prompts.txt"
    file.write_text("# nothing but a comment\n\n   \n")
    out = tmp_path / "out"
    assert main(["--fake", "batch", str(file), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds no requests" in err and str(out) not in err
    assert not out.exists()
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["--fake", "--json", "batch", "-", "-o", str(out)]) == 2
    error = json.loads(capsys.readouterr().err)["error"]
    assert error == {
        "type": "UsageError",
        "message": "<stdin> holds no requests (blank lines and lines starting with # "
        "are skipped): nothing to do",
        "exit_code": 2,
    }


def test_json_errors_are_one_json_object_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [
        (["--fake", "image", "x", "--model", "nano-banana", "--resolution", "4K"], 2),
        (["credits"], 3),  # no key
        (["--fake", "status", "clx-nope"], 5),
        (["credits", "--api-key", "nb_sk_x"], 2),  # a bad command line
        (["--fake", "batch", str(tmp_path / "missing.txt")], 2),
    ]
    for argv, code in cases:
        assert main(["--json", *argv]) == code
        captured = capsys.readouterr()
        assert captured.out == ""
        lines = captured.err.splitlines()
        assert len(lines) == 1, captured.err
        error = json.loads(lines[0])["error"]
        assert error["exit_code"] == code and error["message"] and error["type"]
    assert main(["--json", "--fake", "status", "clx-nope"]) == 5
    error = json.loads(capsys.readouterr().err)["error"]
    assert (
        error["type"] == "TaskNotFoundError" and "--fake runs a new simulator" in error["message"]
    )


def test_wait_offers_no_no_wait(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--no-wait" not in _help(capsys, "wait")
    assert "--no-wait" in _help(capsys, "image") and "--no-wait" in _help(capsys, "video")
    assert main(["--fake", "wait", "clx-x", "--no-wait"]) == 2
    assert "unrecognized arguments: --no-wait" in capsys.readouterr().err


def test_progress_to_a_pipe_is_plain_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--fake", "image", "A sunset", "-o", str(tmp_path)]) == 0
    lines = capsys.readouterr().err.splitlines()
    task_id = next(tmp_path.glob("*.png")).stem
    progress = [line for line in lines if line.startswith(f"image {task_id}: ")]
    assert progress[0] == f"image {task_id}: 0% submitted"
    assert progress[-1] == f"image {task_id}: 100% completed"
    assert len(progress) == len(set(progress))  # a line per change, never a redraw
    assert not any("━" in line for line in lines)


def test_image_dash_reads_the_prompt_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    import nanobanana.testing

    fake = FakeNanoBanana(time_scale=2000)
    monkeypatch.setattr(nanobanana.testing, "FakeNanoBanana", lambda **kw: fake)
    stdin = io.TextIOWrapper(io.BytesIO("A lighthouse at dawn, ünïcode\n".encode()))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["--fake", "--json", "image", "-", "--no-wait"]) == 0
    assert json.loads(fake.charges[0].request)["prompt"] == "A lighthouse at dawn, ünïcode"
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a \xff sunset")))
    assert main(["--fake", "video", "-"]) == 2
    assert "standard input is not valid UTF-8" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("  \n"))
    assert main(["--fake", "image", "-"]) == 2
    assert "standard input holds no prompt" in capsys.readouterr().err
    assert len(fake.charges) == 1


def test_fake_reruns_never_overwrite_earlier_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every run of --fake hands out new task ids: two runs into one directory keep both
    runs' files, and every item reported ok has its file."""
    import nanobanana.testing

    real = FakeNanoBanana
    monkeypatch.setattr(  # a new simulator for each run, as --fake makes; only faster
        nanobanana.testing, "FakeNanoBanana", lambda **kw: real(time_scale=5000)
    )
    prompts = tmp_path / "p.txt"
    prompts.write_text("".join(f"prompt {i}\n" for i in range(6)))
    out = tmp_path / "out"
    reported: list[str] = []
    for _ in range(2):
        assert main(["--fake", "--json", "batch", str(prompts), "-o", str(out)]) == 0
        items = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert all(item["ok"] for item in items)
        reported += [path for item in items for path in item["paths"]]
    assert len(reported) == len(set(reported)) == 12
    assert sorted(str(p) for p in out.glob("*.png")) == sorted(reported)


def test_progress_on_a_terminal_is_a_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import nanobanana.testing

    real = FakeNanoBanana
    monkeypatch.setattr(nanobanana.testing, "FakeNanoBanana", lambda **kw: real(time_scale=5000))
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich: treat stderr as a terminal
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    assert main(["--fake", "image", "A sunset", "-o", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "━" in err and "% submitted" not in err


# -- Ctrl-C: what the ledger knows, and when the first one is held ----------------------


def _exchange(ledger: object, path: str, status: int) -> None:
    """A request of the command's client through the ledger's hooks, and its answer."""
    import httpx

    request = httpx.Request("POST", f"https://api.example/v1/{path}")
    hooks = ledger.event_hooks()  # type: ignore[attr-defined]
    hooks["request"][0](request)
    hooks["response"][0](httpx.Response(status, request=request))


def test_the_ledger_counts_generate_requests_on_the_wire_and_accepted() -> None:
    import httpx

    from nanobanana._cli._stop import TaskLedger

    ledger = TaskLedger(httpx.URL("https://api.example/v1/"))
    request = httpx.Request("POST", "https://api.example/v1/images/generate")
    ledger.event_hooks()["request"][0](request)
    assert (ledger.sending, ledger.accepted) == (1, 0)
    ledger.event_hooks()["response"][0](httpx.Response(200, request=request))
    assert (ledger.sending, ledger.accepted) == (0, 1)
    _exchange(ledger, "videos/generate", 429)  # refused: nothing charged
    _exchange(ledger, "images/status", 200)  # not a generate request
    _exchange(ledger, "other/images/generate", 200)  # not under the API's base
    assert (ledger.sending, ledger.accepted) == (0, 1)
    assert ledger.unfinished() == []  # task ids come from the commands only
    ledger.running("t1", "image")
    ledger.running("t2", "video")
    ledger.finished("t1")
    ledger.running("t1", "image")  # finished stays finished
    assert ledger.unfinished() == [("t2", "video")]


def _ctrl_c_in_a_generate(ledger: object, status: int, said: list[str], done: list[str]) -> None:
    """A generate call answered ``status``, and Ctrl-C before the call returns."""
    from nanobanana._cli._stop import hold_interrupts

    with hold_interrupts(ledger, said.append):  # type: ignore[arg-type]
        _exchange(ledger, "images/generate", status)
        signal.raise_signal(signal.SIGINT)
        done.append("the task id noted")


@pytest.fixture
def ctrl_c_on() -> Iterator[None]:
    """SIGINT as in a foreground command, whatever the suite inherited (a background job
    starts with it ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("ctrl_c_on")
def test_a_first_ctrl_c_once_the_generate_is_accepted_waits_for_the_block() -> None:
    import httpx

    from nanobanana._cli._stop import TaskLedger

    ledger = TaskLedger(httpx.URL("https://api.example/v1/"))
    said: list[str] = []
    done: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        _ctrl_c_in_a_generate(ledger, 200, said, done)  # accepted: held to the block's end
    assert done == ["the task id noted"]
    assert len(said) == 1 and "waiting for the answer" in said[0]
    with pytest.raises(KeyboardInterrupt):
        _ctrl_c_in_a_generate(ledger, 429, said, done)  # refused: nothing to wait for
    assert done == ["the task id noted"] and len(said) == 1


def test_where_ctrl_c_is_ignored_a_generate_leaves_it_ignored() -> None:
    """A command started in the background or under nohup ignores SIGINT: holding
    interrupts around a generate call must not turn Ctrl-C back on."""
    import httpx

    from nanobanana._cli._stop import TaskLedger

    ledger = TaskLedger(httpx.URL("https://api.example/v1/"))
    said: list[str] = []
    done: list[str] = []
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _ctrl_c_in_a_generate(ledger, 200, said, done)  # ignored: no interrupt at all
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
    assert done == ["the task id noted"] and said == []


# -- a failure once a task is charged names the task and how to get its results -------


def _one_fake(
    monkeypatch: pytest.MonkeyPatch, time_scale: float = 5000, **kw: object
) -> FakeNanoBanana:
    """The simulator every --fake command of the test runs on (fast, results kept)."""
    import nanobanana.testing

    fake = FakeNanoBanana(time_scale=time_scale, result_ttl=None, **kw)  # type: ignore[arg-type]
    monkeypatch.setattr(nanobanana.testing, "FakeNanoBanana", lambda **_: fake)
    return fake


def _json_error(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    error: dict[str, object] = json.loads(lines[0])["error"]
    return error


def _names_the_task(
    capsys: pytest.CaptureFixture[str], mode: str, task_id: str, code: int, *, resume: str
) -> None:
    """The error names the task and the command that gets its results (``resume``)."""
    if mode == "json":
        error = _json_error(capsys)
        assert error["exit_code"] == code
        assert error["task_id"] == task_id and error["task_ids"] == [task_id]
        assert resume in str(error["resume"]) and resume in str(error["message"])
    else:
        err = capsys.readouterr().err
        message = err[err.index("error: ") :]
        assert task_id in message and resume in message
        assert "Traceback" not in err


def _disable_the_key_after_the_generate(
    monkeypatch: pytest.MonkeyPatch, fake: FakeNanoBanana
) -> None:
    from nanobanana._cli import _tasks

    submit = _tasks._submit

    def then_disable(*args: object) -> object:
        task = submit(*args)  # type: ignore[arg-type]
        fake.set_key_state(fake.api_key, "disabled")
        return task

    monkeypatch.setattr(_tasks, "_submit", then_disable)


@pytest.mark.parametrize("mode", ["json", "human"])
@pytest.mark.parametrize("kind", ["image", "video"])
def test_a_key_disabled_after_the_generate_names_the_task(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    mode: str,
) -> None:
    fake = _one_fake(monkeypatch)
    _disable_the_key_after_the_generate(monkeypatch, fake)
    flags = ["--json"] if mode == "json" else []
    assert main(["--fake", *flags, kind, "a lighthouse", "-o", str(tmp_path)]) == 3
    [task_id] = fake.tasks
    wait = f"nanobanana wait {task_id}" + (" --kind video" if kind == "video" else "")
    _names_the_task(capsys, mode, task_id, 3, resume=f"{wait} -o {tmp_path}")


@pytest.mark.parametrize("mode", ["json", "human"])
def test_a_status_answer_that_does_not_read_names_the_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    fake = _one_fake(monkeypatch)
    fake.inject("malformed_json", route="images/status")
    flags = ["--json"] if mode == "json" else []
    assert main(["--fake", *flags, "image", "a lighthouse", "--no-download"]) == 7
    [task_id] = fake.tasks
    _names_the_task(capsys, mode, task_id, 7, resume=f"nanobanana wait {task_id}")


@pytest.mark.parametrize("mode", ["json", "human"])
@pytest.mark.parametrize("command", ["image", "video", "wait"])
def test_results_that_cannot_be_saved_name_the_task_and_exit_9_not_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    mode: str,
) -> None:
    """``-o`` under a file: the task was charged (exit 2 would say nothing was sent)."""
    fake = _one_fake(monkeypatch)
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "out"
    flags = ["--json"] if mode == "json" else []
    if command == "wait":
        assert main(["--fake", "--json", "image", "a lighthouse", "--no-wait"]) == 0
        capsys.readouterr()
        argv = ["wait", next(iter(fake.tasks))]
    else:
        argv = [command, "a lighthouse"]
    assert main(["--fake", *flags, *argv, "-o", str(out)]) == 9
    [task_id] = fake.tasks
    wait = f"nanobanana wait {task_id}" + (" --kind video" if command == "video" else "")
    _names_the_task(capsys, mode, task_id, 9, resume=f"{wait} -o {out}")


def test_a_failed_download_names_the_task_and_exits_9(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = _one_fake(monkeypatch)
    fake.inject("http_500", route="assets")
    assert main(["--fake", "--json", "image", "a lighthouse", "-o", str(tmp_path)]) == 9
    [task_id] = fake.tasks
    _names_the_task(capsys, "json", task_id, 9, resume=f"nanobanana wait {task_id}")


def test_a_generate_answer_naming_its_task_but_unreadable_names_the_task(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nanobanana._sync._resources import Images

    _one_fake(monkeypatch)
    generate = Images.generate

    def unreadable(self: Images, *args: object, **kw: object) -> object:
        task = generate(self, *args, **kw)  # type: ignore[arg-type]
        raise nb.UnexpectedResponseError("credits_used: not a number", task_id=task.task_id)

    monkeypatch.setattr(Images, "generate", unreadable)
    assert main(["--fake", "--json", "image", "a lighthouse"]) == 7
    error = _json_error(capsys)
    assert error["type"] == "UnexpectedResponseError" and error["task_id"]
    assert f"nanobanana wait {error['task_id']}" in str(error["resume"])


def test_a_failed_task_names_itself_in_the_json_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = _one_fake(monkeypatch, failure_rate=1.0)
    assert main(["--fake", "--json", "image", "a lighthouse"]) == 1
    [task_id] = fake.tasks
    assert json.loads(capsys.readouterr().err)["error"]["task_id"] == task_id


def test_a_batch_names_the_tasks_whose_results_it_did_not_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = _one_fake(monkeypatch)
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\n")
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "out"
    assert main(["--fake", "batch", str(prompts), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    ids = sorted(fake.tasks)
    failures = [line for line in err.splitlines() if line.startswith("✗ ")]
    assert len(failures) == 2
    assert sorted(line.rsplit("(task ", 1)[1].rstrip(")") for line in failures) == ids
    # --fake: the simulator's credits (the wording is pinned by the tests of --fake's words)
    assert "2 tasks were charged simulated credits and their results were not collected" in err
    assert all(task_id in err.split("not collected")[-1] for task_id in ids)
    assert f"nanobanana wait ID -o {out}" in err
    # the page cannot be written either, and the warning says that, not "not a gallery"
    assert "could not write the gallery" in err and "is not a nanobanana gallery" not in err


def test_an_error_that_stops_a_batch_names_the_tasks_it_leaves_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An error out of the batch's loop (here: the gallery cannot be written) once tasks
    are charged: the error names every task the batch did not report, and exits 9."""
    from nanobanana._cli import _batch

    # Slow enough (an image takes 50-100 ms) that the four generates are answered before
    # the first task ends: three are running when the error comes.
    fake = _one_fake(monkeypatch, time_scale=200)

    def update(self: object, *, last: bool = False) -> None:
        if not last and self._batch.unreported:  # type: ignore[attr-defined]
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(_batch._Gallery, "update", update)
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\nthree\nfour\n")
    argv = ["--fake", "--json", "batch", str(prompts), "-o", str(tmp_path / "out")]
    assert main([*argv, "-c", "4", "--no-journal"]) == 9
    captured = capsys.readouterr()
    handed_out = [json.loads(line)["task_id"] for line in captured.out.splitlines()]
    error = json.loads(captured.err.splitlines()[-1])["error"]
    assert error["type"] == "OSError" and error["exit_code"] == 9
    assert error["task_ids"] and "nanobanana wait " in error["resume"]
    assert sorted([*handed_out, *error["task_ids"]]) == sorted(fake.tasks)


# -- what --fake says of credits: the simulator's, nothing real spent ---------------------


@pytest.mark.parametrize("mode", ["json", "human"])
def test_fake_says_a_task_was_charged_simulated_credits_and_nothing_real_was_spent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    """It said the task 'was charged' and then 'nothing was charged for real'."""
    fake = _one_fake(monkeypatch)
    (tmp_path / "file").write_text("")
    flags = ["--json"] if mode == "json" else []
    argv = ["--fake", *flags, "image", "a lighthouse", "-o", str(tmp_path / "file" / "out")]
    assert main(argv) == 9
    [task_id] = fake.tasks
    err = capsys.readouterr().err
    message = str(json.loads(err)["error"]["message"]) if mode == "json" else err
    said = f"task {task_id} was charged simulated credits and its results were not collected"
    assert said in message
    assert (
        "not with --fake: its simulator ended with this command; nothing real was spent" in message
    )
    assert "for real" not in message and "was charged and" not in message


def test_a_fake_batch_and_its_gallery_say_the_credits_are_simulated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _one_fake(monkeypatch)
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\n")
    out = tmp_path / "out"
    assert main(["--fake", "batch", str(prompts), "-o", str(out)]) == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "times and credits are the simulator&#x27;s" in page  # HTML-escaped
    assert "nothing real was spent" in page and "nothing was charged" not in page


@pytest.mark.slow
def test_a_real_key_says_the_task_was_charged_without_the_fake_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The words for a real key are as they were (a server, as the real API would be)."""
    fake = FakeNanoBanana(time_scale=5000, result_ttl=None)
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "out"
    with fake.serve() as url:
        monkeypatch.setenv("NANOBANANA_API_KEY", fake.api_key)
        monkeypatch.setenv("NANOBANANA_BASE_URL", url)
        assert main(["image", "a lighthouse", "-o", str(out)]) == 9
    [task_id] = fake.tasks
    err = capsys.readouterr().err
    assert f"task {task_id} was charged and its results were not collected" in err
    assert f"get the results with: nanobanana wait {task_id} -o {out}" in err
    assert "simulat" not in err and "--fake" not in err and "nothing real" not in err


def test_the_exit_codes_are_documented() -> None:
    text = (ROOT / "docs" / "guides" / "cli.md").read_text(encoding="utf-8")
    rows = [line.split("|") for line in text[text.index("## Exit codes") :].splitlines()]
    documented = {int(row[1]) for row in rows if len(row) > 2 and row[1].strip().isdigit()}
    assert documented == set(EXIT_CODES)
