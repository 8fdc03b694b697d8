"""The JSON of the results the command line prints, in one function.

Every result a command shows with ``--json`` (and the field tables of ``status`` and
``credits``) goes through ``to_json``; a command adds only what it alone knows (the
files it saved, ``ok``). So a change of the output format, such as taking the models'
own ``to_dict()``, is an edit here and nowhere else.
"""

from __future__ import annotations

from typing import Any

from nanobanana._batch_models import BatchItem
from nanobanana._models import CostEstimate, Credits, ImageStatus, ModelCatalog, VideoStatus
from nanobanana._sync._tasks import Task

__all__ = ["Result", "to_json"]

Result = ImageStatus | VideoStatus | Task[Any] | Credits | CostEstimate | ModelCatalog | BatchItem
"""What a command prints: a status, a submitted task, an account answer, a batch item."""


def to_json(value: Result) -> dict[str, Any]:
    """The JSON object (JSON-safe values) of a result."""
    if isinstance(value, (ImageStatus, VideoStatus)):
        return {
            "task_id": value.task_id,
            "status": value.status,
            "progress": value.progress,
            "urls": list(value.urls),
            "completed_at": value.completed_at.isoformat() if value.completed_at else None,
            "error": value.error,
        }
    if isinstance(value, Task):
        return {
            "task_id": value.task_id,
            "status": value.status,
            "credits_used": value.credits_used,
        }
    if isinstance(value, Credits):
        sub = value.subscription
        return {
            "credits": value.credits,
            "total_credits": value.total_credits,
            "plan": sub.plan if sub else None,
            "plan_ends": sub.end_date.isoformat() if sub and sub.end_date else None,
            "is_vip": value.is_vip,
        }
    if isinstance(value, CostEstimate):
        return {"type": value.type, "credits_needed": value.credits_needed}
    if isinstance(value, ModelCatalog):
        return {
            "image_models": [
                {"id": m.id, "name": m.name, "is_default": m.is_default} for m in value.image_models
            ],
            "video_models": [
                {"id": m.id, "name": m.name, "is_default": m.is_default} for m in value.video_models
            ],
        }
    error, status = value.error, value.status
    return {
        "index": value.index,
        "prompt": value.request.prompt,
        "task_id": value.task_id,
        "status": status.status if status is not None else None,
        "ok": value.ok,
        "needs_attention": value.needs_attention,
        "error": None if error is None else {"type": type(error).__name__, "message": str(error)},
        "paths": [str(p) for p in value.paths],
        "urls": list(status.urls) if status is not None else [],
    }
