"""Every public callable documents itself in Google style, ready for the API reference.

The surface is what a user can reach: the names in ``__all__`` of ``nanobanana``,
``nanobanana.testing`` and ``nanobanana.limiters``, the public methods and properties of
those classes (inherited ones included), and the objects a client hands out
(``client.images``, ``client.with_raw_response.videos``, ...), for both clients.

* A function or method has a docstring whose ``Args:`` names exactly its parameters
  (``self``/``cls`` and private ``_x`` ones aside; ``*args``/``**kwargs`` may be named,
  need not be), with ``Returns:`` (or ``Yields:``) when it returns something, and a
  ``Raises:`` whose entries are exception classes.
* A class's hand-written constructor is documented the same way, in the class docstring
  (or ``__init__``'s). An attrs class's constructor is its public fields: each has a
  docstring under it (or an ``Args:``/``Attributes:`` entry, or the request schema's
  field doc).
* A property has a docstring (it reads as an attribute: no sections).

Sections are read as mkdocstrings' Google parser reads them: a header (``Args:``) at the
docstring's indentation after a blank line, entries (``name: text`` or
``name (type): text``) one level in, continuation lines deeper.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import itertools
import re
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import attrs
import pytest

import nanobanana as nb
import nanobanana.limiters
import nanobanana.testing
from nanobanana.testing import FakeNanoBanana

SECTIONS = {
    "Args": "args",
    "Arguments": "args",
    "Parameters": "args",
    "Returns": "returns",
    "Yields": "yields",
    "Raises": "raises",
    "Attributes": "attributes",
    "Examples": "examples",
    "Note": "note",
    "Warning": "warning",
}
_HEADER = re.compile(r"^([A-Z][a-z]+):\s*$")
_ENTRY = re.compile(r"^    (\*{0,2}[A-Za-z_][\w.]*)\s*(?:\([^)]*\))?\s*:")


def sections(doc: str) -> dict[str, list[str]]:
    """The Google sections of a docstring: kind -> the names its entries start with (for
    Returns/Yields, their lines)."""
    found: dict[str, list[str]] = {}
    current: str | None = None
    lines = inspect.cleandoc(doc).splitlines()
    for i, line in enumerate(lines):
        header = _HEADER.match(line)
        if header and header.group(1) in SECTIONS and (i == 0 or not lines[i - 1].strip()):
            current = SECTIONS[header.group(1)]
            assert current not in found, f"two {header.group(1)}: sections"
            found[current] = []
        elif current is None:
            continue
        elif line and not line.startswith(" "):
            current = None  # back at the docstring's indentation: the section ended
        elif current in ("returns", "yields"):
            if line.strip():
                found[current].append(line.strip())
        elif entry := _ENTRY.match(line):
            found[current].append(entry.group(1))
    return found


# -- the surface ----------------------------------------------------------------------------


def _ours(obj: object) -> bool:
    return (getattr(obj, "__module__", None) or "").startswith("nanobanana")


def _reachable(obj: object, classes: dict[str, type], depth: int = 0) -> None:
    """Add the classes of the public attributes of ``obj`` (resources, raw views...)."""
    for name in dir(obj):
        if name.startswith("_"):
            continue
        static = inspect.getattr_static(obj, name)
        if isinstance(static, property) or callable(static) or inspect.isclass(static):
            continue
        value = getattr(obj, name)
        cls = type(value)
        key = f"{cls.__module__}.{cls.__qualname__}"
        if _ours(cls) and key not in classes and depth < 3:
            classes[key] = cls
            _reachable(value, classes, depth + 1)


def _public_classes() -> dict[str, type]:
    classes: dict[str, type] = {}
    for module in (nb, nanobanana.testing, nanobanana.limiters):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and _ours(obj):
                classes.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    fake = FakeNanoBanana()
    with fake.client() as client:
        _reachable(client, classes)
    aclient = fake.async_client()
    _reachable(aclient, classes)
    anyio.run(aclient.aclose)
    return classes


def _members(cls: type) -> Iterator[tuple[str, object]]:
    """(name, raw member) of the public methods and properties of ``cls``, inherited
    ones included (from our classes only: not object's, Exception's, httpx's)."""
    seen: set[str] = set()
    for klass in cls.__mro__:
        for name, member in vars(klass).items():
            if name not in seen and not name.startswith("_") and _ours(klass):
                yield name, member
            seen.add(name)


def _surface() -> list[tuple[str, Any, str]]:
    """(qualified name, object, kind) of everything checked."""
    items: list[tuple[str, Any, str]] = []
    for module in (nb, nanobanana.testing):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                items.append((f"{module.__name__}.{name}", obj, "function"))
    for qualname, cls in sorted(_public_classes().items()):
        items.append((qualname, cls, "class"))
        for name, member in _members(cls):
            if isinstance(member, property):
                items.append((f"{qualname}.{name}", member, "property"))
            elif isinstance(member, (staticmethod, classmethod)):
                items.append((f"{qualname}.{name}", member.__func__, "method"))
            elif inspect.isfunction(member) and _ours(member):
                items.append((f"{qualname}.{name}", member, "method"))
    return items


SURFACE = _surface()


# -- the checks -----------------------------------------------------------------------------


def _written_by_hand(func: Callable[..., Any]) -> bool:
    """False for what attrs (or another generator) wrote: its code has no source file."""
    code = getattr(func, "__code__", None)
    return code is not None and not code.co_filename.startswith("<")


def _parameters(func: Callable[..., Any]) -> tuple[set[str], set[str]]:
    """(the parameters to document, those that may be: ``*args``/``**kwargs``)."""
    required: set[str] = set()
    optional: set[str] = set()
    params = list(inspect.signature(func).parameters.values())
    if params and params[0].name in ("self", "cls"):
        params = params[1:]
    for p in params:
        if p.name.startswith("_"):
            continue
        if p.kind is p.VAR_POSITIONAL:
            optional |= {p.name, f"*{p.name}"}
        elif p.kind is p.VAR_KEYWORD:
            optional |= {p.name, f"**{p.name}"}
        else:
            required.add(p.name)
    return required, optional


def _is_exception(name: str) -> bool:
    target = getattr(nb, name, None) or getattr(builtins, name, None)
    if target is None and "." in name:
        module, _, attr = name.rpartition(".")
        target = getattr(importlib.import_module(module), attr, None)
    return inspect.isclass(target) and issubclass(target, BaseException)


def _attribute_docstrings(cls: type) -> set[str]:
    """The fields of ``cls`` (and of its bases of ours) with a docstring under them in
    the source: what griffe shows for each in the reference."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if not _ours(klass):
            continue
        body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0]
        assert isinstance(body, ast.ClassDef)
        for stmt, after in itertools.pairwise(body.body):
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                names.add(stmt.target.id)
    return names


def _field_problems(cls: type, found: dict[str, list[str]]) -> list[str]:
    documented = set(found.get("args", [])) | set(found.get("attributes", []))
    documented |= _attribute_docstrings(cls)
    documented |= {f.name for f in attrs.fields(cls) if f.metadata.get("nanobanana.doc")}
    public = {f.name for f in attrs.fields(cls) if f.init and not f.name.startswith("_")}
    missing = sorted(public - documented)
    return [f"fields without a doc: {missing}"] if missing else []


def _problems(obj: Any, kind: str) -> list[str]:
    doc = obj.fget.__doc__ if kind == "property" else obj.__doc__
    if not doc or not doc.strip():
        return ["no docstring"]
    if kind == "property":
        return []
    found = sections(doc)
    func = obj
    if kind == "class":
        if attrs.has(obj):
            return _field_problems(obj, found)
        func = vars(obj).get("__init__")
        if func is None or not _written_by_hand(func):
            return []  # no constructor of its own (an inherited one is checked there)
        if func.__doc__:
            found = {**found, **sections(func.__doc__)}
    problems: list[str] = []
    required, optional = _parameters(func)
    documented = found.get("args", [])
    if missing := required - set(documented):
        problems.append(f"Args: does not document {sorted(missing)}")
    if unknown := set(documented) - required - optional:
        problems.append(f"Args: documents {sorted(unknown)}, not parameters")
    if len(documented) != len(set(documented)):
        problems.append("Args: names a parameter twice")
    if kind != "class":
        returns = inspect.signature(func).return_annotation
        says_none = returns in (None, "None", inspect.Signature.empty)
        if not says_none and not found.get("returns") and not found.get("yields"):
            problems.append(f"returns {returns} but has no Returns:/Yields:")
        if says_none and found.get("returns"):
            problems.append("returns None but has Returns:")
    problems += [
        f"Raises: {name} is not an exception class"
        for name in found.get("raises", [])
        if not _is_exception(name)
    ]
    return problems


def test_the_surface_is_what_a_user_reaches() -> None:
    names = {name for name, _, _ in SURFACE}
    for expected in [
        "nanobanana._async._client.AsyncClient.with_options",
        "nanobanana._async._resources.AsyncImages.generate",
        "nanobanana._async._resources.AsyncImages.wait",
        "nanobanana._sync._resources.Videos.generate_many",
        "nanobanana._sync._resources.Account.calculate_cost",
        "nanobanana._async._schema_methods.AsyncModelsWithRawResponse.list",
        "nanobanana._sync._raw.RawResponse.parse",
        "nanobanana._sync._tasks.ImageTask.wait",
        "nanobanana._async._batch.AsyncBatch.aclose",
        "nanobanana._models.ImageStatus.from_dict",
        "nanobanana._batch_models.BatchItem.to_json",
        "nanobanana._policy.PollPolicy",
        "nanobanana._exceptions.RateLimitError",
        "nanobanana._limits.Permit.release",
        "nanobanana.testing._fake.FakeNanoBanana.inject",
        "nanobanana.testing._faults.FaultHandle.remove",
        "nanobanana.limiters._redis.RedisRateLimiter.bind_sync",
        "nanobanana.testing.image_price",
        "nanobanana.gather",
    ]:
        assert expected in names


@pytest.mark.parametrize(("name", "obj", "kind"), SURFACE, ids=[n for n, _, _ in SURFACE])
def test_documented(name: str, obj: Any, kind: str) -> None:
    assert _problems(obj, kind) == []


def test_the_reader_of_sections() -> None:
    doc = """Summary.

        Args:
            a: One.
            b (int): Two,
                continued: not an entry.
            **kw: The rest.

        Returns:
            A value.

        Raises:
            ValueError: When.

        Prose again.
        """
    assert sections(doc) == {
        "args": ["a", "b", "**kw"],
        "returns": ["A value."],
        "raises": ["ValueError"],
    }
    # A header must follow a blank line (else it is prose), as the docs' parser reads it.
    assert sections("Summary.\nArgs:\n    a: One.\n") == {}


def test_a_missing_section_is_caught() -> None:
    def documented(a: int, *, b: str = "", _private: int = 0) -> int:
        """Summary.

        Args:
            a: One.

        Raises:
            NoSuchError: Never.
        """
        return a

    assert _problems(documented, "function") == [
        "Args: does not document ['b']",
        "returns int but has no Returns:/Yields:",
        "Raises: NoSuchError is not an exception class",
    ]
