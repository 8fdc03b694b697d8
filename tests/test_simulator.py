"""The simulator checked against the reference's tables: every model row, every error
code, every cell of the VEO price table, the rate limit, the ledger, the result files."""

from __future__ import annotations

import io
import json
import struct
from typing import Any

import httpx
import pytest

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana, ManualClock

# -- the reference's tables, written out independently of the simulator ---------------

IMAGE_ROWS: dict[str, dict[str, Any]] = {
    "nano-banana": {
        "resolutions": [],
        "ratios": ["1:1", "3:4", "4:3", "9:16", "16:9"],
        "base": {"text": 1, "image": 2},
        "extra": {},
        "subscription": False,
    },
    "nano-banana-pro": {
        "resolutions": ["1K", "2K", "4K"],
        "ratios": ["1:1", "3:2", "2:3", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"],
        "base": {"text": 6, "image": 6},
        "extra": {"4K": 14},
        "subscription": False,
    },
    "nano-banana-2": {
        "resolutions": ["1K", "2K", "4K"],
        "ratios": ["1:1", "3:2", "2:3", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"],
        "base": {"text": 4, "image": 8},
        "extra": {"2K": 4, "4K": 14},
        "subscription": True,
    },
    "seedream4": {
        "resolutions": [],
        "ratios": ["1:1", "3:4", "4:3", "9:16", "16:9"],
        "base": {"text": 4, "image": 4},
        "extra": {},
        "subscription": True,
    },
}

VIDEO_ROWS: dict[str, tuple[list[str], list[str], list[int], str]] = {
    "veo-3.1-fast": (["720p", "1080p"], ["16:9", "9:16"], [4, 6, 8], "yes"),
    "veo-3.1": (["720p", "1080p"], ["16:9", "9:16"], [4, 6, 8], "yes"),
    "seedance-1.5-fast": (["720p", "1080p"], ["16:9", "9:16", "1:1"], [4, 8, 12], "yes"),
    "seedance-1.5": (["720p", "1080p"], ["16:9", "9:16", "1:1"], [4, 8, 12], "yes"),
    "seedance-2.0": (["480p", "720p"], ["16:9", "9:16", "1:1", "4:3"], [5, 10, 15], "yes"),
    "wan-2.5": (["480p", "720p", "1080p"], ["16:9", "9:16"], [5, 10], "no"),
    "sora-2": (["720p"], ["16:9", "9:16"], [4, 8, 12], "always"),
    "sora-2-pro": (["720p", "1080p"], ["16:9", "9:16"], [4, 8, 12], "always"),
    "kling-o3-std": (["720p"], ["16:9", "9:16", "1:1"], [5, 10], "yes"),
    "kling-o3-pro": (["720p"], ["16:9", "9:16", "1:1"], [5, 10], "yes"),
    "grok-video": (["480p", "720p"], ["16:9", "9:16", "1:1"], [6, 10], "no"),
}

VEO_FAST = {
    ("720p", False): {4: 10, 6: 15, 8: 20},
    ("720p", True): {4: 15, 6: 20, 8: 30},
    ("1080p", False): {4: 15, 6: 20, 8: 25},
    ("1080p", True): {4: 20, 6: 25, 8: 35},
}


def expected_image_price(model: str, mode: str, resolution: str | None, hd: bool, n: int) -> int:
    row = IMAGE_ROWS[model]
    per_image = row["base"][mode] + row["extra"].get(resolution, 0) + (2 if hd else 0)
    return per_image * n


# -- helpers ---------------------------------------------------------------------------


def raw(
    fake: FakeNanoBanana,
    method: str,
    route: str,
    body: Any = None,
    *,
    key: str | None = "default",
    params: dict[str, str] | None = None,
) -> httpx.Response:
    """A request on the wire, bypassing the SDK's local checks."""
    headers = {}
    if key is not None:
        headers["Authorization"] = f"Bearer {fake.api_key if key == 'default' else key}"
    with fake.http_client() as http:
        return http.request(
            method,
            f"{fake.base_url}/{route}",
            headers=headers,
            params=params,
            content=None if body is None else json.dumps(body).encode(),
        )


def error_of(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert body["success"] is False
    assert set(body["error"]) == {"code", "message"}
    return response.status_code, body["error"]["code"]


@pytest.fixture
def fake() -> FakeNanoBanana:
    return FakeNanoBanana(clock=ManualClock(), seed=7, credits=100_000, rate_limit=None)


# -- models and validation -------------------------------------------------------------


def test_models_lists_every_row_of_the_tables(fake: FakeNanoBanana) -> None:
    with fake.client() as client:
        catalog = client.models.list()
    assert [m.id for m in catalog.image_models] == list(IMAGE_ROWS)
    assert [m.id for m in catalog.video_models] == list(VIDEO_ROWS)
    assert [m.id for m in catalog.image_models if m.is_default] == ["nano-banana"]
    assert [m.id for m in catalog.video_models if m.is_default] == ["veo-3.1-fast"]


@pytest.mark.parametrize("model", list(IMAGE_ROWS))
def test_image_row_ratios_and_resolutions(fake: FakeNanoBanana, model: str) -> None:
    row = IMAGE_ROWS[model]
    for ratio in row["ratios"]:
        r = raw(
            fake, "POST", "images/generate", {"prompt": "p", "model": model, "aspect_ratio": ratio}
        )
        assert r.status_code == 200, (ratio, r.text)
    for resolution in ["1K", "2K", "4K"]:
        r = raw(
            fake,
            "POST",
            "images/generate",
            {"prompt": "p", "model": model, "resolution": resolution},
        )
        if resolution in row["resolutions"]:
            assert r.status_code == 200
        else:
            assert error_of(r) == (400, "INVALID_REQUEST")
    outside = "21:9" if "21:9" not in row["ratios"] else "7:3"
    r = raw(
        fake, "POST", "images/generate", {"prompt": "p", "model": model, "aspect_ratio": outside}
    )
    assert error_of(r) == (400, "INVALID_REQUEST")


@pytest.mark.parametrize("model", list(VIDEO_ROWS))
def test_video_row_is_enforced(fake: FakeNanoBanana, model: str) -> None:
    resolutions, ratios, durations, audio = VIDEO_ROWS[model]
    for ratio in ratios:
        r = raw(
            fake,
            "POST",
            "videos/generate",
            {"prompt": "p", "model_id": model, "aspect_ratio": ratio},
        )
        assert r.status_code == 200, r.text
        assert r.json()["data"]["provider"] == "wavespeed"
        assert r.json()["data"]["status"] == "processing"
    for res in ["480p", "720p", "1080p"]:
        r = raw(
            fake, "POST", "videos/generate", {"prompt": "p", "model_id": model, "resolution": res}
        )
        assert r.status_code == (200 if res in resolutions else 400)
    for duration in [4, 5, 6, 8, 10, 12, 15]:
        r = raw(
            fake,
            "POST",
            "videos/generate",
            {"prompt": "p", "model_id": model, "duration": duration},
        )
        assert r.status_code == (200 if duration in durations else 400)
    for flag in (True, False):
        r = raw(
            fake,
            "POST",
            "videos/generate",
            {"prompt": "p", "model_id": model, "generate_audio": flag},
        )
        refused = (audio == "no" and flag) or (audio == "always" and not flag)
        assert r.status_code == (400 if refused else 200)


def test_unknown_models_and_bad_prompts_are_refused_by_the_server(fake: FakeNanoBanana) -> None:
    with fake.client(max_retries=0) as client:
        with pytest.raises(nb.BadRequestError) as info:
            client.images.generate("p", model="no-such-model")
        assert info.value.code == "INVALID_MODEL"
        with pytest.raises(nb.BadRequestError) as info:
            client.videos.generate("p", model="no-such-video")
        assert info.value.code == "INVALID_MODEL"
        with pytest.raises(nb.BadRequestError) as info:
            client.account.calculate_cost("image", model="no-such-model")
        assert info.value.code == "INVALID_MODEL"
    for body in ({"prompt": ""}, {"prompt": "   "}, {}, {"prompt": 3}):
        assert error_of(raw(fake, "POST", "images/generate", body)) == (400, "INVALID_PROMPT")
        assert error_of(raw(fake, "POST", "videos/generate", body)) == (400, "INVALID_PROMPT")
    assert fake.charges == []


def test_malformed_request_bodies_are_400(fake: FakeNanoBanana) -> None:
    with fake.http_client() as http:
        r = http.post(
            f"{fake.base_url}/images/generate",
            headers={"Authorization": f"Bearer {fake.api_key}"},
            content=b"{not json",
        )
    assert error_of(r) == (400, "INVALID_REQUEST")
    # The video endpoint names its model model_id; "model" there is a wire mistake.
    r = raw(fake, "POST", "videos/generate", {"prompt": "p", "model": "veo-3.1"})
    assert error_of(r) == (400, "INVALID_REQUEST")
    assert "model" in r.json()["error"]["message"]


# -- pricing ---------------------------------------------------------------------------


def _image_cases() -> list[tuple[str, str, str | None, bool, int]]:
    cases = []
    for model, row in IMAGE_ROWS.items():
        for mode in ("text", "image"):
            for resolution in [None, *row["resolutions"]]:
                for hd in (False, True):
                    for n in (1, 2, 4):
                        cases.append((model, mode, resolution, hd, n))
    return cases


@pytest.mark.parametrize(("model", "mode", "resolution", "hd", "n"), _image_cases())
def test_image_prices_follow_the_table(
    fake: FakeNanoBanana, model: str, mode: str, resolution: str | None, hd: bool, n: int
) -> None:
    want = expected_image_price(model, mode, resolution, hd, n)
    with fake.client() as client:
        cost = client.account.calculate_cost(
            "image",
            mode=mode,
            model=model,
            resolution=resolution,
            quality="hd" if hd else None,
            num_images=n,
        )
        assert cost.credits_needed == want
        before = client.account.credits().credits
        task = client.images.generate(
            "p",
            mode=mode,
            model=model,
            image_url="https://example.com/in.png" if mode == "image" else None,
            resolution=resolution,
            quality="hd" if hd else None,
            num_images=n,
        )
    assert task.credits_used == want
    assert task.credits_remaining == before - want
    assert fake.charges[-1].credits == want
    assert fake.charges[-1].task_id == task.task_id


@pytest.mark.parametrize(("resolution", "audio"), list(VEO_FAST))
@pytest.mark.parametrize("duration", [4, 6, 8])
def test_every_cell_of_the_veo_fast_table(
    fake: FakeNanoBanana, resolution: str, audio: bool, duration: int
) -> None:
    want = VEO_FAST[(resolution, audio)][duration]
    with fake.client() as client:
        cost = client.account.calculate_cost(
            "video",
            model="veo-3.1-fast",
            resolution=resolution,
            duration=duration,
            generate_audio=audio,
        )
        task = client.videos.generate(
            "p",
            model="veo-3.1-fast",
            resolution=resolution,
            duration=duration,
            generate_audio=audio,
        )
    assert cost.credits_needed == want
    assert task.credits_used == want
    assert fake.charges[-1].credits == want


@pytest.mark.parametrize("model", [m for m in VIDEO_ROWS if m != "veo-3.1-fast"])
def test_other_video_prices_agree_between_cost_and_charge(fake: FakeNanoBanana, model: str) -> None:
    resolutions, _, durations, audio = VIDEO_ROWS[model]
    audios = {"yes": [False, True], "no": [False], "always": [True]}[audio]
    with fake.client() as client:
        for res in resolutions:
            for duration in durations:
                for flag in audios:
                    kw = {"resolution": res, "duration": duration, "generate_audio": flag}
                    cost = client.account.calculate_cost("video", model=model, **kw)
                    task = client.videos.generate("p", model=model, **kw)
                    assert cost.credits_needed == task.credits_used > 0
                    assert nb_video_price(model, **kw) == task.credits_used
        # a longer video never costs less
        short = client.account.calculate_cost("video", model=model, duration=min(durations))
        long = client.account.calculate_cost("video", model=model, duration=max(durations))
        assert long.credits_needed > short.credits_needed


def nb_video_price(model: str, **kw: Any) -> int:
    from nanobanana.testing import video_price

    return video_price(model, **kw)


def test_default_request_prices(fake: FakeNanoBanana) -> None:
    with fake.client() as client:
        assert client.images.generate("p").credits_used == 1
        assert client.images.generate("p", image_url="https://e.x/a.png").credits_used == 2
        assert client.videos.generate("p").credits_used == 10  # veo-3.1-fast, 720p, 4 s, silent
        assert client.account.calculate_cost("video").credits_needed == 10
        assert client.account.calculate_cost("image").credits_needed == 1


# -- accounts and every error code -----------------------------------------------------


def test_credits_report_the_account(fake: FakeNanoBanana) -> None:
    key = fake.add_key(credits=148, total_credits=500, subscription="pro", is_vip=True)
    with fake.client(api_key=key) as client:
        credits = client.account.credits()
        assert (credits.credits, credits.total_credits, credits.is_vip) == (148, 500, True)
        assert credits.subscription is not None and credits.subscription.plan == "pro"
        assert credits.subscription.end_date is not None
        client.images.generate("p", model="nano-banana-pro")
        assert client.account.credits().credits == 142
    plain = fake.add_key(subscription=None)
    with fake.client(api_key=plain) as client:
        assert client.account.credits().subscription is None


@pytest.mark.parametrize(
    ("key", "status", "code", "error"),
    [
        (None, 401, "UNAUTHORIZED", nb.AuthenticationError),
        ("nb_sk_fake_unknown", 401, "UNAUTHORIZED", nb.AuthenticationError),
    ],
)
def test_missing_or_unknown_key_is_401(
    fake: FakeNanoBanana, key: str | None, status: int, code: str, error: type[Exception]
) -> None:
    for route in ("account/credits", "models", "images/status"):
        assert error_of(raw(fake, "GET", route, key=key)) == (status, code)
    if key is not None:
        with fake.client(api_key=key) as client, pytest.raises(error):
            client.account.credits()


@pytest.mark.parametrize("state", ["disabled", "expired"])
def test_disabled_and_expired_keys_are_403_everywhere(fake: FakeNanoBanana, state: Any) -> None:
    key = fake.add_key(state=state)
    with fake.client(api_key=key) as client:
        with pytest.raises(nb.PermissionDeniedError) as info:
            client.account.credits()
        assert info.value.code == "FORBIDDEN"
        assert state in info.value.message
        with pytest.raises(nb.PermissionDeniedError):
            client.images.generate("p")
    assert fake.charges == []


def test_missing_scope_refuses_generation_only(fake: FakeNanoBanana) -> None:
    key = fake.add_key(state="missing_scope")
    with fake.client(api_key=key) as client:
        assert client.account.credits().credits > 0
        with pytest.raises(nb.PermissionDeniedError):
            client.images.generate("p")
        with pytest.raises(nb.PermissionDeniedError):
            client.videos.generate("p")
    fake.set_key_state(key, "valid")
    with fake.client(api_key=key) as client:
        client.images.generate("p")


@pytest.mark.parametrize("model", ["nano-banana-2", "seedream4"])
def test_subscription_only_models_need_a_plan(fake: FakeNanoBanana, model: str) -> None:
    no_plan = fake.add_key(subscription=None)
    with fake.client(api_key=no_plan) as client:
        with pytest.raises(nb.PermissionDeniedError) as info:
            client.images.generate("p", model=model)
        assert info.value.status_code == 403
        client.images.generate("p", model="nano-banana-pro")  # not subscription-only
    lapsed = fake.add_key(subscription="pro", subscription_end=fake.wall().replace(year=2000))
    with fake.client(api_key=lapsed) as client, pytest.raises(nb.PermissionDeniedError):
        client.images.generate("p", model=model)
    with fake.client() as client:
        assert client.images.generate("p", model=model).credits_used > 0


def test_short_balance_is_402_and_charges_nothing(fake: FakeNanoBanana) -> None:
    key = fake.add_key(credits=5)
    with fake.client(api_key=key) as client:
        with pytest.raises(nb.InsufficientCreditsError) as info:
            client.images.generate("p", model="nano-banana-pro")
        assert info.value.code == "INSUFFICIENT_CREDITS"
        assert client.account.credits().credits == 5
        client.images.generate("p", num_images=4, quality=None)  # 4 credits fit
        assert client.account.credits().credits == 1
    fake.account(key).credits = 100
    with fake.client(api_key=key) as client:
        client.images.generate("p", model="nano-banana-pro")
    assert [c.credits for c in fake.charges] == [4, 6]


def test_unknown_task_is_404(fake: FakeNanoBanana) -> None:
    with fake.client() as client:
        with pytest.raises(nb.TaskNotFoundError):
            client.images.status("clx-not-a-task")
        video = client.videos.generate("p")
        with pytest.raises(nb.TaskNotFoundError):  # a video id is no image task
            client.images.status(video.task_id)
    other = fake.add_key()
    with fake.client(api_key=other) as client, pytest.raises(nb.TaskNotFoundError):
        client.videos.status(video.task_id)  # another account's task


def test_content_filter_is_451_and_charges_nothing() -> None:
    fake = FakeNanoBanana(clock=ManualClock(), content_filter=["Forbidden Fruit"])
    with fake.client() as client:
        with pytest.raises(nb.ContentFilteredError) as info:
            client.images.generate("a FORBIDDEN fruit still life")
        assert info.value.code == "CONTENT_FILTERED"
        with pytest.raises(nb.ContentFilteredError):
            client.videos.generate("calm", negative_prompt="forbidden fruit")
        client.images.generate("an apple")
        fake.content_filter = ["apple"]
        with pytest.raises(nb.ContentFilteredError):
            client.images.generate("an apple")
    assert len(fake.charges) == 1


def test_unknown_route_and_method(fake: FakeNanoBanana) -> None:
    assert error_of(raw(fake, "GET", "images/list"))[0] == 404
    assert error_of(raw(fake, "GET", "images/generate"))[0] == 405


# -- task lifecycle --------------------------------------------------------------------


def test_image_task_lifecycle_in_simulated_time() -> None:
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock, durations={"image": 10.0})
    with fake.client() as client:
        task = client.images.generate("p", num_images=3)
        assert task.status == "pending"
        seen = []
        for _ in range(4):
            status = client.images.status(task.task_id)
            seen.append((status.status, status.progress))
            assert status.image_url is None and not status.done
            clock.advance(2.4)
        assert [p for _, p in seen] == sorted(p for _, p in seen)
        assert seen[0] == ("pending", 0)
        clock.advance(1.0)
        done = client.images.status(task.task_id)
    assert done.status == "completed" and done.progress == 100 and done.succeeded
    assert len(done.image_urls) == 3 and done.image_url == done.image_urls[0]
    assert all(fake.asset_host in url for url in done.image_urls)
    assert done.completed_at == fake.wall(fake.tasks[task.task_id].ends).replace(microsecond=0)


def test_video_task_ends_succeeded() -> None:
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock, durations={"veo-3.1": (100.0, 100.0)})
    with fake.client() as client:
        task = client.videos.generate("p", model="veo-3.1")
        clock.advance(50)
        half = client.videos.status(task.task_id)
        assert (half.status, half.progress) == ("processing", 50)
        clock.advance(50)
        done = client.videos.status(task.task_id)
    assert done.status == "succeeded" and done.video_url is not None
    assert done.video_url.split("?")[0].endswith(".mp4")


def test_default_durations_are_realistic() -> None:
    fake = FakeNanoBanana(clock=ManualClock(), seed=3, credits=10**6)
    with fake.client() as client:
        images = [client.images.generate("p").task_id for _ in range(30)]
        videos = [client.videos.generate("p").task_id for _ in range(30)]
    tasks = fake.tasks
    assert all(10 <= tasks[t].duration <= 20 for t in images)
    assert all(60 <= tasks[t].duration <= 300 for t in videos)


def test_durations_per_model_and_callables() -> None:
    fake = FakeNanoBanana(
        clock=ManualClock(),
        durations={"nano-banana-pro": 42.0, "video": lambda rng: 7.0 + rng.random()},
    )
    with fake.client() as client:
        pro = client.images.generate("p", model="nano-banana-pro").task_id
        video = client.videos.generate("p").task_id
    assert fake.tasks[pro].duration == 42.0
    assert 7.0 <= fake.tasks[video].duration < 8.0


def test_failure_rate_fails_tasks_with_an_error() -> None:
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock, seed=1, failure_rate=1.0, durations={"image": 10.0})
    with fake.client() as client:
        task = client.images.generate("p")
        clock.advance(10)
        status = client.images.status(task.task_id)
    assert status.status == "failed" and status.failed
    assert status.progress is not None and 30 <= status.progress <= 99
    assert status.error and "failed" in status.error
    assert status.image_url is None


