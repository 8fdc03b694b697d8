"""The simulator's prices: the reference's tables, plus a documented list for other videos.

Images (per image, then times ``num_images``):

==================  ==========================  ===========================
model               base                        resolution surcharge
==================  ==========================  ===========================
nano-banana         text 1, image 2             (no resolution)
nano-banana-pro     6                           +14 for 4K
nano-banana-2       text 4, image 8             +4 for 2K, +14 for 4K
seedream4           4                           (no resolution)
==================  ==========================  ===========================

``quality="hd"`` adds 2 per image.

Videos: VEO 3.1 Fast follows the reference's table exactly. Every other video model is
priced by the simulator's own list (the reference gives no prices; NOTES §4):
``ceil(per_second * duration * resolution_factor * audio_factor)`` with the per-second
rates in :data:`VIDEO_PER_SECOND`, resolution factors 480p 0.75, 720p 1.0, 1080p 1.5,
and audio (where optional and switched on) x1.5.

Defaults when a parameter is left out: images ``mode="text"``, ``num_images=1``,
``quality="standard"``, the lowest resolution of the row (1K); videos the row's 720p
(or its first resolution), its shortest duration, audio off unless the row says
"Always on".
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ._tables import VIDEO_MODELS

__all__ = [
    "IMAGE_BASE",
    "IMAGE_RESOLUTION_EXTRA",
    "HD_EXTRA",
    "VEO_FAST_TABLE",
    "VIDEO_PER_SECOND",
    "RESOLUTION_FACTOR",
    "AUDIO_FACTOR",
    "image_price",
    "video_price",
    "video_defaults",
]

IMAGE_BASE: Mapping[str, Mapping[str, int]] = {
    "nano-banana": {"text": 1, "image": 2},
    "nano-banana-pro": {"text": 6, "image": 6},
    "nano-banana-2": {"text": 4, "image": 8},
    "seedream4": {"text": 4, "image": 4},
}
"""Base credits per image, by model and mode (the reference's image table)."""

IMAGE_RESOLUTION_EXTRA: Mapping[str, Mapping[str, int]] = {
    "nano-banana-pro": {"4K": 14},
    "nano-banana-2": {"2K": 4, "4K": 14},
}
"""Per-image surcharge by resolution, where the table gives one."""

HD_EXTRA = 2
"""``quality="hd"`` adds this many credits per image."""

VEO_FAST_TABLE: Mapping[tuple[str, bool], Mapping[int, int]] = {
    ("720p", False): {4: 10, 6: 15, 8: 20},
    ("720p", True): {4: 15, 6: 20, 8: 30},
    ("1080p", False): {4: 15, 6: 20, 8: 25},
    ("1080p", True): {4: 20, 6: 25, 8: 35},
}
"""VEO 3.1 Fast credits per generation: (resolution, audio) -> duration -> credits."""

VIDEO_PER_SECOND: Mapping[str, float] = {
    "veo-3.1": 5.0,
    "seedance-1.5-fast": 1.5,
    "seedance-1.5": 3.0,
    "seedance-2.0": 4.0,
    "wan-2.5": 2.0,
    "sora-2": 3.0,
    "sora-2-pro": 6.0,
    "kling-o3-std": 2.0,
    "kling-o3-pro": 4.0,
    "grok-video": 1.5,
}
"""The simulator's own per-second rate (720p, no audio) for video models other than VEO 3.1 Fast."""

RESOLUTION_FACTOR: Mapping[str, float] = {"480p": 0.75, "720p": 1.0, "1080p": 1.5}
AUDIO_FACTOR = 1.5


def image_price(
    model: str,
    *,
    mode: str = "text",
    resolution: str | None = None,
    quality: str | None = None,
    num_images: int | None = None,
) -> int:
    """What the simulator charges for an image request (``calculate-cost`` says the same).

    Args:
        model: An image model id of the table, e.g. ``"nano-banana-pro"``.
        mode: ``"text"`` or ``"image"``.
        resolution: ``"1K"``, ``"2K"`` or ``"4K"``; None: the model's base price.
        quality: ``"hd"`` costs 2 more credits an image; None or ``"standard"``: no extra.
        num_images: How many images; None: one.

    Returns:
        Credits.

    Raises:
        KeyError: The model (or its mode) is not in the table.
    """
    per_image = IMAGE_BASE[model][mode]
    if resolution is not None:
        per_image += IMAGE_RESOLUTION_EXTRA.get(model, {}).get(resolution, 0)
    if quality == "hd":
        per_image += HD_EXTRA
    return per_image * (num_images or 1)


def video_defaults(
    model: str,
    *,
    resolution: str | None = None,
    duration: int | None = None,
    generate_audio: bool | None = None,
) -> tuple[str, int, bool]:
    """The (resolution, duration, audio) a video request stands for, defaults filled in."""
    spec = VIDEO_MODELS[model]
    if resolution is None:
        resolution = "720p" if "720p" in spec.resolutions else spec.resolutions[0]
    if duration is None:
        duration = min(spec.durations)
    if generate_audio is None:
        generate_audio = spec.audio == "always"
    return str(resolution), int(duration), bool(generate_audio)


def video_price(
    model: str,
    *,
    resolution: str | None = None,
    duration: int | None = None,
    generate_audio: bool | None = None,
) -> int:
    """What the simulator charges for a video request (``calculate-cost`` says the same).

    Args:
        model: A video model id of the table, e.g. ``"veo-3.1-fast"``.
        resolution: ``"480p"``, ``"720p"`` or ``"1080p"``; None: 720p (or the model's
            first).
        duration: Seconds of video; None: the model's shortest.
        generate_audio: Sound on or off; None: off, unless the model always has it.

    Returns:
        Credits.

    Raises:
        KeyError: The model (or, for VEO 3.1 Fast, the resolution or duration) is not in
            the table.
    """
    spec = VIDEO_MODELS[model]
    res, dur, audio = video_defaults(
        model, resolution=resolution, duration=duration, generate_audio=generate_audio
    )
    if model == "veo-3.1-fast":
        return VEO_FAST_TABLE[(res, audio)][dur]
    factor = RESOLUTION_FACTOR.get(res, 1.0)
    if audio and spec.audio == "yes":
        factor *= AUDIO_FACTOR
    return math.ceil(VIDEO_PER_SECOND[model] * dur * factor - 1e-9)
