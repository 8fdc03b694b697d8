"""Static checks of the client surface: raw responses, ``with_options``, context managers,
keyword-only construction. Run by mypy --strict and pyright in ``nox -s typecheck``,
never executed.

``assert_type`` fails the checkers when a type is not exactly the one written; each
``# type: ignore[...]`` marks an error they must report (an unused ignore fails too).
"""

# pyright: strict, reportUnnecessaryTypeIgnoreComment=true

from __future__ import annotations

import httpx
from typing_extensions import assert_type

import nanobanana as nb


class MyAsyncClient(nb.AsyncClient):
    pass


class MyClient(nb.Client):
    pass


async def async_raw(client: nb.AsyncClient) -> None:
    raw = client.with_raw_response
    status = await raw.images.status("task")
    assert_type(status, nb.AsyncRawResponse[nb.ImageStatus])
    assert_type(status.parse(), nb.ImageStatus)
    assert_type(status.http_response, httpx.Response)
    assert_type(status.status_code, int)
    assert_type(status.headers, httpx.Headers)
    task = await raw.images.generate("a sunset", aspect_ratio="16:9", timeout=5.0)
    assert_type(task.parse(), nb.AsyncImageTask)
    assert_type((await raw.videos.generate("a cat")).parse(), nb.AsyncVideoTask)
    assert_type((await raw.videos.status("task")).parse(), nb.VideoStatus)
    assert_type((await raw.account.credits()).parse(), nb.Credits)
    assert_type((await raw.account.calculate_cost("image")).parse(), nb.CostEstimate)
    assert_type((await raw.models.list()).parse(), nb.ModelCatalog)
    # The raw methods keep the parameters (and the Literal types) of the methods.
    await raw.images.generate("x", aspect_ratio="banana")  # type: ignore[arg-type]
    await raw.images.status("x", extra_headers={"X-Trace": 1})  # type: ignore[dict-item]
    await raw.images.wait("x")  # type: ignore[attr-defined]


def sync_raw(client: nb.Client) -> None:
    status = client.with_raw_response.images.status("task")
    assert_type(status, nb.RawResponse[nb.ImageStatus])
    assert_type(status.parse(), nb.ImageStatus)
    assert_type(client.with_raw_response.images.generate("x").parse().wait(), nb.ImageStatus)
    assert_type(client.with_raw_response.models.list().parse(), nb.ModelCatalog)
    client.with_raw_response.videos.generate("x", resolution="2K")  # type: ignore[arg-type]


async def async_self() -> None:
    client = MyAsyncClient(api_key="nb_sk_x")
    assert_type(client.with_options(timeout=5.0), MyAsyncClient)
    assert_type(nb.AsyncClient().with_options(max_retries=0), nb.AsyncClient)
    async with MyAsyncClient() as entered:
        assert_type(entered, MyAsyncClient)
    client.with_options(max_retries="3")  # type: ignore[arg-type]
    client.with_options(http_client=httpx.Client())  # type: ignore[arg-type]
    client.with_options(nb.RateLimit(1, per=1.0))  # type: ignore[call-arg, arg-type]
    nb.AsyncClient("nb_sk_x")  # type: ignore[call-arg]
    nb.AsyncClient(default_headers={"X-App": 1})  # type: ignore[dict-item]


def sync_self() -> None:
    assert_type(MyClient().with_options(default_headers={"X-App": "a"}), MyClient)
    with MyClient() as entered:
        assert_type(entered, MyClient)
    nb.Client("nb_sk_x")  # type: ignore[call-arg]
    nb.Client().with_options(http_client=httpx.AsyncClient())  # type: ignore[arg-type]