def test_failure_rate_is_a_rate_and_seeded() -> None:
    def failures(seed: int) -> int:
        fake = FakeNanoBanana(clock=ManualClock(), seed=seed, failure_rate=0.25, credits=10**6)
        with fake.client() as client:
            for _ in range(200):
                client.images.generate("p")
        return sum(t.fails for t in fake.tasks.values())

    assert failures(5) == failures(5)
    assert 25 <= failures(5) <= 75


# -- the rate limit --------------------------------------------------------------------


def test_sliding_window_refuses_the_61st_request_inside_60_seconds() -> None:
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock)  # 60 per 60 s, the reference's limit
    with fake.client(max_retries=0, rate_limit=None) as client:
        for _ in range(60):
            client.account.credits()
            clock.advance(0.5)  # 60 requests over 30 s
        with pytest.raises(nb.RateLimitError) as info:
            client.account.credits()  # the 61st, at t=30
        assert info.value.code == "RATE_LIMIT_EXCEEDED"
        assert info.value.retry_after == 30  # the first slot frees at t=60
        clock.advance(29)
        with pytest.raises(nb.RateLimitError) as info:
            client.models.list()  # refused requests do not count...
        assert info.value.retry_after == 1
        clock.advance(1)
        client.account.credits()  # ...so the slot of t=0 is free at t=60
        with pytest.raises(nb.RateLimitError):
            client.account.credits()  # t=0.5's slot frees only at 60.5
    statuses = [r.status for r in fake.requests]
    assert statuses.count(200) == 61 and statuses.count(429) == 3


