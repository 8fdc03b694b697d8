"""The API's routes: which handler answers a request, after which checks.

Order of checks: route, method, key (401/403), rate window (429), scope (403), then the
handler: body (400), subscription (403), content filter (451), balance (402), charge.
Every function here runs under the service's lock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import attrs

from . import _auth, _pricing, _validate
from ._lifecycle import status_data
from ._records import Account, Charge
from ._tables import (
    DEFAULT_IMAGE_MODEL,
    DEFAULT_VIDEO_MODEL,
    ENDPOINTS,
    IMAGE_MODELS,
    VIDEO_MODELS,
)
from ._wire import Refusal, Reply, canonical, error, ok

if TYPE_CHECKING:
    from ._service import Service

__all__ = ["Call", "dispatch"]


@attrs.frozen
class Call:
    """An API request past the checks every route shares."""

    route: str
    query: Mapping[str, str]
    body: Any
    """The decoded JSON body (``_wire.BAD_JSON`` when it was not JSON)."""
    account: Account
    key_hash: str
    now: float
    asset_base: str


def dispatch(
    service: Service,
    method: str,
    route: str,
    query: Mapping[str, str],
    body: Any,
    key_hash: str | None,
    now: float,
    asset_base: str,
) -> Reply:
    """The answer to one API request (``route`` relative to ``/api/v1/``)."""
    expected = ENDPOINTS.get(route)
    if expected is None:
        return error(404, "NOT_FOUND", f"No such endpoint: /api/v1/{route}")
    if method != expected:
        return error(405, "METHOD_NOT_ALLOWED", f"Use {expected} for /api/v1/{route}")
    account = service.accounts.get(key_hash) if key_hash is not None else None
    if key_hash is None or account is None:
        return _auth.UNKNOWN_KEY
    refused = _auth.refuse_key(account)
    if refused is not None:
        return refused
    limit = account.rate_limit or service.rate_limit
    if limit is not None:
        refused = service.window.admit(key_hash, limit, now)
        if refused is not None:
            return refused
    refused = _auth.refuse_scope(account, route)
    if refused is not None:
        return refused
    call = Call(route, query, body, account, key_hash, now, asset_base)
    try:
        return _HANDLERS[route](service, call)
    except Refusal as refusal:
        return refusal.reply


def _image_generate(service: Service, call: Call) -> Reply:
    params = _validate.image_request(call.body)
    model = params["model"]
    if IMAGE_MODELS[model].subscription and not _auth.has_plan(
        call.account, service.wall(call.now)
    ):
        raise Refusal(403, "FORBIDDEN", f"Model {model} requires an active subscription")
    service.lifecycle.screen(params["prompt"])
    price = _pricing.image_price(
        model,
        mode=params["mode"],
        resolution=params.get("resolution"),
        quality=params.get("quality"),
        num_images=params.get("num_images"),
    )
    service.ledger.debit(call.account, price)
    task = service.lifecycle.create(
        "image",
        model,
        call.key_hash,
        call.now,
        price,
        params,
        outputs=int(params.get("num_images", 1)),
        extension="jpg" if params.get("output_format") == "jpeg" else "png",
    )
    _record(service, call, task.task_id, price, "image", model)
    return ok(
        {
            "task_id": task.task_id,
            "status": "pending",
            "credits_used": price,
            "credits_remaining": call.account.credits,
        }
    )


def _video_generate(service: Service, call: Call) -> Reply:
    params = _validate.video_request(call.body)
    model = params["model_id"]
    service.lifecycle.screen(params["prompt"], params.get("negative_prompt"))
    resolution, duration, audio = _pricing.video_defaults(
        model,
        resolution=params.get("resolution"),
        duration=params.get("duration"),
        generate_audio=params.get("generate_audio"),
    )
    price = _pricing.video_price(
        model, resolution=resolution, duration=duration, generate_audio=audio
    )
    service.ledger.debit(call.account, price)
    task = service.lifecycle.create(
        "video",
        model,
        call.key_hash,
        call.now,
        price,
        {**params, "resolution": resolution, "duration": duration, "generate_audio": audio},
        outputs=1,
        extension="mp4",
    )
    _record(service, call, task.task_id, price, "video", model)
    return ok(
        {
            "task_id": task.task_id,
            "status": "processing",
            "credits_used": price,
            "credits_remaining": call.account.credits,
            "provider": "wavespeed",
        }
    )


def _record(
    service: Service,
    call: Call,
    task_id: str,
    price: int,
    kind: Literal["image", "video"],
    model: str,
) -> None:
    service.ledger.record(
        Charge(task_id, price, call.key_hash, call.now, kind, model, canonical(call.body))
    )


def _status(kind: Literal["image", "video"]) -> Callable[[Service, Call], Reply]:
    def handler(service: Service, call: Call) -> Reply:
        task_id = call.query.get("task_id")
        if not task_id:
            raise Refusal(400, "INVALID_REQUEST", "task_id is required")
        task = service.lifecycle.tasks.get(task_id)
        if task is None or task.kind != kind or task.key_hash != call.key_hash:
            raise Refusal(404, "TASK_NOT_FOUND", "Generation task does not exist")
        service.lifecycle.answered(task, call.now)
        return ok(
            status_data(
                task,
                call.now,
                urls=lambda t: service.asset_urls(t, call.asset_base),
                iso=service.iso,
            )
        )

    return handler


def _credits(service: Service, call: Call) -> Reply:
    account = call.account
    plan = account.subscription
    return ok(
        {
            "credits": account.credits,
            "total_credits": account.total_credits,
            "subscription": None
            if plan is None
            else {
                "plan": plan.plan,
                "end_date": None if plan.end_date is None else service.iso_date(plan.end_date),
            },
            "is_vip": account.is_vip,
        }
    )


def _cost(service: Service, call: Call) -> Reply:
    params = _validate.cost_request(call.body)
    kind, model = params["type"], params["model"]
    if kind == "image":
        price = _pricing.image_price(
            model,
            mode=params.get("mode", "text"),
            resolution=params.get("resolution"),
            quality=params.get("quality"),
            num_images=params.get("num_images"),
        )
    else:
        price = _pricing.video_price(
            model,
            resolution=params.get("resolution"),
            duration=params.get("duration"),
            generate_audio=params.get("generate_audio"),
        )
    return ok({"type": kind, "credits_needed": price})


def _models(service: Service, call: Call) -> Reply:
    def entry(model_id: str, name: str, default: str) -> dict[str, Any]:
        item: dict[str, Any] = {"id": model_id, "name": name}
        if model_id == default:
            item["is_default"] = True
        return item

    return ok(
        {
            "image_models": [
                entry(row.id, row.name, DEFAULT_IMAGE_MODEL) for row in IMAGE_MODELS.values()
            ],
            "video_models": [
                entry(row.id, row.name, DEFAULT_VIDEO_MODEL) for row in VIDEO_MODELS.values()
            ],
        }
    )


_HANDLERS: Mapping[str, Callable[[Service, Call], Reply]] = {
    "images/generate": _image_generate,
    "videos/generate": _video_generate,
    "images/status": _status("image"),
    "videos/status": _status("video"),
    "account/credits": _credits,
    "account/calculate-cost": _cost,
    "models": _models,
}
