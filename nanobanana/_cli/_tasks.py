"""The commands about one task: ``image`` and ``video`` submit one (then wait for it and
save its results, unless ``--no-wait``), ``wait`` waits for one and saves its results,
``status`` shows where one is.

Both kinds take one path: the kind picks the resource and the request schema.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nanobanana._exceptions import NanoBananaError, TaskFailedError
from nanobanana._models import ImageStatus, VideoStatus
from nanobanana._requests import ImageRequest, VideoRequest

from ._context import Context, resource_for
from ._encode import to_json
from ._exit import EXIT_FAILED, EXIT_OK, NotSaved
from ._flags import request_kwargs
from ._input import read_prompt
from ._stop import hold_interrupts

__all__ = ["image", "status", "video", "wait"]

_SCHEMAS: dict[str, type[ImageRequest | VideoRequest]] = {
    "image": ImageRequest,
    "video": VideoRequest,
}


def image(ctx: Context) -> int:
    """``nanobanana image PROMPT``."""
    return _generate(ctx, "image")


def video(ctx: Context) -> int:
    """``nanobanana video PROMPT``."""
    return _generate(ctx, "video")


def wait(ctx: Context) -> int:
    """``nanobanana wait ID``."""
    with ctx.client() as client:
        resource = resource_for(client, ctx.args.kind)
        return _wait_and_save(ctx, resource, ctx.args.task_id, ctx.args.kind)


def status(ctx: Context) -> int:
    """``nanobanana status ID``."""
    with ctx.client() as client:
        current = resource_for(client, ctx.args.kind).status(ctx.args.task_id)
    if ctx.args.json:
        ctx.ui.data(to_json(current))
    else:
        ctx.ui.fields(f"{ctx.args.kind} task", to_json(current))
    return EXIT_OK


def _generate(ctx: Context, kind: str) -> int:
    a = ctx.args
    prompt = read_prompt(a.prompt)
    with ctx.client() as client:
        resource = resource_for(client, kind)
        task = _submit(
            ctx, kind, lambda: resource.generate(prompt, **request_kwargs(a, _SCHEMAS[kind]))
        )
        if a.no_wait:
            return _submitted(ctx, task, kind)
        return _wait_and_save(ctx, resource, task.task_id, kind)


def _submit(ctx: Context, kind: str, generate: Callable[[], Any]) -> Any:
    """Send a generate request; Ctrl-C waits for its answer once it is on the wire. An
    answer that names its task but is otherwise unreadable leaves it in the ledger: it is
    charged, and the error reported names it."""
    with hold_interrupts(ctx.ledger, ctx.stopping):
        try:
            task = generate()
        except NanoBananaError as exc:
            task_id = getattr(exc, "task_id", None)
            if isinstance(task_id, str) and task_id:
                ctx.ledger.running(task_id, kind)
            raise
        ctx.ledger.running(task.task_id, kind)
    return task


def _submitted(ctx: Context, task: Any, kind: str) -> int:
    if ctx.args.json:
        ctx.ui.data(to_json(task))
    else:
        ctx.ui.print(task.task_id)
        wait = f"nanobanana wait {task.task_id}" + (" --kind video" if kind == "video" else "")
        ctx.ui.note(f"submitted ({task.credits_used} credits); wait with: {wait}")
    return EXIT_OK


def _wait_and_save(ctx: Context, resource: Any, task_id: str, kind: str) -> int:
    args, ui = ctx.args, ctx.ui
    ctx.ledger.running(task_id, kind)
    with ui.progress(transient=True) as progress:
        bar = progress.add_task(f"{kind} {task_id}", total=100, detail="submitted", unit="%")

        def on_progress(status: Any) -> None:
            done = status.progress if isinstance(status.progress, int) else None
            progress.update(bar, completed=done or 0, detail=status.status)

        try:
            final = resource.wait(task_id, timeout=args.timeout, on_progress=on_progress)
        except TaskFailedError as exc:
            ctx.ledger.finished(task_id)
            if args.json:
                ui.data(_outcome(exc.status, (), ok=False))
            ui.error(str(exc), kind=type(exc).__name__, exit_code=EXIT_FAILED, task_id=task_id)
            return EXIT_FAILED
        progress.update(bar, completed=100, detail=final.status)
    paths: list[Path] = []
    if not args.no_download:
        try:
            paths = resource.save(final, args.out)
        except (NanoBananaError, OSError) as exc:  # the task stays in the ledger: reported
            raise NotSaved(exc) from exc
    ctx.ledger.finished(task_id)
    if args.json:
        ui.data(_outcome(final, paths, ok=True))
    else:
        ui.note(f"[green]✓[/] {kind} {task_id} {final.status}")
        for path in paths:
            ui.print(str(path))
        if not paths:
            for url in final.urls:
                ui.print(url)
    return EXIT_OK


def _outcome(
    status: ImageStatus | VideoStatus, paths: Sequence[Path], *, ok: bool
) -> dict[str, Any]:
    """The status, the files saved (if any) and whether the task succeeded."""
    data = to_json(status)
    if paths:
        data["paths"] = [str(p) for p in paths]
    data["ok"] = ok
    return data
