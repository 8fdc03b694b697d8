"""Results people can store and log: ``to_dict``/``to_json``/``from_dict`` on every model and
on ``BatchItem``, and the fields the SDK does not know (``extra``) kept through them."""

from __future__ import annotations

import copy
import enum
import json
import math
import pickle
import sqlite3
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs
import pytest

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana

UTC = timezone.utc
PLUS_TWO = timezone(timedelta(hours=2))
MINUS_FIVE_THIRTY = timezone(-timedelta(hours=5, minutes=30))

# -- every model, from the wire and by hand --------------------------------------------

WIRE: list[tuple[type[Any], dict[str, Any]]] = [
    (
        nb.ImageStatus,
        {
            "task_id": "clx1",
            "status": "completed",
            "progress": 100,
            "image_url": "https://cdn/1.png",
            "image_urls": ["https://cdn/1.png", "https://cdn/2.png"],
            "completed_at": "2024-05-01T10:00:00.123456+02:00",
            "error": None,
            "seed": 1234,  # a field the SDK does not know
            "safety": {"flagged": False, "scores": [0.1, 0.2]},
        },
    ),
    (nb.ImageStatus, {"task_id": "clx2", "status": "processing", "progress": 40}),
    (
        nb.VideoStatus,
        {
            "task_id": "vid1",
            "status": "succeeded",
            "progress": 100,
            "video_url": "https://cdn/v.mp4",
            "completed_at": "2024-05-01T10:00:00-05:30",
            "provider_job": "abc",
        },
    ),
    (nb.VideoStatus, {"task_id": "vid2", "status": "failed", "error": "provider error"}),
    (
        nb.Credits,
        {
            "credits": 1000,
            "total_credits": 5000,
            "subscription": {
                "plan": "pro",
                "end_date": "2024-12-31T00:00:00Z",
                "renews": True,  # the nested model keeps its own extras
            },
            "is_vip": True,
            "currency": "credits",
        },
    ),
    (nb.Credits, {"credits": 3, "subscription": None}),
    (nb.CostEstimate, {"type": "image", "credits_needed": 12, "breakdown": {"base": 6}}),
    (
        nb.ModelCatalog,
        {
            "image_models": [
                {"id": "nano-banana", "name": "Nano Banana", "is_default": True},
                {"id": "nano-banana-pro", "name": "Nano Banana Pro", "max_images": 4},
            ],
            "video_models": [{"id": "veo-3.1-fast", "name": "VEO 3.1 Fast", "max_duration": 8}],
            "updated": "2024-05-01",
        },
    ),
    (nb.ModelInfo, {"id": "x", "name": "X"}),
    (nb.Subscription, {"plan": "free", "end_date": None}),
]

HAND_BUILT: list[Any] = [
    nb.ImageStatus("t", "completed", 100, "https://cdn/a.png", ("https://cdn/a.png",)),
    nb.ImageStatus("t", "pending"),
    nb.ImageStatus(
        "t",
        "completed",
        completed_at=datetime(2024, 5, 1, 10, 0, 0, 5, tzinfo=MINUS_FIVE_THIRTY),
        image_urls=("https://cdn/a.png", "https://cdn/b.png"),
        extra={"seed": 7, "tags": ["a", "b"], "nested": {"deep": {"er": [1, {"x": None}]}}},
    ),
    nb.VideoStatus("v", "failed", error="boom", completed_at=datetime(2024, 1, 1, tzinfo=UTC)),
    nb.VideoStatus("v", "succeeded", 100, "https://cdn/v.mp4", extra={"fps": 24.0}),
    nb.Credits(5, None, nb.Subscription("pro", None, extra={"seats": 3}), extra={"x": None}),
    nb.Credits(0, 0, None, False),
    nb.CostEstimate("video", 30),
    nb.ModelCatalog((nb.ModelInfo("a", "A", True, extra={"k": "v"}),), ()),
    nb.ModelInfo("a", "A"),
    nb.Subscription("pro", datetime(2030, 1, 1, 12, 30, tzinfo=PLUS_TWO)),
]