def test_any_60_second_window_holds_at_most_60_requests() -> None:
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock, rate_limit=(60, 60.0))
    with fake.client(max_retries=0, rate_limit=None) as client:
        for step in range(400):
            try:
                client.account.credits()
            except nb.RateLimitError:
                pass
            clock.advance(0.1 + (step % 7) * 0.05)
    admitted = [r.time for r in fake.requests if r.status == 200]
    for i, start in enumerate(admitted):
        assert sum(1 for t in admitted[i:] if t < start + 60.0) <= 60
    assert len(admitted) > 60


def test_rate_limit_is_per_key_and_ignores_downloads() -> None:
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock, rate_limit=(3, 10.0), durations={"image": 1.0})
    other = fake.add_key()
    with fake.client(max_retries=0, rate_limit=None) as client:
        task = client.images.generate("p")
        clock.advance(1)
        url = client.images.status(task.task_id).image_url
        assert url is not None
        with fake.http_client() as http:
            for _ in range(5):
                assert http.get(url).status_code == 200
        client.account.credits()
        with pytest.raises(nb.RateLimitError):
            client.account.credits()
    with fake.client(api_key=other, max_retries=0, rate_limit=None) as client:
        client.account.credits()
    r = raw(fake, "GET", "account/credits")
    assert r.status_code == 429 and r.headers["retry-after"] == "9"


