"""Result files on the asset host: their URLs, expiry, and what a download answers.

A task's results are ``/files/<task_id>-<n>.<ext>?token=...[&expires=...]``: ``png`` or
``jpg`` for an image task (by ``output_format``), ``mp4`` for a video task. A video's
first frame is also served as a picture, at the same URL with ``.png`` or ``.jpg`` in
place of ``.mp4`` (a poster; the real API has none). Files are drawn when first asked
for (``_media``), outside the service's lock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from . import _media
from ._records import TaskInfo
from ._wire import Reply, text

__all__ = ["CONTENT_TYPES", "card", "file_reply", "find", "urls"]

CONTENT_TYPES: Mapping[str, str] = {"png": "image/png", "jpg": "image/jpeg", "mp4": "video/mp4"}

_EXPIRED = Reply(
    403,
    (("content-type", "application/xml"),),
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Request has expired</Message></Error>",
)


def urls(
    task: TaskInfo, asset_base: str, ttl: float | None, wall: Callable[[float], datetime]
) -> list[str]:
    """The result URLs of a finished task (valid ``ttl`` API seconds after it ended)."""
    expires = ""
    if ttl is not None:
        expires = f"&expires={int(wall(task.ends + ttl).timestamp())}"
    return [
        f"{asset_base}/files/{task.task_id}-{i}.{task.extension}?token={task.token}{expires}"
        for i in range(task.outputs)
    ]


def _served(task: TaskInfo, extension: str) -> bool:
    if extension == task.extension:
        return True
    return task.kind == "video" and extension in ("png", "jpg")  # the poster


def find(
    tasks: Mapping[str, TaskInfo],
    method: str,
    path: str,
    query: Mapping[str, str],
    now: float,
    ttl: float | None,
) -> Reply | tuple[TaskInfo, int, str]:
    """The file a download asks for, as (task, output index, extension), or the answer
    refusing it: 404 for anything unknown, unfinished or failed, 403 once expired."""
    if method not in ("GET", "HEAD"):
        return text(405, "Method Not Allowed")
    parts = path.strip("/").split("/")
    if len(parts) != 2 or parts[0] != "files":
        return text(404, "Not Found")
    stem, _, extension = parts[1].partition(".")
    task_id, _, name = stem.rpartition("-")
    task = tasks.get(task_id)
    if (
        task is None
        or not (name.isascii() and name.isdigit())
        or int(name) >= task.outputs
        or not _served(task, extension)
        or query.get("token") != task.token
        or now < task.ends
        or task.fails
    ):
        return text(404, "Not Found")
    if ttl is not None and now > task.ends + ttl:
        return _EXPIRED
    return task, int(name), extension


def card(task: TaskInfo, index: int) -> _media.Card:
    """What result ``index`` of ``task`` shows: its request, drawn."""
    params: Mapping[str, Any] = task.params
    ratio = params.get("aspect_ratio")
    if task.kind == "image":
        resolution = params.get("resolution")
        width, height = _media.image_size(ratio, resolution)
        return _media.Card(
            kind="image",
            prompt=str(params.get("prompt", "")),
            model=task.model,
            task_id=task.task_id,
            index=index,
            count=task.outputs,
            width=width,
            height=height,
            aspect_ratio=ratio or "1:1",
            resolution=resolution,
            output_format="jpeg" if task.extension == "jpg" else "png",
        )
    resolution = str(params.get("resolution", "720p"))
    width, height = _media.video_size(ratio, resolution)
    return _media.Card(
        kind="video",
        prompt=str(params.get("prompt", "")),
        model=task.model,
        task_id=task.task_id,
        index=index,
        count=task.outputs,
        width=width,
        height=height,
        aspect_ratio=ratio or "16:9",
        resolution=resolution,
        duration=int(params.get("duration", 0)),
        audio=bool(params.get("generate_audio", False)),
    )


def file_reply(task: TaskInfo, index: int, extension: str, method: str) -> Reply:
    """The 200 answer carrying the file (drawn now, or from the cache)."""
    content = _media.render(card(task, index), extension)
    return Reply(
        200,
        (
            ("content-type", CONTENT_TYPES[extension]),
            ("content-length", str(len(content))),
            ("cache-control", "private, max-age=300"),
        ),
        b"" if method == "HEAD" else content,
    )