@pytest.mark.parametrize(
    ("cls", "wire"), WIRE, ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(WIRE)]
)
def test_a_model_read_from_the_wire_round_trips(cls: type[Any], wire: dict[str, Any]) -> None:
    model = cls.from_dict(wire)
    data = model.to_dict()
    assert json.loads(json.dumps(data)) == data  # plain JSON types only
    assert cls.from_dict(data) == model
    assert cls.from_dict(json.loads(model.to_json())) == model
    # every key of the wire is in the output: the unknown ones too
    assert set(wire) <= set(data)
    for key, value in wire.items():
        if key not in {"completed_at", "end_date", "image_urls", "subscription"}:
            assert data[key] == value or isinstance(value, list)


@pytest.mark.parametrize("model", HAND_BUILT, ids=lambda m: type(m).__name__)
def test_a_hand_built_model_round_trips(model: Any) -> None:
    data = model.to_dict()
    back = type(model).from_dict(json.loads(json.dumps(data)))
    assert back == model
    assert back.to_dict() == data


def test_to_dict_is_the_wire_shape() -> None:
    status = nb.ImageStatus.from_dict(WIRE[0][1])
    assert status.to_dict() == {
        "task_id": "clx1",
        "status": "completed",
        "progress": 100,
        "image_url": "https://cdn/1.png",
        "image_urls": ["https://cdn/1.png", "https://cdn/2.png"],
        "completed_at": "2024-05-01T10:00:00.123456+02:00",  # the offset it came with
        "error": None,  # None values are kept
        "seed": 1234,
        "safety": {"flagged": False, "scores": [0.1, 0.2]},
    }
    credits = nb.Credits.from_dict(WIRE[4][1])
    assert credits.to_dict()["subscription"] == {
        "plan": "pro",
        "end_date": "2024-12-31T00:00:00+00:00",
        "renews": True,
    }
    assert json.loads(credits.to_json(sort_keys=True)) == credits.to_dict()
    assert credits.to_json(indent=2).startswith("{\n  ")  # json.dumps's arguments pass through


def test_times_keep_their_instant_and_offset() -> None:
    when = datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=PLUS_TWO)
    status = nb.VideoStatus.from_dict(nb.VideoStatus("v", "x", completed_at=when).to_dict())
    assert status.completed_at == when and status.completed_at.utcoffset() == timedelta(hours=2)
    # epoch seconds on the wire come back as ISO-8601
    epoch = nb.VideoStatus.from_dict({"task_id": "v", "status": "x", "completed_at": 1704067200})
    assert epoch.to_dict()["completed_at"] == "2024-01-01T00:00:00+00:00"
    # a naive time (only a hand-built model has one) is written as UTC, as it is read
    naive = nb.VideoStatus("v", "x", completed_at=datetime(2024, 1, 1))
    assert naive.to_dict()["completed_at"] == "2024-01-01T00:00:00+00:00"


# -- extra: what the SDK does not know is kept ------------------------------------------


def test_unknown_fields_are_kept_read_only_and_nested_models_keep_their_own() -> None:
    credits = nb.Credits.from_dict(WIRE[4][1])
    assert credits.extra == {"currency": "credits"}
    assert credits.subscription is not None
    assert credits.subscription.extra == {"renews": True}
    assert nb.ModelCatalog.from_dict(WIRE[7][1]).video_models[0].extra == {"max_duration": 8}
    with pytest.raises(TypeError):
        credits.extra["currency"] = "x"  # type: ignore[index]
    assert not hasattr(credits.extra, "update")
    # a model with no unknown field: empty, and left out of the repr
    plain = nb.CostEstimate.from_dict({"type": "image", "credits_needed": 1})
    assert plain.extra == {} and not plain.extra
    assert repr(plain) == "CostEstimate(type='image', credits_needed=1)"
    assert "extra={'currency': 'credits'}" in repr(credits)


def test_a_hand_built_extra_is_copied_and_checked() -> None:
    mine = {"seed": 1}
    status = nb.VideoStatus("v", "x", extra=mine)
    mine["seed"] = 2
    assert status.extra == {"seed": 1}  # a copy: the caller's dict cannot change the model
    with pytest.raises(ValueError, match="declares: status"):
        nb.VideoStatus("v", "x", extra={"status": "other"})
    with pytest.raises(TypeError, match="str"):
        nb.VideoStatus("v", "x", extra={1: "a"})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="mapping"):
        nb.VideoStatus("v", "x", extra=[("a", 1)])  # type: ignore[arg-type]


