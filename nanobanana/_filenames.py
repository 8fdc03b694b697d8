"""Safe file names for results: what a download may call the file it writes.

A name taken from a URL is the server's (or an attacker's) choice. It is percent-decoded
once, then reduced to one plain file name: no separators, no ``..``, no leading dot, no
control characters, at most MAX_NAME_BYTES bytes with its extension kept. ``inside``
then checks, with symlinks resolved, that the file lands in the directory asked for.
Everything but ``inside`` is pure.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import httpx

from ._exceptions import InvalidParameterError

__all__ = [
    "DEFAULT_STEM",
    "MAX_NAME_BYTES",
    "inside",
    "name_from_url",
    "safe_filename",
    "suffix_for_type",
]

MAX_NAME_BYTES = 200
"""Bytes (UTF-8) in a name we choose: under every common file system's 255, with room
for the temporary file's affixes."""

DEFAULT_STEM = "download"

_SUFFIX = r"\.[A-Za-z0-9]{1,16}\Z"  # compiled on first use (re's cache), not at import
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{dev}{n}" for dev in ("COM", "LPT") for n in (*"123456789", "¹", "²", "³")
}
_UNSAFE = set('/\\:*?"<>|')
_TYPES = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/avif": ".avif",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/quicktime": ".mov",
}


def name_from_url(url: httpx.URL) -> str:
    """The last segment of ``url``'s path, percent-decoded exactly once ("" when none).

    Decoding the raw path ourselves, once, is the point: ``%252F`` becomes ``%2F``, never
    ``/``; an encoded ``%2F`` inside a segment does not split it.
    """
    raw = url.raw_path.split(b"?", 1)[0]
    segment = raw.rsplit(b"/", 1)[-1].decode("ascii", "replace")
    return unquote(segment, errors="replace")


def suffix_for_type(content_type: str | None) -> str:
    """The extension for a result's ``Content-Type`` ("" when it is not a known media type)."""
    if not content_type:
        return ""
    return _TYPES.get(content_type.split(";", 1)[0].strip().lower(), "")


def _plain(char: str) -> str:
    if char in _UNSAFE or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
        return "_"
    return char


def safe_filename(
    name: str,
    *,
    default_stem: str = DEFAULT_STEM,
    default_suffix: str = "",
    max_bytes: int = MAX_NAME_BYTES,
) -> str:
    """``name`` as one plain file name that cannot leave its directory.

    Separators (``/``, ``\\``), NUL and other control or format characters, and the
    characters Windows refuses become ``_``; runs of dots become one dot; leading and
    trailing dots and spaces go; a Windows device name (``CON``, ``COM1``...) gets a
    ``_`` in front. An empty stem (``..``, ``.png``) becomes ``default_stem``; a
    missing extension becomes ``default_suffix``. The result fits in ``max_bytes`` UTF-8 bytes, cut from
    the stem so the extension survives.
    """
    text = re.sub(r"\.{2,}", ".", "".join(map(_plain, name))).rstrip(" .")
    match = re.search(_SUFFIX, text)
    stem, suffix = (text[: match.start()], match.group()) if match else (text, "")
    stem = stem.strip(" .")
    if not stem:
        stem = safe_filename(default_stem, default_stem="download", max_bytes=max_bytes)
    if not suffix:
        suffix = default_suffix if re.fullmatch(_SUFFIX, default_suffix) else ""
    if stem.split(".", 1)[0].upper() in _RESERVED:
        stem = "_" + stem
    room = max(1, max_bytes - len(suffix.encode()))
    if len(stem.encode()) > room:
        stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip(" .") or "_"
    return stem + suffix


def inside(directory: Path, name: str) -> Path:
    """``directory / name``, checked to be an entry of ``directory`` once symlinks are
    resolved; InvalidParameterError otherwise. (The entry itself may be a symlink: the
    download renames over it, replacing the link, never writing through it.)"""
    target = directory / name
    real = directory.resolve()
    if (
        name in ("", ".", "..")
        or "\x00" in name
        or target.name != name
        or target.parent.resolve() != real
        or not (real / name).is_relative_to(real)
    ):
        raise InvalidParameterError(
            "dest",
            name,
            reason=f"refusing to write {name!r}: it does not name a file inside {os.fspath(directory)!r}",
        )
    return target
