"""A download's ``Content-Encoding``, undone and checked to its end (sans-IO).

httpx decodes gzip and deflate (and br, zstd when their optional libraries are installed),
but it never asks a gzip, deflate or brotli stream whether it reached its end: a body cut
short, in HTTP framing that is itself complete (a ``Content-Length`` that matches the cut
body, a chunked body properly ended), decodes to a short file and no error. So a download
reads the raw bytes (``Response.aiter_raw``, public) and undoes the encodings here: the
ones httpx would undo, as httpx would, and a body that ends before any of its compressed
streams does is :class:`UndecodableBody`, as is one that does not decode at all.

An encoding httpx would leave alone (``identity``, a name it does not know, br or zstd
without its library) is left alone here too: the bytes are kept as they came.
"""

from __future__ import annotations

import functools
import importlib
import zlib
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Protocol

__all__ = ["BodyDecoder", "UndecodableBody", "body_decoder"]

_GZIP = 16 + zlib.MAX_WBITS


class UndecodableBody(Exception):
    """The body is not what its ``Content-Encoding`` says: corrupt, or cut short."""


class _Layer(Protocol):
    def feed(self, data: bytes) -> bytes: ...

    def end(self) -> None:
        """Raise :class:`UndecodableBody` unless the stream reached its end."""


def _cut_short(name: str) -> UndecodableBody:
    return UndecodableBody(f"the body ended before its {name} data did (cut short)")


class _Gzip:
    """A series of gzip members (RFC 1952), each inflated to its end."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(_GZIP)

    def feed(self, data: bytes) -> bytes:
        out: list[bytes] = []
        while data:
            if self._inflate.eof:  # a member ended: what follows is the next one
                self._inflate = zlib.decompressobj(_GZIP)
            try:
                out.append(self._inflate.decompress(data))
            except zlib.error as exc:
                raise UndecodableBody(f"gzip: {exc}") from exc
            data = self._inflate.unused_data if self._inflate.eof else b""
        return b"".join(out)

    def end(self) -> None:
        if not self._inflate.eof:
            raise _cut_short("gzip")


def _zlib_header(head: bytes) -> bool:
    """Whether two bytes open a zlib stream (RFC 1950: method 8, a window of at most
    32 KiB, a header that is a multiple of 31)."""
    return head[0] & 0x0F == 8 and head[0] >> 4 <= 7 and (head[0] << 8 | head[1]) % 31 == 0


class _Deflate:
    """``deflate``: a zlib stream, or a raw deflate stream as some servers send (httpx
    reads both), told apart by its first two bytes."""

    def __init__(self) -> None:
        self._head = b""
        self._inflate: zlib._Decompress | None = None

    def feed(self, data: bytes) -> bytes:
        if self._inflate is None:
            self._head += data
            if len(self._head) < 2:
                return b""
            data, self._head = self._head, b""
            wbits = zlib.MAX_WBITS if _zlib_header(data) else -zlib.MAX_WBITS
            self._inflate = zlib.decompressobj(wbits)
        try:
            return self._inflate.decompress(data)
        except zlib.error as exc:
            raise UndecodableBody(f"deflate: {exc}") from exc

    def end(self) -> None:
        if self._inflate is None or not self._inflate.eof:
            raise _cut_short("deflate")


class _Brotli:
    """``br``, with the library httpx would use (``brotli``, else ``brotlicffi``)."""

    def __init__(self, lib: ModuleType) -> None:
        self._error: type[Exception] = lib.error
        self._decompressor = lib.Decompressor()
        # brotlicffi names it decompress, brotli process (brotlicffi has both)
        self._decompress: Callable[[bytes], bytes] = (
            getattr(self._decompressor, "decompress", None) or self._decompressor.process
        )

    def feed(self, data: bytes) -> bytes:
        if not data:
            return b""
        try:
            return bytes(self._decompress(data))
        except self._error as exc:
            raise UndecodableBody(f"br: {exc}") from exc

    def end(self) -> None:
        if not self._decompressor.is_finished():
            raise _cut_short("br")


class _Zstd:
    """``zstd``: a series of frames (RFC 8878), each decompressed to its end."""

    def __init__(self, lib: ModuleType) -> None:
        self._lib = lib
        self._frame = lib.ZstdDecompressor().decompressobj()

    def feed(self, data: bytes) -> bytes:
        out: list[bytes] = []
        while data:
            if self._frame.eof:  # a frame ended: what follows is the next one
                self._frame = self._lib.ZstdDecompressor().decompressobj()
            try:
                out.append(bytes(self._frame.decompress(data)))
            except self._lib.ZstdError as exc:
                raise UndecodableBody(f"zstd: {exc}") from exc
            data = self._frame.unused_data if self._frame.eof else b""
        return b"".join(out)

    def end(self) -> None:
        if not self._frame.eof:
            raise _cut_short("zstd")


@functools.cache
def _library(*names: str) -> ModuleType | None:
    """The first of ``names`` that imports (httpx's order of preference), else None."""
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def _layer(name: str) -> _Layer | None:
    """The decoder of one encoding; None for one httpx would leave alone too."""
    if name == "gzip":
        return _Gzip()
    if name == "deflate":
        return _Deflate()
    if name == "br":
        brotli = _library("brotli", "brotlicffi")
        return None if brotli is None else _Brotli(brotli)
    if name == "zstd":
        zstandard = _library("zstandard")
        return None if zstandard is None else _Zstd(zstandard)
    return None


class BodyDecoder:
    """Undoes a body's encodings as its raw bytes arrive: :meth:`feed` each chunk and
    write what it returns, then call :meth:`end`. Raises :class:`UndecodableBody`."""

    __slots__ = ("_layers",)

    def __init__(self, layers: list[_Layer]) -> None:
        self._layers = layers  # the last encoding applied first

    def feed(self, data: bytes) -> bytes:
        for layer in self._layers:
            data = layer.feed(data)
        return data

    def end(self) -> None:
        """Check that every compressed stream reached its end (an empty body has none
        to reach: it is cut short too)."""
        for layer in self._layers:
            layer.end()


def body_decoder(encodings: Iterable[str]) -> BodyDecoder:
    """The decoder for a response's ``Content-Encoding`` values, in the order applied
    (``headers.get_list("Content-Encoding", split_commas=True)``)."""
    layers = [_layer(value.strip().lower()) for value in encodings]
    return BodyDecoder([layer for layer in reversed(layers) if layer is not None])