def test_models_with_extra_stay_equal_hashable_picklable_and_copyable() -> None:
    a = nb.ImageStatus.from_dict(WIRE[0][1])
    b = nb.ImageStatus.from_dict(dict(WIRE[0][1]))
    assert a == b and hash(a) == hash(b)
    assert a != nb.ImageStatus.from_dict({**WIRE[0][1], "seed": 99})  # extras count in ==
    assert len({a, b}) == 1
    for clone in (pickle.loads(pickle.dumps(a)), copy.copy(a), copy.deepcopy(a)):
        assert clone == a and clone.extra == a.extra


def test_a_field_named_extra_on_the_wire_is_an_unknown_field() -> None:
    status = nb.VideoStatus.from_dict({"task_id": "v", "status": "x", "extra": {"a": 1}})
    assert status.extra == {"extra": {"a": 1}}
    assert status.to_dict()["extra"] == {"a": 1}
    assert nb.VideoStatus.from_dict(status.to_dict()) == status


def test_every_image_status_lists_its_image_url_in_image_urls() -> None:
    """The rule that makes ``from_dict(to_dict(s)) == s`` hold for any ImageStatus."""
    only_url = nb.ImageStatus("t", "completed", image_url="https://cdn/a.png")
    assert only_url.image_urls == ("https://cdn/a.png",) and only_url.urls == only_url.image_urls
    only_urls = nb.ImageStatus("t", "completed", image_urls=("https://cdn/b.png",))
    assert only_urls.image_url == "https://cdn/b.png"
    both = nb.ImageStatus("t", "completed", image_url="z", image_urls=("a", "b"))
    assert both.image_urls == ("z", "a", "b") and both.image_url == "z"
    kept = nb.ImageStatus("t", "completed", image_url="b", image_urls=("a", "b"))
    assert kept.image_urls == ("a", "b") and kept.image_url == "b"
    for status in (only_url, only_urls, both, kept):
        assert nb.ImageStatus.from_dict(status.to_dict()) == status


# -- to_dict never gives json.dumps something it cannot write ----------------------------


class Color(enum.Enum):
    RED = "red"


class Broken:
    def __str__(self) -> str:
        raise RuntimeError("no text")

    __repr__ = __str__


def _cycle() -> list[Any]:
    loop: list[Any] = []
    loop.append(loop)
    return loop


def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


TRICKY: list[tuple[str, Any, Callable[[Any], bool]]] = [
    ("nan", math.nan, lambda v: v == "nan"),
    ("inf", math.inf, lambda v: v == "inf"),
    ("-inf", -math.inf, lambda v: v == "-inf"),
    ("datetime", datetime(2024, 1, 1, tzinfo=PLUS_TWO), lambda v: v == "2024-01-01T00:00:00+02:00"),
    ("date", date(2024, 1, 2), lambda v: v == "2024-01-02"),
    ("enum", Color.RED, lambda v: v == "red"),
    ("str enum", nb.TaskStatus.COMPLETED, lambda v: v == "completed"),
    ("tuple", (1, (2, 3)), lambda v: v == [1, [2, 3]]),
    ("set", {"only"}, lambda v: v == ["only"]),
    ("bytes", b"\xff\x00", lambda v: isinstance(v, str)),
    ("decimal", Decimal("1.10"), lambda v: v == "1.10"),
    ("uuid", UUID(int=1), lambda v: v == str(UUID(int=1))),
    ("path", Path("a/b.png"), lambda v: v == str(Path("a/b.png"))),
    ("object", object(), lambda v: v.startswith("<object object")),
    ("broken str", Broken(), lambda v: v == "<Broken>"),
    ("model", nb.ModelInfo("m", "M"), lambda v: v == {"id": "m", "name": "M", "is_default": False}),
    (
        "non-str keys",
        {1: "a", (2, 3): "b", None: "c"},
        lambda v: v == {"1": "a", "(2, 3)": "b", "None": "c"},
    ),
    ("nan in a dict", {"x": [math.nan]}, lambda v: v == {"x": ["nan"]}),
    ("cycle", _cycle(), lambda v: isinstance(v, list)),
    ("100k deep", _deep(100_000), lambda v: isinstance(v, list)),
    ("a big int", 10**40, lambda v: v == 10**40),
]


