"""The API's resources: ``client.images``, ``client.videos``, ``client.account``, ``client.models``."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from .. import _protocol
from .._concurrency import AsyncAnyIterable
from .._exceptions import InvalidParameterError
from .._models import CostEstimate, Credits, ImageStatus, ModelCatalog, TaskCreated, VideoStatus
from .._options import OnSend, RequestOptions
from .._policy import PollPolicy
from .._requests import CostRequest, ImageRequest, VideoRequest
from ._download import save_results
from ._raw import AsyncRawResponse
from ._schema_methods import _AccountMethods, _ImageMethods, _ModelMethods, _VideoMethods
from ._send import request_raw
from ._tasks import AsyncImageTask, AsyncVideoTask, wait_for_task

if TYPE_CHECKING:
    from .._batch_models import BatchItem
    from ._batch import AsyncBatch
    from ._client import AsyncClient

__all__ = ["AsyncAccount", "AsyncImages", "AsyncModels", "AsyncVideos"]


class _Resource:
    """What every resource holds: the client that sends its requests."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncClient) -> None:
        self._client = client


StatusT = TypeVar("StatusT", ImageStatus, VideoStatus)
TaskT = TypeVar("TaskT", AsyncImageTask, AsyncVideoTask)
RequestT = TypeVar("RequestT", ImageRequest, VideoRequest)


