"""Result downloads: stream a result URL to disk, credential-free and atomically.

The asset host is not the API: a download never carries the API key, nor any header,
cookie or auth the user's own ``http_client`` would add. Each hop (redirects included) is
a bare ``httpx.Request`` sent with ``auth=None`` and ``follow_redirects=False``; we follow
redirects ourselves. The bytes go to a temporary file in the destination's directory,
renamed over the destination only once complete, so no partial file is ever visible.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx

from .. import _policy
from .._exceptions import APIStatusError, InvalidParameterError, NanoBananaError
from .._log import logger
from .._models import status_outcome
from .._protocol import USER_AGENT

__all__ = ["download", "save_results"]

MAX_REDIRECTS = 10
_CHUNK = 1 << 16


def _name_from_url(url: httpx.URL) -> str:
    """The file name a URL's path ends with (sanitised), or "download"."""
    name = unquote(url.path.rsplit("/", 1)[-1]).replace("\\", "_").strip()
    if name in ("", ".", ".."):
        return "download"
    return name


def _suffix_from_url(url: str, default: str) -> str:
    suffix = Path(_name_from_url(httpx.URL(url))).suffix
    return suffix if 1 < len(suffix) <= 6 else default


def _target(url: httpx.URL, dest: str | os.PathLike[str]) -> Path:
    path = Path(dest)
    if path.is_dir() or str(dest).endswith(("/", os.sep)):
        path.mkdir(parents=True, exist_ok=True)
        return path / _name_from_url(url)
    return path


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
    ``APIStatusError``; the file appears atomically. Returns the path written.
    """
    try:
        current = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise InvalidParameterError("url", url, "an absolute http(s) URL") from exc
    if current.scheme not in ("http", "https") or not current.host:
        raise InvalidParameterError("url", url, "an absolute http(s) URL")
    target = _target(current, dest)
    http = client._http
    for _ in range(MAX_REDIRECTS + 1):
        request = _bare_request(current, client)
        try:
            response = await http.send(request, stream=True, auth=None, follow_redirects=False)
        except httpx.TransportError as exc:
            raise _policy.classify_transport_error(exc, request, "read") from exc
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
            await _write_atomically(response, target)
            logger.debug("downloaded %s -> %s", _describe(current), target)
            return target
        except httpx.TransportError as exc:
            raise _policy.classify_transport_error(exc, request, "read") from exc
        finally:
            await response.aclose()
    raise NanoBananaError(
        f"download of {_describe(httpx.URL(url))}: more than {MAX_REDIRECTS} redirects"
    )


async def _write_atomically(response: httpx.Response, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in response.aiter_bytes(_CHUNK):
                out.write(chunk)
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise


async def save_results(
    resource: Any, status_or_task: Any, directory: str | os.PathLike[str]
) -> list[Path]:
    """Download every result of a task into ``directory``; the paths written.

    A task handle (or a status still running) is waited for first; a failed task raises
    TaskFailedError. Files are named ``<task_id><ext>`` (``<task_id>-<n><ext>`` when a task
    has several results).
    """
    from ._tasks import final_result, wait_for_task

    status = status_or_task
    if hasattr(status_or_task, "wait"):
        status = await status_or_task.wait()
    elif status_outcome(status.status) == "running":
        status = await wait_for_task(resource, status.task_id)
    status = final_result(status)
    urls: tuple[str, ...] = status.urls
    default = ".mp4" if hasattr(status, "video_url") else ".png"
    folder = _folder(directory)
    paths: list[Path] = []
    for i, url in enumerate(urls):
        stem = status.task_id if len(urls) == 1 else f"{status.task_id}-{i}"
        stem = stem.replace("/", "_").replace("\\", "_")
        paths.append(
            await download(resource._client, url, folder / (stem + _suffix_from_url(url, default)))
        )
    return paths
