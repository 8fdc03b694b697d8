"""The simulator's result files look like their request: the prompt written on a pattern of
its own, the model, the size and the task id, at the asked ratio and resolution; a
video's first frame is the same picture (also served as a poster)."""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import subprocess
import sys
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from nanobanana.testing import FakeNanoBanana, ManualClock

Image = pytest.importorskip("PIL.Image")
ImageChops = pytest.importorskip("PIL.ImageChops")

TEXT = (250, 250, 245)  # the prompt's letters (docs/testing.md)


def _fake(**kw: Any) -> FakeNanoBanana:
    return FakeNanoBanana(clock=ManualClock(), credits=10**6, rate_limit=None, **kw)


def _results(
    fake: FakeNanoBanana, kind: str = "image", prompt: str = "p", wait: float = 1000, **kw: Any
) -> list[str]:
    with fake.client() as client:
        if kind == "image":
            task_id = client.images.generate(prompt, **kw).task_id
        else:
            task_id = client.videos.generate(prompt, **kw).task_id
    fake.advance(wait)
    return fake.asset_urls(task_id)


def _get(fake: FakeNanoBanana, url: str) -> bytes:
    with fake.http_client() as http:
        response = http.get(url)
    assert response.status_code == 200, url
    return response.content


def _png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _expected(ratio: str, resolution: str | None) -> tuple[int, int]:
    long_side = {None: 1024, "1K": 1024, "2K": 2048, "4K": 4096}[resolution]
    w, h = (int(n) for n in ratio.split(":"))
    if w >= h:
        return long_side, round(long_side * Fraction(h, w))
    return round(long_side * Fraction(w, h)), long_side


def _colours(image: Any) -> Counter[tuple[int, int, int]]:
    data = image.tobytes()
    return Counter(zip(data[0::3], data[1::3], data[2::3], strict=True))


def _rgb(data: bytes) -> Any:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("RGB")


# -- size ---------------------------------------------------------------------------------------

RATIOS = ["1:1", "3:2", "2:3", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"]


def test_every_ratio_and_resolution_gives_its_pixel_size() -> None:
    fake = _fake()
    cases = [(r, "1K") for r in RATIOS] + [("16:9", "2K"), ("9:16", "4K")]
    for ratio, resolution in cases:
        [url] = _results(fake, model="nano-banana-pro", aspect_ratio=ratio, resolution=resolution)
        assert _png_size(_get(fake, url)) == _expected(ratio, resolution), (ratio, resolution)
    # Pillow agrees, for both formats
    [url] = _results(fake, model="nano-banana-pro", aspect_ratio="21:9", output_format="jpeg")
    assert _rgb(_get(fake, url)).size == _expected("21:9", None)


# -- looks --------------------------------------------------------------------------------------


def _dominant(data: bytes) -> tuple[int, int, int]:
    return _colours(_rgb(data).resize((128, 128), Image.Resampling.NEAREST)).most_common(1)[0][0]


def test_two_prompts_give_visibly_different_images() -> None:
    fake = _fake()
    [a] = _results(fake, prompt="A lighthouse on a cliff at dawn")
    [b] = _results(fake, prompt="A bowl of ramen, steam rising")
    image_a, image_b = _get(fake, a), _get(fake, b)
    assert _png_size(image_a) == _png_size(image_b)
    assert _dominant(image_a) != _dominant(image_b)


def _seeded_files() -> list[bytes]:
    fake = _fake(seed=11)
    urls = _results(fake, prompt="a fox", num_images=2)
    urls += _results(fake, prompt="a fox", output_format="jpeg")
    urls += _results(fake, "video", prompt="a fox running", duration=4)
    return [_get(fake, url) for url in urls]


def test_the_same_request_and_seed_give_the_same_bytes() -> None:
    first, again = _seeded_files(), _seeded_files()
    assert first == again
    assert len(set(first)) == len(first)  # and no two results alike


@pytest.mark.slow
def test_the_same_files_in_another_process() -> None:
    """Nothing depends on the process (string hashing, caches): a rerun of a seeded demo
    makes the very same files."""
    code = (
        "import hashlib, sys; sys.path.insert(0, sys.argv[1]); "
        "from test_simulator_media import _seeded_files; "
        "print([hashlib.sha256(f).hexdigest() for f in _seeded_files()])"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, str(Path(__file__).parent)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
        ).stdout
        for seed in ("1", "2")
    ]
    here = str([hashlib.sha256(f).hexdigest() for f in _seeded_files()])
    assert runs[0].strip() == runs[1].strip() == here


