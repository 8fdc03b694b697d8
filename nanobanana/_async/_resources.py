"""The API's resources: ``client.images``, ``client.videos``, ``client.account``, ``client.models``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _protocol
from .._models import CostEstimate, Credits, ImageStatus, ModelCatalog, VideoStatus
from ._tasks import ImageTask, VideoTask

if TYPE_CHECKING:
    from ._client import AsyncClient

__all__ = ["AsyncAccount", "AsyncImages", "AsyncModels", "AsyncVideos"]


class _Resource:
    __slots__ = ("_client",)

    def __init__(self, client: AsyncClient) -> None:
        self._client = client


class AsyncImages(_Resource):
    """Image generation: ``generate``, ``status``."""

    __slots__ = ()

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
        return ImageTask._from_created(created, self, model=model)

    async def status(self, task_id: str) -> ImageStatus:
        """The current state of an image task."""
        return await self._client._request(_protocol.image_status(task_id))


class AsyncVideos(_Resource):
    """Video generation: ``generate``, ``status``."""

    __slots__ = ()

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
        return VideoTask._from_created(created, self, model=model)

    async def status(self, task_id: str) -> VideoStatus:
        """The current state of a video task."""
        return await self._client._request(_protocol.video_status(task_id))


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
