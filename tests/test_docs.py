"""Every ```python block of README.md and docs/**/*.md runs here, against the simulator.

So the documentation cannot drift from the code. The conventions, for whoever writes docs:

- The blocks of a page run in order, in one namespace (``__name__ == "__main__"``), in a
  fresh temporary working directory (``out/`` lands there). A block may use what an
  earlier block of the same page defined.
- Top-level ``await``, ``async with`` and ``async for`` work, as in a notebook: such a block
  runs on the page's own asyncio event loop (one loop per page, so an ``AsyncClient``
  made in one block works in the next). A block without them runs plainly, so
  ``anyio.run(main)`` works there.
- Code that needs a real key (``nb.AsyncClient()``, ``nb.Client()``, key from the
  environment) runs against a ``FakeNanoBanana`` made for the page: ``NANOBANANA_API_KEY``
  and ``NANOBANANA_BASE_URL`` name the fake, and a client whose base URL is the fake's is
  wired to it in-process with its clock (a ``ManualClock``: no real time passes). A
  client given another ``base_url`` (``fake.serve()``'s) is left alone.
  ``REDIS_URL`` names a real redis-server when the page mentions it.
- ``<!-- test ... -->``: hidden Python, run at that point of the page in its namespace.
  Use it for what a fragment assumes (``prompts``, an open ``client``) and for checks of
  what a block did; ``page_fake`` is the page's simulator there (to inject a fault, to
  count charges). It is not shown on the site.
- ``<!-- skip: reason -->`` right before a block: not run (nor the hidden code right
  after it). Rare, with a reason.
- ``<!-- requires: module ... -->`` right before a block (or a hidden one): it (and the
  hidden code right after a block) runs only where those modules are installed. Without
  them the rest of the page still runs, and the page is then reported as skipped, naming
  the block. ``nox -s docs`` installs every one of them (and sets
  ``NANOBANANA_DOCS_ALL=1``, which makes a missing one a failure).
- A block whose first line is ``# name.py`` is a file: it is written to the working
  directory. The ``# test_*.py`` files of a page are run with pytest (one run, in a
  subprocess, after the page's other blocks) and must pass; any other file is imported
  as the module ``name``, bound in the page's namespace under that name.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import importlib.util
import inspect
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import CodeType
from typing import Any

import attrs
import pytest

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana, ManualClock

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = (nb.AsyncClient, nb.Client)  # the real classes (a page's run wires stand-ins)
MARKDOWN = [
    ROOT / "README.md",
    ROOT / "CHANGELOG.md",
    ROOT / "CONTRIBUTING.md",
    *sorted((ROOT / "docs").rglob("*.md")),
]

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
HIDDEN = re.compile(r"^[ \t]*<!--[ \t]*test[ \t]*\n(?P<code>.*?)^[ \t]*-->[ \t]*$", re.M | re.S)
DIRECTIVE = re.compile(r"^[ \t]*<!--[ \t]*(?P<name>skip|requires):(?P<value>.*?)-->[ \t]*$")
FILE_HEADER = re.compile(r"^#\s*(?P<name>[A-Za-z_]\w*)\.py(?:[:\s].*)?$")


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


@attrs.frozen
class Snippet:
    """A piece of Python on a page: a fenced block or a hidden ``<!-- test -->`` one."""

    path: Path
    line: int  # 1-based line of the first line of code
    source: str
    hidden: bool = False
    skip: str | None = None
    requires: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"{_name(self.path)}:{self.line}"

    @property
    def file_name(self) -> str | None:
        first = self.source.split("\n", 1)[0]
        match = FILE_HEADER.match(first)
        return match["name"] if match else None


def snippets(path: Path) -> list[Snippet]:
    """The Python of a page in order: fenced ```python blocks and hidden test comments."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    found: list[Snippet] = []
    hidden_at = {m.start(): m for m in HIDDEN.finditer(text)}  # offset of its line -> match
    offsets = []
    total = 0
    for line in lines:
        offsets.append(total)
        total += len(line) + 1
    pending: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        if offsets[i] in hidden_at:
            match = hidden_at[offsets[i]]
            code = textwrap.dedent(match["code"])
            requires = tuple(pending.get("requires", "").split())
            found.append(Snippet(path, i + 2, code, hidden=True, requires=requires))
            pending.clear()
            i += match.group(0).count("\n") + 1
            continue
        directive = DIRECTIVE.match(line)
        if directive:
            pending[directive["name"]] = directive["value"].strip()
            i += 1
            continue
        fence = FENCE.match(line)
        if not fence:
            if line.strip():
                pending.clear()  # a directive applies to the block right after it
            i += 1
            continue
        indent, mark = fence["indent"], fence["fence"]
        language = (fence["info"].split() or [""])[0].lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not re.match(
            rf"^{re.escape(indent)}{re.escape(mark[0])}{{{len(mark)},}}[ \t]*$", lines[j]
        ):
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        if j == len(lines):
            raise AssertionError(f"{_name(path)}:{i + 1}: unclosed code fence")
        if language in ("python", "py"):
            skip = pending.get("skip")
            if skip is not None and not skip:
                raise AssertionError(f"{_name(path)}:{i}: a skip needs a reason")
            found.append(
                Snippet(
                    path,
                    i + 2,
                    "\n".join(body) + "\n",
                    skip=skip,
                    requires=tuple(pending.get("requires", "").split()),
                )
            )
        pending.clear()
        i = j + 1
    return found


PAGES = [page for page in MARKDOWN if any(not s.hidden for s in snippets(page))]


# -- clients wired to the page's simulator ---------------------------------------------------


def _wired(real: type[Any], make: Any, fake_base: str) -> type[Any]:
    """``real`` (nb.AsyncClient / nb.Client), but wired to the fake when it points at it.

    ``nb.AsyncClient()`` in a block finds the fake's key and base URL in the environment;
    the fake's own factory then adds its in-process transport and its clock.
    """
    signature = inspect.signature(real)

    class Wired(real):  # type: ignore[misc,valid-type]
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            arguments = signature.bind(*args, **kwargs).arguments
            base = arguments.get("base_url") or os.environ.get("NANOBANANA_BASE_URL", "")
            if str(base).rstrip("/") == fake_base:
                return make(**arguments)
            return real(*args, **kwargs)

    Wired.__name__ = Wired.__qualname__ = real.__name__
    Wired.__module__ = real.__module__
    Wired.__doc__ = real.__doc__
    return Wired


class Page:
    """Runs the snippets of one page in a shared namespace and event loop."""

    def __init__(self, fake: FakeNanoBanana) -> None:
        self.fake = fake
        self.namespace: dict[str, Any] = {
            "__name__": "__main__",
            "__builtins__": __builtins__,
            "page_fake": fake,  # for hidden code only: faults, charges
        }
        self.loop = asyncio.new_event_loop()
        self.modules: list[str] = []
        self.test_files: list[tuple[Path, Snippet]] = []

    def run(self, snippet: Snippet) -> None:
        name = snippet.file_name
        if name is not None and not snippet.hidden:
            self._file(name, snippet)
            return
        code = self._compile(snippet)
        result = eval(code, self.namespace)
        if inspect.iscoroutine(result):
            self.loop.run_until_complete(result)

    def _compile(self, snippet: Snippet) -> CodeType:
        # Padded so that tracebacks name the Markdown file's own line numbers.
        source = "\n" * (snippet.line - 1) + snippet.source
        return compile(source, str(snippet.path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)

    def _file(self, name: str, snippet: Snippet) -> None:
        path = Path.cwd() / f"{name}.py"
        path.write_text(snippet.source, encoding="utf-8")
        if name.startswith("test_"):
            compile(snippet.source, snippet.where, "exec")
            self.test_files.append((path, snippet))
            return
        compile(snippet.source, snippet.where, "exec")  # a syntax error names the page
        sys.modules.pop(name, None)
        importlib.invalidate_caches()
        self.modules.append(name)
        self.namespace[name] = importlib.import_module(name)

    def run_test_files(self) -> None:
        """Run the page's test files with pytest, as their reader would: all in one run.

        In a subprocess: pytest in this process would share (and its fixtures would
        restore) this process's sys.modules.
        """
        if not self.test_files:
            return
        where = ", ".join(snippet.where for _, snippet in self.test_files)
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfEs"]
            + [str(path) for path, _ in self.test_files],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, f"the test files at {where} failed:\n{proc.stdout[-3000:]}"
        last = proc.stdout.strip().splitlines()[-1]
        assert " passed" in last and "skipped" not in last, f"{where}: {last}"

    def close(self) -> None:
        """Close the clients a page left open, its event loop and its modules."""
        async_client, client = CLIENTS

        async def aclose_all() -> None:
            for value in list(self.namespace.values()):
                if isinstance(value, async_client):
                    await value.aclose()

        try:
            self.loop.run_until_complete(aclose_all())
            for value in list(self.namespace.values()):
                if isinstance(value, client):
                    value.close()
        finally:
            self.loop.close()
            for name in self.modules:
                sys.modules.pop(name, None)


@pytest.fixture
def page_fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeNanoBanana:
    """A simulator for one page, named by the environment; the page runs in a temp dir."""
    fake = FakeNanoBanana(clock=ManualClock(), seed=0)
    monkeypatch.setenv("NANOBANANA_API_KEY", fake.api_key)
    monkeypatch.setenv("NANOBANANA_BASE_URL", fake.base_url)
    monkeypatch.delenv("NANOBANANA_LOG", raising=False)
    base = fake.base_url.rstrip("/")
    async_client, client = CLIENTS
    monkeypatch.setattr(nb, "AsyncClient", _wired(async_client, fake.async_client, base))
    monkeypatch.setattr(nb, "Client", _wired(client, fake.client, base))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return fake


@pytest.fixture(scope="module")
def docs_redis_url() -> Iterator[str]:
    """A real redis-server for the pages that use ``REDIS_URL``."""
    from redis_server import running_redis

    with running_redis() as server:
        yield server.url


def _missing(modules: tuple[str, ...]) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


@pytest.mark.slow
@pytest.mark.parametrize("path", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_code_runs(
    path: Path,
    page_fake: FakeNanoBanana,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    found = snippets(path)
    if "REDIS_URL" in path.read_text(encoding="utf-8"):
        monkeypatch.setenv("REDIS_URL", request.getfixturevalue("docs_redis_url"))
    page = Page(page_fake)
    not_run: list[str] = []
    skipping = False
    try:
        for snippet in found:
            missing = _missing(snippet.requires)
            if missing and os.environ.get("NANOBANANA_DOCS_ALL"):
                pytest.fail(f"{snippet.where} needs {', '.join(missing)}, not installed")
            if missing:
                not_run.append(f"{snippet.where} (needs {', '.join(missing)})")
            if not snippet.hidden:
                skipping = snippet.skip is not None or bool(missing)
            if skipping or missing:  # a block not run, and the hidden code right after it
                continue
            try:
                page.run(snippet)
            except Exception as exc:
                # The traceback above this one names the page's own lines.
                raise AssertionError(f"the block at {snippet.where} raised {exc!r}") from exc
        page.run_test_files()
    finally:
        page.close()
    if not_run:
        # Everything else ran and passed; `nox -s docs` installs what these need.
        pytest.skip(f"every block ran but {'; '.join(not_run)}")


def test_skips_are_rare_and_say_why() -> None:
    blocks = [s for path in PAGES for s in snippets(path) if not s.hidden]
    skipped = [s for s in blocks if s.skip is not None]
    assert blocks, "found no Python block at all"
    assert all(s.skip for s in skipped)
    assert len(skipped) <= max(2, len(blocks) // 20), [s.where for s in skipped]


def test_the_collector_finds_blocks_and_hidden_code(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        textwrap.dedent(
            """\
            # Title

            ```python
            x = 1
            ```

            <!-- test
            assert x == 1
            -->

            - a list item:

                ```python
                y = x + 1
                ```

            <!-- skip: shows a syntax only -->
            ```python
            nb.AsyncClient(...)
            ```

            ```bash
            echo not python
            ```
            """
        )
    )
    found = snippets(page)
    assert [(s.line, s.source, s.hidden, s.skip) for s in found] == [
        (4, "x = 1\n", False, None),
        (8, "assert x == 1\n", True, None),
        (14, "y = x + 1\n", False, None),
        (19, "nb.AsyncClient(...)\n", False, "shows a syntax only"),
    ]


# -- the reference and the links ------------------------------------------------------------

PUBLIC_MODULES = ("nanobanana", "nanobanana.testing", "nanobanana.limiters")


def _resolve(dotted: str) -> Any:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def test_the_reference_documents_every_public_name() -> None:
    targets = [
        match[1]
        for page in sorted((ROOT / "docs" / "reference").glob("*.md"))
        for match in re.finditer(r"^::: *(\S+)", page.read_text(encoding="utf-8"), re.M)
    ]
    documented = [_resolve(target) for target in targets]  # a stale name fails here
    missing = [
        f"{module}.{name}"
        for module in PUBLIC_MODULES
        for name in importlib.import_module(module).__all__
        if name != "__version__"
        and not any(getattr(importlib.import_module(module), name) is d for d in documented)
    ]
    assert not missing, f"not in docs/reference/*.md: {missing}"


def test_readme_links_work_on_a_package_index() -> None:
    """A package index shows the README without the repository: no relative links."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r"<(\w+:[^>\s]+)>", text)
    assert links
    relative = [link for link in links if not re.match(r"(https?|mailto):|#", link)]
    assert not relative, relative


def test_a_failing_block_fails_and_names_its_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("Text.\n\n```python\nx = 1\nassert x == 2\n```\n")
    runner = Page(FakeNanoBanana(clock=ManualClock()))
    try:
        with pytest.raises(AssertionError) as caught:
            runner.run(snippets(page)[0])
    finally:
        runner.close()
    assert caught.traceback[-1].lineno + 1 == 5  # the page's own line 5


def test_a_failing_test_file_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    page = tmp_path / "page.md"
    page.write_text("```python\n# test_wrong.py\ndef test_wrong():\n    assert 1 == 2\n```\n")
    runner = Page(FakeNanoBanana(clock=ManualClock()))
    try:
        runner.run(snippets(page)[0])
        with pytest.raises(AssertionError, match="1 failed"):
            runner.run_test_files()
    finally:
        runner.close()
