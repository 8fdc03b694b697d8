"""The ``nanobanana`` command: argparse for the command line, the sync ``nb.Client`` for work."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

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
from ._ui import UI, RichMissing

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
    EXIT_USAGE: "bad command line, invalid parameter (nothing sent), unreadable file or journal",
    EXIT_AUTH: "no API key, key refused (401) or not allowed (403)",
    EXIT_CREDITS: "not enough credits (402), or over the budget (--max-credits, preflight)",
    EXIT_NOT_FOUND: "no such task (404)",
    EXIT_RATE_LIMITED: "rate limited (429) after every retry",
    EXIT_API: "network error, timeout, server error (5xx) or unexpected response",
    EXIT_TIMEOUT: "waiting for a task took longer than --timeout (the task may still finish)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}

FAKE_TIME_SCALE = 60.0
"""--fake runs the simulator 60x faster than real time: a demo batch finishes in seconds."""

DEFAULT_JOURNAL = "nanobanana-journal.sqlite"


def exit_code(error: BaseException) -> int:
    """The exit code of an error class (see EXIT_CODES)."""
    if isinstance(error, (InvalidParameterError, BadRequestError, JournalError)):
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
"""


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default only where it says something: not for flags, unset values, or
    help text that already names its default."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


def _common(defaults: bool) -> argparse.ArgumentParser:
    """Options every command takes, before or after its name."""
    d: Any = None if defaults else argparse.SUPPRESS
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
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
    parser = argparse.ArgumentParser(
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
    p.add_argument("prompt", metavar="PROMPT", help="what to draw")
    _request_options(p, "image options", ImageRequest)
    _result_options(p)
    _wait_options(p)
    p.set_defaults(handler=_cmd_image)

    p = command(
        "video",
        "generate a video, wait for it and save it",
        "Submit one video request, wait for it (progress bar) and save the result under -o.",
    )
    p.add_argument("prompt", metavar="PROMPT", help="what to film")
    _request_options(p, "video options", VideoRequest)
    _result_options(p)
    _wait_options(p)
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
        help=f"SQLite journal to resume from (default: OUT/{DEFAULT_JOURNAL}; none with --fake or --no-download)",
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


def _wait_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("waiting")
    group.add_argument("--timeout", type=float, help="give up waiting after this many seconds")
    group.add_argument(
        "--no-wait", action="store_true", help="submit only: print the task id and exit"
    )


# -- running a command -------------------------------------------------------------------


class _Context:
    """What a command needs: the parsed arguments, the output, a client factory."""

    def __init__(self, args: argparse.Namespace, ui: UI) -> None:
        self.args = args
        self.ui = ui
        self.fake: Any = None

    @contextlib.contextmanager
    def client(self) -> Generator[Any, None, None]:
        from nanobanana._sync._client import Client

        args = self.args
        if args.fake:
            from nanobanana.testing import FakeNanoBanana

            self.fake = FakeNanoBanana(time_scale=FAKE_TIME_SCALE, seed=7)
            with self.fake.client() as client:
                yield client
            return
        key = _read_key(args.api_key_file)
        with Client(api_key=key, base_url=args.base_url) as client:
            yield client


class _NoKey(Exception):
    pass


def _read_key(path: str | None) -> str:
    if path is not None:
        try:
            key = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise _NoKey(f"cannot read the API key file {path!r}: {exc.strerror}") from None
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit code (see EXIT_CODES)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        ui = UI(json_mode=args.json)
    except RichMissing as exc:
        sys.stderr.write(f"nanobanana: {exc}\n")
        return EXIT_USAGE
    if args.verbose:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
        logging.getLogger("nanobanana").setLevel(logging.DEBUG)
    handler: Callable[[_Context], int] = args.handler
    try:
        return handler(_Context(args, ui))
    except _NoKey as exc:
        ui.error(str(exc))
        return EXIT_AUTH
    except NanoBananaError as exc:
        ui.error(str(exc))
        return exit_code(exc)
    except OSError as exc:
        ui.error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        ui.error("interrupted")
        return EXIT_INTERRUPTED


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
    with ui.progress(transient=True) as progress:
        bar = progress.add_task(f"{what} {task_id}", total=100, detail="submitted")

        def on_progress(status: Any) -> None:
            done = status.progress if isinstance(status.progress, int) else None
            progress.update(bar, completed=done or 0, detail=status.status)

        try:
            status = resource.wait(task_id, timeout=args.timeout, on_progress=on_progress)
        except TaskFailedError as exc:
            if args.json:
                ui.data({**_status_json(exc.status), "ok": False})
            ui.error(str(exc))
            return EXIT_FAILED
        progress.update(bar, completed=100, detail=status.status)
    paths: list[Path] = []
    if not args.no_download:
        paths = resource.save(status, args.out)
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


def _submitted(ctx: _Context, task: Any) -> int:
    if ctx.args.json:
        ctx.ui.data(
            {"task_id": task.task_id, "status": task.status, "credits_used": task.credits_used}
        )
    else:
        ctx.ui.print(task.task_id)
        ctx.ui.note(
            f"submitted ({task.credits_used} credits); wait with: nanobanana wait {task.task_id}"
        )
    return EXIT_OK


def _cmd_image(ctx: _Context) -> int:
    a = ctx.args
    with ctx.client() as client:
        task = client.images.generate(a.prompt, **request_kwargs(a, ImageRequest))
        if a.no_wait:
            return _submitted(ctx, task)
        return _wait_and_save(ctx, client.images, task.task_id, "image")


def _cmd_video(ctx: _Context) -> int:
    a = ctx.args
    with ctx.client() as client:
        task = client.videos.generate(a.prompt, **request_kwargs(a, VideoRequest))
        if a.no_wait:
            return _submitted(ctx, task)
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


class _FileRequests:
    """The requests of a batch file, read afresh on every iteration (constant memory)."""

    def __init__(self, path: str, kind: str, defaults: dict[str, Any]) -> None:
        self.path = path
        self.kind = kind
        self.defaults = defaults
        self.count = 0
        for _ in self._lines():
            self.count += 1

    def _lines(self) -> Iterator[tuple[int, str]]:
        if self.path == "-":
            raise AssertionError("stdin is read into a list first")
        with open(self.path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                text = line.strip()
                if text and not text.startswith("#"):
                    yield number, text

    def _parse(self, number: int, text: str) -> Any:
        if text.startswith("{"):
            try:
                obj = json.loads(text)
            except ValueError as exc:
                raise InvalidParameterError(
                    "FILE", text, reason=f"{self.path}:{number}: not a JSON object: {exc}"
                ) from None
            if not isinstance(obj, dict):
                raise InvalidParameterError(
                    "FILE", text, reason=f"{self.path}:{number}: not a JSON object"
                )
            return {**self.defaults, **obj}
        if self.defaults:
            return {**self.defaults, "prompt": text}
        return text

    def check(self) -> None:
        for number, text in self._lines():
            self._parse(number, text)

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


def _cmd_batch(ctx: _Context) -> int:
    a, ui = ctx.args, ctx.ui
    defaults = _batch_defaults(a)
    if a.file == "-":
        lines = [line.strip() for line in sys.stdin if line.strip() and not line.startswith("#")]
        tmp = _StdinRequests(lines, a.kind, defaults)
        requests: Any = tmp
        total = len(lines)
    else:
        if not Path(a.file).is_file():
            raise OSError(f"no such file: {a.file}")
        requests = _FileRequests(a.file, a.kind, defaults)
        requests.check()
        total = requests.count
    journal: str | None = None
    if a.journal:
        journal = a.journal
    elif not a.no_journal and not a.fake and not a.no_download:
        journal = str(Path(a.out) / DEFAULT_JOURNAL)
    save_to = None if a.no_download else a.out
    counts = {"ok": 0, "failed": 0, "not submitted": 0, "attention": 0}
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
            with batch:
                for item in batch:
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
    if not a.json:
        summary = ", ".join(f"{n} {name}" for name, n in counts.items() if n or name == "ok")
        ui.note(f"{summary} of {total}" + (f"; results in {a.out}" if save_to else ""))
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


class _StdinRequests(_FileRequests):
    def __init__(self, lines: list[str], kind: str, defaults: dict[str, Any]) -> None:
        self.lines = lines
        self.path = "<stdin>"
        self.kind = kind
        self.defaults = defaults
        self.count = len(lines)

    def _lines(self) -> Iterator[tuple[int, str]]:
        yield from enumerate(self.lines, 1)


def _print_failure(progress: Any, item: BatchItem, label: str) -> None:
    console = progress.console
    if console is None:
        return
    from rich.markup import escape

    error = item.error
    kind = type(error).__name__ if error is not None else "failed"
    console.print(f"[red]✗[/] #{item.index} {escape(label)}: {kind}: {escape(str(error))}")
