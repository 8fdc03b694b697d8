"""What a simulated result shows: its request, drawn on a pattern of its own.

Every result is a card: a background pattern (stripes, waves, tiles or rings) in a
palette, both chosen by a hash of the prompt, so results of one prompt look alike and
results of two prompts differ at a glance; the pattern's phase moves with the task id and
the image's number, so the images of a batch differ too. On it, the prompt in large
letters (wrapped, cut with "..." when long), and at the bottom the model, the size and
the task id. Same card, same pixels: nothing here is random.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
from fractions import Fraction
from typing import Literal

import attrs

from . import _font
from ._picture import RGB, Picture

__all__ = ["GRID", "Card", "TEXT", "draw", "image_size", "video_size"]

LONG_SIDE = {None: 1024, "1K": 1024, "2K": 2048, "4K": 4096}
VIDEO_SHORT_SIDE = {"480p": 480, "720p": 720, "1080p": 1080}

GRID = 256
"""Cells along the long side of the drawing grid (whatever the pixel size)."""

TEXT: RGB = (250, 250, 245)
"""The colour of the prompt's letters (on a dark panel)."""

# palette indices
_A, _B, _C, _PANEL, _TEXT, _DETAIL = range(6)


@attrs.frozen
class Card:
    """Everything a result draws. Hashable: rendered files are cached by card."""

    kind: Literal["image", "video"]
    prompt: str
    model: str
    task_id: str
    index: int
    """Which output of the task (0-based)."""
    count: int
    width: int
    height: int
    aspect_ratio: str
    resolution: str | None
    output_format: str = "png"
    duration: int = 0
    audio: bool = False


def image_size(aspect_ratio: str | None, resolution: str | None) -> tuple[int, int]:
    """(width, height): the long side by resolution (1024 when none), the ratio as asked."""
    long_side = LONG_SIDE.get(resolution, 1024)
    ratio = _ratio(aspect_ratio or "1:1")
    if ratio >= 1:
        return long_side, max(1, round(long_side / ratio))
    return max(1, round(long_side * ratio)), long_side


def video_size(aspect_ratio: str | None, resolution: str) -> tuple[int, int]:
    """(width, height): the short side by resolution (720 when unknown), both even."""
    short = VIDEO_SHORT_SIDE.get(resolution, 720)
    ratio = _ratio(aspect_ratio or "16:9")
    if ratio >= 1:
        return round(short * ratio) // 2 * 2, short
    return short, round(short / ratio) // 2 * 2


def _ratio(text: str) -> Fraction:
    try:
        w_text, h_text = text.split(":")
        return Fraction(int(w_text), int(h_text))
    except (ValueError, ZeroDivisionError):
        return Fraction(1)


