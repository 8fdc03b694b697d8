"""The ``nanobanana`` command: argparse for the command line, the sync ``nb.Client`` for work."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import httpx

from nanobanana._batch_models import BatchItem, JournalError, NotSubmittedError
from nanobanana._exceptions import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ContentFilteredError,
    InsufficientCreditsError,
    InvalidParameterError,
    NanoBananaError,
    PermissionDeniedError,
    RateLimitError,
    TaskFailedError,
    TaskNotFoundError,
    TaskTimeoutError,
    UnexpectedResponseError,
)
from nanobanana._requests import CostRequest, ImageRequest, VideoRequest
from nanobanana._version import __version__

from ._flags import add_request_flags, refuse_foreign_flags, request_kwargs
from ._stop import TaskLedger, close_within, hold_interrupts
from ._ui import UI, RichMissing, write_error

__all__ = ["EXIT_CODES", "build_parser", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_CREDITS = 4
EXIT_NOT_FOUND = 5
EXIT_RATE_LIMITED = 6
EXIT_API = 7
EXIT_TIMEOUT = 8
EXIT_INTERRUPTED = 130

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success (a batch: every request succeeded)",
    EXIT_FAILED: "a task failed or was content-filtered; a batch: some requests did not succeed",
    EXIT_USAGE: "bad command line, invalid parameter (nothing sent), input that is not UTF-8, "
    "an empty batch file, unreadable file or journal",
    EXIT_AUTH: "no API key, key refused (401) or not allowed (403)",
    EXIT_CREDITS: "not enough credits (402), or over the budget (--max-credits, preflight)",
    EXIT_NOT_FOUND: "no such task (404)",
    EXIT_RATE_LIMITED: "rate limited (429) after every retry",
    EXIT_API: "network error, timeout, server error (5xx) or unexpected response",
    EXIT_TIMEOUT: "waiting for a task took longer than --timeout (the task may still finish)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C); the tasks still running are named",
}

FAKE_TIME_SCALE = 60.0
"""--fake runs the simulator 60x faster than real time: a demo batch finishes in seconds."""

DEFAULT_JOURNAL = "nanobanana-journal.sqlite"


class UsageError(Exception):
    """A bad command line or input (not UTF-8, empty, unreadable): exit 2, nothing sent."""


class _ParseError(UsageError):
    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """Hands a usage error to ``main`` (which reports it as text or JSON) instead of
    printing it and exiting; ``--help`` and ``--version`` still exit 0."""

    def error(self, message: str) -> NoReturn:
        raise _ParseError(self, message)


def exit_code(error: BaseException) -> int:
    """The exit code of an error class (see EXIT_CODES)."""
    if isinstance(error, (InvalidParameterError, BadRequestError, JournalError, UsageError)):
        return EXIT_USAGE
    if isinstance(error, (AuthenticationError, PermissionDeniedError)):
        return EXIT_AUTH
    if isinstance(error, InsufficientCreditsError):
        return EXIT_CREDITS
    if isinstance(error, TaskNotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(error, RateLimitError):
        return EXIT_RATE_LIMITED
    if isinstance(error, TaskTimeoutError):
        return EXIT_TIMEOUT
    if isinstance(error, (TaskFailedError, ContentFilteredError)):
        return EXIT_FAILED
    if isinstance(error, (APIConnectionError, APIStatusError, UnexpectedResponseError)):
        return EXIT_API
    return EXIT_FAILED


# -- the command line ------------------------------------------------------------------

_EPILOG = "exit codes:\n" + "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES.items())

_DESCRIPTION = """\
Generate images and videos with the Nano Banana API.

The API key is read from the NANOBANANA_API_KEY environment variable, or from a file
given with --api-key-file; never from the command line. NANOBANANA_BASE_URL (or
--base-url) points at another server. --fake runs any command against the embedded
simulator: no key, no network.

  nanobanana --fake batch examples/prompts.txt -o out/
  nanobanana image "A sunset over mountains" -o out/
  nanobanana batch prompts.txt -o out/ --max-credits 200   # rerun the same command to resume

