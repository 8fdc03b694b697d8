"""The commands about the account, each one request: ``credits`` (the balance), ``models``
(the catalog) and ``cost`` (what a generation would cost; nothing is charged)."""

from __future__ import annotations

from nanobanana._requests import CostRequest

from ._context import Context
from ._encode import to_json
from ._exit import EXIT_OK
from ._flags import request_kwargs

__all__ = ["cost", "credits", "models"]


def credits(ctx: Context) -> int:
    """``nanobanana credits``."""
    with ctx.client() as client:
        balance = client.account.credits()
    if ctx.args.json:
        ctx.ui.data(to_json(balance))
    else:
        ctx.ui.fields("credits", to_json(balance))
    return EXIT_OK


def models(ctx: Context) -> int:
    """``nanobanana models``."""
    with ctx.client() as client:
        catalog = client.models.list()
    if ctx.args.json:
        ctx.ui.data(to_json(catalog))
    else:
        rows = [
            (kind, m.id, m.name, "yes" if m.is_default else "")
            for kind, group in (("image", catalog.image_models), ("video", catalog.video_models))
            for m in group
        ]
        ctx.ui.table("models", ("kind", "id", "name", "default"), rows)
    return EXIT_OK


def cost(ctx: Context) -> int:
    """``nanobanana cost image|video``: the request's flags as the cost request's fields."""
    a = ctx.args
    params = request_kwargs(a, CostRequest)
    with ctx.client() as client:
        estimate = client.account.calculate_cost(a.kind, **params)
    if a.json:
        ctx.ui.data({**to_json(estimate), **params})
    else:
        ctx.ui.print(f"{estimate.credits_needed} credits")
    return EXIT_OK
