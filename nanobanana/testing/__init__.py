"""nanobanana.testing: a faithful simulator of the Nano Banana API, for tests and demos.

    from nanobanana.testing import FakeNanoBanana

    fake = FakeNanoBanana(time_scale=600)     # ten minutes of API time per real second
    async with fake.async_client() as client:
        task = await client.images.generate("A sunset over mountains")

See docs/testing.md for the whole surface: keys and accounts, pricing, the rate limit,
task durations and failures, the content filter, result files and fault injection.
"""

from __future__ import annotations

from ._fake import FakeNanoBanana
from ._faults import Fault, FaultHandle
from ._lifecycle import Distribution
from ._manual import ManualClock
from ._pricing import image_price, video_price
from ._records import Account, Charge, KeyState, RequestRecord, SubscriptionPlan, TaskInfo
from ._service import ClockLike

__all__ = [
    "Account",
    "Charge",
    "ClockLike",
    "Distribution",
    "FakeNanoBanana",
    "Fault",
    "FaultHandle",
    "KeyState",
    "ManualClock",
    "RequestRecord",
    "SubscriptionPlan",
    "TaskInfo",
    "image_price",
    "video_price",
]
