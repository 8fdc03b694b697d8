"""The command line's request flags, derived from the request schema at run time.

Every keyword field of ``ImageRequest``, ``VideoRequest`` and ``CostRequest`` is a flag of
the same name in every command that sends it: ``aspect_ratio`` is ``--aspect-ratio``, a
``Literal`` gives the flag its ``choices``, an ``int`` its type, a ``bool`` the pair
``--generate-audio/--no-generate-audio``, and the field's doc is the help. A field added to
the schema is a flag with no edit here.
"""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from nanobanana._exceptions import InvalidParameterError
from nanobanana._requests import doc

__all__ = [
    "SHORT",
    "add_request_flags",
    "flag",
    "refuse_foreign_flags",
    "request_fields",
    "request_kwargs",
]

SHORT: Mapping[str, str] = {"num_images": "-n"}
"""Short aliases kept for the most used fields."""


def flag(name: str) -> str:
    """The flag of a field: ``aspect_ratio`` -> ``--aspect-ratio``."""
    return "--" + name.replace("_", "-")


def _shape(annotation: Any) -> tuple[type[Any], tuple[Any, ...] | None]:
    """(str, int or bool; the closed choices or None) of a field's type, None dropped.

    ``Literal[...]``: its values are the choices. ``Literal[...] | str`` (a model id) is an
    open string. A union of Literals (a cost preview's resolution) takes every value."""
    members = [a for a in _flatten(annotation) if a is not type(None)]
    if any(m in (str, int, bool) for m in members):
        plain = [m for m in members if m in (str, int, bool)]
        if len(plain) != 1:
            raise TypeError(f"cannot make a flag of {annotation!r}")
        return plain[0], None
    values = tuple(dict.fromkeys(v for m in members for v in typing.get_args(m)))
    kinds = {type(v) for v in values}
    if not values or len(kinds) != 1 or not all(typing.get_origin(m) is Literal for m in members):
        raise TypeError(f"cannot make a flag of {annotation!r}")
    return kinds.pop(), values


def _flatten(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return [m for a in typing.get_args(annotation) for m in _flatten(a)]
    return [annotation]


def request_fields(schema: type[Any]) -> list[attrs.Attribute[Any]]:
    """The fields of a request class that are flags (the keyword ones; the positional
    prompt or type is each command's own argument)."""
    return [f for f in attrs.fields(schema) if f.kw_only]


def add_request_flags(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    schemas: Sequence[type[Any]],
) -> None:
    """Add a flag for every keyword field of ``schemas`` (several: a batch file of either
    kind; a field they share is one flag whose choices are all of theirs)."""
    hints = [typing.get_type_hints(schema) for schema in schemas]
    names = list(dict.fromkeys(f.name for s in schemas for f in request_fields(s)))
    for name in names:
        shapes = list(dict.fromkeys(_shape(h[name]) for h in hints if name in h))  # in order
        kind = {k for k, _ in shapes}
        if len(kind) != 1:
            raise TypeError(f"{name}: the schemas disagree on its type")
        value_type = kind.pop()
        choices = None
        if all(c is not None for _, c in shapes):
            choices = tuple(dict.fromkeys(v for _, c in shapes if c is not None for v in c))
        docs = list(
            dict.fromkeys(
                doc(attrs.fields_dict(s)[name]) for s in schemas if name in attrs.fields_dict(s)
            )
        )
        help_text = " / ".join(docs)
        spellings = [SHORT[name], flag(name)] if name in SHORT else [flag(name)]
        if value_type is bool:
            parser.add_argument(
                *spellings,
                dest=name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
        else:
            parser.add_argument(
                *spellings,
                dest=name,
                type=value_type,
                choices=choices,
                default=None,
                metavar=None if choices else name.split("_")[-1].upper(),
                help=help_text,
            )


def request_kwargs(args: argparse.Namespace, schema: type[Any]) -> dict[str, Any]:
    """The fields of ``schema`` given on the command line (unset flags left out)."""
    return {
        f.name: getattr(args, f.name)
        for f in request_fields(schema)
        if getattr(args, f.name, None) is not None
    }


def refuse_foreign_flags(
    args: argparse.Namespace, schema: type[Any], others: Sequence[type[Any]], what: str
) -> None:
    """A flag set for a field ``schema`` does not have (a --duration for a batch of
    images): InvalidParameterError rather than silently ignored."""
    own = {f.name for f in request_fields(schema)}
    for other in others:
        for field in request_fields(other):
            if field.name not in own and getattr(args, field.name, None) is not None:
                raise InvalidParameterError(
                    flag(field.name),
                    getattr(args, field.name),
                    reason=f"{flag(field.name)} does not apply to {what}",
                )
