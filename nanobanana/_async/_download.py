"""Result downloads: stream a result URL to disk, credential-free and atomically.

The asset host is not the API: a download never carries the API key, nor any header,
cookie or auth the user's own ``http_client`` would add. Each hop (redirects included) is
a bare ``httpx.Request`` sent with ``auth=None`` and ``follow_redirects=False``; we follow
redirects ourselves. The bytes go to a temporary file in the destination's directory,
renamed over the destination only once complete, so no partial file is ever visible.
A name the SDK picks (from the URL, or the task id) goes through ``_filenames``: one
plain name, checked to land inside the directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from .. import _policy, _protocol
from .._encodings import UndecodableBody, body_decoder
from .._exceptions import (
    APIConnectionError,
    APIStatusError,
    InvalidParameterError,
    NanoBananaError,
    UnexpectedResponseError,
)
from .._filenames import inside, name_from_url, safe_filename, suffix_for_type
from .._log import logger
from .._models import ImageStatus, VideoStatus, status_outcome
from .._protocol import USER_AGENT
from .._secrets import clip

__all__ = ["download", "save_results"]

MAX_REDIRECTS = 10
_CHUNK = 1 << 16
_NEW_FILE = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


def _folder(directory: str | os.PathLike[str]) -> Path:
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _bare_request(url: httpx.URL, client: Any) -> httpx.Request:
    request = httpx.Request("GET", url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    request.extensions["timeout"] = client._timeout.as_dict()
    return request


def _describe(url: httpx.URL) -> str:
    # Result URLs may be signed: never show their query string.
    return f"{url.scheme}://{url.host}{url.path}"


async def download(client: Any, url: str, dest: str | os.PathLike[str]) -> Path:
    """Stream ``url`` to ``dest`` (a file, or a directory: the name comes from the URL).

    No credential is sent; redirects are followed; a 4xx/5xx answer raises
    ``APIStatusError``; a failed transfer (the connection, a timeout, a body its
    ``Content-Encoding`` does not undo or whose compressed data is cut short, a closed
    client) raises ``APIConnectionError``; the file appears atomically, and never in
    part. Returns the path written.
    A file path is used as given; in a directory, the file is named after the URL's
    last path segment, decoded once and made safe (``download`` plus an extension from
    the ``Content-Type`` when the URL names nothing usable).
    """
    _check_destination("dest", dest)
    return await _fetch(client, url, *_place(dest))


def _check_destination(name: str, value: Any) -> None:
    """A path given for files to land in: a str or an ``os.PathLike``, refused otherwise
    before anything is fetched (``Path(None)`` is a raw TypeError)."""
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise InvalidParameterError(name, value, "a path (str or os.PathLike)")


def _place(dest: str | os.PathLike[str]) -> tuple[Path, str | None]:
    """The directory and file name ``dest`` stands for (no name: a directory, created)."""
    path = Path(dest)
    if path.is_dir() or str(dest).endswith(("/", os.sep)):
        return _folder(path), None
    return path.parent, path.name


async def _fetch(client: Any, url: str, folder: Path, name: str | None) -> Path:
    """Download ``url`` into ``folder`` as ``name`` (None: a safe name from the URL)."""
    try:
        first = current = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise InvalidParameterError("url", url, "an absolute http(s) URL") from exc
    if current.scheme not in ("http", "https") or not current.host:
        raise InvalidParameterError("url", url, "an absolute http(s) URL")
    http = client._http
    for _ in range(MAX_REDIRECTS + 1):
        request = _bare_request(current, client)
        if http.is_closed:  # httpx would refuse it: say so, before anything is sent
            raise _policy.client_closed(request, "read", sent=False)
        try:
            response = await http.send(request, stream=True, auth=None, follow_redirects=False)
        except httpx.TransportError as exc:
            raise _policy.classify_transport_error(exc, request, "read") from exc
        except RuntimeError as exc:
            if not http.is_closed:
                raise
            raise _policy.client_closed(request, "read", sent=True) from exc
        try:
            if response.is_redirect:
                location = response.headers.get("Location", "")
                current = response.url.join(location)
                if current.scheme not in ("http", "https"):
                    raise NanoBananaError(
                        f"download redirected to a non-http URL: {current.scheme}"
                    )
                continue
            if response.status_code >= 400:
                raise APIStatusError(
                    f"download of {_describe(current)} failed with HTTP {response.status_code}",
                    status_code=response.status_code,
                    response=response,
                )
            if name is None:
                target = inside(
                    folder,
                    safe_filename(
                        name_from_url(first),
                        default_suffix=suffix_for_type(response.headers.get("Content-Type")),
                    ),
                )
            else:
                target = folder / name
            await _write_atomically(response, target)
            logger.debug("downloaded %s -> %s", _describe(current), target)
            return target
        except httpx.TransportError as exc:
            raise _policy.classify_transport_error(exc, request, "read") from exc
        except UndecodableBody as exc:  # corrupt, or cut short, under its Content-Encoding
            raise _undecodable(current, response, request, exc) from exc
        except RuntimeError as exc:
            if not http.is_closed:
                raise
            raise _policy.client_closed(request, "read", sent=True) from exc
        finally:
            await response.aclose()
            _protocol.detach_stream(response)  # freed once dropped, not by the collector
    raise NanoBananaError(f"download of {_describe(first)}: more than {MAX_REDIRECTS} redirects")


def _undecodable(
    url: httpx.URL, response: httpx.Response, request: httpx.Request, exc: UndecodableBody
) -> APIConnectionError:
    """The error for a body that cannot be decoded, or whose compressed data ends before
    it should: like a transfer broken mid-stream (``APIConnectionError``, the type of every
    failed transfer), and nothing is written."""
    encoding = clip(response.headers.get("Content-Encoding", "none"), 40)
    return APIConnectionError(
        f"download of {_describe(url)}: the body could not be decoded "
        f"(Content-Encoding: {encoding}): {clip(str(exc) or type(exc).__name__, 200)}",
        request=request,
    )


def _create_temporary(target: Path) -> tuple[int, Path]:
    """A new, empty file beside ``target``, created as ``open()`` creates files (0o666
    less the umask, or the directory's default ACL): so the result gets the mode any
    other file the program writes gets (``tempfile`` would make it 0o600)."""
    stem = safe_filename(target.name, max_bytes=64)
    while True:
        tmp = target.parent / f".{stem}.{os.urandom(8).hex()}.part"
        try:
            return os.open(tmp, _NEW_FILE, 0o666), tmp
        except FileExistsError:
            continue


async def _write_atomically(response: httpx.Response, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(target)
    try:
        with os.fdopen(fd, "wb") as out:
            if response.is_stream_consumed:
                # Read before it came here, by a transport that answers with
                # httpx.Response(content=...), as mocks and the simulator do: httpx decoded it.
                out.write(response.content)
            else:
                # The raw bytes, decoded here: httpx's decoding never says when a gzip body
                # was cut short (see _encodings), and it would be saved as a short file.
                decoder = body_decoder(
                    response.headers.get_list("Content-Encoding", split_commas=True)
                )
                async for chunk in response.aiter_raw(_CHUNK):
                    out.write(decoder.feed(chunk))
                decoder.end()
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


async def save_results(
    resource: Any, status_or_task: Any, directory: str | os.PathLike[str]
) -> list[Path]:
    """Download every result of a task into ``directory``; the paths written.

    A task handle (or a status still running) is waited for first; a failed task raises
    TaskFailedError. Files are named ``<task_id><ext>`` (``<task_id>-<n><ext>`` when a task
    has several results), the task id made a safe file name.
    """
    from ._tasks import AsyncTask, final_result, wait_for_task

    kind = resource._kind
    status_type = ImageStatus if kind == "image" else VideoStatus
    if not (
        (isinstance(status_or_task, AsyncTask) and status_or_task.kind == kind)
        or isinstance(status_or_task, status_type)
    ):
        raise InvalidParameterError(
            "status_or_task",
            status_or_task,
            reason=f"client.{kind}s.save takes an nb.{status_type.__name__}, or a task "
            f"handle from client.{kind}s.generate, got {clip(repr(status_or_task), 80)}",
        )
    _check_destination("directory", directory)
    status: Any  # of the resource's kind, checked above
    if isinstance(status_or_task, AsyncTask):
        status = await status_or_task.wait()
    elif status_outcome(status_or_task.status) == "running":
        status = await wait_for_task(resource, status_or_task.task_id)
    else:
        status = status_or_task
    status = final_result(status)
    urls: tuple[str, ...] = status.urls
    if not urls:  # charged and ended well, yet nothing to fetch: say so, never save nothing
        raise UnexpectedResponseError(
            f"task {status.task_id!r} is {status.status!r} but its status lists no result "
            "URL: nothing was saved"
        )
    default = ".mp4" if hasattr(status, "video_url") else ".png"
    folder = _folder(directory)
    paths: list[Path] = []
    for i, url in enumerate(urls):
        stem = status.task_id if len(urls) == 1 else f"{status.task_id}-{i}"
        suffix = _url_suffix(url) or default
        name = safe_filename(stem + suffix, default_suffix=suffix)
        inside(folder, name)  # the task id is the server's word: check where it lands
        paths.append(await _fetch(resource._client, url, folder, name))
    return paths


def _url_suffix(url: str) -> str:
    """The extension the URL's file name ends with ("" when none, or the URL is bad)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return ""  # _fetch raises the typed error
    name = safe_filename(name_from_url(parsed), default_stem="_")
    return Path(name).suffix
