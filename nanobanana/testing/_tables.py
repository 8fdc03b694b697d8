"""The simulator's own copy of the reference's tables: endpoints, body fields, model rows.

Written from the provider's reference (``reference/000_*.txt``) and NOTES.md, not taken
from the SDK's catalog: the simulator plays the server, so a mistake in the SDK's tables
makes a test fail instead of agreeing with itself. ``tests/test_simulator_tables.py``
checks that the two copies agree row by row.

Prices are in ``_pricing``; how a body is checked against these rows is in ``_validate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

__all__ = [
    "AUDIO",
    "COST_FIELDS",
    "COST_TYPES",
    "DEFAULT_IMAGE_MODEL",
    "DEFAULT_VIDEO_MODEL",
    "ENDPOINTS",
    "GENERATE_ROUTES",
    "IMAGE_FIELDS",
    "IMAGE_MODELS",
    "MODES",
    "NUM_IMAGES",
    "OUTPUT_FORMATS",
    "QUALITIES",
    "VIDEO_FIELDS",
    "VIDEO_MODELS",
    "ImageRow",
    "VideoRow",
]

# -- endpoints ----------------------------------------------------------------------------

ENDPOINTS: Mapping[str, str] = {
    "images/generate": "POST",
    "images/status": "GET",
    "videos/generate": "POST",
    "videos/status": "GET",
    "account/credits": "GET",
    "account/calculate-cost": "POST",
    "models": "GET",
}
"""Every route under ``/api/v1/`` and the one method it answers."""

GENERATE_ROUTES = frozenset({"images/generate", "videos/generate"})
"""The routes that spend credits (and need the ``generate`` scope)."""

# -- request bodies -----------------------------------------------------------------------

IMAGE_FIELDS = frozenset(
    {
        "prompt",
        "mode",
        "model",
        "image_url",
        "aspect_ratio",
        "resolution",
        "num_images",
        "quality",
        "output_format",
    }
)
VIDEO_FIELDS = frozenset(
    {
        "prompt",
        "model_id",  # videos name the model model_id on the wire
        "aspect_ratio",
        "duration",
        "resolution",
        "image_url",
        "generate_audio",
        "negative_prompt",
    }
)
COST_FIELDS = frozenset(
    {
        "type",
        "mode",
        "model",  # calculate-cost names it model for both types (NOTES §5)
        "num_images",
        "resolution",
        "quality",
        "aspect_ratio",
        "duration",
        "generate_audio",
    }
)

MODES = ("text", "image")
"""``mode``: text-to-image, or image-to-image (which requires ``image_url``)."""
QUALITIES = ("standard", "hd")
OUTPUT_FORMATS = ("png", "jpeg")
NUM_IMAGES = range(1, 5)
"""``num_images``: 1 to 4."""
COST_TYPES = ("image", "video")

# -- model rows ---------------------------------------------------------------------------

_FIVE = ("1:1", "3:4", "4:3", "9:16", "16:9")
_TEN = ("1:1", "3:2", "2:3", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
_K = ("1K", "2K", "4K")


@attrs.frozen
class ImageRow:
    """A row of the reference's image table; no ``resolutions`` is the table's ``-``."""

    id: str
    name: str
    resolutions: tuple[str, ...]
    aspect_ratios: tuple[str, ...]
    subscription: bool
    """``Subscription: Required``: refused (403) for an account without an active plan."""


AUDIO = ("yes", "no", "always")
"""The video table's Audio column: ``Yes`` (optional), ``No``, ``Always on``."""


@attrs.frozen
class VideoRow:
    """A row of the reference's video table."""

    id: str
    name: str
    resolutions: tuple[str, ...]
    aspect_ratios: tuple[str, ...]
    durations: tuple[int, ...]
    audio: Literal["yes", "no", "always"]
    image_input: bool


IMAGE_MODELS: Mapping[str, ImageRow] = {
    row.id: row
    for row in (
        ImageRow("nano-banana", "Nano Banana", (), _FIVE, subscription=False),
        ImageRow("nano-banana-pro", "Nano Banana Pro", _K, _TEN, subscription=False),
        ImageRow("nano-banana-2", "Nano Banana 2", _K, _TEN, subscription=True),
        ImageRow("seedream4", "SeeDream 4", (), _FIVE, subscription=True),
    )
}

_WIDE = ("16:9", "9:16")
_SQUARE = ("16:9", "9:16", "1:1")
_HD = ("720p", "1080p")

VIDEO_MODELS: Mapping[str, VideoRow] = {
    row.id: row
    for row in (
        VideoRow("veo-3.1-fast", "VEO 3.1 Fast", _HD, _WIDE, (4, 6, 8), "yes", True),
        VideoRow("veo-3.1", "VEO 3.1", _HD, _WIDE, (4, 6, 8), "yes", True),
        VideoRow("seedance-1.5-fast", "Seedance 1.5 Fast", _HD, _SQUARE, (4, 8, 12), "yes", True),
        VideoRow("seedance-1.5", "Seedance 1.5 Pro", _HD, _SQUARE, (4, 8, 12), "yes", True),
        VideoRow(
            "seedance-2.0",
            "Seedance 2.0",
            ("480p", "720p"),
            ("16:9", "9:16", "1:1", "4:3"),
            (5, 10, 15),
            "yes",
            True,
        ),
        VideoRow("wan-2.5", "Wan 2.5", ("480p", *_HD), _WIDE, (5, 10), "no", True),
        VideoRow("sora-2", "Sora 2", ("720p",), _WIDE, (4, 8, 12), "always", True),
        VideoRow("sora-2-pro", "Sora 2 Pro", _HD, _WIDE, (4, 8, 12), "always", True),
        VideoRow("kling-o3-std", "Kling O3", ("720p",), _SQUARE, (5, 10), "yes", True),
        VideoRow("kling-o3-pro", "Kling O3 Pro", ("720p",), _SQUARE, (5, 10), "yes", True),
        VideoRow("grok-video", "Grok Video", ("480p", "720p"), _SQUARE, (6, 10), "no", True),
    )
}

DEFAULT_IMAGE_MODEL = "nano-banana"
"""The model of a request that names none; its row applies to that request."""
DEFAULT_VIDEO_MODEL = "veo-3.1-fast"
