"""The request schema is the one description of a request: the generated methods, the
catalog's allowed values, the JSON body and the batch's cost previews all follow it."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args

import attrs
import httpx
import pytest

import nanobanana as nb
from nanobanana import _catalog, _types
from nanobanana._options import RequestOptions
from nanobanana._protocol import encode
from nanobanana._requests import CostRequest, cost_request, doc, wire_name

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "nb_sk_test_0123456789abcdef"

OPTION_NAMES = ["extra_headers", "extra_query", "extra_body", "timeout"]


def _clients() -> list[Any]:
    return [nb.AsyncClient(api_key=API_KEY), nb.Client(api_key=API_KEY)]


SCHEMA_METHODS = [
    ("images", "generate", nb.ImageRequest),
    ("videos", "generate", nb.VideoRequest),
    ("account", "calculate_cost", CostRequest),
]
ENDPOINT_METHODS = [
    ("images", "generate"),
    ("images", "status"),
    ("videos", "generate"),
    ("videos", "status"),
    ("account", "credits"),
    ("account", "calculate_cost"),
    ("models", "list"),
]


def _resolve(annotation: str) -> Any:
    namespace = {name: getattr(_types, name) for name in _types.__all__}
    namespace.update(Mapping=Mapping, httpx=httpx)
    return eval(annotation, namespace)


@pytest.mark.parametrize("flavour", ["async", "sync"])
@pytest.mark.parametrize(("resource", "method", "schema"), SCHEMA_METHODS)
def test_generated_signature_is_the_schema(
    flavour: str, resource: str, method: str, schema: type[Any]
) -> None:
    client = _clients()[flavour == "sync"]
    function = getattr(type(getattr(client, resource)), method)
    params = list(inspect.signature(function).parameters.values())[1:]  # self
    fields = attrs.fields(schema)
    assert [p.name for p in params] == [f.name for f in fields] + OPTION_NAMES
    for param, field in zip(params, fields, strict=False):
        # the annotation is copied from the schema as written, and means the same type
        assert param.annotation == field.type, field.name
        assert _resolve(param.annotation) == _resolve(str(field.type))
        if field.kw_only:
            assert param.kind is inspect.Parameter.KEYWORD_ONLY
            assert param.default is None and field.default is None
        else:  # prompt / type: positional and required
            assert param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            assert param.default is inspect.Parameter.empty
    # every field's doc is its Args: line
    text = " ".join(inspect.getdoc(function).split())  # type: ignore[union-attr]
    for field in fields:
        assert f"{field.name}: {doc(field)}" in text


@pytest.mark.parametrize("flavour", ["async", "sync"])
@pytest.mark.parametrize(("resource", "method"), ENDPOINT_METHODS)
def test_every_endpoint_method_takes_the_per_call_options(
    flavour: str, resource: str, method: str
) -> None:
    client = _clients()[flavour == "sync"]
    function = getattr(getattr(client, resource), method)
    params = inspect.signature(function).parameters
    option_fields = {f.name: f for f in attrs.fields(RequestOptions)}
    assert list(option_fields) == OPTION_NAMES
    for name in OPTION_NAMES:
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[name].default is None
        assert params[name].annotation == option_fields[name].type


@pytest.mark.slow
def test_generated_methods_are_not_stale(tmp_path: Path) -> None:
    out = tmp_path / "_schema_methods.py"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate.py"), "--out", str(out)], check=True
    )
    committed = ROOT / "nanobanana" / "_async" / "_schema_methods.py"
    assert out.read_text() == committed.read_text(), "run `nox -s generate`"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate.py"), "--check", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
    out.write_text(out.read_text() + "\n# a hand edit\n")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate.py"), "--check", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1 and "stale" in proc.stdout


def test_literal_types_are_exported() -> None:
    for name in _types.__all__:
        if not name.startswith("Known"):
            assert getattr(nb, name) is getattr(_types, name)
            assert name in nb.__all__


def test_catalog_values_come_from_the_literals() -> None:
    assert get_args(nb.ImageMode) == _catalog.MODES
    assert get_args(nb.Quality) == _catalog.QUALITIES
    assert get_args(nb.OutputFormat) == _catalog.OUTPUT_FORMATS
    assert get_args(nb.CostType) == _catalog.COST_TYPES
    # every row's values are in the type, and the type has no value no row takes
    images, videos = _catalog.IMAGE_MODELS.values(), _catalog.VIDEO_MODELS.values()
    assert {r for s in images for r in s.aspect_ratios} == set(get_args(nb.AspectRatio))
    assert {r for s in images for r in s.resolutions} == set(get_args(nb.ImageResolution))
    assert {r for s in videos for r in s.aspect_ratios} == set(get_args(nb.VideoAspectRatio))
    assert {r for s in videos for r in s.resolutions} == set(get_args(nb.VideoResolution))
    # model ids stay open strings; the known ones are the tables' rows
    assert get_args(nb.ImageModel) == (_types.KnownImageModel, str)
    assert set(get_args(_types.KnownImageModel)) == set(_catalog.IMAGE_MODELS)
    assert set(get_args(_types.KnownVideoModel)) == set(_catalog.VIDEO_MODELS)


def test_requests_are_plain_data_with_keyword_only_fields() -> None:
    request = nb.ImageRequest("x", aspect_ratio="banana")  # type: ignore[arg-type]
    assert request.aspect_ratio == "banana"  # not validated at construction
    with pytest.raises(TypeError):
        nb.ImageRequest("x", "text")  # type: ignore[call-arg]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        request.prompt = "y"  # type: ignore[misc]
    assert nb.ImageRequest("x") == nb.ImageRequest("x")
    assert hash(CostRequest("image")) == hash(CostRequest("image"))


def test_encode_uses_wire_names_drops_none_and_resolves_the_mode() -> None:
    assert encode(nb.ImageRequest("x")) == {"prompt": "x", "mode": "text"}
    assert encode(nb.ImageRequest("x", image_url="https://e.x/a.png", quality="hd")) == {
        "prompt": "x",
        "mode": "image",
        "image_url": "https://e.x/a.png",
        "quality": "hd",
    }
    assert encode(nb.ImageRequest("x", mode="text", image_url="u")) == {
        "prompt": "x",
        "mode": "text",
        "image_url": "u",
    }
    assert encode(nb.VideoRequest("x", model="sora-2", generate_audio=False)) == {
        "prompt": "x",
        "model_id": "sora-2",
        "generate_audio": False,
    }
    assert encode(CostRequest("video", model="sora-2")) == {"type": "video", "model": "sora-2"}
    assert [wire_name(f) for f in attrs.fields(nb.VideoRequest)][1] == "model_id"
    # the body keeps the schema's field order (mode right after the prompt)
    assert list(encode(nb.ImageRequest("x", num_images=2))) == ["prompt", "mode", "num_images"]


def test_a_cost_preview_is_derived_from_a_request() -> None:
    image = nb.ImageRequest(
        "x",
        model="nano-banana-pro",
        image_url="https://e.x/a.png",
        aspect_ratio="4:5",
        resolution="2K",
        num_images=2,
        quality="hd",
        output_format="jpeg",
    )
    assert cost_request(image) == CostRequest(
        "image",
        mode="image",
        model="nano-banana-pro",
        num_images=2,
        resolution="2K",
        quality="hd",
        aspect_ratio="4:5",
    )
    video = nb.VideoRequest(
        "x",
        model="veo-3.1",
        aspect_ratio="9:16",
        duration=8,
        resolution="1080p",
        image_url="u",
        generate_audio=True,
        negative_prompt="rain",
    )
    assert cost_request(video) == CostRequest(
        "video",
        model="veo-3.1",
        resolution="1080p",
        aspect_ratio="9:16",
        duration=8,
        generate_audio=True,
    )
    assert cost_request(nb.ImageRequest("x")) == CostRequest("image", mode="text")


def test_validate_dispatches_on_the_request_and_refuses_anything_else() -> None:
    _catalog.validate(nb.ImageRequest("x"))
    _catalog.validate(nb.VideoRequest("x"))
    _catalog.validate(CostRequest("image"))
    with pytest.raises(nb.InvalidParameterError, match=r"nb\.ImageRequest"):
        _catalog.validate({"prompt": "x"})  # type: ignore[arg-type]
    with pytest.raises(nb.InvalidParameterError, match="applies to type='video' only"):
        _catalog.validate(CostRequest("image", duration=4))
    with pytest.raises(nb.InvalidParameterError, match="applies to type='image' only"):
        _catalog.validate(CostRequest("video", quality="hd"))


def test_a_journal_fingerprint_ignores_unset_fields() -> None:
    """A field added to the schema later leaves the fingerprints of requests that do not
    use it unchanged, so a journal written before the upgrade still resumes."""
    from nanobanana._batch_models import fingerprint, request_json

    assert request_json(nb.ImageRequest("x", quality="hd")) == '{"prompt":"x","quality":"hd"}'
    assert fingerprint("image", 0, nb.ImageRequest("x")) != fingerprint(
        "image", 0, nb.ImageRequest("x", num_images=1)
    )