def test_per_key_rate_limit_override() -> None:
    fake = FakeNanoBanana(clock=ManualClock(), rate_limit=None)
    slow = fake.add_key(rate_limit=(1, 5.0))
    assert raw(fake, "GET", "models", key=slow).status_code == 200
    assert raw(fake, "GET", "models", key=slow).status_code == 429
    assert all(raw(fake, "GET", "models").status_code == 200 for _ in range(100))


# -- ledger and records ----------------------------------------------------------------


def test_the_ledger_catches_a_deliberate_double_submission() -> None:
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock)
    with fake.client() as client:
        client.images.generate("a red bicycle", model="nano-banana-pro")
        clock.advance(3)
        client.images.generate("a blue bicycle", model="nano-banana-pro")
        assert fake.double_charges() == []
        clock.advance(2)
        client.images.generate("a red bicycle", model="nano-banana-pro")  # the double
    doubles = fake.double_charges()
    assert len(doubles) == 1
    assert doubles[0].task_id == fake.charges[2].task_id and doubles[0].credits == 6
    assert fake.double_charges(window=4.0) == []  # 5 s apart: outside a 4 s window


def test_records_carry_the_key_hash_never_the_key(fake: FakeNanoBanana) -> None:
    with fake.client() as client:
        client.images.generate("p", aspect_ratio="16:9")
    (record,) = fake.requests
    assert record.method == "POST" and record.route == "images/generate"
    assert record.path == "/api/v1/images/generate"
    assert record.body == {"prompt": "p", "mode": "text", "aspect_ratio": "16:9"}
    assert record.key_hash is not None and len(record.key_hash) == 16
    assert fake.api_key not in repr(record) and fake.api_key not in repr(fake.charges)
    assert record.headers["authorization"] == "<redacted>"
    assert record.time == fake.now()


