"""The ``nanobanana`` command line: every command, its arguments, its ``--help``.

Only the shape of the command line lives here; ``_flags`` adds a request's fields from the
schema, and ``_main`` maps each command to the function that runs it. A usage error is
raised (``ParseError``), not printed, so ``main`` can report it as text or as JSON.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, NoReturn

from nanobanana._requests import CostRequest, ImageRequest, VideoRequest
from nanobanana._version import __version__

from ._batch import DEFAULT_JOURNAL
from ._exit import EXIT_CODES, UsageError
from ._flags import add_request_flags

__all__ = ["ParseError", "build_parser", "json_mode"]


class ParseError(UsageError):
    """A bad command line; ``parser`` is the (sub)parser whose usage line to show."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """Hands a usage error to ``main`` (which reports it as text or JSON) instead of
    printing it and exiting; ``--help`` and ``--version`` still exit 0."""

    def error(self, message: str) -> NoReturn:
        raise ParseError(self, message)


def json_mode(argv: Sequence[str]) -> bool:
    """Whether --json was asked for, before the command line is known to parse."""
    options = argv[: list(argv).index("--")] if "--" in argv else argv
    return "--json" in options


_EPILOG = "exit codes:\n" + "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES.items())

_DESCRIPTION = """\
Generate images and videos with the Nano Banana API.

The API key is read from the NANOBANANA_API_KEY environment variable, or from a file
given with --api-key-file; never from the command line. NANOBANANA_BASE_URL (or
--base-url) points at another server. --fake runs any command against the embedded
simulator: no key, no network.

  nanobanana --fake batch examples/prompts.txt -o out/    # then open out/index.html
  nanobanana image "A sunset over mountains" -o out/
  nanobanana batch prompts.txt -o out/ --max-credits 200   # rerun the same command to resume
  nanobanana report out/nanobanana-journal.sqlite          # the page again, from the journal

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


def _request_options(parser: argparse.ArgumentParser, title: str, *schemas: type[Any]) -> None:
    """The request's fields as flags (from the schema: same name in every command)."""
    add_request_flags(parser.add_argument_group(title), schemas)


def _result_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("results")
    group.add_argument(
        "-o", "--out", metavar="DIR", default=".", help="directory the results are saved to"
    )
    group.add_argument(
        "--no-download", action="store_true", help="do not download results; print their URLs"
    )


def _wait_options(parser: argparse.ArgumentParser, *, submit: bool = False) -> None:
    group = parser.add_argument_group("waiting")
    group.add_argument("--timeout", type=float, help="give up waiting after this many seconds")
    if submit:
        group.add_argument(
            "--no-wait", action="store_true", help="submit only: print the task id and exit"
        )


def _task_arguments(parser: argparse.ArgumentParser) -> None:
    """The task a command is about: its id and its kind."""
    parser.add_argument("task_id", metavar="ID", help="the task id generate returned")
    parser.add_argument(
        "--kind", choices=("image", "video"), default="image", help="the task's kind"
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

    p = command(
        "video",
        "generate a video, wait for it and save it",
        "Submit one video request, wait for it (progress bar) and save the result under -o.",
    )
    p.add_argument("prompt", metavar="PROMPT", help="what to film; '-' reads it from stdin")
    _request_options(p, "video options", VideoRequest)
    _result_options(p)
    _wait_options(p, submit=True)

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
        "again, running tasks polled).\n\n"
        "OUT/index.html is the batch's gallery: every result with its prompt, parameters,\n"
        "credits, duration and status (errors too), to filter and sort in a browser. It is\n"
        "kept up to date while the batch runs; an index.html of your own is never replaced.",
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
    p.add_argument(
        "--no-gallery",
        action="store_true",
        help="do not write OUT/index.html (none is written with --no-download either)",
    )
    _request_options(
        p,
        "request options (defaults for every request of the file; --kind decides which apply)",
        ImageRequest,
        VideoRequest,
    )
    _result_options(p)

    p = command(
        "report",
        "rebuild a batch's gallery page from its journal",
        "Write the gallery page of a batch (OUT/index.html) from its journal: every request\n"
        "it reached, with its result, prompt, parameters, credits, duration and status.\n"
        "Nothing is sent. A batch running on the journal is not disturbed (its journal is\n"
        "read from a copy) and the page then says it may be partial. The journal keeps no\n"
        "run times or request counts: the page says so instead of showing them.\n\n"
        "  nanobanana report out/nanobanana-journal.sqlite",
    )
    p.add_argument("journal", metavar="JOURNAL", help="the batch's journal (an SQLite file)")
    p.add_argument(
        "-o",
        "--out",
        metavar="DIR",
        help="where to write index.html (default: the journal's directory, where "
        "`nanobanana batch` saves the files); an index.html that is not a gallery is "
        "never replaced",
    )

    p = command(
        "status",
        "show a task's current status",
        "Show the current status of task ID (one request).",
    )
    _task_arguments(p)

    p = command(
        "wait",
        "wait for a task to end and save its results",
        "Poll task ID until it ends (progress bar), then save its results under -o.",
    )
    _task_arguments(p)
    _result_options(p)
    _wait_options(p)

    command(
        "credits",
        "show the balance and subscription",
        "Show the account's credits and subscription.",
    )

    command(
        "models",
        "list the image and video models",
        "List every image and video model the server offers.",
    )

    p = command(
        "cost",
        "what a generation would cost (nothing is charged)",
        "Ask the server what a generation would cost. Nothing is charged.\n\n"
        "  nanobanana cost image --model nano-banana-pro -n 2 --resolution 2K\n"
        "  nanobanana cost video --model veo-3.1-fast --duration 8 --generate-audio",
    )
    p.add_argument("kind", choices=("image", "video"), help="image or video")
    _request_options(p, "cost options", CostRequest)

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
    return parser
