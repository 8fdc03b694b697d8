"""The ``nanobanana`` command line (extra ``cli``: rich draws the output).

    nanobanana --fake batch examples/prompts.txt -o out/

``main(argv)`` returns the exit code (see ``EXIT_CODES``); the console script exits with it.
"""

from __future__ import annotations

from ._exit import EXIT_CODES
from ._main import main
from ._parser import build_parser

__all__ = ["EXIT_CODES", "build_parser", "main"]