class _TaskResource(_Resource, Generic[StatusT, TaskT, RequestT]):
    """What images and videos share: the submit path, status, wait, save, generate_many.

    The public ``generate`` and ``status`` are generated from the schema
    (``_schema_methods``); they call ``_submit`` and ``_status`` here, and their raw
    twins (``client.with_raw_response``) ``_submit_raw`` and ``_status_raw``.
    """

    __slots__ = ()
    _kind: ClassVar[Literal["image", "video"]]
    _request_type: ClassVar[type[ImageRequest] | type[VideoRequest]]

    def _status_op(self, task_id: str) -> _protocol.Operation[StatusT]:
        raise NotImplementedError

    def _new_task(
        self, created: TaskCreated, model: str | None, body: Mapping[str, Any] | None
    ) -> TaskT:
        raise NotImplementedError

    async def _submit(
        self,
        request: ImageRequest | VideoRequest,
        options: RequestOptions,
        *,
        on_send: OnSend | None = None,
    ) -> TaskT:
        """The task handle of ``_submit_raw``: what ``generate`` and the batch call."""
        raw = await self._submit_raw(request, options, on_send=on_send)
        return raw.parse()

    async def _submit_raw(
        self,
        request: ImageRequest | VideoRequest,
        options: RequestOptions,
        *,
        on_send: OnSend | None = None,
    ) -> AsyncRawResponse[TaskT]:
        """The one way a generate request is sent.

        Validates (InvalidParameterError: nothing sent), sends through the budget (calling
        ``on_send`` just before the request leaves) and returns the task handle with the
        response. The batch hands over requests it built from any input, so the kind is
        checked here.
        """
        if not isinstance(request, self._request_type):
            raise InvalidParameterError(
                "request",
                request,
                reason=f"client.{self._kind}s takes nb.{self._request_type.__name__}, "
                f"got {type(request).__name__}",
            )
        op = _protocol.generate(request)
        raw = await request_raw(self._client, op, options, on_send=on_send)
        task = self._new_task(raw.parse(), request.model, op.body)
        return AsyncRawResponse(raw.http_response, task)

    async def _status(self, task_id: str, options: RequestOptions) -> StatusT:
        # request_raw directly, not through _status_raw: one coroutine less on every poll
        raw = await request_raw(self._client, self._status_op(task_id), options)
        return raw.parse()

    async def _status_raw(self, task_id: str, options: RequestOptions) -> AsyncRawResponse[StatusT]:
        return await request_raw(self._client, self._status_op(task_id), options)

    async def wait(
        self,
        task_id: str,
        *,
        timeout: float | None = None,
        on_progress: Callable[[StatusT], object] | None = None,
        poll_policy: PollPolicy | None = None,
    ) -> StatusT:
        """Poll a task until it ends, for a task id kept from ``generate`` (or elsewhere).

        Polls share the key's budget with every other request and waiter of the client;
        a task this client submitted is first polled when tasks like it tend to end.
        Transient poll errors (a dropped connection, a 429, a 5xx) do not end the wait.

        Args:
            task_id: The id ``generate`` returned.
            timeout: Seconds of waiting before TaskTimeoutError; None: 10 minutes for an
                image, 30 for a video.
            on_progress: Called with every status polled, the final one included (an
                async callback is awaited).
            poll_policy: Poll timing for this wait; None: the client's.

        Returns:
            The final status of a task that succeeded.

        Raises:
            TaskFailedError: The task ended as failed (``error.status`` is its status).
            TaskTimeoutError: ``timeout`` passed first; the task may still finish: wait
                again with ``error.task_id``.
            InvalidParameterError: An argument was refused; nothing was sent.
            TaskNotFoundError: No task has this id (404).
            AuthenticationError: The key was refused (401).
            APIStatusError: A poll got another error status that retrying cannot fix.
            UnexpectedResponseError: A poll's answer is not the documented envelope.
            APIConnectionError: The client was closed (by any thread or task) before the
                task ended: the wait ends at once, its next poll not sent.
            RateLimiterUnavailableError: The shared limiter's Redis cannot be reached
                (``RedisRateLimiter``, ``on_redis_error="raise"``).
        """
        return await wait_for_task(
            self,
            task_id,
            timeout=timeout,
            on_progress=on_progress,
            poll_policy=poll_policy,
        )

    async def save(
        self, status_or_task: StatusT | TaskT, directory: str | os.PathLike[str]
    ) -> list[Path]:
        """Download every result of a task into ``directory``.

        A task handle (or a status still running) is waited for first. Files are named
        after the task: ``<task_id>.png`` (``<task_id>-<n>.png`` for several images, the
        extension from the URL). The API key never goes to the asset host, and each file
        appears whole or not at all.

        Args:
            status_or_task: A final status, or a task handle to wait for.
            directory: Where to write (created if missing).

        Returns:
            The paths written, in the order of the task's result URLs.

        Raises:
            TaskFailedError: The task ended as failed: there is nothing to download.
            TaskTimeoutError: Waiting for the task passed its default timeout.
            InvalidParameterError: A result URL, or the file name it gives, was refused.
            APIStatusError: The asset host answered an error status (e.g. 404 once a
                result URL expired).
            APIConnectionError: The download failed in transit (APITimeoutError when it
                timed out).
            NanoBananaError: The asset host redirected too often, or away from http(s).
            OSError: The file could not be written.
        """
        return await save_results(self, status_or_task, directory)

    def generate_many(
        self,
        requests: AsyncAnyIterable[str | RequestT | Mapping[str, Any]],
        *,
        concurrency: int | None = None,
        max_credits: int | None = None,
        journal: str | os.PathLike[str] | None = None,
        on_progress: Callable[[BatchItem[StatusT]], object] | None = None,
        save_to: str | os.PathLike[str] | None = None,
        preflight: bool = True,
    ) -> AsyncBatch[StatusT]:
        """Submit many requests under the key's budget; yield a ``BatchItem`` as each ends.

        Every request comes back exactly once, in completion order: a success, a failure
        of that request (an item's ``error``, never an exception), or ``NotSubmittedError``
        when the batch stopped before it. Nothing happens until the batch is iterated or
        entered.

        Args:
            requests: Prompts (``str``), request objects (``ImageRequest`` /
                ``VideoRequest``) or mappings of their fields; an iterable or an async
                iterable.
            concurrency: Requests in flight at once; None: 8 for images, 16 for videos
                (the 60-a-minute budget, polls included, is the real limit).
            max_credits: The most this batch may spend; None: the balance is the limit.
            journal: An SQLite file that records every request, so a rerun of the same
                batch resumes without resubmitting (and never resends a request whose
                fate is unknown).
            on_progress: Called with each item, by the loop that iterates the batch,
                just before the item is handed out.
            save_to: A directory: each result is downloaded there as its task ends.
            preflight: Price the whole batch (one ``calculate_cost`` per distinct
                parameter set) and refuse it over budget before submitting anything.
                False: ``max_credits`` is enforced as the batch runs instead (for huge
                or endless inputs, which the preflight would read twice or buffer).

        Returns:
            The batch: an async iterator of ``BatchItem`` of this resource's status type,
            and an async context manager (``aclose()`` stops it).

        Raises:
            InvalidParameterError: ``requests``, ``concurrency`` or ``max_credits`` was
                refused. (Starting the batch can raise ``JournalError``,
                ``BudgetExceededError`` and the preflight's request errors: see
                ``AsyncBatch``.)
        """
        # Imported on first use: most programs never run a batch, and it brings sqlite3
        # and the journal with it (a tenth of the package's import time).
        from ._batch import AsyncBatch

        return AsyncBatch(
            self,
            self._kind,
            requests,
            concurrency=concurrency,
            max_credits=max_credits,
            journal=journal,
            on_progress=on_progress,
            save_to=save_to,
            preflight=preflight,
        )