def test_reset_forgets_history_but_keeps_keys(fake: FakeNanoBanana) -> None:
    with fake.client() as client:
        client.images.generate("p")
        fake.reset()
        assert fake.requests == [] and fake.charges == [] and fake.tasks == {}
        assert client.account.credits().credits == 100_000 - 1


# -- result files ----------------------------------------------------------------------


def _finished(fake: FakeNanoBanana, clock: ManualClock, **kw: Any) -> nb.ImageStatus:
    with fake.client() as client:
        task = client.images.generate("p", **kw)
        clock.advance(1000)
        return client.images.status(task.task_id)


@pytest.mark.parametrize(
    ("model", "ratio", "resolution", "size"),
    [
        ("nano-banana", None, None, (1024, 1024)),
        ("nano-banana", "16:9", None, (1024, 576)),
        ("nano-banana", "9:16", None, (576, 1024)),
        ("nano-banana-pro", "21:9", "1K", (1024, 439)),
        ("nano-banana-pro", "4:5", "2K", (1638, 2048)),
        ("nano-banana-2", "3:2", "4K", (4096, 2731)),
    ],
)
@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_images_decode_with_the_asked_shape(
    model: str, ratio: str | None, resolution: str | None, size: tuple[int, int], fmt: str
) -> None:
    Image = pytest.importorskip("PIL.Image")
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock)
    status = _finished(
        fake, clock, model=model, aspect_ratio=ratio, resolution=resolution, output_format=fmt
    )
    assert status.image_url is not None
    with fake.http_client() as http:
        response = http.get(status.image_url)
    assert response.status_code == 200
    assert response.headers["content-type"] == ("image/png" if fmt == "png" else "image/jpeg")
    image = Image.open(io.BytesIO(response.content))
    image.load()
    assert image.format == fmt.upper()
    assert image.size == size


