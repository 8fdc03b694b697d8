"""PNG: an 8-bit palette image, one zlib stream fed row by row."""

from __future__ import annotations

import struct
import zlib

from ._picture import Picture

__all__ = ["png_bytes"]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(picture: Picture) -> bytes:
    """A PNG (colour type 3, palette) of the picture at its full pixel size.

    A grid row becomes one pixel row (filter None) followed by ``cell - 1`` rows that
    repeat it (filter Up: all zeros), which deflate squeezes to almost nothing.
    """
    width, height, cell = picture.width, picture.height, picture.cell
    same = b"\x02" + bytes(width)
    compressor = zlib.compressobj(6)
    parts: list[bytes] = []
    for n, row in enumerate(picture.rows):
        repeats = min(cell, height - n * cell)
        line = b"\x00" + picture.expanded(row)
        parts.append(compressor.compress(line + same * (repeats - 1)))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    palette = b"".join(bytes(rgb) for rgb in picture.palette)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"PLTE", palette)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )
