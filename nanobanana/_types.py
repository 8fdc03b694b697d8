"""The closed value sets of the API, as ``Literal`` types (exported from ``nanobanana``).

A value outside one of these is a type error under mypy --strict and pyright, and the
catalog's tables of allowed values are derived from them (``typing.get_args``), so each
set is written once. Model ids stay open strings: the provider adds models, so the known
ids are listed only as a hint in a union with ``str`` (as openai does for model names).
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "AspectRatio",
    "CostType",
    "ImageMode",
    "ImageModel",
    "ImageResolution",
    "OutputFormat",
    "Quality",
    "VideoAspectRatio",
    "VideoModel",
    "VideoResolution",
]

AspectRatio = Literal["1:1", "3:2", "2:3", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"]
"""An image aspect ratio (the union of the reference's image rows; each model takes a subset)."""

VideoAspectRatio = Literal["16:9", "9:16", "1:1", "4:3"]
"""A video aspect ratio (the union of the reference's video rows)."""

ImageResolution = Literal["1K", "2K", "4K"]
"""An image resolution (for the models whose row has one)."""

VideoResolution = Literal["480p", "720p", "1080p"]
"""A video resolution (each model takes a subset)."""

Quality = Literal["standard", "hd"]
"""Image quality; ``hd`` costs 2 more credits an image."""

OutputFormat = Literal["png", "jpeg"]
"""The file format of generated images."""

ImageMode = Literal["text", "image"]
"""``text``: text to image; ``image``: image to image (needs ``image_url``)."""

CostType = Literal["image", "video"]
"""What ``calculate_cost`` prices."""

KnownImageModel = Literal["nano-banana", "nano-banana-pro", "nano-banana-2", "seedream4"]
"""The image models of the reference's table (each has a row in ``_catalog``)."""

ImageModel = KnownImageModel | str
"""An image model id: one of the reference's, or any other id the server offers."""

KnownVideoModel = Literal[
    "veo-3.1-fast",
    "veo-3.1",
    "seedance-1.5-fast",
    "seedance-1.5",
    "seedance-2.0",
    "wan-2.5",
    "sora-2",
    "sora-2-pro",
    "kling-o3-std",
    "kling-o3-pro",
    "grok-video",
]
"""The video models of the reference's table (each has a row in ``_catalog``)."""

VideoModel = KnownVideoModel | str
"""A video model id: one of the reference's, or any other id the server offers."""
