"""The API's resources: ``client.images``, ``client.videos``, ``client.account``, ``client.models``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from .. import _protocol
from .._models import CostEstimate, Credits, ImageStatus, ModelCatalog, VideoStatus
from .._policy import PollPolicy

if TYPE_CHECKING:
    from .._batch_models import BatchItem, ImageRequest, VideoRequest  # noqa: F401 (the base classes name them)
    from ._batch import AsyncBatch
    from ._client import AsyncClient
    from ._tasks import ImageTask, VideoTask

# Task handles, polling and downloads are imported on first use (generate, wait, save):
# about a quarter of what the package adds to `import httpx`, and a program that only asks for a
# status or the credits never needs them.

__all__ = ["AsyncAccount", "AsyncImages", "AsyncModels", "AsyncVideos"]


class _Resource:
    __slots__ = ("_client",)

    def __init__(self, client: AsyncClient) -> None:
        self._client = client


StatusT = TypeVar("StatusT", ImageStatus, VideoStatus)
TaskT = TypeVar("TaskT", "ImageTask", "VideoTask")
RequestT = TypeVar("RequestT")


class _TaskResource(_Resource, Generic[StatusT, TaskT, RequestT]):
    """What images and videos share: status, wait, save and generate_many."""

    __slots__ = ()
    _kind: ClassVar[Literal["image", "video"]]

    def _status_op(self, task_id: str) -> _protocol.Operation[StatusT]:
        raise NotImplementedError

    async def status(self, task_id: str) -> StatusT:
        """The current state of a task."""
        return await self._client._request(self._status_op(task_id))

    async def wait(
        self,
        task_id: str,
        *,
        timeout: float | None = None,
        on_progress: Callable[[StatusT], object] | None = None,
        poll_policy: PollPolicy | None = None,
    ) -> StatusT:
        """Poll task ``task_id`` until it ends; the final status, or TaskFailedError/TaskTimeoutError."""
        from ._tasks import wait_for_task

        result: StatusT = await wait_for_task(
            self,
            task_id,
            kind=self._kind,
            timeout=timeout,
            on_progress=on_progress,
            poll_policy=poll_policy,
        )
        return result

    async def save(
        self, status_or_task: StatusT | TaskT, directory: str | os.PathLike[str]
    ) -> list[Path]:
        """Download every result of a finished task into ``directory``; the paths written."""
        from ._download import save_results

        return await save_results(self, status_or_task, directory)

    def generate_many(
        self,
        requests: Iterable[str | RequestT] | AsyncIterable[str | RequestT],
        *,
        concurrency: int | None = None,
        max_credits: int | None = None,
        journal: str | os.PathLike[str] | None = None,
        on_progress: Callable[[BatchItem], object] | None = None,
        save_to: str | os.PathLike[str] | None = None,
        preflight: bool = True,
    ) -> AsyncBatch:
        """Submit many requests under the budget; yield a BatchItem as each one ends."""
        # Imported on first use: most programs never run a batch, and it brings sqlite3
        # and the journal with it (a tenth of the package's import time).
        from ._batch import AsyncBatch

        return AsyncBatch(
            self,
            self._kind,
            requests,
            concurrency=concurrency,
            max_credits=max_credits,
            journal=journal,
            on_progress=on_progress,
            save_to=save_to,
            preflight=preflight,
        )


class AsyncImages(_TaskResource[ImageStatus, "ImageTask", "ImageRequest"]):
    """Image generation: ``generate``, ``status``, ``wait``, ``save``, ``generate_many``."""

    __slots__ = ()
    _kind = "image"

    def _status_op(self, task_id: str) -> _protocol.Operation[ImageStatus]:
        return _protocol.image_status(task_id)

    async def generate(
        self,
        prompt: str,
        *,
        mode: str | None = None,
        model: str | None = None,
        image_url: str | None = None,
        aspect_ratio: str | None = None,
        resolution: str | None = None,
        num_images: int | None = None,
        quality: str | None = None,
        output_format: str | None = None,
    ) -> ImageTask:
        """Submit an image task (charged on acceptance). A parameter left None is not sent."""
        op = _protocol.image_generate(
            prompt,
            mode=mode,
            model=model,
            image_url=image_url,
            aspect_ratio=aspect_ratio,
            resolution=resolution,
            num_images=num_images,
            quality=quality,
            output_format=output_format,
        )
        created = await self._client._request(op)
        from ._tasks import ImageTask

        return ImageTask._from_created(created, self, model=model, body=op.body)


class AsyncVideos(_TaskResource[VideoStatus, "VideoTask", "VideoRequest"]):
    """Video generation: ``generate``, ``status``, ``wait``, ``save``, ``generate_many``."""

    __slots__ = ()
    _kind = "video"

    def _status_op(self, task_id: str) -> _protocol.Operation[VideoStatus]:
        return _protocol.video_status(task_id)

    async def generate(
        self,
        prompt: str,
        *,
        model: str | None = None,
        aspect_ratio: str | None = None,
        duration: int | None = None,
        resolution: str | None = None,
        image_url: str | None = None,
        generate_audio: bool | None = None,
        negative_prompt: str | None = None,
    ) -> VideoTask:
        """Submit a video task (charged on acceptance). ``model`` is sent as ``model_id``."""
        op = _protocol.video_generate(
            prompt,
            model=model,
            aspect_ratio=aspect_ratio,
            duration=duration,
            resolution=resolution,
            image_url=image_url,
            generate_audio=generate_audio,
            negative_prompt=negative_prompt,
        )
        created = await self._client._request(op)
        from ._tasks import VideoTask

        return VideoTask._from_created(created, self, model=model, body=op.body)


class AsyncAccount(_Resource):
    """The account: ``credits``, ``calculate_cost``."""

    __slots__ = ()

    async def credits(self) -> Credits:
        """The balance and subscription."""
        return await self._client._request(_protocol.credits())

    async def calculate_cost(
        self,
        type: str,
        *,
        mode: str | None = None,
        model: str | None = None,
        num_images: int | None = None,
        resolution: str | None = None,
        quality: str | None = None,
        aspect_ratio: str | None = None,
        duration: int | None = None,
        generate_audio: bool | None = None,
    ) -> CostEstimate:
        """What a generation would cost, as the server prices it (nothing is charged)."""
        params: dict[str, Any] = {
            "mode": mode,
            "model": model,
            "num_images": num_images,
            "resolution": resolution,
            "quality": quality,
            "aspect_ratio": aspect_ratio,
            "duration": duration,
            "generate_audio": generate_audio,
        }
        return await self._client._request(_protocol.calculate_cost(type, **params))


class AsyncModels(_Resource):
    """The model catalog."""

    __slots__ = ()

    async def list(self) -> ModelCatalog:
        """Every image and video model the server offers."""
        return await self._client._request(_protocol.models())
