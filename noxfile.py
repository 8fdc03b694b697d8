"""Sessions: tests (every CPython >= 3.10 here), lint, typecheck, generate, bench.

nox -s tests lint typecheck     # what CI runs (.ci/run)
nox -s generate                 # the schema's methods, then nanobanana/_sync from nanobanana/_async
nox -s bench                    # benchmarks/, prints a table, writes benchmarks/results.json
"""

from __future__ import annotations

import nox

nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["tests", "lint", "typecheck"]

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
# coverage>=7.10 measures subprocesses (patch = ["subprocess"]); ruff: the staleness test
# regenerates _sync; pillow: tests decode the simulator's images; fastapi: the FastAPI
# example is tested for real.
TEST_DEPS = [
    "pytest>=8",
    "pytest-cov>=5",
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
    """The test suite with coverage of the package (fails under 90%)."""
    session.install("-e", ".[testing,cli,redis]", *TEST_DEPS)
    session.run(
        "pytest",
        "--cov=nanobanana",
        "--cov-report=term-missing:skip-covered",
        "--cov-fail-under=90",
        *session.posargs,
    )


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
def generate(session: nox.Session) -> None:
    """Write nanobanana/_async/_schema_methods.py from the request schema, then rewrite
    nanobanana/_sync from nanobanana/_async (in that order: the first feeds the second)."""
    session.install("-e", ".", "ruff>=0.6")
    session.run("python", "scripts/generate.py")
    session.run("python", "scripts/unasync.py")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Every benchmark in one run: a table on stdout and benchmarks/results.json."""
    # trio: bench_ratelimit also measures the limiter on Trio.
    session.install("-e", ".[testing,redis]", "psutil>=5", "trio>=0.25")
    session.run("python", "benchmarks/run_all.py", *session.posargs)
