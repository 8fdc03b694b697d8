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
        LimiterDeadlockError,
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
    from .limiters._errors import RateLimiterUnavailableError

# Every public name is resolved on first use (PEP 562), so ``import nanobanana`` costs
# almost nothing and a program pays only for what it touches: the async client, the sync
# twin, the task handles (polling), the batch machinery (sqlite3, the journal) and the
# fan-in helpers each load when first named. Type checkers read the imports above.
_LAZY = {
    "AsyncClient": "._async._client",
    "APIConnectionError": "._exceptions",
    "APIStatusError": "._exceptions",
    "APITimeoutError": "._exceptions",
    "AuthenticationError": "._exceptions",
    "BadRequestError": "._exceptions",
    "ContentFilteredError": "._exceptions",
    "InsufficientCreditsError": "._exceptions",
    "InternalServerError": "._exceptions",
    "InvalidParameterError": "._exceptions",
    "LimiterDeadlockError": "._exceptions",
    "NanoBananaError": "._exceptions",
    "PermissionDeniedError": "._exceptions",
    "RateLimitError": "._exceptions",
    "TaskFailedError": "._exceptions",
    "TaskNotFoundError": "._exceptions",
    "TaskTimeoutError": "._exceptions",
    "UnexpectedResponseError": "._exceptions",
    "AsyncLimiter": "._limits",
    "Limiter": "._limits",
    "Permit": "._limits",
    "CostEstimate": "._models",
    "Credits": "._models",
    "ImageStatus": "._models",
    "ModelCatalog": "._models",
    "ModelInfo": "._models",
    "Subscription": "._models",
    "TaskStatus": "._models",
    "VideoStatus": "._models",
    "PollPolicy": "._policy",
    "RateLimit": "._policy",
    "ImageTask": "._async._tasks",
    "VideoTask": "._async._tasks",
    "AsyncBatch": "._async._batch",
    "BatchItem": "._batch_models",
    "BudgetExceededError": "._batch_models",
    "ImageRequest": "._batch_models",
    "JournalError": "._batch_models",
    "NotSubmittedError": "._batch_models",
    "VideoRequest": "._batch_models",
    "as_completed": "._fanin",
    "gather": "._fanin",
    "Batch": "._sync._batch",
    "Client": "._sync._client",
    "SyncImageTask": "._sync._tasks",
    "SyncVideoTask": "._sync._tasks",
    "RateLimiterUnavailableError": ".limiters._errors",
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
    "LimiterDeadlockError",
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
