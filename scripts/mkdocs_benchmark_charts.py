"""mkdocs hook: serve the charts of ``benchmarks/`` at the site root.

``docs/benchmarks.md`` includes ``benchmarks/README.md``, whose charts sit beside it
(``overhead.png``, ...); this puts them where the included page's links point, without a
second copy in ``docs/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files


def on_files(files: Files, config: Any) -> Files:
    charts = Path(config["config_file_path"]).parent / "benchmarks"
    for png in sorted(charts.glob("*.png")):
        files.append(File(png.name, str(charts), config["site_dir"], config["use_directory_urls"]))
    return files
