"""The blocking client, for scripts, notebooks and Django views: no async anywhere.

export NANOBANANA_API_KEY=...
python examples/sync_script.py out/          # or: python examples/sync_script.py out/ --fake
"""

from __future__ import annotations

import sys
from pathlib import Path

import nanobanana as nb


def run(client: nb.Client, out: Path) -> list[Path]:
    """One image, then a small batch; every file written."""
    print("balance:", client.account.credits().credits)
    print("cost of one image:", client.account.calculate_cost("image", mode="text").credits_needed)

    task = client.images.generate("A red fox curled up asleep in fresh snow", aspect_ratio="4:3")
    status = task.wait()  # polls with backoff until it ends
    written = client.images.save(status, out)
    print("one image:", written[0])

    prompts = ["A koi pond from above", "A paper crane on a desk", "A lighthouse in a storm"]
    with client.images.generate_many(prompts, save_to=out) as batch:  # an iterator
        for item in batch:
            print(f"#{item.index}", "ok" if item.ok else f"failed: {item.error}", item.paths)
            written.extend(item.paths)
    return written


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("out")
    if "--fake" in argv:
        from nanobanana.testing import FakeNanoBanana

        client = FakeNanoBanana(time_scale=600).client()
    else:
        client = nb.Client()  # NANOBANANA_API_KEY from the environment
    with client:
        run(client, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
