"""Batch inputs and outputs: ImageRequest, VideoRequest, BatchItem (stub: the batch issue fills it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

__all__ = ["BatchItem", "ImageRequest", "VideoRequest"]


@attrs.frozen
class ImageRequest:
    """One image request of a batch: the same fields as ``images.generate``."""

    prompt: str
    mode: str | None = None
    model: str | None = None
    image_url: str | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    num_images: int | None = None
    quality: str | None = None
    output_format: str | None = None


@attrs.frozen
class VideoRequest:
    """One video request of a batch: the same fields as ``videos.generate``."""

    prompt: str
    model: str | None = None
    aspect_ratio: str | None = None
    duration: int | None = None
    resolution: str | None = None
    image_url: str | None = None
    generate_audio: bool | None = None
    negative_prompt: str | None = None


@attrs.frozen
class BatchItem:
    """How one request of a batch ended."""

    index: int
    request: ImageRequest | VideoRequest
    task_id: str | None = None
    status: Any = None
    error: BaseException | None = None
    paths: tuple[Path, ...] = ()
