"""Result files, generated in pure Python: PNG (zlib), baseline JPEG, and a small MP4.

Pillow is not a dependency: every encoder here is a few dozen lines, and the pictures are
simple on purpose (a vertical colour gradient, constant within 8-pixel bands), which keeps
even a 4096-pixel image fast to make.
"""

from __future__ import annotations

import struct
import zlib
from fractions import Fraction

__all__ = ["image_size", "png_bytes", "jpeg_bytes", "mp4_bytes"]

LONG_SIDE = {None: 1024, "1K": 1024, "2K": 2048, "4K": 4096}


def image_size(aspect_ratio: str | None, resolution: str | None) -> tuple[int, int]:
    """(width, height): the long side by resolution (1024 when none), the ratio as asked."""
    long_side = LONG_SIDE.get(resolution, 1024)
    try:
        w_text, h_text = (aspect_ratio or "1:1").split(":")
        ratio = Fraction(int(w_text), int(h_text))
    except (ValueError, ZeroDivisionError):
        ratio = Fraction(1)
    if ratio >= 1:
        return long_side, max(1, round(long_side / ratio))
    return max(1, round(long_side * ratio)), long_side


def _band_colours(height: int, seed: int) -> list[tuple[int, int, int]]:
    """One RGB colour per 8-row band: a gradient between two colours picked by ``seed``."""
    top = (40 + seed * 53 % 180, 60 + seed * 97 % 160, 90 + seed * 31 % 150)
    bottom = (250 - top[2] // 2, 200 - top[0] // 3, 120 + top[1] // 3)
    bands = max(1, (height + 7) // 8)
    out: list[tuple[int, int, int]] = []
    for i in range(bands):
        t = i / max(1, bands - 1)
        out.append(
            (
                round(top[0] + (bottom[0] - top[0]) * t),
                round(top[1] + (bottom[1] - top[1]) * t),
                round(top[2] + (bottom[2] - top[2]) * t),
            )
        )
    return out


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width: int, height: int, seed: int = 0) -> bytes:
    """A decodable RGB PNG of ``width`` x ``height``."""
    colours = _band_colours(height, seed)
    rows: list[bytes] = []
    previous: tuple[int, int, int] | None = None
    zero_row = b"\x02" + b"\x00" * (3 * width)  # filter Up, no change
    for y in range(height):
        colour = colours[y // 8]
        if previous is None:
            rows.append(b"\x00" + bytes(colour) * width)
        elif colour == previous:
            rows.append(zero_row)
        else:
            delta = bytes((c - p) % 256 for c, p in zip(colour, previous, strict=True))
            rows.append(b"\x02" + delta * width)
        previous = colour
    raw = b"".join(rows)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(raw, 6))
        + _png_chunk(b"IEND", b"")
    )


# -- baseline JPEG ----------------------------------------------------------------------

# The standard luminance tables of ITU T.81 Annex K, used for every component.
_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_VALUES = tuple(range(12))
_AC_BITS = (0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D)
_AC_VALUES = bytes.fromhex(
    "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a"
    "25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a"
    "838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9ca"
    "d2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa"
)


def _huffman_codes(bits: tuple[int, ...], values: bytes | tuple[int, ...]) -> dict[int, str]:
    codes: dict[int, str] = {}
    code = 0
    k = 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            codes[values[k]] = format(code, f"0{length}b")
            code += 1
            k += 1
        code <<= 1
    return codes


_DC_CODES = _huffman_codes(_DC_BITS, _DC_VALUES)
_EOB = _huffman_codes(_AC_BITS, _AC_VALUES)[0x00]


