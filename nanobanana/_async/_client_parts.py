"""What an ``AsyncClient`` is made of, gathered for its constructor.

The constructor imports this module, not the client module: naming ``nb.AsyncClient``
loads none of it (import time), the first client made loads it all. One module, imported
in one statement, because a client is made on every ``with_options`` call: an ``import``
statement per name would cost it a few microseconds each.
"""

from __future__ import annotations

from .. import _protocol as protocol
from .._clock import SYSTEM_CLOCK
from .._concurrency import AsyncRunToEnd, StopSignal
from .._exceptions import InvalidParameterError
from .._policy import PollPolicy, RateLimit
from ._limiter import limiter_for
from ._raw import AsyncClientWithRawResponse
from ._resources import AsyncAccount, AsyncImages, AsyncModels, AsyncVideos
from ._scheduler import AsyncPollScheduler

__all__ = [
    "SYSTEM_CLOCK",
    "AsyncAccount",
    "AsyncClientWithRawResponse",
    "AsyncImages",
    "AsyncModels",
    "AsyncRunToEnd",
    "AsyncPollScheduler",
    "AsyncVideos",
    "InvalidParameterError",
    "PollPolicy",
    "RateLimit",
    "StopSignal",
    "limiter_for",
    "protocol",
]
