"""Where a download may write: names from URLs and task ids stay inside the directory;
files get the mode ``open()`` would give them."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

import nanobanana as nb
from nanobanana._filenames import (
    MAX_NAME_BYTES,
    inside,
    name_from_url,
    safe_filename,
    suffix_for_type,
)

KEY = "nb_sk_test_0123456789abcdef"


async def resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def asset_host(content_type: str | None = "image/png") -> httpx.MockTransport:
    headers = {"Content-Type": content_type} if content_type else {}
    return httpx.MockTransport(
        lambda request: httpx.Response(200, content=b"DATA", headers=headers)
    )


@pytest.fixture(params=["async", "sync"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    kw: dict[str, Any] = {"api_key": KEY, "rate_limit": None, "_transport": asset_host()}
    if request.param == "async":
        async with nb.AsyncClient(**kw) as c:
            yield c
    else:
        with nb.Client(**kw) as c:
            yield c


def files_under(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


# -- names taken from URLs, end to end ---------------------------------------------------

HOSTILE = [
    # the URLs: a double-encoded "../" and a double-encoded absolute path
    ("https://cdn.test/r/..%252F..%252Fevil.png", "%2F.%2Fevil.png"),
    ("https://cdn.test/r/%252Ftmp%252Fx.png", "%2Ftmp%2Fx.png"),
    # single-encoded separators inside the last segment
    ("https://cdn.test/r/..%2F..%2Fevil.png", "_._evil.png"),
    ("https://cdn.test/r/..%5C..%5Cevil.png", "_._evil.png"),
    ("https://cdn.test/r/%2Fetc%2Fpasswd", "_etc_passwd.png"),  # + Content-Type
    ("https://cdn.test/r/C:%5Cwin.png", "C__win.png"),
    # NUL and control characters
    ("https://cdn.test/r/a%00b.png", "a_b.png"),
    ("https://cdn.test/r/a%0A%0Db%09.png", "a__b_.png"),
    # dot names: hidden files and parent references
    ("https://cdn.test/r/%2e%2e", "download.png"),
    ("https://cdn.test/r/..", "download.png"),
    ("https://cdn.test/r/.htaccess", "download.htaccess"),
    ("https://cdn.test/r/.png", "download.png"),
    ("https://cdn.test/r/evil.png.", "evil.png"),
    # no name at all
    ("https://cdn.test/", "download.png"),
    ("https://cdn.test/r/?x=../../y.png", "download.png"),
    # Windows device names
    ("https://cdn.test/r/CON.png", "_CON.png"),
    ("https://cdn.test/r/com1", "_com1.png"),
    # an ordinary name is left alone, decoded once
    ("https://cdn.test/r/fox%20%C3%A9t%C3%A9.webp?sig=abc", "fox été.webp"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("url", "expected"), HOSTILE)
async def test_a_name_from_the_url_stays_inside_the_directory(
    client: Any, tmp_path: Path, url: str, expected: str
) -> None:
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    path = await resolve(client.download(url, folder))
    assert path == folder / expected
    assert path.read_bytes() == b"DATA"
    assert files_under(tmp_path) == [Path("a", "b", expected)]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("image/jpeg; charset=binary", "download.jpg"),
        ("video/mp4", "download.mp4"),
        (None, "download"),
    ],
)
async def test_an_unnamed_url_takes_its_extension_from_the_content_type(
    tmp_path: Path, content_type: str | None, expected: str
) -> None:
    async with nb.AsyncClient(
        api_key=KEY, rate_limit=None, _transport=asset_host(content_type)
    ) as client:
        path = await client.download("https://cdn.test/r/%2e%2e", tmp_path)
    assert path == tmp_path / expected


@pytest.mark.anyio
@pytest.mark.parametrize(
    "stem",
    ["a" * 400, "é" * 300, "😀" * 120, "a" * 199 + "é" * 5],
)
async def test_long_names_are_cut_on_a_character_boundary_keeping_the_extension(
    client: Any, tmp_path: Path, stem: str
) -> None:
    url = "https://cdn.test/r/" + quote(stem) + ".webp"
    path = await resolve(client.download(url, tmp_path))
    assert path.parent == tmp_path and path.exists()
    assert path.suffix == ".webp"
    assert len(path.name.encode()) <= MAX_NAME_BYTES
    assert stem.startswith(path.stem)


@pytest.mark.anyio
async def test_a_symlinked_directory_is_written_through_and_named_entries_replaced(
    client: Any, tmp_path: Path
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"precious")
    # A symlink already sitting at the name the URL gives points outside: it is
    # replaced, never written through.
    (real / "fox.png").symlink_to(outside)
    path = await resolve(client.download("https://cdn.test/r/fox.png", link))
    assert path == link / "fox.png"
    assert (real / "fox.png").read_bytes() == b"DATA"
    assert not (real / "fox.png").is_symlink()
    assert outside.read_bytes() == b"precious"


@pytest.mark.anyio
async def test_an_explicit_file_path_is_used_as_given(client: Any, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    dest = tmp_path / "sub" / ".." / "chosen..name.png"
    path = await resolve(client.download("https://cdn.test/r/..%252Fx.png", dest))
    assert path == dest
    assert (tmp_path / "chosen..name.png").read_bytes() == b"DATA"


def status_host(task_id: str, urls: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "imgeditor.co":
            data = {"task_id": task_id, "status": "completed", "image_urls": urls}
            data["image_url"] = urls[0]
            return httpx.Response(200, json={"success": True, "data": data})
        return httpx.Response(200, content=b"DATA", headers={"Content-Type": "image/png"})

    return httpx.MockTransport(handler)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("task_id", "urls", "expected"),
    [
        ("../../evil", ["https://cdn.test/a.png"], ["_._evil.png"]),
        ("/etc/x", ["https://cdn.test/a.jpg"], ["_etc_x.jpg"]),
        ("..", ["https://cdn.test/..%252F..%252Fa.webp"], ["download.webp"]),
        ("t\\1", ["https://cdn.test/a", "https://cdn.test/b.webp"], ["t_1-0.png", "t_1-1.webp"]),
    ],
)
async def test_save_names_files_after_a_sanitised_task_id(
    tmp_path: Path, anyio_backend: str, task_id: str, urls: list[str], expected: list[str]
) -> None:
    folder = tmp_path / "out" / "deep"
    transport = status_host(task_id, urls)
    async with nb.AsyncClient(api_key=KEY, rate_limit=None, _transport=transport) as client:
        status = await client.images.status("t1")
        paths = await client.images.save(status, folder)
    with nb.Client(api_key=KEY, rate_limit=None, _transport=transport) as sync:
        again = sync.images.save(sync.images.status("t1"), folder)
    assert paths == again == [folder / name for name in expected]
    assert files_under(tmp_path) == sorted(Path("out", "deep", name) for name in expected)


# -- the pure naming functions -----------------------------------------------------------


def test_the_url_is_decoded_exactly_once() -> None:
    assert name_from_url(httpx.URL("https://h/a/..%252F..%252Fe.png")) == "..%2F..%2Fe.png"
    assert name_from_url(httpx.URL("https://h/a/x%2Fy.png?q=/z")) == "x/y.png"
    assert name_from_url(httpx.URL("https://h/a/")) == ""
    assert name_from_url(httpx.URL("https://h")) == ""


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../x.png", "_._x.png"),
        ("..\\..\\x.png", "_._x.png"),
        ("/abs/x", "_abs_x"),
        ("a\x00b", "a_b"),
        ("a\u202egnp.exe", "a_gnp.exe"),  # a right-to-left override would disguise it
        ("...", "download"),
        ("", "download"),
        ("  . x .  ", "x"),
        ("nul.txt", "_nul.txt"),
        ("LPT9", "_LPT9"),
        ("a..b.png", "a.b.png"),
        ('a<b>c:d"e|f?g*h', "a_b_c_d_e_f_g_h"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


def test_safe_filename_defaults_and_bounds() -> None:
    assert safe_filename("", default_stem="task-1", default_suffix=".mp4") == "task-1.mp4"
    assert safe_filename("..", default_stem="../t", default_suffix=".png") == "_t.png"
    assert safe_filename("x", default_suffix="/../.png") == "x"  # not a plain extension
    long = safe_filename("é" * 200 + ".png", max_bytes=11)
    assert long == "é" * 3 + ".png"
    assert len(safe_filename("a" * 1000)) == MAX_NAME_BYTES


def test_suffix_for_type() -> None:
    assert suffix_for_type("IMAGE/PNG") == ".png"
    assert suffix_for_type("image/webp; q=1") == ".webp"
    assert suffix_for_type("text/html") == ""
    assert suffix_for_type(None) == ""


@pytest.mark.parametrize("name", ["../x", "/tmp/x", "a/b", "", ".", "..", "a\x00b"])
def test_inside_refuses_a_name_that_leaves_the_directory(tmp_path: Path, name: str) -> None:
    with pytest.raises(nb.InvalidParameterError):
        inside(tmp_path, name)


def test_inside_resolves_a_symlinked_directory(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert inside(tmp_path / "link", "x.png") == tmp_path / "link" / "x.png"


# -- file modes ------------------------------------------------------------------------

MODES = """
    import os, sys, anyio, httpx, nanobanana as nb
    t = httpx.MockTransport(lambda r: httpx.Response(200, content=b"x"))
    root = sys.argv[1]
    for umask in (0o022, 0o077, 0o002, 0o027):
        os.umask(umask)
        with nb.Client(api_key="nb_sk_" + "k" * 16, rate_limit=None, _transport=t) as c:
            sync = c.download("https://cdn.test/r/a.png", os.path.join(root, f"s{umask:o}"))
        async def main():
            async with nb.AsyncClient(api_key="nb_sk_" + "k" * 16, rate_limit=None, _transport=t) as c:
                return await c.download("https://cdn.test/r/a.png", os.path.join(root, f"a{umask:o}/"))
        path = anyio.run(main)
        print(f"{umask:o} {os.stat(sync).st_mode & 0o777:o} {os.stat(path).st_mode & 0o777:o}")
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_saved_files_get_the_mode_open_would_give(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NANOBANANA_")}
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(MODES), str(tmp_path)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    for line in run.stdout.split("\n"):
        if line:
            umask, sync_mode, async_mode = (int(x, 8) for x in line.split())
            assert sync_mode == async_mode == 0o666 & ~umask, line
    assert len(run.stdout.split()) == 12
