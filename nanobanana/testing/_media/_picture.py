"""A picture as the encoders take it: a small grid of palette indices, scaled up.

Pixel (x, y) of the ``width`` x ``height`` image has colour
``palette[rows[y // cell][x // cell]]``. Drawing happens on the grid (a few hundred cells
a side whatever the image size), and each encoder scales it up with nearest-neighbour
row by row, so a 4096-pixel image costs little more to make than a 1024-pixel one.
"""

from __future__ import annotations

from functools import lru_cache

import attrs

__all__ = ["RGB", "Picture"]

RGB = tuple[int, int, int]


@attrs.frozen
class Picture:
    width: int
    height: int
    cell: int
    """Pixels per grid cell, on both axes."""
    rows: tuple[bytes, ...]
    """``ceil(height / cell)`` rows of ``ceil(width / cell)`` palette indices."""
    palette: tuple[RGB, ...]

    def expanded(self, row: bytes) -> bytes:
        """A grid row as one row of pixel indices (``width`` of them)."""
        return b"".join(map(_spans(self.cell).__getitem__, row))[: self.width]


@lru_cache(maxsize=8)
def _spans(cell: int) -> tuple[bytes, ...]:
    return tuple(bytes((i,)) * cell for i in range(256))
