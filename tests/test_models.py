"""Decoding: what users get from JSON the server sends, and what happens when it is odd."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import nanobanana as nb
from nanobanana._converter import decode


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
    assert catalog.video_models[0] == nb.ModelInfo("veo-3.1-fast", "VEO 3.1 Fast", False)


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