@pytest.mark.parametrize(("name", "value", "check"), TRICKY, ids=[t[0] for t in TRICKY])
def test_json_dumps_of_to_dict_never_fails(
    name: str, value: Any, check: Callable[[Any], bool]
) -> None:
    status = nb.ImageStatus("t", "x", extra={"value": value})
    data = status.to_dict()
    text = json.dumps(data, allow_nan=False)  # strict JSON: no NaN, no Infinity
    assert check(json.loads(text)["value"])
    assert "extra={'value': " in repr(status)  # a repr of any extra works too (bounded)


def test_nesting_deeper_than_the_limit_is_cut_to_a_text() -> None:
    from nanobanana._converter import MAX_DEPTH

    kept = nb.VideoStatus("v", "x", extra={"v": _deep(MAX_DEPTH - 2)})
    assert nb.VideoStatus.from_dict(kept.to_dict()) == kept  # within the limit: exact
    cut = nb.VideoStatus("v", "x", extra={"v": _deep(MAX_DEPTH + 50)}).to_dict()["v"]
    for _ in range(MAX_DEPTH - 1):
        cut = cut[0]
    assert isinstance(cut, str) and len(cut) < 100


def test_declared_fields_of_the_wrong_type_still_dump() -> None:
    odd = nb.ImageStatus("t", "x", progress=math.nan, completed_at="yesterday", error=Broken())  # type: ignore[arg-type]
    assert json.loads(json.dumps(odd.to_dict(), allow_nan=False))["progress"] == "nan"


# -- from_dict: the decoder's rules, a typed error naming the field -----------------------


def test_from_dict_reads_the_api_json_leniently() -> None:
    status = nb.ImageStatus.from_dict(
        {"task_id": "t", "status": "x", "progress": "42.9", "image_urls": "https://cdn/a.png"}
    )
    assert status.progress == 42 and status.image_urls == ("https://cdn/a.png",)
    assert nb.Credits.from_dict({"credits": "2", "is_vip": 1}) == nb.Credits(2, is_vip=True)


@pytest.mark.parametrize(
    ("cls", "data", "where"),
    [
        (nb.ImageStatus, {"status": "x"}, "data.task_id"),
        (nb.ImageStatus, {"task_id": "t", "status": "x", "progress": "lots"}, "data.progress"),
        (
            nb.VideoStatus,
            {"task_id": "t", "status": "x", "completed_at": "soon"},
            "data.completed_at",
        ),
        (nb.Credits, {"credits": 1.5}, "data.credits"),
        (nb.Credits, {"credits": 1, "subscription": {"plan": 3}}, "data.subscription.plan"),
        (nb.ModelCatalog, {"image_models": [{"id": "a"}]}, "data.image_models[0].name"),
        (nb.ModelCatalog, {"image_models": "nano-banana"}, "data.image_models"),
        (nb.CostEstimate, ["image", 3], "data"),
        (nb.CostEstimate, "not an object", "data"),
        (nb.ModelInfo, {"id": "a", "name": "A", 1: "x"}, "data"),
    ],
)
def test_malformed_data_is_an_invalid_parameter_error_naming_the_field(
    cls: type[Any], data: Any, where: str
) -> None:
    with pytest.raises(nb.InvalidParameterError, match=f"could not decode {cls.__name__}") as info:
        cls.from_dict(data)
    assert where in str(info.value)
    assert isinstance(info.value, ValueError)


def test_from_dict_of_deeply_nested_data_is_a_typed_error() -> None:
    with pytest.raises(nb.InvalidParameterError):
        nb.Credits.from_dict({"credits": _deep(100_000)})


def test_from_dict_takes_any_mapping() -> None:
    from types import MappingProxyType

    status = nb.VideoStatus.from_dict(MappingProxyType({"task_id": "v", "status": "x", "k": 1}))
    assert status.extra == {"k": 1}


# -- BatchItem ---------------------------------------------------------------------------

IMAGE_OK = nb.ImageStatus("t1", "completed", 100, "https://cdn/t1.png", extra={"seed": 3})
IMAGE_FAILED = nb.ImageStatus("t2", "failed", error="content policy")
VIDEO_OK = nb.VideoStatus("v1", "succeeded", 100, "https://cdn/v1.mp4")
VIDEO_FAILED = nb.VideoStatus("v2", "timeout", error="provider timeout")


