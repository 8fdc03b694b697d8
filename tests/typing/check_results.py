"""Static checks of batch items and the models' dict round trip: run by mypy --strict and
pyright in ``nox -s typecheck``, never executed.

``assert_type`` fails the checkers when a type drifts; each ``# type: ignore[...]`` marks
an error the checkers must report (an unused ignore fails the session).
"""

# pyright: strict, reportUnnecessaryTypeIgnoreComment=true

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from typing_extensions import assert_type

import nanobanana as nb


async def async_batches(client: nb.AsyncClient) -> None:
    images = client.images.generate_many(["a fox"])
    assert_type(images, nb.AsyncBatch[nb.ImageStatus])
    async with images as batch:
        async for item in batch:
            assert_type(item, nb.BatchItem[nb.ImageStatus])
            if item.status is not None:
                assert_type(item.status.image_url, str | None)
                print(item.status.video_url)  # type: ignore[attr-defined]
    async for clip in client.videos.generate_many(["a cat"]):
        assert_type(clip, nb.BatchItem[nb.VideoStatus])
        if clip.status is not None:
            assert_type(clip.status.video_url, str | None)
            print(clip.status.image_url)  # type: ignore[attr-defined]

    def on_image(item: nb.BatchItem[nb.ImageStatus]) -> None: ...

    client.images.generate_many(["a fox"], on_progress=on_image)
    client.videos.generate_many(["a cat"], on_progress=on_image)  # type: ignore[arg-type]


def sync_batches(client: nb.Client) -> None:
    with client.images.generate_many(["a fox"]) as batch:
        for item in batch:
            assert_type(item, nb.BatchItem[nb.ImageStatus])
            assert item.status is not None
            assert_type(item.status.image_urls, tuple[str, ...])
            print(item.status.video_url)  # type: ignore[attr-defined]
    for clip in client.videos.generate_many(["a cat"]):
        assert_type(clip, nb.BatchItem[nb.VideoStatus])
        assert clip.status is not None
        assert_type(clip.status.video_url, str | None)


def either_kind(item: nb.BatchItem[nb.ImageStatus | nb.VideoStatus]) -> None:
    """An item of either kind: what ``BatchItem.from_dict`` gives; narrow on the status."""
    if isinstance(item.status, nb.ImageStatus):
        assert_type(item.status.image_url, str | None)
    print(item.status.image_url)  # type: ignore[union-attr]


def items_are_covariant(item: nb.BatchItem[nb.ImageStatus]) -> None:
    either_kind(item)  # an image item is an item of either kind


def round_trips(status: nb.ImageStatus, credits: nb.Credits, item: nb.BatchItem[Any]) -> None:
    data = status.to_dict()
    assert_type(data, dict[str, Any])
    assert_type(nb.ImageStatus.from_dict(data), nb.ImageStatus)
    assert_type(nb.VideoStatus.from_dict(data), nb.VideoStatus)
    assert_type(nb.Credits.from_dict(credits.to_dict()), nb.Credits)
    assert_type(nb.ModelCatalog.from_dict({}), nb.ModelCatalog)
    assert_type(status.to_json(indent=2), str)
    assert_type(status.extra, Mapping[str, Any])
    assert_type(
        nb.BatchItem.from_dict(item.to_dict()), nb.BatchItem[nb.ImageStatus | nb.VideoStatus]
    )
    assert_type(item.kind, Literal["image", "video"])
    status.extra["seed"] = 1  # type: ignore[index]


def galleries(client: nb.Client, items: list[nb.BatchItem[nb.ImageStatus]]) -> None:
    """A batch's numbers and its page; the page of any items; an item's times."""
    from pathlib import Path

    with client.images.generate_many(["a fox"], save_to="out/") as batch:
        stats = batch.stats
        assert_type(stats, nb.BatchStats)
        assert_type(stats.pending, int | None)
        assert_type(batch.write_gallery("out/"), Path)
    assert_type(nb.write_gallery("out/index.html", items, stats=stats), Path)
    nb.write_gallery("out/", ["a fox"])  # type: ignore[list-item]
    item = items[0]
    assert_type(item.credits_used, int | None)
    assert_type(item.duration, float | None)
