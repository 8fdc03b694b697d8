"""The API key stays out of every exception and log line, whole or in part, even when a
proxy echoes it in a long body or httpx quotes the header; a malformed key is refused at
construction without being echoed."""

from __future__ import annotations

import inspect
import json
import logging
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import nanobanana as nb
from nanobanana._secrets import FRAGMENT, clip, mask_secret, mask_tokens

KEY = "nb_sk_S3cr3tK3yAbCdEfGhIjKlMnOpQr"


async def resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def fragments(secret: str) -> Iterator[str]:
    """Every run of FRAGMENT or more characters of the key: none may appear anywhere."""
    for n in range(FRAGMENT, len(secret) + 1):
        for i in range(len(secret) - n + 1):
            yield secret[i : i + n]


def leaks(texts: list[str], secret: str) -> list[str]:
    return [f for f in set(fragments(secret)) for t in texts if f in t]


def everything_about(error: BaseException) -> list[str]:
    """What a user or a log handler may see of an error: str, repr, args, the whole
    traceback with its ``__cause__``/``__context__`` chain."""
    texts = [str(error), repr(error), *map(str, error.args)]
    texts.append("".join(traceback.format_exception(type(error), error, error.__traceback__)))
    seen = error.__cause__ or error.__context__
    while seen is not None:
        texts += [str(seen), repr(seen), *map(str, seen.args)]
        seen = seen.__cause__ or seen.__context__
    return texts


def make_client(flavour: str, handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> Any:
    cls = nb.AsyncClient if flavour == "async" else nb.Client
    return cls(api_key=KEY, rate_limit=None, _transport=httpx.MockTransport(handler), **kw)


def headers_echo(request: httpx.Request) -> dict[str, str]:
    return {k.title(): v for k, v in request.headers.items()}


# What proxies and servers send back: each echoes the Authorization header somewhere
# past the first 200 characters, or cut mid-key.
def json_echo(status: int) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"padding": "p" * 180, "headers": headers_echo(request)}
        return httpx.Response(status, json=body)

    return handler


def html_echo(status: int) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        lines = "".join(
            f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in headers_echo(request).items()
        )
        page = f"<html><body><h1>{status} Bad Gateway</h1>{'<p>' * 40}<table>{lines}</table></body></html>"
        return httpx.Response(status, html=page)

    return handler


def cut_echo(cut: int) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        text = f"upstream said: Authorization: {request.headers['authorization']}"
        return httpx.Response(502, text=text[: len("upstream said: Authorization: Bearer ") + cut])

    return handler


def envelope_echo(request: httpx.Request) -> httpx.Response:
    # The error envelope's message itself quotes the header, and a JSON-escaped copy.
    message = f"invalid token {request.headers['authorization']} ({json.dumps(KEY)[1:-1]})"
    return httpx.Response(
        401, json={"success": False, "error": {"code": "UNAUTHORIZED", "message": message}}
    )


def data_echo(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"success": True, "data": "x" * 60 + KEY})


