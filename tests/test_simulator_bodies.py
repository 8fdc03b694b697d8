"""Every request body, well-formed or not, gets the documented envelope from the simulator.

A body the real server would refuse is answered 400 (INVALID_REQUEST, INVALID_PROMPT or
INVALID_MODEL) and charges nothing, in-process and over a socket: never a raw exception,
never a 500. The bodies come from a hand-rolled table (every field given a wrong type, a
null, an empty or a huge value) and from a seeded random mix of good and bad fields.
"""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana, ManualClock

ROUTES = ("images/generate", "videos/generate", "account/calculate-cost")
CODES_400 = {"INVALID_REQUEST", "INVALID_PROMPT", "INVALID_MODEL"}

HUGE = 10**400
LONG = "x" * 20_000

# Values wrong for any field of the three bodies: wrong types, empties, huge ones.
WRONG_EVERYWHERE: list[Any] = [[], {}, {"a": 1}, [1, 2], HUGE, -HUGE, 1.5, ""]

# Values wrong for one field in particular (besides WRONG_EVERYWHERE).
WRONG: dict[str, list[Any]] = {
    "prompt": [" ", 3, True, None],
    "mode": ["video", 1, True],
    "model": ["nope", 3, True, "gpt-image-2"],
    "model_id": ["nope", 3, True, "nano-banana"],
    "image_url": [" ", 5, True],
    "aspect_ratio": ["21:9", "0:0", "16:10", 16, True],  # 21:9: not nano-banana's row
    "resolution": ["1K", "4K", "8K", 2, True],  # the default image model takes none
    "num_images": [0, 5, -1, 1.0, "2", True],
    "quality": ["ultra", 0, True],
    "output_format": ["gif", 0, True],
    "duration": [5, 0, -4, 4.0, "8", True, 10**30],  # 5: not veo-3.1-fast's row
    "generate_audio": ["yes", 1, 0],
    "negative_prompt": [3, True],
    "type": ["audio", None, 1, True],
}

FIELDS = {
    "images/generate": [
        "prompt",
        "mode",
        "model",
        "image_url",
        "aspect_ratio",
        "resolution",
        "num_images",
        "quality",
        "output_format",
    ],
    "videos/generate": [
        "prompt",
        "model_id",
        "aspect_ratio",
        "duration",
        "resolution",
        "image_url",
        "generate_audio",
        "negative_prompt",
    ],
    "account/calculate-cost": [
        "type",
        "mode",
        "model",
        "num_images",
        "resolution",
        "quality",
        "aspect_ratio",
        "duration",
        "generate_audio",
    ],
}

VALID = {
    "images/generate": {"prompt": "a lighthouse"},
    "videos/generate": {"prompt": "a harbour at dusk"},
    "account/calculate-cost": {"type": "video"},
}

RAW_BODIES: list[bytes] = [
    b"",
    b"{not json",
    b"\xff\xfe{}",  # not UTF-8
    b"[" * 100_000,  # nested too deep for the JSON parser
    b'{"prompt": "p", "num_images": ' + b"9" * 5000 + b"}",  # past int-string limits
    b"null",
    b"true",
    b"42",
    b'"a prompt"',
    b'["a prompt"]',
    b'{"prompt": "p"} trailing',
]


def _fake(**kw: Any) -> FakeNanoBanana:
    return FakeNanoBanana(clock=ManualClock(), credits=10**9, rate_limit=None, **kw)


def _send(fake: FakeNanoBanana, route: str, content: bytes) -> httpx.Response:
    """One POST through the in-process transport (what every front end hands the service)."""
    request = httpx.Request(
        "POST",
        f"{fake.base_url}/{route}",
        headers={"Authorization": f"Bearer {fake.api_key}", "Content-Type": "application/json"},
        content=content,
    )
    return fake.transport.handle_request(request)


def _encode(body: Any) -> bytes:
    return json.dumps(body).encode()


def _refused(response: httpx.Response, what: object) -> str:
    assert response.status_code == 400, (what, response.status_code, response.text[:300])
    envelope = response.json()
    assert envelope["success"] is False and set(envelope["error"]) == {"code", "message"}
    assert envelope["error"]["code"] in CODES_400, (what, envelope)
    assert len(envelope["error"]["message"]) <= 300  # a huge value is not echoed whole
    return str(envelope["error"]["code"])