def _text_pixels(data: bytes, near: int = 0) -> int:
    """Pixels of the letters' colour (within ``near``) in the top half, where the prompt is."""
    image = _rgb(data)
    band = image.crop((0, 0, image.width, image.height // 2))
    return sum(
        n
        for colour, n in _colours(band).items()
        if all(abs(c - t) <= near for c, t in zip(colour, TEXT, strict=True))
    )


def test_the_prompt_is_written_on_the_image() -> None:
    fake = _fake()
    [short] = _results(fake, prompt="a")
    [long] = _results(fake, prompt="a quiet harbour at dusk with fishing boats and gulls")
    short_text, long_text = _text_pixels(_get(fake, short)), _text_pixels(_get(fake, long))
    assert 0 < short_text < long_text
    # on a JPEG too (its colours are close, not exact)
    [jpeg] = _results(fake, prompt="a quiet harbour", output_format="jpeg")
    assert _text_pixels(_get(fake, jpeg), near=12) > short_text


def test_any_prompt_can_be_drawn() -> None:
    fake = _fake()
    for prompt in [
        "日本語のプロンプト ☃",
        "café crème",
        "x" * 5000,
        "tab\tand\nnewline",
        "  ~{}|\\^`",
    ]:
        [url] = _results(fake, prompt=prompt, aspect_ratio="9:16")
        data = _get(fake, url)
        assert _rgb(data).size == (576, 1024) and _text_pixels(data) > 0, prompt


# -- videos -------------------------------------------------------------------------------------


def _boxes(data: bytes) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    start = 0
    while start < len(data):
        size, kind = struct.unpack(">I4s", data[start : start + 8])
        out[kind] = data[start + 8 : start + size]
        start += size
    return out


class _BitReader:
    def __init__(self, data: bytes) -> None:
        self.bits = "".join(format(b, "08b") for b in data)
        self.at = 0

    def u(self, n: int) -> int:
        value = int(self.bits[self.at : self.at + n], 2)
        self.at += n
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bits[self.at + zeros] == "0":
            zeros += 1
        value = int(self.bits[self.at + zeros : self.at + 2 * zeros + 1], 2) - 1
        self.at += 2 * zeros + 1
        return value


def _unescaped(nal: bytes) -> bytes:
    return re.sub(b"\x00\x00\x03", b"\x00\x00", nal)


def _stbl(mp4: bytes) -> dict[bytes, bytes]:
    trak = _boxes(_boxes(mp4)[b"moov"])[b"trak"]
    return _boxes(_boxes(_boxes(_boxes(trak)[b"mdia"])[b"minf"])[b"stbl"])


def _first_frame_luma(mp4: bytes) -> tuple[int, int, list[bytearray]]:
    """Decode the first frame's luma: the MP4's first sample, an IDR picture of I_PCM
    macroblocks (anything else fails here)."""
    stbl = _stbl(mp4)
    avcc = _boxes(_boxes(stbl[b"stsd"][8:])[b"avc1"][78:])[b"avcC"]
    sps = _unescaped(avcc[8 : 8 + struct.unpack(">H", avcc[6:8])[0]])
    assert (avcc[1], sps[0] & 0x1F, sps[1]) == (66, 7, 66)  # Constrained Baseline, an SPS
    reader = _BitReader(sps[4:])
    reader.ue()  # seq_parameter_set_id
    frame_num_bits = reader.ue() + 4
    assert reader.ue() == 2  # pic_order_cnt_type
    reader.ue()
    reader.u(1)
    mb_width, mb_height = reader.ue() + 1, reader.ue() + 1

    mdat = _boxes(mp4)[b"mdat"]
    nal = _unescaped(mdat[4 : 4 + struct.unpack(">I", mdat[:4])[0]])
    assert nal[0] & 0x1F == 5  # an IDR slice
    reader = _BitReader(nal[1:40])
    assert (reader.ue(), reader.ue(), reader.ue()) == (0, 7, 0)  # first MB, I slice, PPS 0
    reader.u(frame_num_bits)
    reader.ue()  # idr_pic_id
    reader.u(2)
    reader.ue()  # slice_qp_delta
    reader.ue()  # disable_deblocking_filter_idc
    luma = [bytearray(16 * mb_width) for _ in range(16 * mb_height)]
    at = 1 + -(-reader.at // 8)  # where the next macroblock type starts, in nal
    for mb in range(mb_width * mb_height):
        if mb:
            reader = _BitReader(nal[at : at + 2])
        assert reader.ue() == 25, mb  # I_PCM, then zero bits up to a byte boundary
        if mb:
            at += 2
        else:
            at = 1 + -(-reader.at // 8)
        mx, my = mb % mb_width, mb // mb_width
        for row in range(16):
            start = at + 16 * row
            luma[16 * my + row][16 * mx : 16 * mx + 16] = nal[start : start + 16]
        at += 384  # 256 luma samples, 2 x 64 chroma
    assert nal[at:] == b"\x80"  # and nothing else: the slice's stop bit
    return mb_width, mb_height, luma


def test_a_video_shows_its_card_from_the_first_frame() -> None:
    fake = _fake()
    [url] = _results(fake, "video", prompt="a red kite over hills", aspect_ratio="9:16")
    mp4 = _get(fake, url)
    poster = _rgb(_get(fake, url.replace(".mp4?", ".png?")))
    assert poster.size == (720, 1280)
    mb_width, mb_height, luma = _first_frame_luma(mp4)
    assert (mb_width, mb_height) == (45, 80)
    # the frame's luma is the poster's, in BT.709 limited range
    for y in range(0, 1280, 23):
        for x in range(0, 720, 29):
            r, g, b = poster.getpixel((x, y))
            want = 16 + 219 * (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255
            assert abs(luma[y][x] - want) <= 1.5, (x, y)
    # then one frame after another for the whole duration, 25 a second
    count, delta = struct.unpack(">II", _stbl(mp4)[b"stts"][8:16])
    assert (count, delta) == (25 * 4, 40)  # veo-3.1-fast: 4 s by default, timescale 1000


def test_a_video_poster_follows_the_rules_of_its_video() -> None:
    fake = _fake(result_ttl=60.0, durations={"video": 10.0, "image": 10.0})
    [url] = _results(fake, "video", prompt="p", wait=10, model="grok-video", resolution="480p")
    png = _rgb(_get(fake, url.replace(".mp4?", ".png?")))
    jpeg = _rgb(_get(fake, url.replace(".mp4?", ".jpg?")))
    assert png.size == jpeg.size == (852, 480)
    # the JPEG is the same picture, within a few levels of every channel of every pixel
    assert max(high for _, high in ImageChops.difference(png, jpeg).getextrema()) <= 6
    with fake.http_client() as http:
        assert http.get(url.replace(".mp4?", ".gif?")).status_code == 404
        assert (
            http.get(url.replace(".mp4?", ".png?").replace("token=", "token=x")).status_code == 404
        )
    [image] = _results(fake, prompt="p", wait=10)
    with fake.http_client() as http:
        assert http.get(image.replace(".png?", ".mp4?")).status_code == 404  # no video of an image
        fake.advance(60)
        assert http.get(url.replace(".mp4?", ".png?")).status_code == 403  # expired with it
