"""MP4 with a real H.264 video track, written without an encoder.

The first frame is an IDR picture made of I_PCM macroblocks: H.264's escape hatch that
stores a macroblock's samples as they are (256 luma and 2 x 64 chroma bytes), with no
transform and no entropy coding. Every later frame is a P picture whose macroblocks are
all skipped, i.e. a copy of the one before: a still picture for the whole duration, at
25 frames a second, that browsers and players decode like any other H.264 (Constrained
Baseline profile, level 4.0, BT.709 colours).

The container is ISO BMFF with the ``moov`` box first (playable while downloading).
"""

from __future__ import annotations

import re
import struct

from ._picture import Picture

__all__ = ["FPS", "mp4_bytes"]

FPS = 25
_TIMESCALE = 1000
_PROFILE, _CONSTRAINTS, _LEVEL = 66, 0xC0, 40  # Constrained Baseline, level 4.0
_MB_I_PCM = 25


class _Bits:
    """An RBSP under construction: fixed-width and Exp-Golomb fields."""

    def __init__(self) -> None:
        self._parts: list[str] = []

    def u(self, width: int, value: int) -> _Bits:
        self._parts.append(format(value, f"0{width}b"))
        return self

    def ue(self, value: int) -> _Bits:
        code = value + 1
        self._parts.append("0" * (code.bit_length() - 1) + format(code, "b"))
        return self

    def se(self, value: int) -> _Bits:
        return self.ue(2 * value - 1 if value > 0 else -2 * value)

    def aligned(self) -> bytes:
        """The bits so far, zero-padded to a byte boundary."""
        bits = "".join(self._parts)
        bits += "0" * (-len(bits) % 8)
        return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""

    def trailing(self) -> bytes:
        """The bits so far, then the RBSP stop bit and alignment."""
        return self.u(1, 1).aligned()


_EMULATION = re.compile(b"\x00\x00(?=[\x00-\x03])")


def _nal(header: int, rbsp: bytes) -> bytes:
    """A NAL unit: its header byte and the payload with emulation prevention bytes."""
    return bytes((header,)) + _EMULATION.sub(b"\x00\x00\x03", rbsp)


