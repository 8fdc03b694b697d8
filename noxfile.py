"""Sessions: tests (each CPython 3.10-3.13), lint, typecheck, generate, bench.

nox -s tests lint typecheck     # what CI runs (.ci/run runs these sessions side by side)
nox -s tests-3.11               # the tests on one Python (no pyenv needed)
nox -s generate                 # rewrite nanobanana/_sync from nanobanana/_async
nox -s bench                    # benchmarks/, prints a table, writes benchmarks/results.json

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
nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
COVERAGE_PYTHON = "3.11"
# coverage>=7.10 measures subprocesses (patch = ["subprocess"]); ruff: the staleness test
# regenerates _sync; pillow: tests decode the simulator's images; fastapi: the FastAPI
# example is tested for real; pytest-timeout: a hung test fails instead of stalling CI;
# pytest-xdist: the whole suite runs in two processes (its slow tests mostly wait).
TEST_DEPS = [
    "pytest>=8",
    "pytest-cov>=5",
    "pytest-timeout>=2.3",
    "pytest-xdist>=3.5",
    "coverage[toml]>=7.10",
    "respx>=0.21",
    "trio>=0.25",
    "ruff>=0.6",
    "pillow>=10",
    "fastapi>=0.110",
]
LINT_DEPS = ["ruff>=0.6"]
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
    """mypy --strict and pyright on the package."""
    session.install("-e", ".[testing,cli,redis]", *TYPE_DEPS)
    session.run("mypy", "--strict", "nanobanana")
    session.run("pyright", "nanobanana")


@nox.session(python="3.11")
def generate(session: nox.Session) -> None:
    """Rewrite nanobanana/_sync from nanobanana/_async."""
    session.install("ruff>=0.6")
    session.run("python", "scripts/unasync.py")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Every benchmark in one run: a table on stdout and benchmarks/results.json."""
    # trio: bench_ratelimit also measures the limiter on Trio.
    session.install("-e", ".[testing,redis]", "psutil>=5", "trio>=0.25")
    session.run("python", "benchmarks/run_all.py", *session.posargs)