def _items() -> list[nb.BatchItem[Any]]:
    from nanobanana import BudgetExceededError, NotSubmittedError

    image = nb.ImageRequest("a fox", aspect_ratio="16:9", num_images=2)
    video = nb.VideoRequest("a cat", duration=4, generate_audio=False)
    budget = BudgetExceededError("too much", needed=9, available=5, balance=20, max_credits=5)
    sent = datetime(2024, 5, 1, 8, 0, 0, 250000, tzinfo=UTC)
    return [
        nb.BatchItem(
            0,
            image,
            "t1",
            IMAGE_OK,
            None,
            (Path("out/t1.png"),),
            credits_used=2,
            submitted_at=sent,
            ended_at=sent + timedelta(seconds=14.5),
        ),
        nb.BatchItem(
            1, image, "t2", IMAGE_FAILED, nb.TaskFailedError("t2", IMAGE_FAILED, "content policy")
        ),
        nb.BatchItem(2, image, error=NotSubmittedError("not submitted: the budget", reason=budget)),
        nb.BatchItem(
            3, image, error=nb.APITimeoutError("read timed out", may_have_been_processed=True)
        ),
        nb.BatchItem(4, image, error=nb.InvalidParameterError("aspect_ratio", "7:3", "1:1, 16:9")),
        nb.BatchItem(5, image, "t1", IMAGE_OK, OSError("No space left on device")),
        nb.BatchItem(6, video, "v1", VIDEO_OK, None, (Path("out/v1.mp4"),)),
        nb.BatchItem(
            7, video, "v2", VIDEO_FAILED, nb.TaskFailedError("v2", VIDEO_FAILED, "provider timeout")
        ),
        nb.BatchItem(8, video, error=NotSubmittedError("not submitted: the batch was closed")),
        nb.BatchItem(
            9,
            video,
            error=nb.InternalServerError("oops", status_code=502, may_have_been_processed=True),
        ),
        nb.BatchItem(
            10,
            video,
            "v3",
            None,
            nb.TaskTimeoutError("v3", 30.0, VIDEO_OK),
            credits_used=12,
            submitted_at=sent.astimezone(PLUS_TWO),
        ),
        nb.BatchItem(
            11, video, error=nb.RateLimitError("slow down", code="RATE_LIMITED", retry_after=2.5)
        ),
        nb.BatchItem(12, video, error=nb.UnexpectedResponseError("no task id", status_code=200)),
    ]


@pytest.mark.parametrize("item", _items(), ids=lambda i: f"{i.kind}-{i.index}")
def test_a_batch_item_round_trips(item: nb.BatchItem[Any]) -> None:
    data = item.to_dict()
    back = nb.BatchItem.from_dict(json.loads(json.dumps(data, allow_nan=False)))
    assert back == item and hash(back) == hash(item)
    assert back.to_dict() == data
    assert type(back.error) is type(item.error)
    assert str(back.error) == str(item.error)
    assert (back.ok, back.submitted, back.needs_attention, back.kind) == (
        item.ok,
        item.submitted,
        item.needs_attention,
        item.kind,
    )
    assert type(back.status) is type(item.status)


TIMES = ("credits_used", "submitted_at", "ended_at")


def test_a_batch_item_as_data() -> None:
    items = _items()
    assert items[0].to_dict() == {
        "kind": "image",
        "index": 0,
        "request": {"prompt": "a fox", "aspect_ratio": "16:9", "num_images": 2},
        "task_id": "t1",
        "status": IMAGE_OK.to_dict(),
        "error": None,
        "paths": [str(Path("out/t1.png"))],
        "credits_used": 2,
        "submitted_at": "2024-05-01T08:00:00.250000+00:00",
        "ended_at": "2024-05-01T08:00:14.750000+00:00",
    }
    assert items[0].duration == 14.5
    assert items[10].to_dict()["submitted_at"] == "2024-05-01T10:00:00.250000+02:00"
    assert items[10].duration is None  # still running when the wait gave up
    # an item written before these fields existed reads back without them
    old = {k: v for k, v in items[0].to_dict().items() if k not in TIMES}
    assert nb.BatchItem.from_dict(old) == attrs.evolve(
        items[0], credits_used=None, submitted_at=None, ended_at=None
    )
    assert items[2].to_dict()["error"] == {
        "type": "NotSubmittedError",
        "message": "not submitted: the budget",
        "reason": {
            "type": "BudgetExceededError",  # a local refusal: no status, no code
            "message": "too much",
            "needed": 9,
            "available": 5,
            "balance": 20,
            "max_credits": 5,
        },
    }
    # an API error's message is the server's; str() adds the status and the code
    server = items[9].to_dict()["error"]
    assert server["type"] == "InternalServerError" and server["status_code"] == 502
    assert server["message"].startswith("oops") and server["may_have_been_processed"] is True
    rebuilt = nb.BatchItem.from_dict(items[9].to_dict())
    assert rebuilt.needs_attention and str(rebuilt.error).startswith("502: oops")
    rebuilt_reason = nb.BatchItem.from_dict(items[2].to_dict()).error
    assert isinstance(rebuilt_reason, nb.NotSubmittedError)
    assert isinstance(rebuilt_reason.reason, nb.BudgetExceededError)
    assert rebuilt_reason.reason.needed == 9
    timeout = nb.BatchItem.from_dict(items[10].to_dict()).error
    assert isinstance(timeout, nb.TaskTimeoutError) and timeout.last_status == VIDEO_OK