def _malformed_bodies() -> list[tuple[str, dict[str, Any]]]:
    """A valid body of each route with one field made wrong, for every field and value."""
    cases = []
    for route, fields in FIELDS.items():
        for field in fields:
            if field == "prompt" and route == "account/calculate-cost":
                continue
            for value in [*WRONG_EVERYWHERE, *WRONG.get(field, [])]:
                if field == "negative_prompt" and value == "":
                    continue  # an empty negative prompt is a valid one
                cases.append((route, {**VALID[route], field: value}))
        cases.append((route, {**VALID[route], "seed": 1}))  # an unknown field
    cases.append(("images/generate", {}))  # no prompt at all
    cases.append(("videos/generate", {"negative_prompt": "blur"}))
    cases.append(("images/generate", {"prompt": "p", "mode": "image"}))  # no image_url
    cases.append(("videos/generate", {"prompt": "p", "model": "veo-3.1"}))  # model_id here
    return cases


def test_every_malformed_body_is_400_and_charges_nothing() -> None:
    fake = _fake()
    cases = _malformed_bodies()
    for route, body in cases:
        if route == "account/calculate-cost" and body.get("type") is None and "type" in body:
            body = {k: v for k, v in body.items() if k != "type"}
        _refused(_send(fake, route, _encode(body)), (route, body))
    assert fake.charges == [] and fake.tasks == {}
    assert fake.account().credits == 10**9
    assert len(cases) > 300


@pytest.mark.parametrize("route", ROUTES)
def test_bodies_that_are_not_json_objects_are_400(route: str) -> None:
    fake = _fake()
    for content in RAW_BODIES:
        code = _refused(_send(fake, route, content), content[:40])
        if route != "account/calculate-cost" and content != b'{"prompt": "p"} trailing':
            assert code in ("INVALID_REQUEST", "INVALID_PROMPT")
    assert fake.charges == []


def test_a_request_without_a_model_is_checked_against_the_default_row() -> None:
    """The issue's two cases: the default models' rows apply when the body names none."""
    fake = _fake()
    for route, body in [
        ("videos/generate", {"prompt": "p", "duration": 5}),
        ("videos/generate", {"prompt": "p", "resolution": "480p"}),
        ("videos/generate", {"prompt": "p", "aspect_ratio": "1:1"}),
        ("images/generate", {"prompt": "p", "aspect_ratio": "21:9"}),
        ("images/generate", {"prompt": "p", "resolution": "2K"}),
        ("account/calculate-cost", {"type": "video", "duration": 5}),
        ("account/calculate-cost", {"type": "image", "aspect_ratio": "21:9"}),
    ]:
        assert _refused(_send(fake, route, _encode(body)), body) == "INVALID_REQUEST"
    with fake.client(max_retries=0) as client:
        # Refused by the SDK itself or by the server: either way, nothing is charged.
        with pytest.raises((nb.BadRequestError, nb.InvalidParameterError)):
            client.videos.generate("p", duration=5)
        with pytest.raises((nb.BadRequestError, nb.InvalidParameterError)):
            client.images.generate("p", aspect_ratio="21:9")
        # What the default rows do allow goes through.
        assert client.videos.generate("p", duration=8, aspect_ratio="9:16").credits_used == 20
        assert client.images.generate("p", aspect_ratio="16:9").credits_used == 1
    assert [c.credits for c in fake.charges] == [20, 1]