def test_every_image_of_a_batch_is_served_and_they_differ() -> None:
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock)
    status = _finished(fake, clock, num_images=4)
    assert len(status.image_urls) == 4
    with fake.http_client() as http:
        bodies = [http.get(url).content for url in status.image_urls]
    assert all(b.startswith(b"\x89PNG\r\n\x1a\n") for b in bodies)
    assert len(set(bodies)) == 4


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    end = len(data) if end is None else end
    while start < end:
        size, kind = struct.unpack(">I4s", data[start : start + 8])
        assert size >= 8 and start + size <= end
        out[kind] = data[start + 8 : start + size]
        start += size
    assert start == end
    return out


def test_video_is_a_well_formed_mp4() -> None:
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock)
    with fake.client() as client:
        task = client.videos.generate("p", model="veo-3.1-fast", duration=6, resolution="1080p")
        clock.advance(1000)
        status = client.videos.status(task.task_id)
    assert status.video_url is not None
    with fake.http_client() as http:
        response = http.get(status.video_url)
    assert response.headers["content-type"] == "video/mp4"
    top = _boxes(response.content)
    assert list(top) == [b"ftyp", b"moov", b"mdat"]
    assert top[b"ftyp"][:4] == b"isom"
    moov = _boxes(top[b"moov"])
    timescale, duration = struct.unpack(">II", moov[b"mvhd"][12:20])
    assert duration / timescale == 6
    tkhd = _boxes(moov[b"trak"])[b"tkhd"]
    assert struct.unpack(">II", tkhd[-8:]) == (1920 << 16, 1080 << 16)