class AsyncImages(_ImageMethods, _TaskResource[ImageStatus, AsyncImageTask, ImageRequest]):
    """Image generation: ``generate``, ``status``, ``wait``, ``save``, ``generate_many``."""

    __slots__ = ()
    _kind = "image"
    _request_type = ImageRequest

    def _status_op(self, task_id: str) -> _protocol.Operation[ImageStatus]:
        return _protocol.image_status(task_id)

    def _new_task(
        self, created: TaskCreated, model: str | None, body: Mapping[str, Any] | None
    ) -> AsyncImageTask:
        return AsyncImageTask._from_created(created, self, model=model, body=body)


class AsyncVideos(_VideoMethods, _TaskResource[VideoStatus, AsyncVideoTask, VideoRequest]):
    """Video generation: ``generate``, ``status``, ``wait``, ``save``, ``generate_many``."""

    __slots__ = ()
    _kind = "video"
    _request_type = VideoRequest

    def _status_op(self, task_id: str) -> _protocol.Operation[VideoStatus]:
        return _protocol.video_status(task_id)

    def _new_task(
        self, created: TaskCreated, model: str | None, body: Mapping[str, Any] | None
    ) -> AsyncVideoTask:
        return AsyncVideoTask._from_created(created, self, model=model, body=body)


class AsyncAccount(_AccountMethods, _Resource):
    """The account: ``credits``, ``calculate_cost``."""

    __slots__ = ()

    async def _credits(self, options: RequestOptions) -> Credits:
        raw = await self._credits_raw(options)
        return raw.parse()

    async def _credits_raw(self, options: RequestOptions) -> AsyncRawResponse[Credits]:
        return await request_raw(self._client, _protocol.credits(), options)

    async def _submit(self, request: CostRequest, options: RequestOptions) -> CostEstimate:
        """A cost preview: ``calculate_cost`` and the batch's preflight come here."""
        raw = await self._submit_raw(request, options)
        return raw.parse()

    async def _submit_raw(
        self, request: CostRequest, options: RequestOptions
    ) -> AsyncRawResponse[CostEstimate]:
        """The one way a cost preview is sent."""
        return await request_raw(self._client, _protocol.calculate_cost(request), options)


class AsyncModels(_ModelMethods, _Resource):
    """The model catalog: ``list``."""

    __slots__ = ()

    async def _list(self, options: RequestOptions) -> ModelCatalog:
        raw = await self._list_raw(options)
        return raw.parse()

    async def _list_raw(self, options: RequestOptions) -> AsyncRawResponse[ModelCatalog]:
        return await request_raw(self._client, _protocol.models(), options)
