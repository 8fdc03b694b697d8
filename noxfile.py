"""Sessions: tests (each CPython 3.10-3.13), lint, typecheck, verifytypes, generate, bench.

nox -s tests lint typecheck verifytypes  # what CI runs (.ci/run: these side by side)
nox -s tests-3.11               # the tests on one Python (no pyenv needed)
nox -s generate                 # the schema's methods, then nanobanana/_sync from nanobanana/_async
nox -s bench                    # benchmarks/, prints a table, writes benchmarks/results.json
nox -s docs build               # the site (strict, its code, headless Chromium); sdist + wheel

The whole suite runs on COVERAGE_PYTHON, with coverage (it fails under 90%). The other
Pythons skip the tests marked ``slow`` (subprocesses, servers, Redis, the examples, long
simulations): those exercise the same code on every version, so once is enough. Arguments
after ``--`` go to pytest (``nox -s tests-3.12 -- -m slow`` runs the slow ones there too).

A CPython that is not installed is skipped here, and is an error under CI (``CI`` set).
Virtualenvs are made with uv when it is installed (much faster), else with virtualenv, and
are reused from one run to the next.
"""

from __future__ import annotations

import os

import nox

nox.options.error_on_missing_interpreters = bool(os.environ.get("CI"))
# A missing CPython means missing: uv would otherwise fetch one from the network.
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
nox.options.sessions = ["tests", "lint", "typecheck", "verifytypes"]
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
# The ruff that formats the generated code (scripts/unasync.py refuses any other: its
# RUFF_VERSION); lint and the staleness test must format exactly as it does.
RUFF = "ruff==0.17.6"
COVERAGE_PYTHON = "3.11"
# coverage>=7.10 measures subprocesses (patch = ["subprocess"]); ruff: the staleness test
# regenerates _sync; pillow: tests decode the simulator's images; fastapi: the FastAPI
# example is tested for real; pytest-timeout: a hung test fails instead of stalling CI;
# pytest-xdist: the whole suite runs in two processes (its slow tests mostly wait);
# selenium: the gallery is looked at in Debian's headless Chromium (a slow test).
TEST_DEPS = [
    "pytest>=8",
    "pytest-cov>=5",
    "pytest-timeout>=2.3",
    "pytest-xdist>=3.5",
    "coverage[toml]>=7.10",
    "respx>=0.21",
    "trio>=0.25",
    RUFF,
    "pillow>=10",
    "fastapi>=0.110",
    "selenium>=4.20",
]
LINT_DEPS = [RUFF]
TYPE_DEPS = ["mypy>=1.10", "pyright>=1.1.380", "redis>=5", "rich>=13", "uvicorn>=0.29", "pytest>=8"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite: all of it with coverage on COVERAGE_PYTHON, the fast part elsewhere."""
    session.install("-e", ".[testing,cli,redis]", *TEST_DEPS)
    if session.python == COVERAGE_PYTHON:
        selection = ["-n", "2", "--cov=nanobanana", "--cov-report=term-missing:skip-covered"]
        selection += ["--cov-fail-under=90"]
    else:
        selection = ["-m", "not slow"]
    session.run("pytest", *selection, *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install(*LINT_DEPS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict and pyright on the package, and on tests/typing: code that must
    type-check, and lines (marked ``# type: ignore[...]``) the checkers must refuse."""
    session.install("-e", ".[testing,cli,redis]", *TYPE_DEPS)
    session.run("mypy", "--strict", "nanobanana")
    session.run("pyright", "nanobanana")
    session.run("mypy", "--strict", "--warn-unused-ignores", "tests/typing")
    session.run("pyright", "tests/typing")


@nox.session(python="3.11")
def verifytypes(session: nox.Session) -> None:
    """pyright --verifytypes: every public symbol's type is known and declared (100%).

    What a user's checker sees of the installed package, whatever it infers: a missing
    annotation on a public attribute, parameter or return fails (pyright exits 1 below
    100%). Types from other packages (httpx, redis) are theirs to complete."""
    session.install("-e", ".[testing,cli,redis]", "pyright>=1.1.380")
    session.run("pyright", "--verifytypes", "nanobanana", "--ignoreexternal")


@nox.session(python="3.11")
def generate(session: nox.Session) -> None:
    """Write nanobanana/_async/_schema_methods.py from the request schema, then rewrite
    nanobanana/_sync from nanobanana/_async (in that order: the first feeds the second)."""
    session.install("-e", ".", RUFF)
    session.run("python", "scripts/generate.py")
    session.run("python", "scripts/unasync.py")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Every benchmark in one run: a table on stdout and benchmarks/results.json."""
    # Bench-only: trio (bench_ratelimit also measures the limiter on Trio); openai (the
    # peer row of bench_overhead: 2.x is the last line on httpx, the transport we measure
    # against; it brings pydantic); matplotlib (the charts in benchmarks/); psutil.
    session.install(
        "-e", ".[testing,redis]", "psutil>=5", "trio>=0.25", "openai>=2.30,<3", "matplotlib>=3.8"
    )
    session.run("python", "benchmarks/run_all.py", *session.posargs)


# -- documentation and packaging ------------------------------------------------------------

# The site's tools (mkdocstrings formats signatures with ruff); what the docs' examples
# import (tests/test_docs.py runs every block of README.md and docs/, and here none may be
# skipped); the browser check's driver.
DOCS_DEPS = ["mkdocs>=1.6,<2", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.26", "ruff>=0.6"]
DOCS_EXAMPLE_DEPS = [
    "pytest>=8",
    "trio>=0.25",
    "pillow>=10",
    "fastapi>=0.110",
    "django>=4.2",
    "celery>=5.3",
    "ipython>=8",
]
BROWSER_DEPS = ["selenium>=4.20"]
# The CPythons the wheel is smoke-tested on: the lowest and the highest supported.
WHEEL_PYTHONS = ["3.10", "3.13"]


@nox.session(python="3.11", venv_backend="uv|virtualenv")
def docs(session: nox.Session) -> None:
    """The site (mkdocs --strict), every Python block of the docs, and a look in Chromium.

    ``nox -s docs -- --no-browser`` leaves out the browser (which needs Debian's chromium
    and chromedriver). About a minute; the site is in site/, screenshots in build/.
    """
    session.install("-e", ".[testing,redis]", *DOCS_DEPS, *DOCS_EXAMPLE_DEPS, *BROWSER_DEPS)
    session.env["NO_MKDOCS_2_WARNING"] = "1"
    session.run("mkdocs", "build", "--strict", "--site-dir", "site")
    # Every optional module the examples need is installed here: a block may not skip.
    session.env["NANOBANANA_DOCS_ALL"] = "1"
    session.run("pytest", "-q", "-p", "no:cacheprovider", "tests/test_docs.py")
    if "--no-browser" not in session.posargs:
        session.run("pytest", "-q", "-p", "no:cacheprovider", "tests/site_check.py")


@nox.session(python="3.11", venv_backend="uv|virtualenv")
def build(session: nox.Session) -> None:
    """sdist + wheel, twine check, then the wheel alone on the lowest and highest CPython.

    The wheel (with the ``testing`` extra) goes into fresh venvs: on each of WHEEL_PYTHONS
    with every dependency at its declared floor, and on the highest with the newest
    versions; scripts/smoke_wheel.py then runs against the simulator, outside the tree.
    About a minute.
    """
    import shutil
    from pathlib import Path

    import tomllib
    from packaging.requirements import Requirement

    session.install("build>=1.2", "twine>=6.1", "uv>=0.4")
    dist = Path("dist")
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--installer", "uv", "--outdir", str(dist))
    artifacts = sorted(str(p) for p in dist.iterdir())
    session.run("twine", "check", "--strict", *artifacts)
    wheel = next(dist.glob("*.whl")).resolve()

    # The lowest versions the metadata allows, as constraints: uv's lowest-direct would
    # only lower the wheel itself (its dependencies are transitive to a wheel file).
    project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
    floors = set()
    for spec in [*project["dependencies"], *project["optional-dependencies"]["testing"]]:
        requirement = Requirement(spec)
        lowest = [s.version for s in requirement.specifier if s.operator in (">=", "==")]
        if lowest:
            floors.add(f"{requirement.name}=={lowest[0]}")
    tmp = Path(session.create_tmp()).resolve()
    constraints = tmp / "floors.txt"
    constraints.write_text("\n".join(sorted(floors)) + "\n")

    runs = [(python, "lowest") for python in WHEEL_PYTHONS] + [(WHEEL_PYTHONS[-1], "highest")]
    smoke = Path("scripts/smoke_wheel.py").resolve()
    for python, versions in runs:
        interpreter = shutil.which(f"python{python}")
        if interpreter is None:
            session.error(f"python{python} not found (the wheel is tested on {WHEEL_PYTHONS})")
        venv = tmp / f"wheel-{python}-{versions}"
        shutil.rmtree(venv, ignore_errors=True)
        session.run("uv", "venv", "--quiet", "--python", interpreter, str(venv))
        pinned = ["--constraint", str(constraints)] if versions == "lowest" else []
        target = str(venv / "bin" / "python")
        session.run("uv", "pip", "install", "--quiet", "--python", target, *pinned,
                    f"{wheel}[testing]")  # fmt: skip
        with session.chdir(tmp):  # nothing of the source tree on sys.path
            session.run(target, str(smoke), external=True)
