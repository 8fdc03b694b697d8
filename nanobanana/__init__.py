"""nanobanana: the async-first Python SDK for the Nano Banana image and video API.

    import nanobanana as nb

    async with nb.AsyncClient() as client:
        task = await client.images.generate("A sunset over mountains")
        status = await task            # polls with backoff until the task ends
        print(status.image_url)

``nb.Client`` is the blocking twin, generated from the async source.
"""

from __future__ import annotations

from ._async._client import AsyncClient
from ._async._fanin import as_completed, gather
from ._batch_models import BatchItem, ImageRequest, VideoRequest
from ._async._tasks import ImageTask, VideoTask
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ContentFilteredError,
    InsufficientCreditsError,
    InternalServerError,
    InvalidParameterError,
    NanoBananaError,
    PermissionDeniedError,
    RateLimitError,
    TaskFailedError,
    TaskNotFoundError,
    TaskTimeoutError,
    UnexpectedResponseError,
)
from ._limits import AsyncLimiter, Limiter, Permit
from ._models import (
    CostEstimate,
    Credits,
    ImageStatus,
    ModelCatalog,
    ModelInfo,
    Subscription,
    TaskStatus,
    VideoStatus,
)
from ._policy import PollPolicy, RateLimit
from ._sync._client import Client
from ._sync._tasks import SyncImageTask, SyncVideoTask
from ._version import __version__

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncLimiter",
    "AuthenticationError",
    "BadRequestError",
    "BatchItem",
    "Client",
    "ContentFilteredError",
    "CostEstimate",
    "Credits",
    "ImageRequest",
    "ImageStatus",
    "ImageTask",
    "InsufficientCreditsError",
    "InternalServerError",
    "InvalidParameterError",
    "Limiter",
    "ModelCatalog",
    "ModelInfo",
    "NanoBananaError",
    "PermissionDeniedError",
    "Permit",
    "PollPolicy",
    "RateLimit",
    "RateLimitError",
    "Subscription",
    "SyncImageTask",
    "SyncVideoTask",
    "TaskFailedError",
    "TaskNotFoundError",
    "TaskStatus",
    "TaskTimeoutError",
    "UnexpectedResponseError",
    "VideoRequest",
    "VideoStatus",
    "VideoTask",
    "__version__",
    "as_completed",
    "gather",
]
