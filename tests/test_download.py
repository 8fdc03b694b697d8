"""Downloads: streamed, credential-free (redirects too), status-checked, atomic."""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import inspect
import random
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from virtual_time import LoopClock

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana, ManualClock

KEY = "nb_sk_test_0123456789abcdef"
pytestmark = pytest.mark.virtual_time  # async tests; the sync one runs on a ManualClock


def _fake(clock: Any = None) -> FakeNanoBanana:
    """The simulator; in virtual time unless given a clock (create it inside the test)."""
    fake = FakeNanoBanana(clock=clock or LoopClock(), seed=9)
    fake.durations["image"] = (10.0, 20.0)
    fake.durations["video"] = 60.0
    return fake


def _asset_requests(fake: FakeNanoBanana) -> list[Any]:
    return [r for r in fake.requests if r.host == fake.asset_host]


@pytest.mark.anyio
async def test_save_downloads_every_image_without_credentials(tmp_path: Path) -> None:
    fake = _fake()
    async with fake.async_client() as client:
        task = await client.images.generate("two foxes", num_images=2)
        paths = await client.images.save(task, tmp_path / "out")
    assert len(paths) == 2 and all(p.parent == tmp_path / "out" for p in paths)
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert task.task_id in path.name
    assets = _asset_requests(fake)
    assert len(assets) == 2
    assert all("authorization" not in r.headers for r in assets)
    assert all("cookie" not in r.headers for r in assets)
    # Nothing half-written is left beside the results.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)


@pytest.mark.anyio
async def test_user_http_client_credentials_never_reach_the_asset_host(tmp_path: Path) -> None:
    fake = _fake()
    http = fake.async_http_client(
        headers={"X-Secret": "s3cr3t", "Authorization": "Basic dXNlcjpzZWNyZXQ="},
        cookies={"session": "abc"},
    )
    async with http, fake.async_client(http_client=http) as client:
        task = await client.images.generate("a fox")
        status = await task
        assert status.image_url
        path = await client.download(status.image_url, tmp_path)
    assert path.exists() and path.parent == tmp_path
    assert path.name == httpx.URL(status.image_url).path.rsplit("/", 1)[-1]
    (asset,) = _asset_requests(fake)
    assert not {"authorization", "x-secret", "cookie"} & set(asset.headers)


@pytest.mark.anyio
async def test_videos_save(tmp_path: Path) -> None:
    fake = _fake()
    async with fake.async_client() as client:
        vtask = await client.videos.generate("a cat walking")
        status = await vtask
        (path,) = await client.videos.save(status, tmp_path)
    assert path.suffix == ".mp4" and path.stat().st_size > 0


def test_sync_download_and_save(tmp_path: Path) -> None:
    fake = _fake(ManualClock())
    with fake.client() as client:
        task = client.images.generate("a fox")
        (path,) = client.images.save(task, tmp_path)
        status = task.wait()
        assert status.image_url
        again = client.download(status.image_url, tmp_path / "copy.png")
    assert again == tmp_path / "copy.png"
    assert again.read_bytes() == path.read_bytes()
    assert all("authorization" not in r.headers for r in _asset_requests(fake))


# -- HTTP-level cases --------------------------------------------------------------------


def _client(handler: Any) -> nb.AsyncClient:
    return nb.AsyncClient(
        api_key=KEY,
        base_url="https://api.test/api/v1",
        rate_limit=None,
        _transport=httpx.MockTransport(handler),
    )


@pytest.mark.anyio
async def test_redirects_are_followed_without_credentials(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "cdn-a.test":
            return httpx.Response(302, headers={"Location": "https://cdn-b.test/x/final.png"})
        return httpx.Response(200, content=b"PNGDATA")

    async with _client(handler) as client:
        path = await client.download("https://cdn-a.test/r/abc.png?token=t", tmp_path)
    assert path == tmp_path / "abc.png" and path.read_bytes() == b"PNGDATA"
    assert [r.url.host for r in seen] == ["cdn-a.test", "cdn-b.test"]
    for request in seen:
        assert "authorization" not in request.headers
        assert KEY not in str(request.headers)


@pytest.mark.anyio
async def test_http_client_auth_is_not_applied_to_downloads(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"data")

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=("user", "secret"))
    async with http, nb.AsyncClient(api_key=KEY, rate_limit=None, http_client=http) as client:
        await client.download("https://cdn.test/a/b/c.webp", tmp_path)
    assert (tmp_path / "c.webp").read_bytes() == b"data"
    assert "authorization" not in seen[0].headers