def test_an_error_of_another_class_comes_back_as_a_nanobanana_error() -> None:
    class Mine(Exception):
        pass

    item = nb.BatchItem(0, nb.ImageRequest("x"), error=Mine("it broke"))
    back = nb.BatchItem.from_dict(item.to_dict())
    assert type(back.error) is nb.NanoBananaError
    assert str(back.error) == "Mine: it broke"


def _with(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    *parents, last = path.split(".")
    target = data
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        ("kind", "audio", "data.kind"),
        ("index", KeyError, "data.index"),
        ("index", "3", "data.index"),
        ("index", True, "data.index"),
        ("request", "a fox", "data.request"),
        ("request.colour", "red", "data.request"),
        ("request.prompt", KeyError, "data.request"),
        ("task_id", 5, "data.task_id"),
        ("status.progress", "lots", "data.status.progress"),
        ("status", [], "data.status"),
        ("paths", "out/a.png", "data.paths"),
        ("paths", [3], "data.paths[0]"),
        ("error", "boom", "data.error"),
        ("error.type", KeyError, "data.error.type"),
        ("error.message", None, "data.error.message"),
        ("error.status_code", "five hundred", "data.error.status_code"),
        ("error.may_have_been_processed", "yes", "data.error.may_have_been_processed"),
        ("credits_used", "2", "data.credits_used"),
        ("submitted_at", "yesterday", "data.submitted_at"),
        ("ended_at", [2024], "data.ended_at"),
    ],
)
def test_a_malformed_batch_item_is_an_invalid_parameter_error(
    path: str, value: Any, where: str
) -> None:
    good = nb.BatchItem(
        0,
        nb.ImageRequest("a fox"),
        "t1",
        IMAGE_OK,
        nb.InternalServerError("oops", status_code=500),
    ).to_dict()
    with pytest.raises(nb.InvalidParameterError) as info:
        nb.BatchItem.from_dict(_with(good, path, value))
    assert where in str(info.value)


# -- a real batch, the journal and the command line ---------------------------------------


@pytest.mark.anyio
async def test_items_of_a_real_batch_round_trip(anyio_backend: str, tmp_path: Path) -> None:
    fake = FakeNanoBanana(
        time_scale=2000, failure_rate={"image": 0.0, "video": 1.0}, content_filter=["heron"]
    )
    async with fake.async_client() as client:
        requests: list[Any] = ["a fox", "a heron", "", nb.ImageRequest("a crane", num_images=2)]
        items = [i async for i in client.images.generate_many(requests, save_to=tmp_path)]
        videos = [i async for i in client.videos.generate_many(["a cat walking"])]
    errors = {type(i.error) for i in [*items, *videos]}
    assert errors == {
        type(None),
        nb.ContentFilteredError,
        nb.InvalidParameterError,
        nb.TaskFailedError,
    }
    for item in [*items, *videos]:
        back = nb.BatchItem.from_dict(json.loads(item.to_json()))
        assert back == item
        assert back.to_dict() == item.to_dict()