With --json, results are JSON on stdout and an error is one JSON object on stderr:
{"error": {"type": "...", "message": "...", "exit_code": N}}. Progress is a bar on a
terminal and plain lines when stderr is a pipe or a file. Ctrl-C stops at once and names
the tasks that were charged and are still running (exit 130).
"""


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default only where it says something: not for flags, unset values, or
    help text that already names its default."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


def _common(defaults: bool) -> _Parser:
    """Options every command takes, before or after its name."""
    d: Any = None if defaults else argparse.SUPPRESS
    common = _Parser(add_help=False, allow_abbrev=False)
    group = common.add_argument_group("common options")
    group.add_argument(
        "--fake",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help="run against the embedded simulator (no key, no network; time runs 60x faster)",
    )
    group.add_argument(
        "--api-key-file",
        metavar="FILE",
        default=d,
        help="read the API key from FILE (default: the NANOBANANA_API_KEY environment variable)",
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=d,
        help="the API's base URL (default: NANOBANANA_BASE_URL, else the public API)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help="machine output: JSON on stdout (one object per line for batches), no progress bars",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help="log every request to stderr (never the key)",
    )
    return common


def _request_options(
    parser: argparse.ArgumentParser, title: str, *schemas: type[ImageRequest | VideoRequest]
) -> None:
    """The request's fields as flags (from the schema: same name in every command)."""
    add_request_flags(parser.add_argument_group(title), schemas)


