"""``main``: parse the command line, run the command, and turn whatever ends it (a result,
an error, Ctrl-C) into a message and an exit code, never a traceback.

The commands themselves are in ``_tasks``, ``_batch``, ``_report``, ``_account`` and
``_fake_server``; they raise, and the errors are reported here once, as text or as JSON.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nanobanana._exceptions import TaskNotFoundError

from . import _account, _batch, _fake_server, _report, _tasks
from ._context import Context
from ._exit import (
    EXIT_INTERRUPTED,
    EXIT_NOT_SAVED,
    EXIT_USAGE,
    REPORTED,
    UsageError,
    after_charge,
    classify,
)
from ._input import check_text_args
from ._parser import ParseError, build_parser, json_mode
from ._stop import NOTHING_REAL, charged, resume_hint
from ._ui import UI, RichMissing, WarningsToUI, write_error

__all__ = ["main"]

Command = Callable[[Context], int]

COMMANDS: Mapping[str, Command] = {
    "image": _tasks.image,
    "video": _tasks.video,
    "batch": _batch.batch,
    "report": _report.report,
    "status": _tasks.status,
    "wait": _tasks.wait,
    "credits": _account.credits,
    "models": _account.models,
    "cost": _account.cost,
    "fake-server": _fake_server.fake_server,
}
"""What runs each command of the parser."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit code (see EXIT_CODES)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    json_output = json_mode(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        check_text_args(args)
    except ParseError as exc:
        if not json_output:
            exc.parser.print_usage(sys.stderr)
            sys.stderr.write(f"{exc.parser.prog}: error: {exc}\n")
        else:
            write_error(str(exc), kind="UsageError", exit_code=EXIT_USAGE, json_mode=True)
        return EXIT_USAGE
    except UsageError as exc:
        write_error(str(exc), kind="UsageError", exit_code=EXIT_USAGE, json_mode=json_output)
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
    warnings: WarningsToUI | None = None
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
        sdk_logger.setLevel(logging.DEBUG)
    elif not sdk_logger.handlers:
        warnings = WarningsToUI(ui)
        sdk_logger.addHandler(warnings)
    ctx = Context(args, ui)
    try:
        return _run(COMMANDS[args.command], ctx)
    except KeyboardInterrupt:
        if warnings is not None:
            # A stopping batch may still log as it winds down: the report below says it all.
            warnings.setLevel(logging.CRITICAL + 1)
            warnings = None
        return _interrupted(ctx)
    finally:
        if warnings is not None:
            sdk_logger.removeHandler(warnings)


def _run(command: Command, ctx: Context) -> int:
    """Run a command; an error becomes its message and exit code (KeyboardInterrupt passes).

    An error that comes once a task is charged (the wait, the download, the files) names
    the task and how to get its results, so the credits spent are never lost from view."""
    try:
        return command(ctx)
    except REPORTED as exc:
        kind, code = classify(exc)
        message = str(exc)
        if isinstance(exc, TaskNotFoundError) and ctx.args.fake and ctx.fake_state is None:
            message += (
                " (--fake runs a new simulator for each command: it knows only the tasks "
                "of this one, or those kept beside a batch's --journal)"
            )
        return _fail(ctx, exc, message, kind, code)
    except Exception as exc:
        if not ctx.ledger.unfinished():
            raise  # a bug: its traceback
        traceback.print_exc()  # a bug too, but the tasks it leaves charged are named below
        return _fail(ctx, exc, str(exc) or type(exc).__name__, type(exc).__name__, EXIT_NOT_SAVED)


def _fail(ctx: Context, error: Exception, message: str, kind: str, code: int) -> int:
    """Report the error a command ended with; with the tasks charged and not finished (their
    ids, how to get their results), and then never with the code that says nothing was sent."""
    running = ctx.ledger.unfinished()
    if not running:
        ctx.ui.error(message, kind=kind, exit_code=code)
        return code
    code = after_charge(code)
    ids = [task_id for task_id, _ in running]
    resume: str | None = None
    if isinstance(error, TaskNotFoundError):  # the API does not know it: nothing to wait for
        message += f" (task {', '.join(ids)})"
    else:
        if len(ids) == 1:
            message += f"; task {ids[0]} was {charged(ctx.args)} and its results were not collected"
        else:
            message += (
                f"; {len(ids)} tasks were {charged(ctx.args)} and their results were not "
                "collected: " + ", ".join(ids)
            )
        resume = resume_hint(ctx.args, ctx.journal, running)
        if resume:
            message += f"; {resume}"
    ctx.ui.error(message, kind=kind, exit_code=code, **_task_fields(ids), resume=resume)
    return code


def _task_fields(ids: list[str]) -> dict[str, Any]:
    """The ids of the tasks an error leaves behind, as ``--json`` names them: ``task_ids``,
    and ``task_id`` too when there is one."""
    return {"task_id": ids[0], "task_ids": ids} if len(ids) == 1 else {"task_ids": ids}


def _interrupted(ctx: Context) -> int:
    """Ctrl-C: name the tasks charged and not finished, and how to get their results."""
    running = ctx.ledger.unfinished()
    sending = ctx.ledger.sending
    ids = [task_id for task_id, _ in running]
    lines: list[str] = []
    if running:
        n = len(running)
        lines.append(
            f"{n} task{'s were' if n != 1 else ' was'} {charged(ctx.args)} and "
            f"{'are' if n != 1 else 'is'} still running: {', '.join(ids)}"
        )
    else:
        lines.append("no task was left running")
    if sending:
        lines.append(
            f"{sending} generate request(s) had been sent with no answer yet: they may "
            f"have been {charged(ctx.args)}, with no task id to show"
            + (
                " (the journal marks them for attention)"
                if ctx.journal
                else f" ({NOTHING_REAL})"
                if ctx.args.fake
                else " (check `nanobanana credits` before resubmitting)"
            )
        )
    resume = resume_hint(ctx.args, ctx.journal, running)
    if resume:
        lines.append(resume)
    ctx.ui.error(
        "interrupted: " + "; ".join(lines),
        kind="Interrupted",
        exit_code=EXIT_INTERRUPTED,
        **_task_fields(ids),
        resume=resume,
    )
    return EXIT_INTERRUPTED
