"""Baseline JPEG: YCbCr 4:4:4, every quantizer 1, the standard Huffman tables of ITU T.81
Annex K (the luminance ones for every component).

A picture is a scaled-up grid, so an 8x8 block is a few cells at most and the same few
blocks come back over and over: each distinct block (its cells' colours and where the
cell edges fall) is transformed and Huffman-coded once, and a row of blocks that repeats
the one above it is coded once too. The 2-D DCT of a block of flat cells is a sum over
the cells, with per-axis weights computed once per layout of cell edges.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from functools import lru_cache
from itertools import groupby

from ._picture import Picture

__all__ = ["jpeg_bytes"]

_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_VALUES = tuple(range(12))
_AC_BITS = (0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D)
_AC_VALUES = bytes.fromhex(
    "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a"
    "25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a"
    "838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9ca"
    "d2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa"
)


def _huffman_codes(bits: Sequence[int], values: Sequence[int]) -> dict[int, str]:
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
_AC_CODES = _huffman_codes(_AC_BITS, _AC_VALUES)
_EOB = _AC_CODES[0x00]
_ZRL = _AC_CODES[0xF0]

# (row, column) of the 64 coefficients in zig-zag order
_ZIGZAG = sorted(
    ((v, u) for v in range(8) for u in range(8)),
    key=lambda p: (p[0] + p[1], p[0] if (p[0] + p[1]) % 2 else -p[0]),
)


def _magnitude(value: int) -> tuple[int, str]:
    """(size category, the value's extra bits)."""
    size = abs(value).bit_length()
    if size == 0:
        return 0, ""
    return size, format(value if value > 0 else value + (1 << size) - 1, f"0{size}b")


@lru_cache(maxsize=4096)
def _dc_bits(diff: int) -> str:
    size, extra = _magnitude(diff)
    return _DC_CODES[size] + extra


def _ac_bits(coefficients: Sequence[int]) -> str:
    out: list[str] = []
    run = 0
    for value in coefficients:
        if value == 0:
            run += 1
            continue
        while run > 15:
            out.append(_ZRL)
            run -= 16
        size, extra = _magnitude(max(-1023, min(1023, value)))
        out.append(_AC_CODES[(run << 4) | size] + extra)
        run = 0
    if run:
        out.append(_EOB)
    return "".join(out)


Layout = tuple[int, ...]
"""Which cell (counted from the block's first) each of the block's 8 pixels falls in."""


@lru_cache(maxsize=256)
def _weights(layout: Layout) -> tuple[tuple[float, ...], ...]:
    """Per cell of the layout, its share of each of the 8 DCT basis functions."""
    cells = layout[-1] + 1
    return tuple(
        tuple(
            sum(
                (math.sqrt(0.5) if u == 0 else 1.0) / 2 * math.cos((2 * x + 1) * u * math.pi / 16)
                for x in range(8)
                if layout[x] == i
            )
            for u in range(8)
        )
        for i in range(cells)
    )


def _axis(pixels: int, cell: int) -> list[tuple[int, Layout]]:
    """For each block along an axis: its first cell and its layout (pixels past the end
    repeat the last one, which decoders crop)."""
    out: list[tuple[int, Layout]] = []
    for block in range(-(-pixels // 8)):
        cells = [min(8 * block + k, pixels - 1) // cell for k in range(8)]
        out.append((cells[0], tuple(c - cells[0] for c in cells)))
    return out


Block = tuple[tuple[int, int, int], tuple[str, str, str]]
"""A coded block: the DC values and the AC bits of Y, Cb and Cr."""

_FLAT = (_EOB, _EOB, _EOB)


class _Coder:
    """Codes blocks, each distinct one once."""

    def __init__(self, picture: Picture) -> None:
        self.colours = [
            (
                0.299 * r + 0.587 * g + 0.114 * b - 128,
                -0.168736 * r - 0.331264 * g + 0.5 * b,
                0.5 * r - 0.418688 * g - 0.081312 * b,
            )
            for r, g, b in picture.palette
        ]
        self.flats: dict[int, Block] = {}
        self.blocks: dict[tuple[Layout, Layout, tuple[int, ...]], Block] = {}

    def flat(self, index: int) -> Block:
        """A block of one colour: DC only."""
        block = self.flats.get(index)
        if block is None:
            y, cb, cr = (round(8 * v) for v in self.colours[index])
            block = self.flats[index] = ((y, cb, cr), _FLAT)
        return block

    def mixed(self, x_layout: Layout, y_layout: Layout, cells: tuple[int, ...]) -> Block:
        """A block over several cells (their indices, row by row): the full DCT."""
        key = (x_layout, y_layout, cells)
        block = self.blocks.get(key)
        if block is None:
            block = self.blocks[key] = self._transform(x_layout, y_layout, cells)
        return block

    def _transform(self, x_layout: Layout, y_layout: Layout, cells: tuple[int, ...]) -> Block:
        if len(set(cells)) == 1:
            return self.flat(cells[0])
        wx, wy = _weights(x_layout), _weights(y_layout)
        nx, ny = len(wx), len(wy)
        dcs: list[int] = []
        acs: list[str] = []
        for component in range(3):
            values = [self.colours[i][component] for i in cells]
            # the cells of each row against the horizontal basis, then against the vertical
            t = [
                [sum(values[j * nx + i] * wx[i][u] for i in range(nx)) for u in range(8)]
                for j in range(ny)
            ]
            zigzag = [round(sum(wy[j][v] * t[j][u] for j in range(ny))) for v, u in _ZIGZAG]
            dcs.append(zigzag[0])
            acs.append(_ac_bits(zigzag[1:]))
        return (dcs[0], dcs[1], dcs[2]), (acs[0], acs[1], acs[2])


def _row_bits(blocks: list[Block], previous: tuple[int, int, int]) -> str:
    """The scan bits of a row of blocks, each DC coded as the change from the one before
    (``previous`` before the first)."""
    parts: list[str] = []
    last = previous
    zero = _DC_CODES[0]
    for block, group in groupby(blocks):
        (y, cb, cr), (y_ac, cb_ac, cr_ac) = block
        parts.append(
            _dc_bits(y - last[0])
            + y_ac
            + _dc_bits(cb - last[1])
            + cb_ac
            + _dc_bits(cr - last[2])
            + cr_ac
        )
        repeats = sum(1 for _ in group) - 1
        if repeats:
            parts.append((zero + y_ac + zero + cb_ac + zero + cr_ac) * repeats)
        last = (y, cb, cr)
    return "".join(parts)


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def jpeg_bytes(picture: Picture) -> bytes:
    """A baseline JPEG of the picture at its full pixel size."""
    width, height, cell = picture.width, picture.height, picture.cell
    coder = _Coder(picture)
    xs = _axis(width, cell)
    ys = _axis(height, cell)
    flat_columns = cell % 8 == 0
    parts: list[str] = []
    previous = (0, 0, 0)
    done: dict[tuple[Layout, tuple[bytes, ...]], tuple[list[Block], str]] = {}
    for first_row, y_layout in ys:
        grid_rows = tuple(picture.rows[first_row : first_row + y_layout[-1] + 1])
        cached = done.get((y_layout, grid_rows))
        if cached is None:
            if flat_columns and len(grid_rows) == 1:
                row = grid_rows[0]
                blocks = [coder.flat(row[first]) for first, _ in xs]
            else:
                blocks = [
                    coder.mixed(
                        x_layout,
                        y_layout,
                        tuple(r[first + i] for r in grid_rows for i in range(x_layout[-1] + 1)),
                    )
                    for first, x_layout in xs
                ]
            cached = (blocks, _row_bits(blocks[1:], blocks[0][0]))
            done[(y_layout, grid_rows)] = cached
        blocks, tail = cached
        parts.append(_row_bits(blocks[:1], previous) + tail)
        previous = blocks[-1][0]
    bits = "".join(parts)
    bits += "1" * (-len(bits) % 8)
    scan = int(bits, 2).to_bytes(len(bits) // 8, "big").replace(b"\xff", b"\xff\x00")
    quantizers = b"\x00" + b"\x01" * 64
    frame = struct.pack(">BHHB", 8, height, width, 3) + b"".join(
        bytes((component, 0x11, 0)) for component in (1, 2, 3)
    )
    huffman = b"\x00" + bytes(_DC_BITS) + bytes(_DC_VALUES) + b"\x10" + bytes(_AC_BITS) + _AC_VALUES
    scan_header = b"\x03" + b"".join(bytes((c, 0x00)) for c in (1, 2, 3)) + b"\x00\x3f\x00"
    jfif = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return (
        b"\xff\xd8"
        + _segment(0xE0, jfif)
        + _segment(0xDB, quantizers)
        + _segment(0xC0, frame)
        + _segment(0xC4, huffman)
        + _segment(0xDA, scan_header)
        + scan
        + b"\xff\xd9"
    )
