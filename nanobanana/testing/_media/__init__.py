"""Result files, drawn and encoded in pure Python: PNG, baseline JPEG, MP4 (H.264).

Pillow and ffmpeg are not dependencies: each encoder is short, and every picture is a
card (``_card``) drawn on a small grid and scaled up while it is encoded (``_picture``),
which keeps even a 4096-pixel image quick to make.
"""

from __future__ import annotations

from functools import lru_cache

from ._card import Card, draw, image_size, video_size
from ._jpeg import jpeg_bytes
from ._mp4 import mp4_bytes
from ._png import png_bytes

__all__ = ["Card", "image_size", "render", "video_size"]


@lru_cache(maxsize=16)
def render(card: Card, extension: str) -> bytes:
    """The file of ``card`` as ``png``, ``jpg`` or ``mp4`` (a video's card is its frame)."""
    picture = draw(card)
    if extension == "png":
        return png_bytes(picture)
    if extension == "jpg":
        return jpeg_bytes(picture)
    return mp4_bytes(picture, card.duration)
