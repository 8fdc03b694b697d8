"""The simulator's tables against the SDK's catalog: two copies of the reference, kept
apart on purpose, that must agree. A row the SDK gets wrong fails here (the simulator
no longer validates with the SDK's own catalog, so nothing else would notice)."""

from __future__ import annotations

import ast
import itertools
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import nanobanana as nb
from nanobanana import _catalog
from nanobanana.testing import FakeNanoBanana, ManualClock
from nanobanana.testing import _tables as tables

TESTING = Path(nb.__file__).parent / "testing"


def test_every_image_row_agrees_with_the_catalog() -> None:
    assert list(tables.IMAGE_MODELS) == list(_catalog.IMAGE_MODELS)
    for model, row in tables.IMAGE_MODELS.items():
        spec = _catalog.IMAGE_MODELS[model]
        assert (row.id, row.name) == (spec.id, spec.name)
        assert set(row.resolutions) == set(spec.resolutions), model
        assert set(row.aspect_ratios) == set(spec.aspect_ratios), model
        assert row.subscription == spec.subscription_required, model


def test_every_video_row_agrees_with_the_catalog() -> None:
    assert list(tables.VIDEO_MODELS) == list(_catalog.VIDEO_MODELS)
    for model, row in tables.VIDEO_MODELS.items():
        spec = _catalog.VIDEO_MODELS[model]
        assert (row.id, row.name) == (spec.id, spec.name)
        assert set(row.resolutions) == set(spec.resolutions), model
        assert set(row.aspect_ratios) == set(spec.aspect_ratios), model
        assert set(row.durations) == set(spec.durations), model
        assert row.audio == spec.audio, model
        assert row.image_input == spec.image_input, model


def test_defaults_and_value_sets_agree_with_the_catalog() -> None:
    assert tables.DEFAULT_IMAGE_MODEL == _catalog.DEFAULT_IMAGE_MODEL
    assert tables.DEFAULT_VIDEO_MODEL == _catalog.DEFAULT_VIDEO_MODEL
    assert set(tables.MODES) == set(_catalog.MODES)
    assert set(tables.QUALITIES) == set(_catalog.QUALITIES)
    assert set(tables.OUTPUT_FORMATS) == set(_catalog.OUTPUT_FORMATS)
    assert set(tables.NUM_IMAGES) == set(_catalog.NUM_IMAGES)
    assert set(tables.COST_TYPES) == set(_catalog.COST_TYPES)


# -- the same, as a user sees it: what the SDK refuses locally, the simulator refuses ------


def _union(attribute: str, rows: Any) -> list[Any]:
    return sorted({v for row in rows for v in getattr(row, attribute)}, key=str)


IMAGE_VALUES: dict[str, list[Any]] = {
    "aspect_ratio": [*_union("aspect_ratios", tables.IMAGE_MODELS.values()), "7:3"],
    "resolution": ["1K", "2K", "4K", "8K"],
    "quality": ["standard", "hd", "ultra"],
    "output_format": ["png", "jpeg", "gif"],
    "num_images": [0, 1, 4, 5],
}
VIDEO_VALUES: dict[str, list[Any]] = {
    "aspect_ratio": [*_union("aspect_ratios", tables.VIDEO_MODELS.values()), "21:9"],
    "resolution": ["480p", "720p", "1080p", "4K"],
    "duration": [*_union("durations", tables.VIDEO_MODELS.values()), 7],
    "generate_audio": [True, False],
}


def _verdicts(
    fake: FakeNanoBanana, client: nb.Client, kind: str, model: str | None, field: str, value: Any
) -> tuple[bool, bool]:
    """(refused by the SDK before sending, refused by the simulator)."""
    sdk_refused = False
    try:
        if kind == "image":
            client.images.generate("p", model=model, **{field: value})
        else:
            client.videos.generate("p", model=model, **{field: value})
    except nb.InvalidParameterError:
        sdk_refused = True
    except nb.BadRequestError:
        pass  # sent, and refused: the simulator's verdict below says so too
    body: dict[str, Any] = {"prompt": "p", field: value}
    if model is not None:
        body["model" if kind == "image" else "model_id"] = model
    with fake.http_client() as http:
        response = http.post(
            f"{fake.base_url}/{kind}s/generate",
            headers={"Authorization": f"Bearer {fake.api_key}"},
            content=json.dumps(body).encode(),
        )
    assert response.status_code in (200, 400), response.text
    return sdk_refused, response.status_code == 400