def _sps(mb_width: int, mb_height: int, crop_right: int, crop_bottom: int) -> bytes:
    bits = _Bits().u(8, _PROFILE).u(8, _CONSTRAINTS).u(8, _LEVEL)
    bits.ue(0)  # seq_parameter_set_id
    bits.ue(0)  # log2_max_frame_num_minus4: frame_num has 4 bits
    bits.ue(2)  # pic_order_cnt_type 2: output order is decoding order
    bits.ue(1)  # max_num_ref_frames
    bits.u(1, 0)  # gaps_in_frame_num_value_allowed_flag
    bits.ue(mb_width - 1).ue(mb_height - 1)
    bits.u(1, 1)  # frame_mbs_only_flag
    bits.u(1, 1)  # direct_8x8_inference_flag
    if crop_right or crop_bottom:
        bits.u(1, 1).ue(0).ue(crop_right // 2).ue(0).ue(crop_bottom // 2)
    else:
        bits.u(1, 0)
    bits.u(1, 1)  # vui_parameters_present_flag
    bits.u(1, 0)  # aspect_ratio_info_present_flag (square pixels)
    bits.u(1, 0)  # overscan_info_present_flag
    bits.u(1, 1).u(3, 5).u(1, 0)  # video_signal_type: unspecified format, limited range
    bits.u(1, 1).u(8, 1).u(8, 1).u(8, 1)  # colour description: BT.709 throughout
    bits.u(1, 0)  # chroma_loc_info_present_flag
    bits.u(1, 0)  # timing_info_present_flag (the container times the frames)
    bits.u(1, 0).u(1, 0)  # no HRD parameters
    bits.u(1, 0)  # pic_struct_present_flag
    bits.u(1, 0)  # bitstream_restriction_flag
    return _nal(0x67, bits.trailing())


def _pps() -> bytes:
    bits = _Bits().ue(0).ue(0)  # pic_parameter_set_id, seq_parameter_set_id
    bits.u(1, 0)  # entropy_coding_mode_flag: CAVLC
    bits.u(1, 0)  # bottom_field_pic_order_in_frame_present_flag
    bits.ue(0)  # num_slice_groups_minus1
    bits.ue(0).ue(0)  # num_ref_idx_l0/l1_default_active_minus1
    bits.u(1, 0).u(2, 0)  # no weighted prediction
    bits.se(0).se(0).se(0)  # pic_init_qp/qs_minus26, chroma_qp_index_offset
    bits.u(1, 1)  # deblocking_filter_control_present_flag
    bits.u(1, 0)  # constrained_intra_pred_flag
    bits.u(1, 0)  # redundant_pic_cnt_present_flag
    return _nal(0x68, bits.trailing())


def _bt709(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """Limited-range BT.709 Y'CbCr, kept within 1..254 (no zero byte can start a start
    code inside a macroblock's samples)."""
    r, g, b = (c / 255 for c in rgb)
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    values = (16 + 219 * y, 128 + 224 * (b - y) / 1.8556, 128 + 224 * (r - y) / 1.5748)
    ys, cb, cr = (max(1, min(254, round(v))) for v in values)
    return ys, cb, cr


def _idr(picture: Picture, mb_width: int, mb_height: int) -> bytes:
    """The first frame: one I slice of I_PCM macroblocks."""
    table = [_bt709(rgb) for rgb in picture.palette]
    to_y, to_cb, to_cr = (
        bytes(table[i][k] if i < len(table) else 128 for i in range(256)) for k in range(3)
    )
    padded_width = 16 * mb_width
    index_rows: list[bytes] = []
    for n, row in enumerate(picture.rows):
        line = picture.expanded(row)
        line += line[-1:] * (padded_width - len(line))
        index_rows.extend([line] * min(picture.cell, picture.height - n * picture.cell))
    index_rows.extend(index_rows[-1:] * (16 * mb_height - len(index_rows)))
    luma = [line.translate(to_y) for line in index_rows]
    cb = [line[::2].translate(to_cb) for line in index_rows[::2]]
    cr = [line[::2].translate(to_cr) for line in index_rows[::2]]

    header = _Bits().ue(0).ue(7).ue(0)  # first_mb_in_slice, slice_type I, pps id
    header.u(4, 0).ue(0)  # frame_num, idr_pic_id
    header.u(1, 0).u(1, 0)  # no_output_of_prior_pics_flag, long_term_reference_flag
    header.se(0)  # slice_qp_delta
    header.ue(1)  # disable_deblocking_filter_idc: off (PCM needs none)
    header.ue(_MB_I_PCM)
    between = _Bits().ue(_MB_I_PCM).aligned()  # every later macroblock's type
    parts = [header.aligned()]
    for my in range(mb_height):
        ys = luma[16 * my : 16 * my + 16]
        us = cb[8 * my : 8 * my + 8]
        vs = cr[8 * my : 8 * my + 8]
        for mx in range(mb_width):
            if mx or my:
                parts.append(between)
            x16, x8 = 16 * mx, 8 * mx
            parts.extend([line[x16 : x16 + 16] for line in ys])
            parts.extend([line[x8 : x8 + 8] for line in us])
            parts.extend([line[x8 : x8 + 8] for line in vs])
    parts.append(b"\x80")  # rbsp_stop_one_bit, aligned
    return _nal(0x65, b"".join(parts))


def _skipped(frame_num: int, macroblocks: int) -> bytes:
    """A later frame: a P slice whose macroblocks are all skipped."""
    bits = _Bits().ue(0).ue(5).ue(0)  # first_mb_in_slice, slice_type P, pps id
    bits.u(4, frame_num % 16)
    bits.u(1, 0)  # num_ref_idx_active_override_flag
    bits.u(1, 0)  # ref_pic_list_modification_flag_l0
    bits.u(1, 0)  # adaptive_ref_pic_marking_mode_flag
    bits.se(0)  # slice_qp_delta
    bits.ue(1)  # disable_deblocking_filter_idc
    bits.ue(macroblocks)  # mb_skip_run: the whole picture
    return _nal(0x41, bits.trailing())


def _box(kind: bytes, *payload: bytes) -> bytes:
    data = b"".join(payload)
    return struct.pack(">I", 8 + len(data)) + kind + data


def _full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *payload)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def mp4_bytes(picture: Picture, duration: int) -> bytes:
    """An MP4 showing ``picture`` for ``duration`` seconds (at least one)."""
    width, height = picture.width, picture.height
    mb_width, mb_height = -(-width // 16), -(-height // 16)
    sps = _sps(mb_width, mb_height, 16 * mb_width - width, 16 * mb_height - height)
    pps = _pps()
    frames = max(1, duration) * FPS
    delta = _TIMESCALE // FPS
    length = frames * delta
    samples = [_idr(picture, mb_width, mb_height)] + [
        _skipped(n, mb_width * mb_height) for n in range(1, frames)
    ]
    samples = [struct.pack(">I", len(nal)) + nal for nal in samples]

    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2avc1mp41")
    mvhd = _full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIII", 0, 0, _TIMESCALE, length),
        struct.pack(">IH", 0x00010000, 0x0100),
        b"\x00" * 10,
        _MATRIX,
        b"\x00" * 24,
        struct.pack(">I", 2),
    )
    tkhd = _full_box(
        b"tkhd",
        0,
        3,
        struct.pack(">IIIII", 0, 0, 1, 0, length),
        b"\x00" * 8,
        struct.pack(">HHHH", 0, 0, 0, 0),
        _MATRIX,
        struct.pack(">II", width << 16, height << 16),
    )
    mdhd = _full_box(
        b"mdhd", 0, 0, struct.pack(">IIII", 0, 0, _TIMESCALE, length), struct.pack(">HH", 0x55C4, 0)
    )
    hdlr = _full_box(b"hdlr", 0, 0, b"\x00" * 4, b"vide", b"\x00" * 12, b"VideoHandler\x00")
    vmhd = _full_box(b"vmhd", 0, 1, b"\x00" * 8)
    dinf = _box(b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1), _full_box(b"url ", 0, 1)))
    avcc = (
        bytes((1, _PROFILE, _CONSTRAINTS, _LEVEL, 0xFF, 0xE1))
        + struct.pack(">H", len(sps))
        + sps
        + b"\x01"
        + struct.pack(">H", len(pps))
        + pps
    )
    avc1 = _box(
        b"avc1",
        b"\x00" * 6,
        struct.pack(">H", 1),
        b"\x00" * 16,
        struct.pack(">HH", width, height),
        struct.pack(">II", 0x00480000, 0x00480000),
        b"\x00" * 4,
        struct.pack(">H", 1),
        b"\x00" * 32,
        struct.pack(">Hh", 0x18, -1),
        _box(b"avcC", avcc),
    )
    stsd = _full_box(b"stsd", 0, 0, struct.pack(">I", 1), avc1)
    stts = _full_box(b"stts", 0, 0, struct.pack(">III", 1, frames, delta))
    stss = _full_box(b"stss", 0, 0, struct.pack(">II", 1, 1))
    stsc = _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, frames, 1))
    stsz = _full_box(
        b"stsz",
        0,
        0,
        struct.pack(">II", 0, frames),
        b"".join(struct.pack(">I", len(s)) for s in samples),
    )

    def moov(chunk_offset: int) -> bytes:
        stco = _full_box(b"stco", 0, 0, struct.pack(">II", 1, chunk_offset))
        stbl = _box(b"stbl", stsd, stts, stss, stsc, stsz, stco)
        minf = _box(b"minf", vmhd, dinf, stbl)
        mdia = _box(b"mdia", mdhd, hdlr, minf)
        trak = _box(b"trak", tkhd, mdia)
        return _box(b"moov", mvhd, trak)

    offset = len(ftyp) + len(moov(0)) + 8
    return ftyp + moov(offset) + _box(b"mdat", *samples)
