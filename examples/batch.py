"""Run a file of prompts as one batch: a budget, a journal to resume from, files saved.

    export NANOBANANA_API_KEY=...            # or run it against the simulator:
    python examples/batch.py examples/prompts.txt out/ --fake

Rerun the same command after a crash: the journal (out/journal.sqlite) makes it resume
without submitting anything twice.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import anyio

import nanobanana as nb


def read_prompts(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


async def run(
    client: nb.AsyncClient, prompts: list[str], out: Path, max_credits: int | None
) -> int:
    """Generate every prompt, save the images under ``out``; the number that failed."""
    failed = 0
    async with client.images.generate_many(
        prompts, journal=out / "journal.sqlite", save_to=out, max_credits=max_credits
    ) as batch:
        async for item in batch:
            if item.ok:
                print(f"#{item.index:>3} ok      {item.paths[0]}")
            else:
                failed += 1
                flag = "CHECK  " if item.needs_attention else "failed "
                print(f"#{item.index:>3} {flag} {type(item.error).__name__}: {item.error}")
    return failed


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompts", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--max-credits", type=int)
    parser.add_argument("--fake", action="store_true", help="use the embedded simulator")
    args = parser.parse_args(argv)
    prompts = read_prompts(args.prompts)
    if args.fake:
        from nanobanana.testing import FakeNanoBanana

        client = FakeNanoBanana(time_scale=600).async_client()
    else:
        client = nb.AsyncClient()
    async with client:
        failed = await run(client, prompts, args.out, args.max_credits)
    print(f"{len(prompts) - failed} of {len(prompts)} succeeded")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(anyio.run(main))
