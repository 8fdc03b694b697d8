"""Result files on the asset host: their URLs, expiry, and what a download answers.

A task's results are ``/files/<task_id>-<n>.<ext>?token=...[&expires=...]``: ``png`` or
``jpg`` for an image task (by ``output_format``), ``mp4`` for a video task. Files are
made when first asked for (``_media``), outside the service's lock.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache

from . import _media
from ._records import TaskInfo
from ._wire import Reply, text

__all__ = ["CONTENT_TYPES", "file_reply", "find", "urls", "video_size"]

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
        or extension != task.extension
        or query.get("token") != task.token
        or now < task.ends
        or task.fails
    ):
        return text(404, "Not Found")
    if ttl is not None and now > task.ends + ttl:
        return _EXPIRED
    return task, int(name), extension


_VIDEO_SIZES: Mapping[str, int] = {"480p": 480, "720p": 720, "1080p": 1080}


def video_size(aspect_ratio: str | None, resolution: str) -> tuple[int, int]:
    short = _VIDEO_SIZES.get(resolution, 720)
    w_text, _, h_text = (aspect_ratio or "16:9").partition(":")
    try:
        w, h = int(w_text), int(h_text)
    except ValueError:
        w, h = 16, 9
    if w >= h:
        return round(short * w / h) // 2 * 2, short
    return short, round(short * h / w) // 2 * 2


@lru_cache(maxsize=32)
def _render(extension: str, width: int, height: int, seed: int, duration: int) -> bytes:
    if extension == "png":
        return _media.png_bytes(width, height, seed)
    if extension == "jpg":
        return _media.jpeg_bytes(width, height, seed)
    return _media.mp4_bytes(width, height, duration, seed)


def _content(task: TaskInfo, index: int, extension: str) -> bytes:
    seed = (zlib.crc32(task.task_id.encode()) + index) % 997
    if task.kind == "image":
        width, height = _media.image_size(
            task.params.get("aspect_ratio"), task.params.get("resolution")
        )
        return _render(extension, width, height, seed, 0)
    width, height = video_size(task.params.get("aspect_ratio"), str(task.params["resolution"]))
    return _render(extension, width, height, seed, int(task.params["duration"]))


def file_reply(task: TaskInfo, index: int, extension: str, method: str) -> Reply:
    """The 200 answer carrying the file (made now, or from the cache)."""
    content = _content(task, index, extension)
    return Reply(
        200,
        (
            ("content-type", CONTENT_TYPES[extension]),
            ("content-length", str(len(content))),
            ("cache-control", "private, max-age=300"),
        ),
        b"" if method == "HEAD" else content,
    )
