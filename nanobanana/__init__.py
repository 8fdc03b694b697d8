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

from . import _log as _log  # NANOBANANA_LOG=debug takes effect at import
from ._version import __version__

if TYPE_CHECKING:
    from ._async._batch import AsyncBatch
    from ._async._client import AsyncClient
    from ._async._raw import AsyncRawResponse
    from ._async._tasks import AsyncImageTask, AsyncVideoTask
    from ._batch_models import BatchItem
    from ._batch_stats import BatchStats
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
    from ._fanin import as_completed, gather
    from ._gallery import write_gallery
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
    from ._sync._batch import Batch
    from ._sync._client import Client
    from ._sync._raw import RawResponse
    from ._sync._tasks import ImageTask, VideoTask
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

# Every public name is resolved on first use (PEP 562), so ``import nanobanana`` costs
# almost nothing and a program pays only for what it touches: the async client, the sync
# twin, the task handles (polling), the batch machinery (sqlite3, the journal) and the
# fan-in helpers each load when first named. Type checkers read the imports above;
# tests/test_package.py checks that the two lists agree.
_MODULES: dict[str, tuple[str, ...]] = {
    "._async._batch": ("AsyncBatch",),
    "._async._client": ("AsyncClient",),
    "._async._raw": ("AsyncRawResponse",),
    "._async._tasks": ("AsyncImageTask", "AsyncVideoTask"),
    "._batch_models": ("BatchItem",),
    "._batch_stats": ("BatchStats",),
    "._exceptions": (
        "APIConnectionError",
        "APIStatusError",
        "APITimeoutError",
        "AuthenticationError",
        "BadRequestError",
        "BudgetExceededError",
        "ContentFilteredError",
        "InsufficientCreditsError",
        "InternalServerError",
        "InvalidParameterError",
        "JournalError",
        "LimiterDeadlockError",
        "NanoBananaError",
        "NotSubmittedError",
        "PermissionDeniedError",
        "RateLimiterUnavailableError",
        "RateLimitError",
        "TaskFailedError",
        "TaskNotFoundError",
        "TaskTimeoutError",
        "UnexpectedResponseError",
    ),
    "._fanin": ("as_completed", "gather"),
    "._gallery": ("write_gallery",),
    "._limits": ("AsyncLimiter", "AsyncLimiterFactory", "Limiter", "LimiterFactory", "Permit"),
    "._models": (
        "CostEstimate",
        "Credits",
        "ImageStatus",
        "ModelCatalog",
        "ModelInfo",
        "Subscription",
        "TaskStatus",
        "VideoStatus",
    ),
    "._policy": ("PollPolicy", "RateLimit"),
    "._requests": ("ImageRequest", "VideoRequest"),
    "._sync._batch": ("Batch",),
    "._sync._client": ("Client",),
    "._sync._raw": ("RawResponse",),
    "._sync._tasks": ("ImageTask", "VideoTask"),
    "._types": (
        "AspectRatio",
        "CostType",
        "ImageMode",
        "ImageModel",
        "ImageResolution",
        "OutputFormat",
        "Quality",
        "VideoAspectRatio",
        "VideoModel",
        "VideoResolution",
    ),
}
_LAZY = {name: module for module, names in _MODULES.items() for name in names}


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
    "BatchStats",
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
    "write_gallery",
]