def _dc_bits(diff: int) -> str:
    if diff == 0:
        return _DC_CODES[0]
    size = abs(diff).bit_length()
    value = diff if diff > 0 else diff + (1 << size) - 1
    return _DC_CODES[size] + format(value, f"0{size}b")


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def jpeg_bytes(width: int, height: int, seed: int = 0) -> bytes:
    """A decodable baseline JPEG (YCbCr 4:4:4, quantizers of 1, DC-only 8x8 blocks)."""
    colours = _band_colours(height, seed)
    blocks_x = (width + 7) // 8
    previous = [0, 0, 0]
    parts: list[str] = []
    for r, g, b in colours:
        ycc = (
            0.299 * r + 0.587 * g + 0.114 * b,
            128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
            128 + 0.5 * r - 0.418688 * g - 0.081312 * b,
        )
        dc = [round(8 * (v - 128)) for v in ycc]
        first = "".join(_dc_bits(dc[i] - previous[i]) + _EOB for i in range(3))
        same = (_DC_CODES[0] + _EOB) * 3
        parts.append(first + same * (blocks_x - 1))
        previous = dc
    bits = "".join(parts)
    bits += "1" * (-len(bits) % 8)
    scan = int(bits, 2).to_bytes(len(bits) // 8, "big").replace(b"\xff", b"\xff\x00")
    dqt = b"\x00" + b"\x01" * 64
    sof = struct.pack(">BHHB", 8, height, width, 3) + b"".join(
        bytes((cid, 0x11, 0)) for cid in (1, 2, 3)
    )
    dht = (
        b"\x00"
        + bytes(_DC_BITS)
        + bytes(_DC_VALUES)
        + b"\x10"
        + bytes(_AC_BITS)
        + bytes(_AC_VALUES)
    )
    sos = b"\x03" + b"".join(bytes((cid, 0x00)) for cid in (1, 2, 3)) + b"\x00\x3f\x00"
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return (
        b"\xff\xd8"
        + _segment(0xE0, app0)
        + _segment(0xDB, dqt)
        + _segment(0xC0, sof)
        + _segment(0xC4, dht)
        + _segment(0xDA, sos)
        + scan
        + b"\xff\xd9"
    )


# -- MP4 --------------------------------------------------------------------------------


def _box(kind: bytes, *payload: bytes) -> bytes:
    data = b"".join(payload)
    return struct.pack(">I", 8 + len(data)) + kind + data


def _full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *payload)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def mp4_bytes(width: int, height: int, duration: int, seed: int = 0) -> bytes:
    """A small MP4 with a correct box structure: ftyp, moov (one video track), mdat.

    The single sample is a placeholder, not real H.264: the file parses as ISO BMFF and
    reports the asked size and duration, which is what a download test needs.
    """
    timescale = 1000
    length = max(1, duration) * timescale
    sample = b"nanobanana-simulated-frame:" + str(seed).encode()
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2avc1mp41")
    mvhd = _full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIII", 0, 0, timescale, length),
        struct.pack(">IH", 0x00010000, 0x0100),
        b"\x00" * 10,
        _MATRIX,
        b"\x00" * 24,
        struct.pack(">I", 2),
    )
    tkhd = _full_box(
        b"tkhd",
        0,
        3,
        struct.pack(">IIIII", 0, 0, 1, 0, length),
        b"\x00" * 8,
        struct.pack(">HHHH", 0, 0, 0, 0),
        _MATRIX,
        struct.pack(">II", width << 16, height << 16),
    )
    mdhd = _full_box(
        b"mdhd", 0, 0, struct.pack(">IIII", 0, 0, timescale, length), struct.pack(">HH", 0x55C4, 0)
    )
    hdlr = _full_box(b"hdlr", 0, 0, b"\x00" * 4, b"vide", b"\x00" * 12, b"VideoHandler\x00")
    vmhd = _full_box(b"vmhd", 0, 1, b"\x00" * 8)
    dinf = _box(b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1), _full_box(b"url ", 0, 1)))
    avc1 = _box(
        b"avc1",
        b"\x00" * 6,
        struct.pack(">H", 1),
        b"\x00" * 16,
        struct.pack(">HH", width, height),
        struct.pack(">II", 0x00480000, 0x00480000),
        b"\x00" * 4,
        struct.pack(">H", 1),
        b"\x00" * 32,
        struct.pack(">Hh", 0x18, -1),
        _box(b"avcC", bytes((1, 0x64, 0, 0x1F, 0xFF, 0xE0, 0))),
    )
    stsd = _full_box(b"stsd", 0, 0, struct.pack(">I", 1), avc1)
    stts = _full_box(b"stts", 0, 0, struct.pack(">III", 1, 1, length))
    stsc = _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, 1, 1))
    stsz = _full_box(b"stsz", 0, 0, struct.pack(">III", 0, 1, len(sample)))

    def build(chunk_offset: int) -> bytes:
        stco = _full_box(b"stco", 0, 0, struct.pack(">II", 1, chunk_offset))
        stbl = _box(b"stbl", stsd, stts, stsc, stsz, stco)
        minf = _box(b"minf", vmhd, dinf, stbl)
        mdia = _box(b"mdia", mdhd, hdlr, minf)
        trak = _box(b"trak", tkhd, mdia)
        return _box(b"moov", mvhd, trak)

    moov = build(0)
    offset = len(ftyp) + len(moov) + 8
    return ftyp + build(offset) + _box(b"mdat", sample)
