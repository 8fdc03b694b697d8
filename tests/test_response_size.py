"""API answers are capped once decoded (``max_response_size``): a small gzip body that
inflates without end stops at the cap with a typed error, never filling memory; a
generate request whose answer was cut off is never retried and says its fate is unknown."""

from __future__ import annotations

import gzip
import inspect
import json
import struct
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

import nanobanana as nb
from nanobanana.testing import ManualClock

KEY = "nb_sk_test_0123456789abcdef"
CAP = 64 * 1024
CREDITS = {"success": True, "data": {"credits": 5, "is_vip": False}}
CREATED = {"success": True, "data": {"task_id": "t1", "status": "pending"}}


async def resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body sent in pieces, as a network delivers it; ``sent`` counts those pulled."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for piece in self.pieces:
            self.sent += 1
            yield piece

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            self.sent += 1
            yield piece


def bomb(total: int, piece: int = CAP // 4) -> Pieces:
    """A valid gzip body of ``total`` zero bytes once inflated, compressed ~1000 to 1.

    Deflate blocks of zeros after zeros are all alike, so one is compressed and repeated;
    the header and trailer (CRC-32, size) are written by hand.
    """
    count = total // piece
    zeros = b"\0" * piece
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(zeros) + deflate.flush(zlib.Z_SYNC_FLUSH)
    middle = deflate.compress(zeros) + deflate.flush(zlib.Z_SYNC_FLUSH)
    last = deflate.compress(zeros) + deflate.flush()
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (count * piece) & 0xFFFFFFFF)
    return Pieces([header + first, *[middle] * (count - 2), last + trailer])


def gzipped(status: int, stream: Any) -> httpx.Response:
    return httpx.Response(
        status,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        stream=stream,
    )


def make_client(flavour: str, handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> Any:
    kw.setdefault("max_response_size", CAP)
    cls = nb.AsyncClient if flavour == "async" else nb.Client
    return cls(
        api_key=KEY,
        rate_limit=None,
        _clock=ManualClock(),  # backoff between retries takes no real time
        _transport=httpx.MockTransport(handler),
        **kw,
    )


FLAVOURS = pytest.mark.parametrize("flavour", ["async", "sync"])


@pytest.mark.anyio
@FLAVOURS
async def test_a_gzip_bomb_answering_a_generate_stops_at_the_cap_and_is_not_retried(
    flavour: str,
) -> None:
    bombs: list[Pieces] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bombs.append(bomb(1024 * CAP))  # 64 MiB once inflated, 64 KiB on the wire
        return gzipped(200, bombs[-1])

    client = make_client(flavour, handler, max_retries=3)
    with pytest.raises(nb.UnexpectedResponseError) as info:
        await resolve(client.images.generate("a fox"))
    error = info.value
    assert len(bombs) == 1  # never resent: it may have been charged
    assert error.may_have_been_processed and "fate is unknown" in str(error)
    assert error.status_code == 200
    assert f"max_response_size={CAP}" in str(error)
    # Reading stopped near the cap: a few pieces of the stream, not all 4096.
    assert bombs[0].sent <= CAP // (CAP // 4) + 2 < len(bombs[0].pieces)


@pytest.mark.anyio
@FLAVOURS
async def test_an_oversized_read_is_a_typed_error(flavour: str) -> None:
    client = make_client(flavour, lambda r: gzipped(200, bomb(16 * CAP)), max_retries=2)
    with pytest.raises(nb.UnexpectedResponseError, match="larger than max_response_size") as info:
        await resolve(client.account.credits())
    assert not info.value.may_have_been_processed


@pytest.mark.anyio
@FLAVOURS
async def test_a_huge_error_page_keeps_its_status_class(flavour: str) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1 or request.method == "POST":
            return gzipped(503, bomb(16 * CAP))
        return httpx.Response(200, json=CREDITS)

    client = make_client(flavour, handler, max_retries=2)
    # A read retries a 5xx as usual, and gets its answer.
    credits = await resolve(client.account.credits())
    assert credits.credits == 5 and len(calls) == 2
    # A generate is never retried after a 5xx, however big its page.
    with pytest.raises(nb.InternalServerError) as info:
        await resolve(client.images.generate("a fox"))
    assert info.value.may_have_been_processed and len(calls) == 3


@pytest.mark.anyio
@FLAVOURS
async def test_the_cap_is_configurable_and_with_options_passes_it_on(flavour: str) -> None:
    body = json.dumps({**CREDITS, "padding": " " * 2 * CAP}).encode()
    client = make_client(flavour, lambda r: gzipped(200, Pieces([gzip.compress(body)])))
    with pytest.raises(nb.UnexpectedResponseError):
        await resolve(client.account.credits())
    bigger = client.with_options(max_response_size=4 * CAP)
    assert (await resolve(bigger.account.credits())).credits == 5
    with pytest.raises(nb.UnexpectedResponseError):  # the original keeps its own cap
        await resolve(client.account.credits())
    exact = client.with_options(max_response_size=len(body))
    assert (await resolve(exact.account.credits())).credits == 5
    under = client.with_options(max_response_size=len(body) - 1)
    with pytest.raises(nb.UnexpectedResponseError):
        await resolve(under.account.credits())


def test_the_default_cap_is_16_mib() -> None:
    padding = 16 * 1024 * 1024 - len(json.dumps({**CREDITS, "padding": ""}))
    fits = json.dumps({**CREDITS, "padding": " " * padding}).encode()
    assert len(fits) == 16 * 1024 * 1024
    answers = iter([fits, fits + b" "])

    def handler(request: httpx.Request) -> httpx.Response:
        return gzipped(200, Pieces([gzip.compress(next(answers), 1)]))

    with nb.Client(api_key=KEY, rate_limit=None, _transport=httpx.MockTransport(handler)) as client:
        assert client.account.credits().credits == 5
        with pytest.raises(nb.UnexpectedResponseError, match="max_response_size=16777216"):
            client.account.credits()


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "16MiB", None])
@pytest.mark.parametrize("cls", [nb.AsyncClient, nb.Client])
def test_a_bad_cap_is_refused(cls: Any, value: Any) -> None:
    with pytest.raises(nb.InvalidParameterError, match="max_response_size"):
        cls(api_key=KEY, max_response_size=value)


@pytest.mark.anyio
@FLAVOURS
async def test_a_body_that_does_not_decode_is_a_typed_error(flavour: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return gzipped(200, Pieces([b"\x1f\x8bnot gzip at all"]))

    client = make_client(flavour, handler, max_retries=2)
    with pytest.raises(nb.UnexpectedResponseError, match="could not be decoded") as info:
        await resolve(client.images.generate("a fox"))
    assert info.value.may_have_been_processed
    with pytest.raises(nb.UnexpectedResponseError, match="Content-Encoding: gzip") as info:
        await resolve(client.account.credits())
    assert not info.value.may_have_been_processed


@pytest.mark.anyio
@FLAVOURS
async def test_errors_still_carry_a_readable_response(flavour: str) -> None:
    body = {"success": False, "error": {"code": "INVALID_PROMPT", "message": "no"}}
    content = gzip.compress(json.dumps(body).encode())
    client = make_client(flavour, lambda r: gzipped(400, Pieces([content])))
    with pytest.raises(nb.BadRequestError) as info:
        await resolve(client.images.generate("a fox"))
    assert info.value.response is not None and info.value.response.json() == body