def test_result_urls_expire() -> None:
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock, result_ttl=60.0, durations={"image": 10.0})
    status = _finished(fake, clock)  # ended at t=10, now t=1000
    assert status.image_url is not None
    with fake.http_client() as http:
        expired = http.get(status.image_url)
        assert expired.status_code == 403
        assert b"expired" in expired.content
        fake.result_ttl = None
        assert http.get(status.image_url).status_code == 200


def test_asset_host_refuses_unknown_or_unfinished_files() -> None:
    clock = ManualClock()
    fake = FakeNanoBanana(clock=clock, durations={"image": 10.0})
    with fake.client() as client:
        task = client.images.generate("p")
    url = fake.asset_urls(task.task_id)[0]
    with fake.http_client() as http:
        assert http.get(url).status_code == 404  # not finished yet
        clock.advance(10)
        assert http.get(url).status_code == 200
        assert http.get(url.replace("token=", "token=x")).status_code == 404
        assert http.get(f"{fake.asset_base}/files/nope-0.png").status_code == 404
        # the API host does not serve files, the asset host does not serve the API
        assert http.get(url.replace(fake.asset_base, fake.base_url)).status_code == 404
        assert http.get(f"{fake.asset_base}/api/v1/models").status_code == 404
        with pytest.raises(httpx.ConnectError):
            http.get("https://elsewhere.test/x")


