"""Decode cost: microseconds per status decode through the models, against ``json.loads``.

Three ways to read the same ``GET images/status`` answer (a completed task with a URL, a
progress and a completion time, as in the API reference):

- ``json.loads`` of the body bytes: the floor, what any client must pay (A);
- ``Operation.parse(response)``: what the SDK does with an ``httpx.Response`` (B):
  ``json.loads``, the envelope checks, then the cattrs structuring into ``ImageStatus``;
- ``decode(ImageStatus, data)``: the structuring alone, from an already-parsed dict.

Each figure is the median over alternating rounds of the time per call of a tight loop.
The video status is measured the same way. These are informational (the issue sets no
target for them): they show what share of the per-call overhead is decoding.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from _harness import ab, main, row, time_per_call

from nanobanana import ImageStatus, VideoStatus
from nanobanana._converter import decode
from nanobanana._protocol import image_status, video_status

IMAGE_BODY = json.dumps(
    {
        "success": True,
        "data": {
            "task_id": "clx0a1b2c3d4e5f6g7h8i9j0",
            "status": "completed",
            "progress": 100,
            "image_url": "https://cdn.example.com/results/clx0a1b2c3d4e5f6g7h8i9j0/0.png",
            "completed_at": "2024-01-01T00:00:00Z",
        },
    }
).encode()

VIDEO_BODY = json.dumps(
    {
        "success": True,
        "data": {
            "task_id": "vid_0a1b2c3d4e5f6g7h8i9j0",
            "status": "succeeded",
            "progress": 100,
            "video_url": "https://cdn.example.com/results/vid_0a1b2c3d4e5f6g7h8i9j0.mp4",
            "completed_at": "2024-01-01T00:00:00Z",
        },
    }
).encode()


def _response(body: bytes, url: str) -> httpx.Response:
    request = httpx.Request("GET", url)
    response = httpx.Response(
        200, headers={"content-type": "application/json"}, content=body, request=request
    )
    response.read()
    return response


def _measure(kind: str, body: bytes, cls: type[Any], n: int, rounds: int) -> list[dict[str, Any]]:
    op = (image_status if kind == "image" else video_status)("clx0a1b2c3d4e5f6g7h8i9j0")
    response = _response(body, f"https://api.invalid/api/v1/{kind}s/status")
    data = json.loads(body)["data"]
    # the three paths must agree before they are timed
    expected = decode(cls, data)
    assert op.parse(response) == expected

    loads = time_per_call(lambda: json.loads(body), n)
    parse = time_per_call(lambda: op.parse(response), n)
    structure = time_per_call(lambda: decode(cls, data), n)

    full = ab(loads, parse, rounds=rounds)
    alone = ab(loads, structure, rounds=rounds)
    us = 1e6
    return [
        row(f"decode.{kind}.json_loads", full.a_median * us, "µs/call", note=""),
        row(
            f"decode.{kind}.parse_response",
            full.b_median * us,
            "µs/call",
            baseline=full.a_median * us,
            ratio=full.ratio,
            note=(
                f"Operation.parse(httpx.Response) -> {cls.__name__}; ratio = parse ÷ json.loads"
                if kind == "image"
                else ""
            ),
        ),
        row(
            f"decode.{kind}.structure_only",
            alone.b_median * us,
            "µs/call",
            baseline=alone.a_median * us,
            ratio=alone.ratio,
            note="decode(cls, dict): cattrs alone; ratio = decode ÷ json.loads"
            if kind == "image"
            else "",
        ),
    ]


def run(quick: bool = False) -> list[dict[str, Any]]:
    n = 5_000 if quick else 20_000
    rounds = 5 if quick else 9
    return _measure("image", IMAGE_BODY, ImageStatus, n, rounds) + _measure(
        "video", VIDEO_BODY, VideoStatus, n, rounds
    )


if __name__ == "__main__":
    raise SystemExit(main(run))
