"""Static checks of the task handles, fan-in and task errors: run by mypy --strict and
pyright in ``nox -s typecheck``, never executed.

``assert_type`` fails the checkers when a type drifts; each ``# type: ignore[...]`` marks
an error the checkers must report (an unused ignore fails the session).
"""

# pyright: strict, reportUnnecessaryTypeIgnoreComment=true

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

import nanobanana as nb


async def async_handles(client: nb.AsyncClient) -> None:
    image = await client.images.generate("a fox")
    video = await client.videos.generate("a cat")
    assert_type(image, nb.AsyncImageTask)
    assert_type(video, nb.AsyncVideoTask)
    assert_type(await image, nb.ImageStatus)
    assert_type(await video.wait(timeout=60.0), nb.VideoStatus)
    assert_type(video.provider, str | None)

    assert_type(await nb.gather(image, image), list[nb.ImageStatus])
    assert_type(await nb.gather(video), list[nb.VideoStatus])
    assert_type(await nb.gather(image, video), list[nb.ImageStatus | nb.VideoStatus])
    assert_type(
        await nb.gather(image, return_exceptions=True), list[nb.ImageStatus | nb.NanoBananaError]
    )
    assert_type(
        await nb.gather(image, video, return_exceptions=True),
        list[nb.ImageStatus | nb.VideoStatus | nb.NanoBananaError],
    )
    images = [image, image]
    assert_type(await nb.gather(*images), list[nb.ImageStatus])
    both: list[nb.AsyncImageTask | nb.AsyncVideoTask] = [image, video]
    assert_type(await nb.gather(*both), list[nb.ImageStatus | nb.VideoStatus])
    async for done in nb.as_completed(images):
        assert_type(done, nb.AsyncImageTask)
    assert_type(await nb.gather(), list[Any])  # no handle: any element type fits

    await image.wait(on_progress=lambda s: print(s.image_url))
    await video.wait(on_progress=lambda s: print(s.image_url))  # type: ignore[attr-defined]
    await nb.gather(image, 3)  # type: ignore[call-overload]


def sync_handles(client: nb.Client) -> None:
    image = client.images.generate("a fox")
    video = client.videos.generate("a cat")
    assert_type(image, nb.ImageTask)
    assert_type(video, nb.VideoTask)
    assert_type(image.wait(), nb.ImageStatus)
    assert_type(client.videos.wait(video.task_id), nb.VideoStatus)

    assert_type(nb.gather(image, image), list[nb.ImageStatus])
    assert_type(nb.gather(image, video), list[nb.ImageStatus | nb.VideoStatus])
    assert_type(nb.gather(video, return_exceptions=True), list[nb.VideoStatus | nb.NanoBananaError])
    for done in nb.as_completed([video]):
        assert_type(done, nb.VideoTask)
    none: list[nb.VideoStatus] = nb.gather()  # no handle: an empty list fits any
    del none


def errors(failed: nb.TaskFailedError, timed_out: nb.TaskTimeoutError) -> None:
    assert_type(failed.status, nb.ImageStatus | nb.VideoStatus)
    assert_type(timed_out.last_status, nb.ImageStatus | nb.VideoStatus | None)
    progress = failed.status.progress  # both status types have it
    url = failed.status.image_url  # type: ignore[union-attr]
    del progress, url
