"""A griffe extension for the docs: show each request field's doc in the reference.

The request schema (``nanobanana/_requests.py``) keeps a field's one-line doc in its
attrs metadata (``meta("...")``), the one place ``generate``'s ``Args:``, the CLI's help
and the reference all read it from. griffe reads the source, where the doc is an argument
rather than a docstring; this gives each such field its doc as a docstring, and its
default as its value (not the ``attrs.field(...)`` call). mkdocs.yml loads this file
through mkdocstrings' ``extensions`` option.
"""

from __future__ import annotations

import importlib
from typing import Any

import attrs
import griffe

SCHEMA = "nanobanana._requests"


class SchemaFieldDocs(griffe.Extension):
    """Give the fields of the request schema's classes their ``meta`` doc."""

    def on_class_members(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        if cls.module.path != SCHEMA:
            return
        schema = importlib.import_module(SCHEMA)
        runtime = getattr(schema, cls.name, None)
        if runtime is None or not attrs.has(runtime):
            return
        for field in attrs.fields(runtime):
            member = cls.members.get(field.name)
            if not isinstance(member, griffe.Attribute):
                continue
            if member.docstring is None:
                member.docstring = griffe.Docstring(schema.doc(field), parent=member)
            member.value = None if field.default is attrs.NOTHING else repr(field.default)