# -- sharing and packaging -------------------------------------------------------------


def test_threads_share_one_simulator_safely() -> None:
    import threading

    fake = FakeNanoBanana(clock=ManualClock(), credits=10_000, rate_limit=None)
    ids: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        with fake.client() as client:
            for _ in range(25):
                task = client.images.generate("p", model="nano-banana-pro")
                with lock:
                    ids.append(task.task_id)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 200
    assert sorted(c.task_id for c in fake.charges) == sorted(ids)
    assert fake.account().credits == 10_000 - 200 * 6


@pytest.mark.slow
def test_the_simulator_imports_neither_rich_redis_nor_uvicorn() -> None:
    import subprocess
    import sys

    # httpx itself imports rich for its own CLI when rich is installed: start after it.
    code = (
        "import sys, httpx; before = set(sys.modules); "
        "import nanobanana.testing as t; t.FakeNanoBanana(); "
        "bad = sorted(m for m in set(sys.modules) - before "
        "if m.split('.')[0] in ('rich', 'redis', 'uvicorn', 'PIL')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_seed_makes_ids_and_durations_reproducible() -> None:
    def run() -> list[tuple[str, float]]:
        fake = FakeNanoBanana(clock=ManualClock(), seed=99)
        with fake.client() as client:
            for _ in range(3):
                client.images.generate("p")
        return [(t.task_id, t.duration) for t in fake.tasks.values()]

    assert run() == run()
    assert run()[0][0].startswith("clx")


def test_a_bounded_request_log_keeps_the_last_records_and_counts_them_all() -> None:
    from nanobanana.testing import FakeNanoBanana

    fake = FakeNanoBanana(rate_limit=None, request_log=3)
    with fake.client(rate_limit=None) as client:
        for _ in range(5):
            client.account.credits()
        client.models.list()
    assert len(fake.requests) == 3
    assert fake.requests[-1].route == "models"
    assert fake.api_request_count == 6
    fake.reset()
    assert fake.api_request_count == 0
    assert fake.requests == []


def test_answers_carry_the_servers_date_in_whole_seconds(fake: FakeNanoBanana) -> None:
    # As an HTTP server's do: the client reads the server's clock off them (to read
    # completion times against its own).
    import email.utils

    dates = []
    for _ in range(3):
        response = raw(fake, "GET", "account/credits")
        dates.append(email.utils.parsedate_to_datetime(response.headers["date"]))
        fake.clock.advance(0.6)  # type: ignore[attr-defined]
    times = [r.time for r in fake.api_requests]
    assert times[2] - times[0] == pytest.approx(1.2)
    # The second the answer was made in (rounded down), by the simulator's clock.
    assert dates == [fake.wall(t).replace(microsecond=0) for t in times]