HANDLERS = {
    "json-400": json_echo(400),
    "json-200": json_echo(200),
    "html-502": html_echo(502),
    "html-200": html_echo(200),
    "cut-mid-key": cut_echo(14),
    "cut-after-prefix": cut_echo(9),
    "envelope": envelope_echo,
    "data": data_echo,
}


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync"])
@pytest.mark.parametrize("case", sorted(HANDLERS))
async def test_echoed_keys_are_masked_before_any_truncation(
    flavour: str, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(flavour, HANDLERS[case], max_retries=0)
    with caplog.at_level(logging.DEBUG):  # every logger, httpx's included
        with pytest.raises(nb.NanoBananaError) as info:
            await resolve(client.account.credits())
    texts = everything_about(info.value)
    texts += [r.getMessage() for r in caplog.records]
    assert not leaks(texts, KEY)
    assert "nb_sk_S3" not in str(info.value)  # not even a short prefix of the key
    assert str(info.value)  # something useful is still said


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_httpx_errors_quoting_the_header_are_masked(flavour: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        value = request.headers["authorization"].encode()
        try:
            raise ValueError(f"Illegal header value {value!r}")  # what h11 says
        except ValueError as exc:
            raise httpx.LocalProtocolError(f"Illegal header value {value!r}") from exc

    client = make_client(flavour, handler, max_retries=0)
    with pytest.raises(nb.APIConnectionError) as info:
        await resolve(client.account.credits())
    texts = everything_about(info.value)
    assert not leaks(texts, KEY)
    assert "LocalProtocolError" in str(info.value)
    assert isinstance(info.value.__cause__, httpx.LocalProtocolError)
    assert isinstance(info.value.__cause__.__cause__, ValueError)


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_a_key_with_quotes_and_backslashes_is_masked_in_every_spelling(flavour: str) -> None:
    key = 'nb_sk_q"uo\\te' + "Z" * 12

    def handler(request: httpx.Request) -> httpx.Response:
        auth = request.headers["authorization"]
        body = {"echo": auth, "bytes": repr(auth.encode()), "padding": "p" * 150}
        return httpx.Response(500, json=body)

    cls = nb.AsyncClient if flavour == "async" else nb.Client
    client = cls(
        api_key=key, rate_limit=None, max_retries=0, _transport=httpx.MockTransport(handler)
    )
    with pytest.raises(nb.InternalServerError) as info:
        await resolve(client.images.generate("a fox"))
    assert not leaks(everything_about(info.value), key)
    assert info.value.may_have_been_processed


MALFORMED = [
    ("nb_sk_abc\x00defghijklmnop", "control character"),
    ("nb_sk_abc\x0bdefghijklmnop", "whitespace"),
    ("nb_sk_abc\x7fdefghijklmnop", "control character"),
    ("nb_sk_abcédefghijklmnop", "non-ASCII"),
    ("nb_sk_abc\u200bdefghijklmnop", "non-ASCII"),
    ("nb_sk_abc defghijklmnop", "whitespace"),
    ("nb_sk_abc\ndefghijklmnop", "whitespace"),
    ("", "empty"),
    (" \t\n", "empty"),
]


@pytest.mark.parametrize("cls", [nb.AsyncClient, nb.Client])
@pytest.mark.parametrize(("key", "what"), MALFORMED)
def test_a_malformed_key_is_refused_at_construction_without_echoing_it(
    cls: Any, key: str, what: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200))
    with pytest.raises(nb.AuthenticationError) as info:
        cls(api_key=key, rate_limit=None, _transport=transport)
    assert what in str(info.value)
    assert not leaks(everything_about(info.value), key)
    assert not key.strip() or key.strip() not in str(info.value)
    if "\x00" not in key:  # the same from the environment (which cannot hold a NUL)
        monkeypatch.setenv("NANOBANANA_API_KEY", key)
        with pytest.raises(nb.AuthenticationError):
            cls(rate_limit=None, _transport=transport)
    assert sent == []


def test_a_non_string_key_is_refused() -> None:
    with pytest.raises(nb.AuthenticationError, match="must be a str"):
        nb.Client(api_key=b"nb_sk_bytes")  # type: ignore[arg-type]


def test_surrounding_whitespace_is_dropped() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"success": True, "data": {"credits": 1}})

    with nb.Client(
        api_key=f"  {KEY}\n", rate_limit=None, _transport=httpx.MockTransport(handler)
    ) as client:
        client.account.credits()
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"


# -- the pure masking functions -------------------------------------------------------


def test_clip_masks_before_cutting() -> None:
    text = "x" * 180 + f"Authorization: Bearer {KEY} and more"
    clipped = clip(text, 200)
    assert len(clipped) <= 203 and clipped.endswith("...")
    assert "S3cr" not in clipped and "nb_sk_" not in clipped[:180]
    assert clip(f"token={KEY}", 200) == "token=nb_sk_..."


def test_mask_tokens() -> None:
    assert mask_tokens("Authorization: Bearer abc.def-ghi") == "Authorization: Bearer ..."
    assert (
        mask_tokens('{"authorization":"bearer nb_sk_X1"}') == '{"authorization":"bearer nb_sk_..."}'
    )
    assert mask_tokens("key nb_sk_S3cr3t, then") == "key nb_sk_..., then"
    assert mask_tokens("nothing here") == "nothing here"


def test_mask_secret_masks_any_long_enough_part_of_the_key() -> None:
    assert mask_secret(f"a {KEY} b", KEY) == "a nb_sk_... b"
    assert mask_secret(f"cut: {KEY[:12]}", KEY) == "cut: nb_sk_..."
    assert mask_secret(f"tail: {KEY[-FRAGMENT:]}!", KEY) == "tail: nb_sk_...!"
    assert mask_secret(f"middle: {KEY[10:20]} {KEY[21:30]}", KEY) == "middle: nb_sk_... nb_sk_..."
    short = KEY[3 : 3 + FRAGMENT - 1]
    assert mask_secret(f"short: {short}", KEY) == f"short: {short}"  # too short to matter
    assert mask_secret("unrelated", KEY) == "unrelated"
    assert mask_secret("x", "") == "x"


# -- a task's status echoing the key: the server's text in errors, logs, the journal ---


