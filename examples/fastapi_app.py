"""A FastAPI app that shares ONE AsyncClient across every request (and its rate limit).

    pip install fastapi uvicorn
    export NANOBANANA_API_KEY=...
    uvicorn examples.fastapi_app:app

The client is opened in the app's lifespan and closed at shutdown; handlers borrow it.
The handlers are plain async functions of the client, so they are testable (and usable
from any other framework) without FastAPI; the FastAPI wiring is at the bottom.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import nanobanana as nb

try:  # FastAPI is not a dependency of nanobanana: the app exists only where it is installed
    from fastapi import FastAPI, HTTPException, Request
except ImportError:  # pragma: no cover - depends on the environment
    FastAPI = None  # type: ignore[assignment,misc]


@asynccontextmanager
async def lifespan(
    state: Any, make_client: Callable[[], nb.AsyncClient] = nb.AsyncClient
) -> AsyncIterator[None]:
    """Open the one shared client on ``state.client`` for the app's lifetime."""
    async with make_client() as client:
        state.client = client
        yield


async def create_image(
    client: nb.AsyncClient, prompt: str, aspect_ratio: str | None = None
) -> dict[str, Any]:
    """Submit an image task; answer at once with its id (the client polls later)."""
    task = await client.images.generate(prompt, aspect_ratio=aspect_ratio)
    return {"task_id": task.task_id, "status": task.status, "credits_used": task.credits_used}


async def image_status(client: nb.AsyncClient, task_id: str) -> dict[str, Any]:
    """The task's status; the image URL once it is done."""
    status = await client.images.status(task_id)
    return {
        "task_id": status.task_id,
        "status": status.status,
        "progress": status.progress,
        "image_url": status.image_url,
    }


async def generate_and_wait(client: nb.AsyncClient, prompt: str) -> dict[str, Any]:
    """Generate and wait in the same request (fine for short image tasks)."""
    task = await client.images.generate(prompt)
    status = await task
    return {"task_id": status.task_id, "image_url": status.image_url}


def create_app(make_client: Callable[[], nb.AsyncClient] = nb.AsyncClient) -> Any:
    """The FastAPI app (needs ``pip install fastapi``)."""
    if FastAPI is None:
        raise RuntimeError("this example needs FastAPI: pip install fastapi uvicorn")

    @asynccontextmanager
    async def app_lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with lifespan(app.state, make_client):
            yield

    app = FastAPI(title="nanobanana example", lifespan=app_lifespan)

    @app.post("/images")
    async def post_image(
        request: Request, prompt: str, aspect_ratio: str | None = None
    ) -> dict[str, Any]:
        try:
            return await create_image(request.app.state.client, prompt, aspect_ratio)
        except nb.InvalidParameterError as exc:
            raise HTTPException(422, str(exc)) from exc
        except nb.ContentFilteredError as exc:
            raise HTTPException(451, str(exc)) from exc

    @app.get("/images/{task_id}")
    async def get_image(request: Request, task_id: str) -> dict[str, Any]:
        try:
            return await image_status(request.app.state.client, task_id)
        except nb.TaskNotFoundError as exc:
            raise HTTPException(404, str(exc)) from exc

    return app


app = create_app() if FastAPI is not None else None
