"""nanobanana: the async-first Python SDK for the Nano Banana image and video API.

    import nanobanana as nb

    async with nb.AsyncClient() as client:
        task = await client.images.generate("A sunset over mountains")
        status = await task            # polls with backoff until the task ends
        print(status.image_url)

``nb.Client`` is the blocking twin, generated from the async source.
"""

from __future__ import annotations

from ._async._batch import AsyncBatch
from ._async._client import AsyncClient
from ._async._tasks import ImageTask, VideoTask
from ._batch_models import (
    BatchItem,
    BudgetExceededError,
    ImageRequest,
    JournalError,
    NotSubmittedError,
    VideoRequest,
)
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
from ._fanin import as_completed, gather
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
from ._sync._batch import Batch
from ._sync._client import Client
from ._sync._tasks import SyncImageTask, SyncVideoTask
from ._version import __version__
from .limiters._errors import RateLimiterUnavailableError

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncBatch",
    "AsyncClient",
    "AsyncLimiter",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchItem",
    "BudgetExceededError",
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
    "JournalError",
    "Limiter",
    "ModelCatalog",
    "ModelInfo",
    "NanoBananaError",
    "NotSubmittedError",
    "PermissionDeniedError",
    "Permit",
    "PollPolicy",
    "RateLimit",
    "RateLimitError",
    "RateLimiterUnavailableError",
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
