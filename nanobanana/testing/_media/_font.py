"""A tiny bitmap font (5x8 cells, printable ASCII) and text set on a grid of colour indices.

Each glyph is 5 columns by 8 rows: 7 rows above the baseline, one below for descenders
(``g``, ``j``, ``p``, ``q``, ``y``). Characters outside printable ASCII are first reduced
to ASCII where Unicode says how (``é`` -> ``e``), and drawn as a hollow box otherwise.
"""

from __future__ import annotations

import unicodedata
from collections.abc import MutableSequence

__all__ = ["ADVANCE", "HEIGHT", "LINE", "draw", "printable", "wrap"]

WIDTH = 5
HEIGHT = 8
ADVANCE = WIDTH + 1
"""Horizontal step from one character to the next (one blank column)."""
LINE = HEIGHT + 2
"""Vertical step from one line to the next."""

# Glyphs for " " (32) to "~" (126), then the box: each 10 hex digits, the 8 rows of 5 bits
# from the top, the leftmost column in the highest bit.
_TABLE = (
    "00000000002108420080529400000052beafa94023e8e2f880c644444c6064a88ac9a0"
    "210800000011108410404104211100012aea90000109f2100000000030880000e00000"
    "0000003180084444420074675cc5c023084211c074422223e0f88820c5c011952f8840"
    "fc3c10c5c03221e8c5c0f8444421007462e8c5c07462f0898003180630000318061100"
    "1111041040003e0f8000410411110074422200807442dad5c07463f8c620f463e8c7c0"
    "74610845c0e4a318cb80fc21e843e0fc21e84200746178c5e08c63f8c62071084211c0"
    "38842149808ca98a4a2084210843e08eeb58c6208c7359c620746318c5c0f463e84200"
    "74631ac9a0f463ea4a207c20e087c0f9084210808c6318c5c08c6318a8808c635ad540"
    "8c544546208c54421080f8444443e072108421c0841041042070842109c022a2000000"
    "000000001f4100000000001c17c5e0842d98c7c0001d0845c0085b38c5e0001d1fc1c0"
    "3251c42100001f18bc2e842d98c62020184211c0100c210a4c84254c524061084211c0"
    "00355ac620002d98c620001d18c5c0003d18fa10001f18bc21002d984200001f0707c0"
    "42388424c0002318cda0002318a88000231ad5400022a22a20002318bc2e003e2223e0"
    "19088210602108421084c1082213000011510000fc6318c7e0"
)
_BOX = chr(0x7F)


def _runs(code: int) -> tuple[tuple[int, int, int], ...]:
    """A glyph's lit pixels as horizontal runs: (row, first column, length)."""
    runs: list[tuple[int, int, int]] = []
    for row in range(HEIGHT):
        bits = (code >> (5 * (HEIGHT - 1 - row))) & 0b11111
        column = 0
        while column < WIDTH:
            if bits & (1 << (WIDTH - 1 - column)):
                start = column
                while column < WIDTH and bits & (1 << (WIDTH - 1 - column)):
                    column += 1
                runs.append((row, start, column - start))
            else:
                column += 1
    return tuple(runs)


_GLYPHS = {
    chr(32 + i): _runs(int(_TABLE[10 * i : 10 * i + 10], 16)) for i in range(len(_TABLE) // 10)
}


def printable(text: str) -> str:
    """``text`` in the font's characters: accents dropped, white space made single spaces,
    anything else outside printable ASCII a box."""
    decomposed = unicodedata.normalize("NFKD", text)
    out: list[str] = []
    for ch in decomposed:
        if " " <= ch <= "~":
            out.append(ch)
        elif ch.isspace():
            out.append(" ")
        elif not unicodedata.combining(ch):
            out.append(_BOX)
    return "".join(out)


def wrap(text: str, width: int, lines: int) -> list[str]:
    """``text`` in at most ``lines`` lines of at most ``width`` characters, broken between
    words (inside a word only when it is longer than a line); "..." ends it when cut."""
    width = max(4, width)
    limit = lines * (width + 1)
    cut = len(text) > limit  # a long prompt: only its start can show
    text = text[:limit]
    words = [w[i : i + width] for w in text.split() for i in range(0, len(w), width)]
    out: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width:
            current = candidate
        else:
            out.append(current)
            current = word
    if current:
        out.append(current)
    if len(out) <= lines and not cut:
        return out
    out = out[:lines]
    last = out[-1] if out else ""
    while len(last) + 3 > width and " " in last:
        last = last.rsplit(" ", 1)[0]
    out[-1:] = [last[: width - 3] + "..."]
    return out


def draw(
    rows: MutableSequence[bytearray], x: int, y: int, line: str, colour: int, scale: int = 1
) -> None:
    """Set ``line`` (font characters, see ``printable``) into ``rows`` with its top-left
    corner at (x, y); each font pixel is ``scale`` x ``scale`` cells. Clipped at the edges."""
    height = len(rows)
    for ch in line:
        for row, start, length in _GLYPHS.get(ch, _GLYPHS[_BOX]):
            left = x + start * scale
            paint = bytes((colour,)) * (length * scale)
            for dy in range(scale):
                top = y + row * scale + dy
                if 0 <= top < height and left >= 0:
                    target = rows[top]
                    right = min(len(target), left + length * scale)
                    if right > left:
                        target[left:right] = paint[: right - left]
        x += ADVANCE * scale