def _hls(hue: float, lightness: float, saturation: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb(hue % 1.0, lightness, saturation)
    return round(r * 255), round(g * 255), round(b * 255)


def _palette(digest: bytes) -> tuple[RGB, ...]:
    hue = int.from_bytes(digest[:2], "big") / 65536
    return (
        _hls(hue, 0.56, 0.62),
        _hls(hue + 0.06, 0.44, 0.58),
        _hls(hue - 0.08, 0.68, 0.50),
        _hls(hue, 0.13, 0.40),  # the panels
        TEXT,
        _hls(hue + 0.5, 0.80, 0.70),  # details and the accent bar
    )


def _band(period: int) -> bytes:
    """One period of three stripes: half A, a quarter B, a quarter C."""
    return bytes(
        _A if t < period // 2 else _B if t < 3 * period // 4 else _C for t in range(period)
    )


def _pattern(cols: int, lines: int, digest: bytes, phase: int) -> list[bytearray]:
    kind = digest[2] % 4
    size = 10 + digest[3] % 14
    if kind == 0:  # diagonal stripes
        period = 2 * size
        slope = 1 if digest[4] % 2 else -1
        base = _band(period) * (cols // period + 2)
        return [bytearray(base[(slope * y + phase) % period :][:cols]) for y in range(lines)]
    if kind == 1:  # vertical waves
        period = 2 * size
        amplitude = size
        wavelength = 40 + digest[4] % 60
        base = _band(period) * (cols // period + 2)
        return [
            bytearray(
                base[
                    round(amplitude * math.sin(2 * math.pi * (y + phase) / wavelength)) % period :
                ][:cols]
            )
            for y in range(lines)
        ]
    if kind == 2:  # three-colour tiles, stepping diagonally
        base = bytes((x // size) % 3 for x in range(cols + 3 * size))
        return [bytearray(base[((y + phase) // size) % 3 * size :][:cols]) for y in range(lines)]
    # rings around a point of the grid
    cx = digest[4] * cols // 256
    cy = digest[5] * lines // 256
    lut = [_A, _A, _B, _C]
    dx2 = [(x - cx) ** 2 for x in range(cols)]
    return [
        bytearray([lut[(math.isqrt(d + (y - cy) ** 2) // size + phase) % 4] for d in dx2])
        for y in range(lines)
    ]


def _fill(rows: list[bytearray], x0: int, y0: int, x1: int, y1: int, colour: int) -> None:
    span = bytes((colour,)) * max(0, x1 - x0)
    for y in range(max(0, y0), min(len(rows), y1)):
        rows[y][x0:x1] = span


def _details(card: Card) -> list[str]:
    size = f"{card.width}x{card.height} {card.aspect_ratio}"
    if card.kind == "image":
        size += f" {card.resolution}" if card.resolution else ""
        size += f" {card.output_format}"
        if card.count > 1:
            size += f" #{card.index + 1}/{card.count}"
    else:
        size += f" {card.resolution} {card.duration}s {'audio' if card.audio else 'silent'}"
    return [f"{card.model} (simulated)", size, card.task_id]


def draw(card: Card) -> Picture:
    """The card as a picture of ``card.width`` x ``card.height`` pixels."""
    cell = max(1, round(max(card.width, card.height) / GRID))
    cols = -(-card.width // cell)
    lines = -(-card.height // cell)
    digest = hashlib.sha256(card.prompt.encode("utf-8", "replace")).digest()
    phase = int.from_bytes(hashlib.sha256(card.task_id.encode()).digest()[:2], "big")
    rows = _pattern(cols, lines, digest, phase + 7 * card.index)

    margin = max(2, min(cols, lines) // 28)
    pad = 2
    inner = cols - 2 * margin - 2 * pad

    # the details, at the bottom
    details = [
        part
        for text in _details(card)
        for part in _font.wrap(_font.printable(text), inner // _font.ADVANCE, 2)
    ]
    footer = len(details) * _font.LINE - 2 + 2 * pad
    footer_top = lines - margin - footer
    _fill(rows, margin, footer_top, cols - margin, footer_top + footer, _PANEL)
    for n, text in enumerate(details):
        _font.draw(rows, margin + pad, footer_top + pad + n * _font.LINE, text, _DETAIL)

    # the prompt, at the top, as large as the width allows
    scale = 2 if inner >= 16 * 2 * _font.ADVANCE else 1
    room = footer_top - 2 * margin - 2 * pad + 2 * scale
    title = _font.wrap(
        _font.printable(card.prompt).strip() or "(no prompt)",
        (inner - scale) // (_font.ADVANCE * scale),
        max(1, room // (_font.LINE * scale)),
    )
    height = len(title) * _font.LINE * scale - 2 * scale + 2 * pad
    _fill(rows, margin, margin, cols - margin, margin + height, _PANEL)
    _fill(rows, margin, margin, margin + scale, margin + height, _DETAIL)
    for n, text in enumerate(title):
        y = margin + pad + n * _font.LINE * scale
        _font.draw(rows, margin + pad + scale, y, text, _TEXT, scale)

    return Picture(card.width, card.height, cell, tuple(bytes(r) for r in rows), _palette(digest))
