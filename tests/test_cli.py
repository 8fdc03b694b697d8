"""The nanobanana command line: --help of every command, --fake runs, keys, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import nanobanana as nb
from nanobanana._cli import EXIT_CODES, build_parser, main
from nanobanana.testing import FakeNanoBanana

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ["image", "video", "batch", "status", "wait", "credits", "models", "cost", "fake-server"]


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NANOBANANA_API_KEY", raising=False)
    monkeypatch.delenv("NANOBANANA_BASE_URL", raising=False)


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
    with pytest.raises(SystemExit) as done:
        main(["credits", "--api-key", "nb_sk_x"])
    assert done.value.code == 2


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
        main(["--fake", "cost", "video", "--model", "veo-3.1-fast", "--duration", "8", "--audio"])
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

    fake = FakeNanoBanana(time_scale=2000, result_ttl=None)  # the rerun downloads again
    monkeypatch.setattr(
        nanobanana.testing, "FakeNanoBanana", lambda **kw: fake
    )  # one for both runs
    out, journal = tmp_path / "out", tmp_path / "j.sqlite"
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\nthree\n")
    argv = ["--fake", "batch", str(prompts), "-o", str(out), "--journal", str(journal)]
    assert main([*argv, "--no-preflight", "-c", "3"]) == 0
    charged = len(fake.charges)
    (out / f"{fake.charges[0].task_id}.png").unlink()
    assert main(argv) == 0
    assert charged == len(fake.charges) == 3
    assert len(list(out.glob("*.png"))) == 3
    assert "rerun the same command to resume" in capsys.readouterr().err


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
    from nanobanana._cli._main import exit_code

    assert exit_code(nb.InvalidParameterError("x", 1)) == 2
    assert exit_code(nb.AuthenticationError("m", status_code=401)) == 3
    assert exit_code(nb.PermissionDeniedError("m", status_code=403)) == 3
    assert exit_code(nb.InsufficientCreditsError("m", status_code=402)) == 4
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
    assert "━" in proc.stderr and "20/20" in proc.stderr  # the progress bar
    assert len(list((tmp_path / "out").glob("*.png"))) == 20
