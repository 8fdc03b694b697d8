"""nanobanana: the async-first Python SDK for the Nano Banana image and video API.

    import nanobanana as nb

    async with nb.AsyncClient() as client:
        task = await client.images.generate("A sunset over mountains")
        status = await task            # polls with backoff until the task ends
        print(status.image_url)

``nb.Client`` is the blocking twin, generated from the async source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._async._client import AsyncClient
from ._async._raw import AsyncRawResponse
from ._async._tasks import AsyncImageTask, AsyncVideoTask
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ContentFilteredError,
    InsufficientCreditsError,
    InternalServerError,
    InvalidParameterError,
    JournalError,
    LimiterDeadlockError,
    NanoBananaError,
    NotSubmittedError,
    PermissionDeniedError,
    RateLimitError,
    RateLimiterUnavailableError,
    TaskFailedError,
    TaskNotFoundError,
    TaskTimeoutError,
    UnexpectedResponseError,
)
from ._limits import AsyncLimiter, AsyncLimiterFactory, Limiter, LimiterFactory, Permit
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
from ._requests import ImageRequest, VideoRequest
from ._types import (
    AspectRatio,
    CostType,
    ImageMode,
    ImageModel,
    ImageResolution,
    OutputFormat,
    Quality,
    VideoAspectRatio,
    VideoModel,
    VideoResolution,
)
from ._version import __version__

if TYPE_CHECKING:
    from ._async._batch import AsyncBatch
    from ._batch_models import BatchItem
    from ._fanin import as_completed, gather
    from ._sync._batch import Batch
    from ._sync._client import Client
    from ._sync._raw import RawResponse
    from ._sync._tasks import ImageTask, VideoTask

# Loaded on first use: the sync twin, the batch machinery (sqlite3, the journal) and the
# fan-in helpers are not needed to import the package, and cost a third of its import time.
_LAZY = {
    "AsyncBatch": "._async._batch",
    "BatchItem": "._batch_models",
    "as_completed": "._fanin",
    "gather": "._fanin",
    "Batch": "._sync._batch",
    "Client": "._sync._client",
    "ImageTask": "._sync._tasks",
    "VideoTask": "._sync._tasks",
    "RawResponse": "._sync._raw",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AspectRatio",
    "AsyncBatch",
    "AsyncClient",
    "AsyncImageTask",
    "AsyncLimiter",
    "AsyncLimiterFactory",
    "AsyncRawResponse",
    "AsyncVideoTask",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchItem",
    "BudgetExceededError",
    "Client",
    "ContentFilteredError",
    "CostEstimate",
    "CostType",
    "Credits",
    "ImageMode",
    "ImageModel",
    "ImageRequest",
    "ImageResolution",
    "ImageStatus",
    "ImageTask",
    "InsufficientCreditsError",
    "InternalServerError",
    "InvalidParameterError",
    "JournalError",
    "Limiter",
    "LimiterDeadlockError",
    "LimiterFactory",
    "ModelCatalog",
    "ModelInfo",
    "NanoBananaError",
    "NotSubmittedError",
    "OutputFormat",
    "PermissionDeniedError",
    "Permit",
    "PollPolicy",
    "Quality",
    "RateLimit",
    "RateLimitError",
    "RateLimiterUnavailableError",
    "RawResponse",
    "Subscription",
    "TaskFailedError",
    "TaskNotFoundError",
    "TaskStatus",
    "TaskTimeoutError",
    "UnexpectedResponseError",
    "VideoAspectRatio",
    "VideoModel",
    "VideoRequest",
    "VideoResolution",
    "VideoStatus",
    "VideoTask",
    "__version__",
    "as_completed",
    "gather",
]
