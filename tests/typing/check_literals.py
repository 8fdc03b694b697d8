"""Static checks of the request schema's types: run by mypy --strict and pyright in
``nox -s typecheck``, never executed.

Each ``# type: ignore[...]`` marks an error the checkers must report: mypy --strict warns
about an unused ignore, and pyright (``reportUnnecessaryTypeIgnoreComment`` below) too, so
a Literal that stopped rejecting a bad value fails the session.
"""

# pyright: strict, reportUnnecessaryTypeIgnoreComment=true

from __future__ import annotations

import nanobanana as nb


async def async_calls(client: nb.AsyncClient) -> None:
    await client.images.generate(
        "a sunset",
        mode="text",
        model="nano-banana-pro",
        aspect_ratio="21:9",
        resolution="2K",
        quality="hd",
        output_format="jpeg",
    )
    await client.images.generate("a sunset", model="a-model-added-next-year")  # open ids
    await client.videos.generate("a cat", model="sora-2", aspect_ratio="9:16", resolution="720p")
    await client.account.calculate_cost("video", resolution="1080p", aspect_ratio="16:9")

    await client.images.generate("x", aspect_ratio="banana")  # type: ignore[arg-type]
    await client.images.generate("x", resolution="720p")  # type: ignore[arg-type]
    await client.images.generate("x", quality="ultra")  # type: ignore[arg-type]
    await client.images.generate("x", output_format="gif")  # type: ignore[arg-type]
    await client.images.generate("x", mode="video")  # type: ignore[arg-type]
    await client.images.generate("x", model=3)  # type: ignore[arg-type]
    await client.videos.generate("x", resolution="4K")  # type: ignore[arg-type]
    await client.videos.generate("x", aspect_ratio="21:9")  # type: ignore[arg-type]
    await client.account.calculate_cost("audio")  # type: ignore[arg-type]
    await client.images.generate("x", "text")  # type: ignore[call-arg]
    await client.images.generate("x", extra_headers={"X-Trace": 1})  # type: ignore[dict-item]
    await client.models.list(timeout="5")  # type: ignore[arg-type]


def sync_calls(client: nb.Client) -> None:
    client.images.generate("a sunset", aspect_ratio="16:9", extra_body={"seed": 7}, timeout=5.0)
    client.images.generate("x", aspect_ratio="banana")  # type: ignore[arg-type]
    client.videos.generate("x", resolution="2K")  # type: ignore[arg-type]


def request_objects() -> None:
    nb.ImageRequest("a sunset", aspect_ratio="4:5", quality="standard")
    nb.VideoRequest("a cat", model="veo-3.1", duration=8, generate_audio=True)
    nb.ImageRequest("x", aspect_ratio="banana")  # type: ignore[arg-type]
    nb.ImageRequest("x", "text")  # type: ignore[call-arg]
    nb.VideoRequest("x", resolution="1K")  # type: ignore[arg-type]


def aliases() -> None:
    ratio: nb.AspectRatio = "3:2"
    video_ratio: nb.VideoAspectRatio = "1:1"
    modes: list[nb.ImageMode] = ["text", "image"]
    model: nb.ImageModel = "anything-the-server-offers"
    del ratio, video_ratio, modes, model
    bad: nb.Quality = "medium"  # type: ignore[assignment]
    del bad