@pytest.mark.parametrize("kind", ["image", "video"])
def test_the_sdk_refuses_locally_exactly_what_the_simulator_refuses(kind: str) -> None:
    fake = FakeNanoBanana(clock=ManualClock(), credits=10**9, rate_limit=None)
    models = tables.IMAGE_MODELS if kind == "image" else tables.VIDEO_MODELS
    values = IMAGE_VALUES if kind == "image" else VIDEO_VALUES
    disagreements = []
    with fake.client(max_retries=0) as client:
        for model, (field, candidates) in itertools.product([None, *models], list(values.items())):
            for value in candidates:
                sdk, server = _verdicts(fake, client, kind, model, field, value)
                if sdk != server:
                    disagreements.append((model, field, value, f"sdk={sdk} server={server}"))
    assert disagreements == []


def test_a_cost_preview_is_refused_alike() -> None:
    fake = FakeNanoBanana(clock=ManualClock(), rate_limit=None)
    cases: list[dict[str, Any]] = [
        {"type": "image", "model": "nano-banana", "resolution": "2K"},
        {"type": "image", "model": "nano-banana-pro", "aspect_ratio": "21:9"},
        {"type": "video", "model": "sora-2", "generate_audio": False},
        {"type": "video", "model": "wan-2.5", "duration": 10},
        {"type": "video", "duration": 5},
    ]
    with fake.client(max_retries=0) as client, fake.http_client() as http:
        for case in cases:
            try:
                client.account.calculate_cost(**case)
                sdk = False
            except nb.InvalidParameterError:
                sdk = True
            response = http.post(
                f"{fake.base_url}/account/calculate-cost",
                headers={"Authorization": f"Bearer {fake.api_key}"},
                content=json.dumps(case).encode(),
            )
            assert sdk == (response.status_code == 400), case


# -- independence ---------------------------------------------------------------------------


def _sdk_imports(path: Path) -> list[str]:
    """The ``nanobanana`` modules a file imports (``from . import x`` is the simulator's)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "nanobanana"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "nanobanana":
                found += [f"nanobanana.{a.name}" for a in node.names]
            elif node.module.split(".")[0] == "nanobanana":
                found.append(node.module)
    return found


def test_the_simulator_uses_no_sdk_internals_but_the_clock() -> None:
    """Its own tables, validation, JSON and key hashing: only the shared clock (so the
    clients it hands out wait in its time) and the public clients come from the SDK."""
    allowed = {"nanobanana._clock", "nanobanana._async._client", "nanobanana._sync._client"}
    used = {
        (str(path.relative_to(TESTING)), name)
        for path in TESTING.rglob("*.py")
        for name in _sdk_imports(path)
        if name not in allowed and not name.startswith("nanobanana.testing")
    }
    assert used == set()


def test_the_simulator_answers_without_the_sdk_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """Break the SDK's tables: the simulator still answers by its own."""
    monkeypatch.setattr(_catalog, "IMAGE_MODELS", {})
    monkeypatch.setattr(_catalog, "VIDEO_MODELS", {})
    fake = FakeNanoBanana(clock=ManualClock(), rate_limit=None)
    with fake.http_client() as http:

        def post(route: str, body: dict[str, Any]) -> httpx.Response:
            return http.post(
                f"{fake.base_url}/{route}",
                headers={"Authorization": f"Bearer {fake.api_key}"},
                content=json.dumps(body).encode(),
            )

        assert post("images/generate", {"prompt": "p", "model": "nano-banana-pro"}).is_success
        assert post("images/generate", {"prompt": "p", "aspect_ratio": "21:9"}).status_code == 400
        assert post("videos/generate", {"prompt": "p", "model_id": "sora-2"}).is_success
        assert post("account/calculate-cost", {"type": "video", "model": "veo-3.1"}).is_success
        models = http.get(
            f"{fake.base_url}/models", headers={"Authorization": f"Bearer {fake.api_key}"}
        ).json()["data"]
    assert len(models["image_models"]) == 4 and len(models["video_models"]) == 11
