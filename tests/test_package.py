"""The package's public names: one list for users, type checkers and the lazy loader."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import nanobanana as nb

INIT = Path(nb.__file__)


def _type_checking_imports() -> set[str]:
    tree = ast.parse(INIT.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom)
                names.update(alias.asname or alias.name for alias in stmt.names)
    return names


def test_every_public_name_is_exported_typed_and_loadable() -> None:
    public = set(nb.__all__) - {"__version__"}
    assert public == set(nb._LAZY), "nanobanana.__all__ and the lazy table disagree"
    assert public == _type_checking_imports(), "the TYPE_CHECKING imports and __all__ disagree"
    for name in sorted(public):
        module = importlib.import_module(nb._LAZY[name], "nanobanana")
        assert getattr(nb, name) is getattr(module, name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        nb.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