def status_echo(*statuses: str, extra: bool = False) -> Callable[[httpx.Request], httpx.Response]:
    """A generate answer, then a status per poll (the last one repeated): each status,
    and a failed task's ``error``, echo the Authorization header and a bare part of the key.
    ``extra``: with a field the model does not declare (decoded the general way)."""
    polls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/generate"):
            data: dict[str, Any] = {"task_id": "t1", "status": "pending", "credits_used": 1}
            return httpx.Response(200, json={"success": True, "data": data})
        echo = f"{request.headers['authorization']} (key {KEY[6:]})"
        state = statuses[min(len(polls), len(statuses) - 1)].format(echo=echo)
        polls.append(state)
        data = {"task_id": "t1", "status": state, "progress": 100}
        if state == "completed":
            data["image_url"] = "https://assets.example/t1.png"
        if state == "failed":
            data["error"] = f"provider said: {echo}"
        if extra:
            data["seed"] = 7
        return httpx.Response(200, json={"success": True, "data": data})

    return handler


async def collect(batch: Any) -> list[Any]:
    """A batch's items, async or sync."""
    if hasattr(batch, "__aiter__"):
        return [item async for item in batch]
    return list(batch)


def make_polling_client(flavour: str, handler: Callable[[httpx.Request], httpx.Response]) -> Any:
    return make_client(flavour, handler, max_retries=0, poll_policy=nb.PollPolicy(0, 0))


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_a_failed_tasks_error_echoing_the_key_is_masked(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_polling_client(flavour, status_echo("failed"))
    task = await resolve(client.images.generate("a fox"))
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(nb.TaskFailedError) as info:
            await resolve(task.wait())
    error = info.value
    texts = [*everything_about(error), str(error.error), repr(error.status)]
    texts += [error.status.to_json(), *(r.getMessage() for r in caplog.records)]
    assert not leaks(texts, KEY)
    assert "provider said: Bearer nb_sk_..." in str(error)  # the rest of the text is kept
    assert error.task_id == "t1" and error.status.status == "failed"


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_an_unknown_status_echoing_the_key_is_logged_masked(
    flavour: str, anyio_backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    # (A new value for each run: an unknown status is logged once per value per process.)
    unknown = f"stalled-{flavour}-{anyio_backend} {{echo}}"
    client = make_polling_client(flavour, status_echo(unknown, "completed"))
    task = await resolve(client.images.generate("a fox"))
    with caplog.at_level(logging.WARNING, logger="nanobanana"):
        status = await resolve(task.wait())
    assert status.status == "completed"
    said = [r.getMessage() for r in caplog.records if "unknown task status" in r.getMessage()]
    assert len(said) == 1 and f"stalled-{flavour}-{anyio_backend}" in said[0]
    assert not leaks(said, KEY)
    polled = await resolve(client.images.status("t1"))  # the status model itself too
    assert not leaks([repr(polled), polled.to_json()], KEY)


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_a_batch_journal_keeps_no_key_a_failed_task_echoed(
    flavour: str, tmp_path: Path
) -> None:
    client = make_polling_client(flavour, status_echo("failed", extra=True))
    journal = tmp_path / "journal.sqlite"
    items = await collect(client.images.generate_many(["a fox"], journal=journal, preflight=False))
    assert len(items) == 1 and isinstance(items[0].error, nb.TaskFailedError)
    assert not leaks([*everything_about(items[0].error), items[0].to_json()], KEY)
    stored = [p.read_bytes().decode("latin-1") for p in tmp_path.iterdir()]
    assert stored and not leaks(stored, KEY)
    # and what a later run (or ``nanobanana report``) reads back from it
    again = await collect(client.images.generate_many(["a fox"], journal=journal, preflight=False))
    assert isinstance(again[0].error, nb.TaskFailedError)
    assert not leaks(everything_about(again[0].error), KEY)


# -- the key echoed in a status's undeclared fields (``extra``) -----------------------------


def extra_echo(kind: str, state: str) -> Callable[[httpx.Request], httpx.Response]:
    """A generate answer, then a status whose fields the model does not declare echo the
    Authorization header: as a string, in an object, in a list, as an object's key."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/generate"):
            data: dict[str, Any] = {"task_id": "t1", "status": "pending", "credits_used": 1}
            return httpx.Response(200, json={"success": True, "data": data})
        header = request.headers["authorization"]
        data = {"task_id": "t1", "status": state, "progress": 100}
        if state == "completed":
            data[f"{kind}_url"] = f"https://assets.example/t1.{'png' if kind == 'image' else 'mp4'}"
        else:
            data["error"] = "provider said no"
        data["seed"] = 7
        data["debug"] = f"upstream request: {header}"
        data["request"] = {
            "headers": {"Authorization": header, "Accept": "*/*"},
            "trail": ["queued", f"signed with {KEY[6:]}", 3, None],
            header: "as a key too",
            # every run of FRAGMENT characters of the key, at every offset
            "pieces": [f"<{KEY[i : i + FRAGMENT]}>" for i in range(len(KEY) - FRAGMENT + 1)],
        }
        return httpx.Response(200, json={"success": True, "data": data})

    return handler


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync"])
@pytest.mark.parametrize("kind", ["image", "video"])
async def test_a_key_echoed_in_a_status_extra_fields_is_masked(
    flavour: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A field the model does not declare is kept in ``extra``, and shown by the status's
    repr, to_json and every log line or journal that holds the status: a key echoed
    there, as a string or anywhere in an object or a list, reads nb_sk_... ."""
    client = make_polling_client(flavour, extra_echo(kind, "completed"))
    resource = client.images if kind == "image" else client.videos
    with caplog.at_level(logging.DEBUG):
        task = await resolve(resource.generate("a fox"))
        waited = await resolve(task.wait())
        polled = await resolve(resource.status("t1"))
    for status in (waited, polled):
        texts = [repr(status), str(status), status.to_json(), repr(dict(status.extra))]
        assert not leaks([*texts, *(r.getMessage() for r in caplog.records)], KEY)
        # the rest is kept as the server sent it
        extra = status.extra
        assert extra["seed"] == 7 and extra["debug"] == "upstream request: Bearer nb_sk_..."
        assert extra["request"]["headers"] == {"Authorization": "Bearer nb_sk_...", "Accept": "*/*"}
        assert extra["request"]["trail"] == ["queued", "signed with nb_sk_...", 3, None]
        assert extra["request"]["Bearer nb_sk_..."] == "as a key too"
        assert set(extra["request"]["pieces"]) == {"<nb_sk_...>"}


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_a_failed_task_and_a_batch_journal_keep_no_key_echoed_in_extra_fields(
    flavour: str, tmp_path: Path
) -> None:
    client = make_polling_client(flavour, extra_echo("image", "failed"))
    task = await resolve(client.images.generate("a fox"))
    with pytest.raises(nb.TaskFailedError) as info:
        await resolve(task.wait())
    assert not leaks(everything_about(info.value), KEY)
    assert info.value.status.extra["debug"] == "upstream request: Bearer nb_sk_..."
    journal = tmp_path / "journal.sqlite"
    items = await collect(client.images.generate_many(["a fox"], journal=journal, preflight=False))
    assert len(items) == 1 and isinstance(items[0].error, nb.TaskFailedError)
    assert not leaks([*everything_about(items[0].error), items[0].to_json()], KEY)
    stored = [p.read_bytes().decode("latin-1") for p in tmp_path.iterdir()]
    assert stored and not leaks(stored, KEY)


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_a_key_deep_in_a_status_extra_field_is_masked(flavour: str) -> None:
    """Deep in objects and lists (600 levels, well within what the JSON parser reads)."""
    depth = 300

    def handler(request: httpx.Request) -> httpx.Response:
        nested = json.dumps(f"echo: {request.headers['authorization']}")
        for _ in range(depth):
            nested = '{"next": [' + nested + "]}"
        body = '{"success": true, "data": {"task_id": "t1", "status": "processing", '
        body += '"progress": 5, "seed": 7, "trace": ' + nested + "}}"
        return httpx.Response(
            200, content=body.encode(), headers={"content-type": "application/json"}
        )

    client = make_client(flavour, handler)
    status = await resolve(client.images.status("t1"))
    value = status.extra["trace"]
    for _ in range(depth):
        value = value["next"][0]
    assert value == "echo: Bearer nb_sk_..."
    assert status.extra["seed"] == 7 and status.status == "processing"


@pytest.mark.parametrize("secret", [KEY, 'nb_sk_ab"cd\\ef%gh/ij+kl=mnopq', "short!", "x" * 40, ""])
def test_mask_in_data_masks_each_string_as_mask_secret_does(secret: str) -> None:
    """Its quick search (which spares the strings of an answer that holds no key) never
    lets through a piece of any spelling of the key that mask_secret would mask: each
    piece alone, as a value and as a key."""
    from nanobanana._secrets import _spellings, mask_in_data

    forms = _spellings(secret or "-")
    pieces = {
        f"<{f[i : i + n]}>"
        for f in forms
        for n in range(1, len(f) + 1)
        for i in range(len(f) - n + 1)
    }
    pieces |= {"Bearer abc", "bEaReR\tabc", "nb_sk_", "NB_SK_abc", "nb_\u017fk_abc", "plain"}
    for piece in sorted(pieces):
        expected = mask_secret(piece, secret)
        assert mask_in_data({"a": [1, piece]}, secret) == {"a": [1, expected]}
        assert mask_in_data({piece: None}, secret) == {expected: None}
    clean = {"a": ["nothing", {"here": 1.5}], "b": None}
    assert mask_in_data(clean, secret) is clean  # untouched: the same object
