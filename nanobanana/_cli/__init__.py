"""The ``nanobanana`` command line (extra ``cli``: rich draws the output).

    nanobanana --fake batch examples/prompts.txt -o out/

``main(argv)`` returns the exit code (see ``EXIT_CODES``); the console script exits with it.
"""

from __future__ import annotations

from ._main import EXIT_CODES, build_parser, main

__all__ = ["EXIT_CODES", "build_parser", "main"]
