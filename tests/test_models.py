"""Decoding: what users get from JSON the server sends, and what happens when it is odd."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

import nanobanana as nb
from nanobanana._converter import decode

API_KEY = "nb_sk_test_0123456789abcdef"


def test_image_status_full_body_decodes_with_aware_datetime() -> None:
    status = decode(
        nb.ImageStatus,
        {
            "task_id": "clx1",
            "status": "completed",
            "progress": 100,
            "image_url": "https://cdn/x.png",
            "completed_at": "2024-01-01T00:00:00Z",
            "brand_new_field": {"ignored": True},
        },
    )
    assert status.completed_at == datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert status.completed_at.tzinfo is not None
    assert status.image_urls == ("https://cdn/x.png",)
    assert status.done and status.succeeded and not status.failed


def test_offset_and_fractional_times_are_kept_aware() -> None:
    status = decode(
        nb.VideoStatus,
        {"task_id": "v", "status": "succeeded", "completed_at": "2024-05-01T10:00:00.123+02:00"},
    )
    assert status.completed_at is not None
    assert status.completed_at.utcoffset() == timedelta(hours=2)
    naive = decode(
        nb.VideoStatus, {"task_id": "v", "status": "x", "completed_at": "2024-05-01T10:00:00"}
    )
    assert naive.completed_at is not None and naive.completed_at.tzinfo == timezone.utc


def test_image_urls_list_exposes_every_url_and_fills_image_url() -> None:
    status = decode(
        nb.ImageStatus, {"task_id": "t", "status": "completed", "image_urls": ["a", "b", "c"]}
    )
    assert status.image_url == "a"
    assert status.image_urls == ("a", "b", "c")
    both = decode(
        nb.ImageStatus,
        {"task_id": "t", "status": "completed", "image_url": "z", "image_urls": ["a", "b"]},
    )
    assert both.image_urls == ("z", "a", "b")
    assert both.image_url == "z"


@pytest.mark.parametrize(
    ("raw", "done", "succeeded"),
    [
        ("pending", False, False),
        ("processing", False, False),
        ("completed", True, True),
        ("succeeded", True, True),
        ("failed", True, False),
        ("cancelled", True, False),
        ("canceled", True, False),
        ("timeout", True, False),
        ("queued_at_the_provider", False, False),
    ],
)
def test_status_normalisation(raw: str, done: bool, succeeded: bool) -> None:
    status = decode(nb.VideoStatus, {"task_id": "t", "status": raw})
    assert status.status == raw  # the raw string survives
    assert status.done is done
    assert status.succeeded is succeeded


def test_task_status_names_known_values_and_compares_to_str() -> None:
    assert nb.TaskStatus.COMPLETED == "completed"
    assert str(nb.TaskStatus.SUCCEEDED) == "succeeded"
    status = decode(
        nb.ImageStatus,
        {"task_id": "t", "status": "failed", "error": {"code": "X", "message": "boom"}},
    )
    assert status.status == nb.TaskStatus.FAILED
    assert status.error == "boom"


def test_credits_subscription_and_vip() -> None:
    credits = decode(
        nb.Credits,
        {
            "credits": 148,
            "total_credits": 500,
            "subscription": {"plan": "pro", "end_date": "2024-12-31T00:00:00Z"},
            "is_vip": True,
        },
    )
    assert credits.subscription == nb.Subscription(
        "pro", datetime(2024, 12, 31, tzinfo=timezone.utc)
    )
    assert credits.is_vip is True
    free = decode(nb.Credits, {"credits": 3, "subscription": None})
    assert free.subscription is None and free.is_vip is False


def test_model_catalog_is_default_is_false_when_absent() -> None:
    catalog = decode(
        nb.ModelCatalog,
        {
            "image_models": [
                {"id": "nano-banana", "name": "Nano Banana", "is_default": True},
                {"id": "x", "name": "X"},
            ],
            "video_models": [{"id": "veo-3.1-fast", "name": "VEO 3.1 Fast", "extra": 1}],
        },
    )
    assert [m.is_default for m in catalog.image_models] == [True, False]
    assert catalog.video_models[0] == nb.ModelInfo(
        "veo-3.1-fast", "VEO 3.1 Fast", False, extra={"extra": 1}
    )


@pytest.mark.parametrize(
    ("cls", "data", "path"),
    [
        (nb.ImageStatus, {"task_id": "t", "status": "x", "progress": "lots"}, "data.progress"),
        (nb.ImageStatus, {"status": "x"}, "data.task_id"),
        (nb.Credits, {"credits": 1, "subscription": {"plan": 3}}, "data.subscription.plan"),
        (nb.ModelCatalog, {"image_models": [{"id": "a"}]}, "data.image_models[0].name"),
        (
            nb.VideoStatus,
            {"task_id": "t", "status": "x", "completed_at": "yesterday"},
            "data.completed_at",
        ),
        (nb.CostEstimate, {"type": "image", "credits_needed": True}, "data.credits_needed"),
    ],
)
def test_decoding_failures_name_the_field_path(cls: type, data: dict, path: str) -> None:
    with pytest.raises(nb.UnexpectedResponseError) as info:
        decode(cls, data)
    assert path in str(info.value)


def test_models_are_frozen() -> None:
    status = decode(nb.ImageStatus, {"task_id": "t", "status": "pending"})
    with pytest.raises(AttributeError):
        status.status = "completed"  # type: ignore[misc]


def test_lenient_where_the_wire_is_loose_strict_where_it_is_wrong() -> None:
    # numbers as strings, epoch seconds, 0/1 booleans: decoded; nonsense: a typed error
    credits = decode(nb.Credits, {"credits": "148", "total_credits": 500.0, "is_vip": 1})
    assert (credits.credits, credits.total_credits, credits.is_vip) == (148, 500, True)
    status = decode(
        nb.ImageStatus, {"task_id": "t", "status": "completed", "completed_at": 1704067200}
    )
    assert status.completed_at == datetime(2024, 1, 1, tzinfo=timezone.utc)
    for bad in ({"credits": 1, "is_vip": "yes"}, {"credits": [1]}, {"credits": None}):
        with pytest.raises(nb.UnexpectedResponseError):
            decode(nb.Credits, bad)
    with pytest.raises(nb.UnexpectedResponseError, match="completed_at"):
        decode(nb.ImageStatus, {"task_id": "t", "status": "x", "completed_at": ["2024"]})
    with pytest.raises(nb.UnexpectedResponseError):
        decode(nb.ImageStatus, ["not", "an", "object"])


def test_error_objects_become_readable_text() -> None:
    video = decode(
        nb.VideoStatus, {"task_id": "v", "status": "timeout", "error": {"code": "PROVIDER_TIMEOUT"}}
    )
    assert video.error == "PROVIDER_TIMEOUT"
    image = decode(
        nb.ImageStatus, {"task_id": "i", "status": "failed", "error": ["nsfw", "blocked"]}
    )
    assert image.error is not None
    assert "nsfw" in image.error


@pytest.mark.slow
def test_nanobanana_log_env_turns_on_debug_logging() -> None:
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if k != "NANOBANANA_LOG"}

    code = (
        "import logging, nanobanana\n"
        "log = logging.getLogger('nanobanana')\n"
        "print(log.level == logging.DEBUG, any(getattr(h, '_nanobanana', False) for h in log.handlers))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, "NANOBANANA_LOG": "debug"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["True", "True"]
    quiet = subprocess.run(
        [sys.executable, "-c", code], env=base, capture_output=True, text=True, check=True
    )
    assert quiet.stdout.split() == ["False", "False"]


# -- sequences are never read character by character ----------------------------------


def test_a_bare_image_urls_string_is_one_url_not_its_characters() -> None:
    status = decode(
        nb.ImageStatus, {"task_id": "t", "status": "completed", "image_urls": "https://cdn/a.png"}
    )
    assert status.image_urls == ("https://cdn/a.png",)
    assert status.image_url == "https://cdn/a.png"
    blank = decode(nb.ImageStatus, {"task_id": "t", "status": "completed", "image_urls": ""})
    assert blank.image_urls == () and blank.image_url is None
    # built by hand, the same rule
    assert nb.ImageStatus("t", "completed", image_urls="https://cdn/b.png").image_urls == (
        "https://cdn/b.png",
    )


@pytest.mark.parametrize(
    ("cls", "data", "path"),
    [
        (nb.ImageStatus, {"task_id": "t", "status": "x", "image_urls": {"a": "b"}}, "image_urls"),
        (nb.ImageStatus, {"task_id": "t", "status": "x", "image_urls": ["a", 3]}, "image_urls"),
        (nb.ModelCatalog, {"image_models": "nano-banana"}, "data.image_models"),
        (nb.ModelCatalog, {"video_models": {"id": "v", "name": "V"}}, "data.video_models"),
        (nb.ModelCatalog, {"video_models": [{"id": "v", "name": "V"}, "w"]}, "video_models[1]"),
    ],
)
def test_a_sequence_field_takes_a_list_only(cls: type, data: dict, path: str) -> None:
    with pytest.raises(nb.UnexpectedResponseError) as info:
        decode(cls, data)
    assert path in str(info.value)


def test_a_model_catalog_built_by_hand_refuses_a_string() -> None:
    with pytest.raises(TypeError):
        nb.ModelCatalog(image_models="nano-banana")  # type: ignore[arg-type]
    assert nb.ModelCatalog(image_models=[nb.ModelInfo("a", "A")]).image_models == (
        nb.ModelInfo("a", "A"),
    )


@pytest.mark.anyio
async def test_save_writes_one_file_for_a_bare_image_urls_string(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "cdn.test":
            return httpx.Response(200, content=b"\x89PNG fake")
        data = {"task_id": "t1", "status": "completed", "image_urls": "https://cdn.test/r.png"}
        return httpx.Response(200, json={"success": True, "data": data})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with nb.AsyncClient(api_key=API_KEY, rate_limit=None, http_client=http) as client:
        status = await client.images.status("t1")
        paths = await client.images.save(status, tmp_path)
    await http.aclose()
    assert [p.name for p in paths] == ["t1.png"]
    assert paths[0].read_bytes() == b"\x89PNG fake"


# -- counts are whole numbers ---------------------------------------------------------

CREDIT_FIELDS = [
    (nb.Credits, {}, "credits"),
    (nb.Credits, {"credits": 1}, "total_credits"),
    (nb.CostEstimate, {"type": "image"}, "credits_needed"),
]


@pytest.mark.parametrize(("cls", "base", "field"), CREDIT_FIELDS)
@pytest.mark.parametrize("bad", [1.5, "1.5", True, float("nan"), float("inf"), "two", [2]])
def test_a_credit_count_that_is_not_whole_is_malformed(
    cls: type, base: dict, field: str, bad: Any
) -> None:
    with pytest.raises(nb.UnexpectedResponseError) as info:
        decode(cls, {**base, field: bad})
    assert f"data.{field}" in str(info.value)


@pytest.mark.parametrize(("cls", "base", "field"), CREDIT_FIELDS)
@pytest.mark.parametrize("good", [2, 2.0, "2", " 2 ", "2.0"])
def test_a_whole_credit_count_is_read_however_it_is_written(
    cls: type, base: dict, field: str, good: Any
) -> None:
    assert getattr(decode(cls, {**base, field: good}), field) == 2


def test_fractional_credits_in_a_generate_answer_are_a_malformed_response() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        data = {"task_id": "t1", "status": "pending", "credits_used": 1.5}
        return httpx.Response(200, json={"success": True, "data": data})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with nb.Client(api_key=API_KEY, rate_limit=None, http_client=http) as client:
        with pytest.raises(nb.UnexpectedResponseError) as info:
            client.images.generate("x")
    http.close()
    assert "credits_used" in str(info.value)
    assert info.value.may_have_been_processed  # accepted and charged, but unreadable


@pytest.mark.parametrize(("raw", "read"), [(42, 42), (42.9, 42), ("99.5", 99), (100.0, 100)])
def test_progress_is_a_percentage_rounded_down(raw: Any, read: int) -> None:
    for cls in (nb.ImageStatus, nb.VideoStatus):
        assert decode(cls, {"task_id": "t", "status": "x", "progress": raw}).progress == read


@pytest.mark.parametrize("bad", [True, float("nan"), float("inf"), "lots", [50]])
def test_progress_that_is_not_a_number_is_malformed(bad: Any) -> None:
    for cls in (nb.ImageStatus, nb.VideoStatus):
        with pytest.raises(nb.UnexpectedResponseError, match=r"data\.progress"):
            decode(cls, {"task_id": "t", "status": "x", "progress": bad})


# -- deep nesting ----------------------------------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def test_deeply_nested_data_decodes_without_blowing_the_stack() -> None:
    deep = _nested(100_000)
    status = decode(
        nb.ImageStatus, {"task_id": "t", "status": "failed", "error": deep, "extra": deep}
    )
    assert status.error is not None and len(status.error) < 200
    message = decode(
        nb.VideoStatus, {"task_id": "t", "status": "failed", "error": {"message": deep}}
    )
    assert message.error is not None and len(message.error) < 200
    for cls, data in (
        (nb.Credits, {"credits": deep}),
        (nb.Credits, {"credits": 1, "is_vip": deep}),
        (nb.ModelCatalog, {"image_models": deep}),
    ):
        with pytest.raises(nb.UnexpectedResponseError):
            decode(cls, data)


DEEP_BODY = b"[" * 100_000 + b"]" * 100_000
DEEP_ENVELOPE = b'{"success":true,"data":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_001


@pytest.mark.anyio
@pytest.mark.parametrize("body", [DEEP_BODY, DEEP_ENVELOPE], ids=["list", "envelope"])
async def test_a_100k_deep_body_is_an_unexpected_response_async(body: bytes) -> None:
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body))
    )
    async with nb.AsyncClient(api_key=API_KEY, rate_limit=None, http_client=http) as client:
        with pytest.raises(nb.UnexpectedResponseError, match="nests too deeply"):
            await client.account.credits()
        with pytest.raises(nb.UnexpectedResponseError) as info:
            await client.images.generate("x")
    await http.aclose()
    assert info.value.may_have_been_processed


@pytest.mark.parametrize("status_code", [200, 400, 500])
def test_a_100k_deep_body_is_a_typed_error_sync(status_code: int) -> None:
    http = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(status_code, content=DEEP_BODY))
    )
    with nb.Client(api_key=API_KEY, rate_limit=None, http_client=http, max_retries=0) as client:
        with pytest.raises(nb.NanoBananaError) as info:
            client.account.credits()
    http.close()
    expected = {
        200: nb.UnexpectedResponseError,
        400: nb.BadRequestError,
        500: nb.InternalServerError,
    }[status_code]
    assert type(info.value) is expected
    assert len(str(info.value)) < 1000


# -- the fast path of a status decode gives what the converter gives ---------------------

_COMMON_STATUSES = [
    {"task_id": "t", "status": "pending"},
    {"task_id": "t", "status": "pending", "progress": 37, "image_url": None, "completed_at": None},
    {
        "task_id": "t",
        "status": "completed",
        "progress": 100,
        "image_url": "https://x/1.png",
        "completed_at": "2024-01-01T00:00:00Z",
    },
    {"task_id": "t", "status": "completed", "image_urls": ["https://x/1.png", "https://x/2.png"]},
    {
        "task_id": "t",
        "status": "completed",
        "image_url": "https://x/0.png",
        "image_urls": ["https://x/1.png"],
    },
    {
        "task_id": "t",
        "status": "completed",
        "image_url": "https://x/1.png",
        "image_urls": ["https://x/1.png"],
    },
    {"task_id": "t", "status": "completed", "image_url": "", "image_urls": []},
    {"task_id": "t", "status": "failed", "progress": -3, "error": "provider error"},
    {"task_id": "t", "status": "x", "completed_at": "2024-01-01T00:00:00.250+02:00"},
    {"task_id": "t", "status": "x", "completed_at": "2024-01-01T00:00:00"},
]
_UNUSUAL_STATUSES = [
    {"task_id": "t", "status": "x", "progress": 100, "seed": 7},  # a field for extra
    {"task_id": "t", "status": "x", "extra": {"kept": "in extra"}},
    {"task_id": "t", "status": "x", "progress": 12.7},
    {"task_id": "t", "status": "x", "progress": "40"},
    {"task_id": "t", "status": "x", "image_urls": "https://x/1.png"},
    {"task_id": "t", "status": "x", "error": {"code": "E", "message": "nsfw"}},
    {"task_id": "t", "status": "x", "completed_at": 1704067200},
]


@pytest.mark.parametrize(
    ("data", "common"),
    [(d, True) for d in _COMMON_STATUSES] + [(d, False) for d in _UNUSUAL_STATUSES],
)
@pytest.mark.parametrize("cls", [nb.ImageStatus, nb.VideoStatus])
def test_the_fast_status_decode_gives_what_the_converter_gives(
    cls: type, data: dict, common: bool
) -> None:
    from nanobanana import _converter

    if cls is nb.VideoStatus:
        if "image_urls" in data and not common:
            return  # an image-only shape
        data = {("video_url" if k == "image_url" else k): v for k, v in data.items()}
        data.pop("image_urls", None)
    fast = _converter._FAST[cls](data)
    slow = _converter.converter.structure(data, cls)  # the converter's own hooks
    assert (fast is not None) == common
    assert decode(cls, data) == slow
    if fast is not None:
        assert fast == slow
    declared = _converter.declared_fields(cls)
    assert slow.extra == {k: v for k, v in data.items() if k not in declared}


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "x"},
        {"task_id": 1, "status": "x"},
        {"task_id": "t", "status": "x", "progress": True},
        {"task_id": "t", "status": "x", "completed_at": "yesterday"},
        {"task_id": "t", "status": "x", "image_urls": ["ok", 3]},
    ],
)
def test_the_fast_status_decode_leaves_malformed_data_to_the_converter(bad: dict) -> None:
    from nanobanana import _converter

    assert _converter._FAST[nb.ImageStatus](bad) is None
    with pytest.raises(nb.UnexpectedResponseError):
        decode(nb.ImageStatus, bad)