def _result_options(parser: argparse.ArgumentParser, *, default_out: str = ".") -> None:
    group = parser.add_argument_group("results")
    group.add_argument(
        "-o", "--out", metavar="DIR", default=default_out, help="directory the results are saved to"
    )
    group.add_argument(
        "--no-download", action="store_true", help="do not download results; print their URLs"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``nanobanana`` (every command's --help comes from here)."""
    parser = _Parser(
        prog="nanobanana",
        allow_abbrev=False,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=_Formatter,
        parents=[_common(defaults=True)],
    )
    parser.add_argument("--version", action="version", version=f"nanobanana {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    common = _common(defaults=False)

    def command(name: str, help: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            allow_abbrev=False,
            help=help,
            description=description,
            epilog=_EPILOG,
            formatter_class=_Formatter,
            parents=[common],
        )

    p = command(
        "image",
        "generate an image, wait for it and save it",
        "Submit one image request, wait for it (progress bar) and save the result(s) under -o.",
    )
    p.add_argument("prompt", metavar="PROMPT", help="what to draw; '-' reads it from stdin")
    _request_options(p, "image options", ImageRequest)
    _result_options(p)
    _wait_options(p, submit=True)
    p.set_defaults(handler=_cmd_image)

    p = command(
        "video",
        "generate a video, wait for it and save it",
        "Submit one video request, wait for it (progress bar) and save the result under -o.",
    )
    p.add_argument("prompt", metavar="PROMPT", help="what to film; '-' reads it from stdin")
    _request_options(p, "video options", VideoRequest)
    _result_options(p)
    _wait_options(p, submit=True)
    p.set_defaults(handler=_cmd_video)

    p = command(
        "batch",
        "run a file of prompts (or JSONL requests) with a budget and a journal",
        "Run every request of FILE under the 60 requests/minute budget and save the results.\n\n"
        "FILE holds one prompt a line (blank lines and lines starting with # are skipped), or\n"
        'JSON objects, one a line, with the fields of a request: {"prompt": "...", "model":\n'
        '"nano-banana-pro", "resolution": "2K"}. Options below fill fields a line leaves out.\n'
        "'-' reads standard input.\n\n"
        "Before anything is submitted, the cost of the whole file is checked against the\n"
        "balance and --max-credits (--no-preflight skips that check). The journal records\n"
        "every task id as soon as the server gives it: rerun the same command after a crash\n"
        "and nothing is paid twice (finished requests are skipped, missing files downloaded\n"
        "again, running tasks polled).",
    )
    p.add_argument(
        "file", metavar="FILE", help="prompts (one a line) or JSONL requests; '-' for stdin"
    )
    p.add_argument(
        "--kind", choices=("image", "video"), default="image", help="what the file asks for"
    )
    p.add_argument(
        "-c", "--concurrency", type=int, help="requests in flight (default: 8 images, 16 videos)"
    )
    p.add_argument("--max-credits", type=int, help="never spend more than this many credits")
    journal = p.add_mutually_exclusive_group()
    journal.add_argument(
        "--journal",
        metavar="PATH",
        help=f"SQLite journal to resume from (default: OUT/{DEFAULT_JOURNAL}; none with --fake "
        "or --no-download; with --fake the simulator's tasks are kept beside it)",
    )
    journal.add_argument("--no-journal", action="store_true", help="keep no journal")
    p.add_argument(
        "--no-preflight", action="store_true", help="skip the cost check before submitting"
    )
    _request_options(
        p,
        "request options (defaults for every request of the file; --kind decides which apply)",
        ImageRequest,
        VideoRequest,
    )
    _result_options(p)
    p.set_defaults(handler=_cmd_batch)

    p = command(
        "status",
        "show a task's current status",
        "Show the current status of task ID (one request).",
    )
    p.add_argument("task_id", metavar="ID", help="the task id generate returned")
    p.add_argument("--kind", choices=("image", "video"), default="image", help="the task's kind")
    p.set_defaults(handler=_cmd_status)

    p = command(
        "wait",
        "wait for a task to end and save its results",
        "Poll task ID until it ends (progress bar), then save its results under -o.",
    )
    p.add_argument("task_id", metavar="ID", help="the task id generate returned")
    p.add_argument("--kind", choices=("image", "video"), default="image", help="the task's kind")
    _result_options(p)
    _wait_options(p)
    p.set_defaults(handler=_cmd_wait)

    p = command(
        "credits",
        "show the balance and subscription",
        "Show the account's credits and subscription.",
    )
    p.set_defaults(handler=_cmd_credits)

    p = command(
        "models",
        "list the image and video models",
        "List every image and video model the server offers.",
    )
    p.set_defaults(handler=_cmd_models)

    p = command(
        "cost",
        "what a generation would cost (nothing is charged)",
        "Ask the server what a generation would cost. Nothing is charged.\n\n"
        "  nanobanana cost image --model nano-banana-pro -n 2 --resolution 2K\n"
        "  nanobanana cost video --model veo-3.1-fast --duration 8 --generate-audio",
    )
    p.add_argument("kind", choices=("image", "video"), help="image or video")
    add_request_flags(p.add_argument_group("cost options"), [CostRequest])
    p.set_defaults(handler=_cmd_cost)

    p = command(
        "fake-server",
        "serve the simulator on loopback (for other programs)",
        "Serve the embedded simulator over HTTP on a free loopback port until Ctrl-C, and\n"
        "print the NANOBANANA_BASE_URL and NANOBANANA_API_KEY to point a program at it.",
    )
    p.add_argument(
        "--time-scale", type=float, default=1.0, help="simulated seconds per real second"
    )
    p.add_argument("--seed", type=int, help="make durations, failures and ids reproducible")
    p.add_argument("--credits", type=int, default=1000, help="the fake account's balance")
    p.add_argument("--failure-rate", type=float, default=0.0, help="share of tasks that fail")
    p.set_defaults(handler=_cmd_fake_server)
    return parser


def _wait_options(parser: argparse.ArgumentParser, *, submit: bool = False) -> None:
    group = parser.add_argument_group("waiting")
    group.add_argument("--timeout", type=float, help="give up waiting after this many seconds")
    if submit:
        group.add_argument(
            "--no-wait", action="store_true", help="submit only: print the task id and exit"
        )


# -- running a command -------------------------------------------------------------------


class _Context:
    """What a command needs: the parsed arguments, the output, a client factory, and what
    Ctrl-C must report (the ledger of tasks charged and not finished)."""

    def __init__(self, args: argparse.Namespace, ui: UI) -> None:
        self.args = args
        self.ui = ui
        self.fake: Any = None
        self.fake_state: Path | None = None
        """With --fake and a journal: where the simulator keeps its tasks for a rerun."""
        self.journal: str | None = None
        self.ledger = TaskLedger(httpx.URL("http://unused.invalid/"))

    @contextlib.contextmanager
    def client(self) -> Generator[Any, None, None]:
        """The sync client; its HTTP traffic feeds ``ledger``. After Ctrl-C it is left open:
        a stopping batch may still be finishing a request on it, and the process is ending."""
        from nanobanana._config import resolve_base_url, resolve_timeout
        from nanobanana._sync._client import Client

        args = self.args
        transport: httpx.BaseTransport | None = None
        key = ""
        if args.fake:
            from nanobanana.testing import FakeNanoBanana

            self.fake = FakeNanoBanana(time_scale=FAKE_TIME_SCALE, state=self.fake_state)
            base_url = resolve_base_url(self.fake.base_url)
            transport = self.fake.transport
        else:
            key = _read_key(args.api_key_file)
            base_url = resolve_base_url(args.base_url)
        self.ledger = TaskLedger(base_url)
        http = httpx.Client(
            timeout=resolve_timeout(None),
            transport=transport,
            event_hooks=self.ledger.event_hooks(),
        )
        if args.fake:
            client = self.fake.client(http_client=http)
        else:
            client = Client(api_key=key, base_url=base_url, http_client=http)
        interrupted = False
        try:
            yield client
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            if not interrupted:
                client.close()
                http.close()

    def stopping(self, text: str) -> None:
        """Say at once what Ctrl-C is doing."""
        self.ui.notice(f"stopping: {text}")

    def interrupted(self) -> int:
        """Ctrl-C: name the tasks charged and not finished, and how to get their results."""
        running = self.ledger.unfinished()
        sending = self.ledger.sending
        ids = [task_id for task_id, _ in running]
        lines: list[str] = []
        if running:
            n = len(running)
            lines.append(
                f"{n} task{'s were' if n != 1 else ' was'} charged and "
                f"{'are' if n != 1 else 'is'} still running: {', '.join(ids)}"
            )
        else:
            lines.append("no task was left running")
        if sending:
            lines.append(
                f"{sending} generate request(s) had been sent with no answer yet: they may "
                "have been charged, with no task id to show"
                + (
                    " (the journal marks them for attention)"
                    if self.journal
                    else " (check `nanobanana credits` before resubmitting)"
                )
            )
        resume = self._resume_hint(running)
        if resume:
            lines.append(resume)
        self.ui.error(
            "interrupted: " + "; ".join(lines),
            kind="Interrupted",
            exit_code=EXIT_INTERRUPTED,
            task_ids=ids,
            resume=resume,
        )
        return EXIT_INTERRUPTED

    def _resume_hint(self, running: list[tuple[str, str]]) -> str | None:
        if self.journal is not None:
            return f"rerun the same command to resume (the journal {self.journal} keeps the ids)"
        if not running:
            return None
        out = getattr(self.args, "out", None)
        command = "nanobanana wait " + (running[0][0] if len(running) == 1 else "ID")
        if {kind for _, kind in running} == {"video"}:
            command += " --kind video"
        if out not in (None, "."):
            command += f" -o {out}"
        hint = f"get the results with: {command}"
        if self.args.fake:
            hint += (
                " (not with --fake: its simulator ended with this command; nothing was "
                "charged for real)"
            )
        return hint


class _NoKey(Exception):
    pass


def _read_key(path: str | None) -> str:
    if path is not None:
        try:
            key = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise _NoKey(f"cannot read the API key file {path!r}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise _NoKey(f"the API key file {path!r} is not UTF-8 text") from None
        if not key:
            raise _NoKey(f"the API key file {path} is empty")
        return key
    key = os.environ.get("NANOBANANA_API_KEY", "").strip()
    if not key:
        raise _NoKey(
            "no API key found: set NANOBANANA_API_KEY or pass --api-key-file FILE "
            "(or add --fake to run against the embedded simulator, no key needed)"
        )
    return key


_PATH_ARGS = frozenset({"out", "file", "journal", "api_key_file"})
"""Arguments that name files: any bytes the file system takes are fine there."""

_ARG_NAMES = {"prompt": "PROMPT", "task_id": "ID", "kind": "KIND"}


def _check_text_args(args: argparse.Namespace) -> None:
    """Every text argument must be UTF-8: the API takes JSON. (Python hands undecodable
    command-line bytes over as lone surrogates, which cannot be encoded.)"""
    for dest, value in vars(args).items():
        if isinstance(value, str) and dest not in _PATH_ARGS and not _is_utf8(value):
            name = _ARG_NAMES.get(dest, "--" + dest.replace("_", "-"))
            raise UsageError(f"{name} is not valid UTF-8 text (check the terminal's encoding)")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_mode(argv: Sequence[str]) -> bool:
    """Whether --json was asked for, before the command line is known to parse."""
    options = argv[: list(argv).index("--")] if "--" in argv else argv
    return "--json" in options


class _WarningsToUI(logging.Handler):
    """The SDK's warnings, through the UI: a yellow line, or a JSON object with --json."""

    def __init__(self, ui: UI) -> None:
        super().__init__(logging.WARNING)
        self.ui = ui

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.ui.warn(record.getMessage())
        except Exception:
            self.handleError(record)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit code (see EXIT_CODES)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    json_mode = _json_mode(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _check_text_args(args)
    except _ParseError as exc:
        if not json_mode:
            exc.parser.print_usage(sys.stderr)
            sys.stderr.write(f"{exc.parser.prog}: error: {exc}\n")
        else:
            write_error(str(exc), kind="UsageError", exit_code=EXIT_USAGE, json_mode=True)
        return EXIT_USAGE
    except UsageError as exc:
        write_error(str(exc), kind="UsageError", exit_code=EXIT_USAGE, json_mode=json_mode)
        return EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        ui = UI(json_mode=args.json)
    except RichMissing as exc:
        write_error(str(exc), kind="RichMissing", exit_code=EXIT_USAGE, json_mode=False)
        return EXIT_USAGE
    sdk_logger = logging.getLogger("nanobanana")
    warnings: _WarningsToUI | None = None
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
        sdk_logger.setLevel(logging.DEBUG)
    elif not sdk_logger.handlers:
        warnings = _WarningsToUI(ui)
        sdk_logger.addHandler(warnings)
    ctx = _Context(args, ui)
    handler: Callable[[_Context], int] = args.handler
    try:
        return _run(handler, ctx)
    except KeyboardInterrupt:
        if warnings is not None:
            # A stopping batch may still log as it winds down: the report below says it all.
            warnings.setLevel(logging.CRITICAL + 1)
            warnings = None
        return ctx.interrupted()
    finally:
        if warnings is not None:
            sdk_logger.removeHandler(warnings)


def _run(handler: Callable[[_Context], int], ctx: _Context) -> int:
    """Run a command; an error becomes its message and exit code (KeyboardInterrupt passes)."""
    ui = ctx.ui
    try:
        return handler(ctx)
    except _NoKey as exc:
        ui.error(str(exc), kind="AuthenticationError", exit_code=EXIT_AUTH)
        return EXIT_AUTH
    except UsageError as exc:
        ui.error(str(exc), kind="UsageError", exit_code=EXIT_USAGE)
        return EXIT_USAGE
    except NanoBananaError as exc:
        code = exit_code(exc)
        message = str(exc)
        if isinstance(exc, TaskNotFoundError) and ctx.args.fake and ctx.fake_state is None:
            message += (
                " (--fake runs a new simulator for each command: it knows only the tasks "
                "of this one, or those kept beside a batch's --journal)"
            )
        ui.error(message, kind=type(exc).__name__, exit_code=code)
        return code
    except OSError as exc:
        ui.error(str(exc), kind=type(exc).__name__, exit_code=EXIT_USAGE)
        return EXIT_USAGE


# -- commands ---------------------------------------------------------------------------


def _status_json(status: Any, paths: Sequence[Path] = ()) -> dict[str, Any]:
    data: dict[str, Any] = {
        "task_id": status.task_id,
        "status": status.status,
        "progress": status.progress,
        "urls": list(status.urls),
        "completed_at": status.completed_at.isoformat() if status.completed_at else None,
        "error": status.error,
    }
    if paths:
        data["paths"] = [str(p) for p in paths]
    return data


def _wait_and_save(ctx: _Context, resource: Any, task_id: str, what: str) -> int:
    args, ui = ctx.args, ctx.ui
    ctx.ledger.running(task_id, what)
    with ui.progress(transient=True) as progress:
        bar = progress.add_task(f"{what} {task_id}", total=100, detail="submitted", unit="%")

        def on_progress(status: Any) -> None:
            done = status.progress if isinstance(status.progress, int) else None
            progress.update(bar, completed=done or 0, detail=status.status)

        try:
            status = resource.wait(task_id, timeout=args.timeout, on_progress=on_progress)
        except TaskFailedError as exc:
            ctx.ledger.finished(task_id)
            if args.json:
                ui.data({**_status_json(exc.status), "ok": False})
            ui.error(str(exc), kind=type(exc).__name__, exit_code=EXIT_FAILED)
            return EXIT_FAILED
        progress.update(bar, completed=100, detail=status.status)
    paths: list[Path] = []
    if not args.no_download:
        paths = resource.save(status, args.out)
    ctx.ledger.finished(task_id)
    if args.json:
        ui.data({**_status_json(status, paths), "ok": True})
    else:
        ui.note(f"[green]✓[/] {what} {task_id} {status.status}")
        for path in paths:
            ui.print(str(path))
        if not paths:
            for url in status.urls:
                ui.print(url)
    return EXIT_OK


def _submitted(ctx: _Context, task: Any, kind: str) -> int:
    if ctx.args.json:
        ctx.ui.data(
            {"task_id": task.task_id, "status": task.status, "credits_used": task.credits_used}
        )
    else:
        ctx.ui.print(task.task_id)
        wait = f"nanobanana wait {task.task_id}" + (" --kind video" if kind == "video" else "")
        ctx.ui.note(f"submitted ({task.credits_used} credits); wait with: {wait}")
    return EXIT_OK


def _stdin_bytes() -> bytes:
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is not None:
        data: bytes = buffer.read()
        return data
    return sys.stdin.read().encode("utf-8", "surrogateescape")


def _prompt(value: str) -> str:
    """PROMPT, or with ``-`` the text on standard input (UTF-8)."""
    if value != "-":
        return value
    try:
        text = _stdin_bytes().decode("utf-8").removeprefix("\ufeff").strip()
    except UnicodeDecodeError:
        raise UsageError("the prompt on standard input is not valid UTF-8 text") from None
    if not text:
        raise UsageError("PROMPT is '-' but standard input holds no prompt")
    return text


def _submit(ctx: _Context, kind: str, generate: Callable[[], Any]) -> Any:
    """Send a generate request; Ctrl-C waits for its answer once it is on the wire."""
    with hold_interrupts(ctx.ledger, ctx.stopping):
        task = generate()
        ctx.ledger.running(task.task_id, kind)
    return task


def _cmd_image(ctx: _Context) -> int:
    a = ctx.args
    prompt = _prompt(a.prompt)
    with ctx.client() as client:
        task = _submit(
            ctx,
            "image",
            lambda: client.images.generate(prompt, **request_kwargs(a, ImageRequest)),
        )
        if a.no_wait:
            return _submitted(ctx, task, "image")
        return _wait_and_save(ctx, client.images, task.task_id, "image")


def _cmd_video(ctx: _Context) -> int:
    a = ctx.args
    prompt = _prompt(a.prompt)
    with ctx.client() as client:
        task = _submit(
            ctx,
            "video",
            lambda: client.videos.generate(prompt, **request_kwargs(a, VideoRequest)),
        )
        if a.no_wait:
            return _submitted(ctx, task, "video")
        return _wait_and_save(ctx, client.videos, task.task_id, "video")


def _cmd_wait(ctx: _Context) -> int:
    with ctx.client() as client:
        resource = client.images if ctx.args.kind == "image" else client.videos
        return _wait_and_save(ctx, resource, ctx.args.task_id, ctx.args.kind)


def _cmd_status(ctx: _Context) -> int:
    with ctx.client() as client:
        resource = client.images if ctx.args.kind == "image" else client.videos
        status = resource.status(ctx.args.task_id)
    if ctx.args.json:
        ctx.ui.data(_status_json(status))
    else:
        ctx.ui.fields(f"{ctx.args.kind} task", _status_json(status))
    return EXIT_OK


def _cmd_credits(ctx: _Context) -> int:
    with ctx.client() as client:
        credits = client.account.credits()
    sub = credits.subscription
    data = {
        "credits": credits.credits,
        "total_credits": credits.total_credits,
        "plan": sub.plan if sub else None,
        "plan_ends": sub.end_date.isoformat() if sub and sub.end_date else None,
        "is_vip": credits.is_vip,
    }
    if ctx.args.json:
        ctx.ui.data(data)
    else:
        ctx.ui.fields("credits", data)
    return EXIT_OK


def _cmd_models(ctx: _Context) -> int:
    with ctx.client() as client:
        catalog = client.models.list()
    rows = [("image", m.id, m.name, "yes" if m.is_default else "") for m in catalog.image_models]
    rows += [("video", m.id, m.name, "yes" if m.is_default else "") for m in catalog.video_models]
    if ctx.args.json:
        ctx.ui.data(
            {
                "image_models": [
                    {"id": m.id, "name": m.name, "is_default": m.is_default}
                    for m in catalog.image_models
                ],
                "video_models": [
                    {"id": m.id, "name": m.name, "is_default": m.is_default}
                    for m in catalog.video_models
                ],
            }
        )
    else:
        ctx.ui.table("models", ("kind", "id", "name", "default"), rows)
    return EXIT_OK


def _cmd_cost(ctx: _Context) -> int:
    a = ctx.args
    params = request_kwargs(a, CostRequest)
    with ctx.client() as client:
        estimate = client.account.calculate_cost(a.kind, **params)
    if a.json:
        ctx.ui.data({"type": estimate.type, "credits_needed": estimate.credits_needed, **params})
    else:
        ctx.ui.print(f"{estimate.credits_needed} credits")
    return EXIT_OK


def _cmd_fake_server(ctx: _Context) -> int:
    from nanobanana.testing import FakeNanoBanana

    a = ctx.args
    fake = FakeNanoBanana(
        time_scale=a.time_scale, seed=a.seed, credits=a.credits, failure_rate=a.failure_rate
    )
    stop = threading.Event()
    with fake.serve() as url:
        if a.json:
            ctx.ui.data({"base_url": url, "api_key": fake.api_key})
        else:
            ctx.ui.print(f"export NANOBANANA_BASE_URL={url}")
            ctx.ui.print(f"export NANOBANANA_API_KEY={fake.api_key}")
            ctx.ui.note(
                f"the simulator is serving on {url} (time x{a.time_scale:g}); Ctrl-C stops it"
            )

        def on_term(signum: int, frame: Any) -> None:
            stop.set()

        previous = signal.signal(signal.SIGTERM, on_term)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
    return EXIT_OK


# -- batch ------------------------------------------------------------------------------


class _BatchFile:
    """The requests of a batch file (or of stdin, read once), parsed afresh on every
    iteration (constant memory for a file). ``check()`` parses every line and counts."""

    def __init__(
        self,
        name: str,
        open_lines: Callable[[], contextlib.AbstractContextManager[Iterable[bytes]]],
        defaults: dict[str, Any],
    ) -> None:
        self.name = name
        self._open_lines = open_lines
        self.defaults = defaults
        self.count = 0

    @classmethod
    def from_path(cls, path: str, defaults: dict[str, Any]) -> _BatchFile:
        return cls(path, lambda: open(path, "rb"), defaults)

    @classmethod
    def from_stdin(cls, defaults: dict[str, Any]) -> _BatchFile:
        lines = _stdin_bytes().splitlines()
        return cls("<stdin>", lambda: contextlib.nullcontext(lines), defaults)

    def _lines(self) -> Iterator[tuple[int, str]]:
        with self._open_lines() as raw_lines:
            for number, raw in enumerate(raw_lines, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise UsageError(f"{self.name}:{number}: not valid UTF-8 text") from None
                text = line.removeprefix("\ufeff").strip() if number == 1 else line.strip()
                if text and not text.startswith("#"):
                    yield number, text

    def _parse(self, number: int, text: str) -> Any:
        if text.startswith("{"):
            try:
                obj = json.loads(text)
            except ValueError as exc:
                raise UsageError(f"{self.name}:{number}: not a JSON object: {exc}") from None
            if not isinstance(obj, dict):
                raise UsageError(f"{self.name}:{number}: not a JSON object")
            if not all(_is_utf8(v) for v in obj.values() if isinstance(v, str)):
                raise UsageError(f"{self.name}:{number}: a value is not valid UTF-8 text")
            return {**self.defaults, **obj}
        if self.defaults:
            return {**self.defaults, "prompt": text}
        return text

    def check(self) -> None:
        self.count = 0
        for number, text in self._lines():
            self._parse(number, text)
            self.count += 1

    def __iter__(self) -> Iterator[Any]:
        for number, text in self._lines():
            yield self._parse(number, text)


def _batch_defaults(a: argparse.Namespace) -> dict[str, Any]:
    schema, other = (
        (ImageRequest, VideoRequest) if a.kind == "image" else (VideoRequest, ImageRequest)
    )
    refuse_foreign_flags(a, schema, [other], f"--kind {a.kind}")
    return request_kwargs(a, schema)


def _item_json(item: BatchItem) -> dict[str, Any]:
    error = item.error
    return {
        "index": item.index,
        "prompt": item.request.prompt,
        "task_id": item.task_id,
        "status": item.status.status if item.status is not None else None,
        "ok": item.ok,
        "needs_attention": item.needs_attention,
        "error": None if error is None else {"type": type(error).__name__, "message": str(error)},
        "paths": [str(p) for p in item.paths],
        "urls": list(item.status.urls) if item.status is not None else [],
    }


def _fake_state(journal: str) -> Path:
    """Where ``--fake`` keeps its simulator's tasks for a rerun of a journaled batch. A
    new journal starts a new simulated world: a state file left without one is dropped."""
    state = Path(journal + ".fake-state")
    if not Path(journal).exists():
        state.unlink(missing_ok=True)
    return state


def _cmd_batch(ctx: _Context) -> int:
    a, ui = ctx.args, ctx.ui
    defaults = _batch_defaults(a)
    if a.file == "-":
        requests = _BatchFile.from_stdin(defaults)
    else:
        if not Path(a.file).is_file():
            raise OSError(f"no such file: {a.file}")
        requests = _BatchFile.from_path(a.file, defaults)
    requests.check()
    total = requests.count
    if total == 0:
        raise UsageError(
            f"{requests.name} holds no requests (blank lines and lines starting with # "
            "are skipped): nothing to do"
        )
    journal: str | None = None
    if a.journal:
        journal = a.journal
    elif not a.no_journal and not a.fake and not a.no_download:
        journal = str(Path(a.out) / DEFAULT_JOURNAL)
    ctx.journal = journal
    if a.fake and journal is not None:
        ctx.fake_state = _fake_state(journal)
    save_to = None if a.no_download else a.out
    counts = {"ok": 0, "failed": 0, "not submitted": 0, "attention": 0}
    saved = 0
    stopped: BaseException | None = None
    with ctx.client() as client:
        resource = client.images if a.kind == "image" else client.videos
        if journal is not None:
            ui.note(f"journal: {journal} (rerun the same command to resume)")
        with ui.progress() as progress:
            bar = progress.add_task(f"{a.kind}s", total=total, detail="")
            batch = resource.generate_many(
                requests,
                concurrency=a.concurrency,
                max_credits=a.max_credits,
                journal=journal,
                save_to=save_to,
                preflight=not a.no_preflight,
            )
            interrupted = False
            try:
                for item in batch:
                    ctx.ledger.finished(item.task_id)
                    saved += len(item.paths)
                    if item.ok:
                        counts["ok"] += 1
                    elif item.needs_attention:
                        counts["attention"] += 1
                    elif isinstance(item.error, NotSubmittedError):
                        counts["not submitted"] += 1
                        stopped = stopped or item.error.reason
                    else:
                        counts["failed"] += 1
                    if a.json:
                        ui.data(_item_json(item))
                    elif not item.ok:
                        label = (
                            item.request.prompt
                            if len(item.request.prompt) <= 40
                            else item.request.prompt[:37] + "..."
                        )
                        _print_failure(progress, item, label)
                    progress.update(
                        bar,
                        advance=1,
                        detail=f"[green]{counts['ok']} ok[/] [red]{counts['failed']} failed[/]",
                    )
            except KeyboardInterrupt:
                interrupted = True
                _stop_batch(ctx, batch)
                raise
            finally:
                if not interrupted:
                    batch.close()
    if not a.json:
        summary = ", ".join(f"{n} {name}" for name, n in counts.items() if n or name == "ok")
        where = f"; {saved} file{'s' if saved != 1 else ''} in {a.out}" if saved else ""
        ui.note(f"{summary} of {total}{where}")
        if counts["attention"]:
            ui.note(
                "[yellow]some requests may have been charged without a task id: check "
                "the balance before resubmitting them[/]"
            )
    if counts["ok"] == total:
        return EXIT_OK
    if stopped is not None:
        return exit_code(stopped)
    return EXIT_FAILED


def _stop_batch(ctx: _Context, batch: Any) -> None:
    """Ctrl-C in a batch: say so at once, submit nothing more, wait only for generate
    requests already on the wire (their task ids must not be lost), then leave.

    The tasks left running are the ledger's; an engine that names them itself can feed
    ``ctx.ledger.running(...)`` here."""
    sending = ctx.ledger.sending
    text = "submitting nothing more"
    if sending:
        text += (
            f"; waiting for the answer to {sending} generate request(s) already sent, so "
            "their task ids are not lost (Ctrl-C again to quit now)"
        )
    ctx.stopping(text)
    close_within(batch.close, ctx.ledger)


def _print_failure(progress: Any, item: BatchItem, label: str) -> None:
    console = progress.console
    if console is None:
        return
    from rich.markup import escape

    error = item.error
    kind = type(error).__name__ if error is not None else "failed"
    console.print(f"[red]✗[/] #{item.index} {escape(label)}: {kind}: {escape(str(error))}")