def _random_value(rng: random.Random, route: str, field: str) -> Any:
    good: dict[str, list[Any]] = {
        "prompt": ["p", "a cat"],
        "mode": ["text", "image"],
        "model": ["nano-banana", "nano-banana-pro", "nano-banana-2", "seedream4"]
        if route != "account/calculate-cost"
        else ["nano-banana", "nano-banana-pro", "veo-3.1-fast", "sora-2", "wan-2.5"],
        "model_id": ["veo-3.1-fast", "veo-3.1", "seedance-2.0", "wan-2.5", "sora-2"],
        "image_url": ["https://example.com/a.png"],
        "aspect_ratio": ["1:1", "16:9", "9:16", "21:9", "4:3"],
        "resolution": ["1K", "2K", "4K", "480p", "720p", "1080p"],
        "num_images": [1, 2, 4],
        "quality": ["standard", "hd"],
        "output_format": ["png", "jpeg"],
        "duration": [4, 5, 6, 8, 10, 12, 15],
        "generate_audio": [True, False],
        "negative_prompt": ["blur"],
        "type": ["image", "video"],
    }
    if rng.random() < 0.75:
        return rng.choice(good[field])
    return rng.choice([*WRONG_EVERYWHERE, *WRONG.get(field, []), None])


def test_any_mix_of_fields_gets_an_envelope_and_only_a_200_charges() -> None:
    """A seeded fuzz: 1500 bodies mixing good and bad values, each answered 200 (charged
    exactly what it says, and what calculate-cost quotes) or 400 (nothing charged)."""
    fake = _fake()
    rng = random.Random(20261202)
    answered = {200: 0, 400: 0}
    for _ in range(1500):
        route = rng.choice(ROUTES)
        body = {
            field: _random_value(rng, route, field)
            for field in FIELDS[route]
            if rng.random() < (0.9 if field in ("prompt", "type") else 0.35)
        }
        charged = len(fake.charges)
        balance = fake.account().credits
        response = _send(fake, route, _encode(body))
        if response.status_code != 200:
            _refused(response, (route, body))
            assert len(fake.charges) == charged and fake.account().credits == balance
            answered[400] += 1
            continue
        answered[200] += 1
        data = response.json()["data"]
        if route == "account/calculate-cost":
            assert data["credits_needed"] > 0 and len(fake.charges) == charged
            continue
        assert len(fake.charges) == charged + 1
        assert (
            data["credits_used"] == fake.charges[-1].credits == balance - data["credits_remaining"]
        )
        # calculate-cost quotes the same parameters (model named "model" for both kinds).
        given = {("model" if k == "model_id" else k): v for k, v in body.items()}
        cost = {k: v for k, v in given.items() if k in FIELDS["account/calculate-cost"]}
        cost.pop("output_format", None)
        if route == "images/generate" and cost.get("mode") is None and body.get("image_url"):
            cost["mode"] = "image"
        kind = "image" if route == "images/generate" else "video"
        quote = _send(fake, "account/calculate-cost", _encode({**cost, "type": kind}))
        assert quote.json()["data"]["credits_needed"] == data["credits_used"], body
    assert answered[200] > 100 and answered[400] > 100  # the mix exercised both ends


def test_every_model_of_the_tables_is_priced() -> None:
    """A row the tables add without a price would be a KeyError (a 500) on generate."""
    fake = _fake()
    with fake.client() as client:
        for model in [m.id for m in client.models.list().image_models]:
            assert client.account.calculate_cost("image", model=model).credits_needed > 0
        for model in [m.id for m in client.models.list().video_models]:
            assert client.account.calculate_cost("video", model=model).credits_needed > 0


def test_download_paths_that_are_not_files_are_404() -> None:
    fake = _fake()
    with fake.http_client() as http:
        for path in ["/files/clx-\u00b2.png", "/files/-.png", "/files/x", "/", "/files/a/b"]:
            assert http.get(fake.asset_base + path).status_code == 404


@pytest.mark.slow
def test_over_a_socket_malformed_bodies_are_400_never_500() -> None:
    fake = _fake()
    bodies = [
        *RAW_BODIES,
        _encode({"prompt": "p", "duration": 5}),
        _encode({"prompt": "p", "duration": HUGE}),
        _encode({"prompt": "p", "aspect_ratio": "21:9"}),
    ]
    with fake.serve() as base_url, httpx.Client() as http:
        headers = {"Authorization": f"Bearer {fake.api_key}"}
        for route in ("videos/generate", "images/generate", "account/calculate-cost"):
            for content in bodies:
                response = http.post(f"{base_url}/{route}", content=content, headers=headers)
                _refused(response, (route, content[:40]))
    assert fake.charges == []