@pytest.mark.anyio
async def test_error_status_raises_and_writes_nothing(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, content=b"gone")

    async with _client(handler) as client:
        with pytest.raises(nb.APIStatusError) as info:
            await client.download("https://cdn.test/r/abc.png?token=secret-token", tmp_path)
    assert info.value.status_code == 404
    assert "secret-token" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


class _BrokenStream(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"first half "
        raise httpx.ReadError("connection reset mid-body")


@pytest.mark.anyio
async def test_failure_mid_stream_leaves_no_partial_file(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_BrokenStream())

    dest = tmp_path / "result.png"
    dest.write_bytes(b"previous complete file")
    async with _client(handler) as client:
        with pytest.raises(nb.APIConnectionError):
            await client.download("https://cdn.test/r/abc.png", dest)
    assert dest.read_bytes() == b"previous complete file"
    assert [p.name for p in tmp_path.iterdir()] == ["result.png"]


@pytest.mark.anyio
async def test_saving_a_failed_task_raises(tmp_path: Path) -> None:
    fake = _fake()
    fake.failure_rate = 1.0
    async with fake.async_client() as client:
        task = await client.images.generate("a fox")
        with pytest.raises(nb.TaskFailedError):
            await client.images.save(task, tmp_path)
    assert list(tmp_path.iterdir()) == []


# -- a body that does not decode -----------------------------------------------------------


def _not_gzip(request: httpx.Request) -> httpx.Response:
    # stream=: the body is raw bytes on the wire, decoded (and failing) as it is read
    return httpx.Response(
        200,
        headers={"Content-Encoding": "gzip", "Content-Type": "image/png"},
        stream=httpx.ByteStream(b"this body is not gzip at all"),
    )


def _any_client(flavour: str, handler: Any) -> Any:
    cls = nb.AsyncClient if flavour == "async" else nb.Client
    return cls(
        api_key=KEY,
        base_url="https://api.test/api/v1",
        rate_limit=None,
        _transport=httpx.MockTransport(handler),
    )


async def _resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_a_body_that_does_not_decode_is_a_typed_error_and_writes_nothing(
    tmp_path: Path, flavour: str
) -> None:
    """A Content-Encoding the body does not match (bad gzip) failed with httpx's own
    DecodingError; it is a failed transfer like any other now: APIConnectionError, the
    URL's query string left out, no partial file, an existing file untouched."""
    dest = tmp_path / "result.png"
    dest.write_bytes(b"previous complete file")
    client = _any_client(flavour, _not_gzip)
    try:
        with pytest.raises(nb.APIConnectionError) as into_file:
            await _resolve(client.download("https://cdn.test/r/abc.png?token=secret-token", dest))
        with pytest.raises(nb.APIConnectionError) as into_folder:
            await _resolve(client.download("https://cdn.test/r/abc.png", f"{tmp_path / 'out'}/"))
    finally:
        await _resolve(client.aclose() if flavour == "async" else client.close())
    for info in (into_file, into_folder):
        message = str(info.value)
        assert "could not be decoded" in message and "gzip" in message
        assert not info.value.may_have_been_processed
    assert "secret-token" not in str(into_file.value)
    assert dest.read_bytes() == b"previous complete file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "result.png"]
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_save_of_a_body_that_does_not_decode_is_a_typed_error(
    tmp_path: Path, flavour: str
) -> None:
    status = nb.ImageStatus.from_dict(
        {
            "task_id": "t1",
            "status": "completed",
            "progress": 100,
            "image_url": "https://cdn.test/r/abc.png",
        }
    )
    client = _any_client(flavour, _not_gzip)
    try:
        with pytest.raises(nb.APIConnectionError, match="could not be decoded"):
            await _resolve(client.images.save(status, tmp_path))
    finally:
        await _resolve(client.aclose() if flavour == "async" else client.close())
    assert list(tmp_path.iterdir()) == []


# -- a compressed body cut short ------------------------------------------------------------

_WHOLE = random.Random(7).randbytes(20_000) + b"banana " * 3_000


def _deflate(data: bytes, wbits: int) -> bytes:
    compressor = zlib.compressobj(wbits=wbits)
    return compressor.compress(data) + compressor.flush()


_ENCODED = {
    "gzip": ("gzip", gzip.compress(_WHOLE)),
    "deflate": ("deflate", _deflate(_WHOLE, zlib.MAX_WBITS)),
    "raw deflate": ("deflate", _deflate(_WHOLE, -zlib.MAX_WBITS)),  # no zlib wrapper
}


class _Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that arrives in pieces, to the sync and the async client alike."""

    def __init__(self, body: bytes, size: int) -> None:
        self._pieces = [body[i : i + size] for i in range(0, len(body), size)]

    def __iter__(self) -> Iterator[bytes]:
        yield from self._pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces:
            yield piece


def _serving(body: bytes, encoding: str, *, framing: str = "content-length") -> Any:
    """An asset host answering ``body`` as it is, its HTTP framing complete: a
    Content-Length that matches it, or chunks properly ended."""
    headers = {"Content-Encoding": encoding, "Content-Type": "image/png"}
    if framing == "content-length":
        headers["Content-Length"] = str(len(body))
        stream = _Chunks(body, len(body) or 1)
    else:
        headers["Transfer-Encoding"] = "chunked"
        stream = _Chunks(body, 997)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers, stream=stream)

    return handler


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync"])
@pytest.mark.parametrize("kind", sorted(_ENCODED))
@pytest.mark.parametrize("cut", ["half", "all but one byte", "empty"])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_a_compressed_body_cut_short_is_a_typed_error_and_writes_nothing(
    tmp_path: Path, flavour: str, kind: str, cut: str, framing: str
) -> None:
    """httpx decodes a gzip or deflate body without checking that its stream ended: a
    body cut short (the HTTP framing itself complete) was saved as a short file, as if
    whole. It is a failed transfer now, as a body that does not decode is: nothing is
    left at the destination, and a file already there is untouched."""
    encoding, body = _ENCODED[kind]
    body = {"half": body[: len(body) // 2], "all but one byte": body[:-1], "empty": b""}[cut]
    dest = tmp_path / "result.png"
    dest.write_bytes(b"previous complete file")
    client = _any_client(flavour, _serving(body, encoding, framing=framing))
    try:
        with pytest.raises(nb.APIConnectionError) as into_file:
            await _resolve(client.download("https://cdn.test/r/abc.png?token=secret-token", dest))
        with pytest.raises(nb.APIConnectionError) as into_folder:
            await _resolve(client.download("https://cdn.test/r/abc.png", f"{tmp_path / 'out'}/"))
    finally:
        await _resolve(client.aclose() if flavour == "async" else client.close())
    for info in (into_file, into_folder):
        message = str(info.value)
        assert f"(Content-Encoding: {encoding})" in message and "cut short" in message
        assert not info.value.may_have_been_processed
    assert "secret-token" not in str(into_file.value)
    assert dest.read_bytes() == b"previous complete file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "result.png"]
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_save_of_a_gzip_body_cut_short_is_a_typed_error(tmp_path: Path, flavour: str) -> None:
    status = nb.ImageStatus.from_dict(
        {
            "task_id": "t1",
            "status": "completed",
            "progress": 100,
            "image_url": "https://cdn.test/r/abc.png",
        }
    )
    encoding, body = _ENCODED["gzip"]
    client = _any_client(flavour, _serving(body[: len(body) // 2], encoding))
    try:
        with pytest.raises(nb.APIConnectionError, match="cut short"):
            await _resolve(client.images.save(status, tmp_path))
    finally:
        await _resolve(client.aclose() if flavour == "async" else client.close())
    assert list(tmp_path.iterdir()) == []


_WHOLE_BODIES = {
    **{kind: (encoding, body) for kind, (encoding, body) in _ENCODED.items()},
    # RFC 1952: a gzip body may be several members, one after the other
    "gzip of two members": (
        "gzip",
        gzip.compress(_WHOLE[:7_000]) + gzip.compress(_WHOLE[7_000:]),
    ),
    "gzip, then deflate": ("gzip, deflate", _deflate(gzip.compress(_WHOLE), zlib.MAX_WBITS)),
    "identity": ("identity", _WHOLE),
    "an encoding nobody decodes": ("x-unknown", _WHOLE),  # kept as it came, as before
}


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync"])
@pytest.mark.parametrize("kind", sorted(_WHOLE_BODIES))
@pytest.mark.parametrize("piece", [1, 4096, None])
async def test_a_whole_compressed_body_is_saved_whole(
    tmp_path: Path, flavour: str, kind: str, piece: int | None
) -> None:
    """Whatever pieces the body arrives in, the file is the decoded body, all of it."""
    encoding, body = _WHOLE_BODIES[kind]
    stream = _Chunks(body, piece or len(body))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": encoding}, stream=stream)

    client = _any_client(flavour, handler)
    try:
        path = await _resolve(client.download("https://cdn.test/r/abc.png", tmp_path))
    finally:
        await _resolve(client.aclose() if flavour == "async" else client.close())
    assert path.read_bytes() == _WHOLE
    assert [p.name for p in tmp_path.iterdir()] == ["abc.png"]


def _optional_encodings() -> list[Any]:
    """br and zstd, each with the library httpx would decode it with; skipped where it is
    not installed (httpx then leaves the body as it is, and so do downloads)."""
    params = []
    for encoding, module in (("br", "brotli"), ("br", "brotlicffi"), ("zstd", "zstandard")):
        marks = []
        if importlib.util.find_spec(module) is None:
            marks.append(pytest.mark.skip(reason=f"{module} is not installed"))
        params.append(pytest.param(encoding, module, id=module, marks=marks))
    return params


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync"])
@pytest.mark.parametrize(("encoding", "module"), _optional_encodings())
async def test_a_br_or_zstd_body_is_saved_whole_and_one_cut_short_is_an_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flavour: str,
    encoding: str,
    module: str,
) -> None:
    """httpx (with brotli) saved a br body cut short as a short file too; with the
    library of each encoding, a whole body is saved whole, one cut short is an error."""
    lib = importlib.import_module(module)
    if module == "brotlicffi":  # httpx and downloads take brotli first, when it is there
        from nanobanana import _encodings

        monkeypatch.setattr(_encodings, "_library", lambda *names: lib)
    if module == "zstandard":
        body = lib.ZstdCompressor().compress(_WHOLE[:9_000]) + lib.ZstdCompressor().compress(
            _WHOLE[9_000:]
        )  # two frames
    else:
        body = lib.compress(_WHOLE)
    client = _any_client(flavour, _serving(body, encoding, framing="chunked"))
    cut = _any_client(flavour, _serving(body[: len(body) // 2], encoding))
    try:
        path = await _resolve(client.download("https://cdn.test/r/abc.png", tmp_path / "a"))
        with pytest.raises(nb.APIConnectionError, match="cut short"):
            await _resolve(cut.download("https://cdn.test/r/abc.png", tmp_path / "b"))
    finally:
        for c in (client, cut):
            await _resolve(c.aclose() if flavour == "async" else c.close())
    assert path.read_bytes() == _WHOLE
    assert [p.name for p in tmp_path.iterdir()] == ["a"]


# -- what save and download take -------------------------------------------------------------


def _nothing_expected(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing should be sent: {request.method} {request.url}")


_COMPLETED = nb.ImageStatus.from_dict(
    {"task_id": "t1", "status": "completed", "progress": 100, "image_url": "https://cdn.test/a.png"}
)


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_save_and_download_refuse_what_they_cannot_use_before_sending(
    tmp_path: Path, flavour: str
) -> None:
    video = nb.VideoStatus.from_dict({"task_id": "v1", "status": "succeeded", "progress": 100})
    client = _any_client(flavour, _nothing_expected)
    try:
        for call, parameter in [
            (lambda: client.images.save("t1", tmp_path), "status_or_task"),  # an id, not a status
            (lambda: client.images.save(None, tmp_path), "status_or_task"),
            (lambda: client.images.save(video, tmp_path), "status_or_task"),  # the other kind
            (lambda: client.images.save(_COMPLETED, None), "directory"),
            (lambda: client.download("https://cdn.test/a.png", None), "dest"),
            (lambda: client.download("https://cdn.test/a.png", 5), "dest"),
        ]:
            with pytest.raises(nb.InvalidParameterError) as info:
                await _resolve(call())
            assert info.value.parameter == parameter
    finally:
        await _resolve(client.aclose() if flavour == "async" else client.close())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_saving_a_completed_task_with_no_result_url_is_an_error_not_nothing(
    tmp_path: Path, flavour: str
) -> None:
    bare = nb.ImageStatus.from_dict({"task_id": "t1", "status": "completed", "progress": 100})
    client = _any_client(flavour, _nothing_expected)
    try:
        with pytest.raises(nb.UnexpectedResponseError, match="no result URL") as info:
            await _resolve(client.images.save(bare, tmp_path))
    finally:
        await _resolve(client.aclose() if flavour == "async" else client.close())
    assert "t1" in str(info.value)
