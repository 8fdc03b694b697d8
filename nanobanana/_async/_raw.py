"""Raw responses: ``client.with_raw_response.<resource>.<method>(...)``, openai-style.

A raw call sends the same request as the method it mirrors, with the same retries and the
same errors (an error answer raises the typed ``APIStatusError``, whose ``.response`` is
the ``httpx.Response``). Its answer, ``AsyncRawResponse``, holds the ``httpx.Response``
the result was read from, and ``parse()`` gives the usual result. Only
the methods that are one request have a raw twin: ``wait``, ``save``, ``generate_many``
and ``download`` are many.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

import attrs
import httpx

from ._schema_methods import (
    AsyncAccountWithRawResponse,
    AsyncImagesWithRawResponse,
    AsyncModelsWithRawResponse,
    AsyncVideosWithRawResponse,
)

if TYPE_CHECKING:
    from ._client import AsyncClient

__all__ = ["AsyncClientWithRawResponse", "AsyncRawResponse"]

T_co = TypeVar("T_co", covariant=True)


@attrs.frozen(repr=False)
class AsyncRawResponse(Generic[T_co]):
    """One API answer: the HTTP response, and the result it decodes to.

    ``http_response`` is the ``httpx.Response`` of the attempt that succeeded (status,
    headers, and the body, already read). ``parse()`` is what the method itself returns:
    a model, or for ``generate`` the task handle, bound to the client.
    """

    http_response: httpx.Response
    """The response of the attempt that succeeded, its body already read."""
    _parsed: T_co = attrs.field(alias="parsed")

    @property
    def status_code(self) -> int:
        """The HTTP status code."""
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The response headers (``x-request-id``, rate-limit headers, ...)."""
        return self.http_response.headers

    def parse(self) -> T_co:
        """The result, as the method without ``with_raw_response`` returns it.

        Returns:
            The model (a task handle for ``generate``), decoded once: every call
            returns the same object.
        """
        return self._parsed

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code}] {type(self._parsed).__name__}>"


class AsyncClientWithRawResponse:
    """``client.with_raw_response``: every single-request method, answering
    ``AsyncRawResponse`` (``.http_response`` and ``.parse()``) instead of the result.

    Args:
        client: The client whose resources it mirrors.
    """

    __slots__ = ("account", "images", "models", "videos")

    images: AsyncImagesWithRawResponse
    videos: AsyncVideosWithRawResponse
    account: AsyncAccountWithRawResponse
    models: AsyncModelsWithRawResponse

    def __init__(self, client: AsyncClient) -> None:
        self.images = AsyncImagesWithRawResponse(client.images)
        self.videos = AsyncVideosWithRawResponse(client.videos)
        self.account = AsyncAccountWithRawResponse(client.account)
        self.models = AsyncModelsWithRawResponse(client.models)
