"""A griffe extension for the docs: leave private parameters out of rendered signatures.

The clients take ``_clock``, ``_limiter`` and ``_transport`` (seams for the simulator and
the tests, not API); the reference shows only what a user may pass. mkdocs.yml loads this
file through mkdocstrings' ``extensions`` option.
"""

from __future__ import annotations

from typing import Any

import griffe


class HidePrivateParameters(griffe.Extension):
    """Drop parameters whose name starts with ``_`` from every function's signature."""

    def on_function_instance(self, *, func: griffe.Function, **kwargs: Any) -> None:
        kept = [p for p in func.parameters if not p.name.startswith("_")]
        if len(kept) != len(func.parameters):
            func.parameters = griffe.Parameters(*kept)
