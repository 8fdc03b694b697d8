"""``python -m nanobanana``: the command line, as the ``nanobanana`` console script runs it
(for an environment whose scripts directory is not on ``PATH``)."""

from nanobanana._cli import main

raise SystemExit(main())