OLD_IMAGE_ROW = (
    '{"completed_at": "2024-01-01T00:00:00+00:00", "error": null, '
    '"image_url": "https://cdn/old.png", "image_urls": ["https://cdn/old.png"], '
    '"progress": 100, "status": "completed", "task_id": "old-1"}'
)
OLD_FAILED_ROW = (
    '{"completed_at": null, "error": "content policy", "image_url": null, '
    '"image_urls": [], "progress": null, "status": "failed", "task_id": "old-2"}'
)


def test_a_journal_written_by_the_old_encoder_still_resumes(tmp_path: Path) -> None:
    """Rows written before statuses were kept as ``to_json()`` (the same wire shape)."""
    from nanobanana._batch_models import ImageRequest, fingerprint, request_json
    from nanobanana._journal import Journal

    journal = tmp_path / "old.sqlite"
    prompts = ["an old harbour", "an old mill"]
    with Journal(journal, "image") as j:
        for index, (prompt, task_id, row, ok) in enumerate(
            [
                (prompts[0], "old-1", OLD_IMAGE_ROW, True),
                (prompts[1], "old-2", OLD_FAILED_ROW, False),
            ]
        ):
            request = ImageRequest(prompt)
            j.begin(index, fingerprint("image", index, request), request_json(request))
            j.submitted(index, task_id, 1)
            j.finished(index, succeeded=ok, status=row, paths=(), error=None)
    fake = FakeNanoBanana(time_scale=2000)
    with fake.client() as client:
        items = {i.index: i for i in client.images.generate_many(prompts, journal=journal)}
    assert all(r.route != "images/generate" for r in fake.api_requests)  # nothing resubmitted
    assert items[0].ok and items[0].status == nb.ImageStatus(
        "old-1",
        "completed",
        100,
        "https://cdn/old.png",
        completed_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    assert isinstance(items[1].error, nb.TaskFailedError)
    assert items[1].status == nb.ImageStatus("old-2", "failed", error="content policy")


def test_the_journal_keeps_a_status_as_its_to_json(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    fake = FakeNanoBanana(time_scale=2000, failure_rate=0.0)
    with fake.client() as client:
        (item,) = list(client.images.generate_many(["a lighthouse"], journal=journal))
    conn = sqlite3.connect(journal)
    try:
        (stored,) = conn.execute("SELECT status FROM requests").fetchone()
    finally:
        conn.close()
    assert item.status is not None
    assert json.loads(stored) == item.status.to_dict()


# -- the command line's --json is the models' to_dict ---------------------------------------


def test_cli_json_of_a_task_is_its_status_to_dict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nanobanana._cli import main

    assert main(["--fake", "--json", "image", "A fox", "-n", "2", "-o", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out)
    # the keys scripts read before, and the status's own (image_url, image_urls)
    assert {"task_id", "status", "progress", "urls", "completed_at", "error", "ok", "paths"} <= set(
        result
    )
    status = nb.ImageStatus.from_dict(result)
    assert status.succeeded and status.image_urls == tuple(result["urls"])
    assert result == {
        **status.to_dict(),
        "urls": list(status.urls),
        "paths": result["paths"],
        "ok": True,
    }


def test_cli_json_of_credits_and_models(capsys: pytest.CaptureFixture[str]) -> None:
    from nanobanana._cli import main

    assert main(["--fake", "--json", "credits"]) == 0
    credits = json.loads(capsys.readouterr().out)
    assert credits["credits"] == 1000 and credits["subscription"]["plan"] == "pro"
    assert nb.Credits.from_dict(credits).to_dict() == credits
    assert main(["--fake", "--json", "models"]) == 0
    catalog = json.loads(capsys.readouterr().out)
    assert nb.ModelCatalog.from_dict(catalog).to_dict() == catalog


def test_cli_json_lines_of_a_batch_read_back_as_items(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nanobanana._cli import main

    file = tmp_path / "prompts.txt"
    file.write_text("a lighthouse\na harbour\n")
    assert main(["--fake", "--json", "batch", str(file), "-o", str(tmp_path / "out")]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(line["index"] for line in lines) == [0, 1]
    for line in lines:
        item = nb.BatchItem.from_dict(line)  # the keys the CLI adds are left aside
        assert item.ok and line["ok"] and line["urls"] == list(item.status.urls)  # type: ignore[union-attr]
        assert line == {
            **item.to_dict(),
            "ok": True,
            "needs_attention": False,
            "urls": line["urls"],
        }
