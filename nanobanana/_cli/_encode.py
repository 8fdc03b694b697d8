"""The JSON of the results the command line prints, in one function.

Every result a command shows with ``--json`` (and the field tables of ``status`` and
``credits``) goes through ``to_json``: the models' own ``to_dict()`` (the API's shape,
fields the SDK does not know included), plus the few keys the command line adds for a
script's convenience (``urls`` of any kind of task; ``ok`` and ``needs_attention`` of a
batch item). A command adds only what it alone knows (the files it saved, ``ok``).
"""

from __future__ import annotations

from typing import Any

from nanobanana._batch_models import BatchItem
from nanobanana._models import CostEstimate, Credits, ImageStatus, ModelCatalog, VideoStatus
from nanobanana._sync._tasks import Task

__all__ = ["Result", "to_json"]

Result = (
    ImageStatus | VideoStatus | Task[Any] | Credits | CostEstimate | ModelCatalog | BatchItem[Any]
)
"""What a command prints: a status, a submitted task, an account answer, a batch item."""


def to_json(value: Result) -> dict[str, Any]:
    """The JSON object (JSON-safe values) of a result."""
    if isinstance(value, (ImageStatus, VideoStatus)):
        return {**value.to_dict(), "urls": list(value.urls)}
    if isinstance(value, Task):  # a handle, not an answer: what the generate call said
        return {
            "task_id": value.task_id,
            "status": value.status,
            "credits_used": value.credits_used,
        }
    if isinstance(value, BatchItem):
        status = value.status
        return {
            **value.to_dict(),
            "ok": value.ok,
            "needs_attention": value.needs_attention,
            "urls": list(status.urls) if status is not None else [],
        }
    return value.to_dict()
