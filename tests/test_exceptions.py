"""One hierarchy of errors: every class in ``nanobanana._exceptions``, drawn as a tree in
its docstring and in the reference, and the trees are what the classes are."""

from __future__ import annotations

import re
from pathlib import Path

import nanobanana as nb
import nanobanana.limiters
from nanobanana import _exceptions

ROOT = Path(__file__).resolve().parent.parent
_NAME = re.compile(r"[A-Z]\w*")
_ALSO = re.compile(r"\(also (\w+)\)")


def _tree(text: str) -> dict[str, tuple[str | None, str | None]]:
    """``name -> (parent, also)`` from a tree drawn with ``├──`` / ``└──`` / ``│``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "NanoBananaError")
    indent = len(lines[start]) - len(lines[start].lstrip())
    found: dict[str, tuple[str | None, str | None]] = {"NanoBananaError": (None, None)}
    stack = ["NanoBananaError"]
    for line in lines[start + 1 :]:
        branch = max(line.find("├── "), line.find("└── "))
        if branch < 0:
            break
        depth = (branch - indent) // 4 + 1
        rest = line[branch + 4 :]
        match = _NAME.match(rest)
        assert match is not None, line
        name = match.group()
        del stack[depth:]
        also = _ALSO.search(rest)
        found[name] = (stack[-1], also.group(1) if also else None)
        stack.append(name)
    return found


def _check(tree: dict[str, tuple[str | None, str | None]]) -> None:
    for name, (parent, also) in tree.items():
        cls = getattr(_exceptions, name)
        if parent is None:
            assert cls.__bases__ == (Exception,)
            continue
        bases = [base.__name__ for base in cls.__bases__]
        assert bases[0] == parent, f"{name} derives from {bases[0]}, the tree says {parent}"
        assert bases[1:] == ([also] if also else []), f"{name}: bases {bases}"


def test_the_module_docstring_draws_every_class_as_it_is() -> None:
    tree = _tree(_exceptions.__doc__ or "")
    _check(tree)
    defined = {
        name
        for name, value in vars(_exceptions).items()
        if isinstance(value, type)
        and issubclass(value, BaseException)
        and value.__module__ == _exceptions.__name__
    }
    assert set(tree) == defined


def test_the_reference_draws_the_public_tree() -> None:
    reference = (ROOT / "docs" / "reference" / "errors.md").read_text(encoding="utf-8")
    tree = _tree(reference)
    _check(tree)
    module = _tree(_exceptions.__doc__ or "")
    del module["JournalBusy"]  # internal; users catch it as a JournalError
    assert tree == module


def test_every_error_the_package_exports_is_defined_in_one_place() -> None:
    exported = [
        getattr(nb, name)
        for name in nb.__all__
        if isinstance(getattr(nb, name), type) and issubclass(getattr(nb, name), BaseException)
    ]
    assert len(exported) == 21
    for cls in exported:
        assert cls.__module__ == "nanobanana._exceptions", cls
        assert issubclass(cls, nb.NanoBananaError)
    assert nanobanana.limiters.RateLimiterUnavailableError is nb.RateLimiterUnavailableError


def test_a_budget_refusal_is_not_an_api_status() -> None:
    error = nb.BudgetExceededError("over", needed=12, available=10, balance=10)
    assert not isinstance(error, nb.APIStatusError)
    assert not hasattr(error, "status_code") and not hasattr(error, "response")
    assert (error.needed, error.available, error.balance, error.max_credits) == (12, 10, 10, None)
