"""HEVC intra through x265 (ffmpeg's libx265), one frame per image, CRF sweep.

Payload: the raw Annex-B stream (VPS, SPS, PPS, slice data) without x265's settings SEI, i.e. what
``-x265-params info=0`` writes. The same single encode also records ``with_sei`` (x265 defaults: a
user-data SEI with the version and options string, ~2.3 KB) and ``mp4_with_sei`` (that stream in an .mp4),
so accountings that counted those can be reproduced.
"""

from __future__ import annotations

from typing import Any

from ipr_bench.codecs.base import Encoded, Quality
from ipr_bench.codecs.ffmpeg import FIX, FfmpegVideoCodec, has_encoder
from ipr_bench.core.errors import Availability, OptionError
from ipr_bench.core.registry import register_codec

HEVC_PREFIX_SEI = 39
SEI_USER_DATA_UNREGISTERED = 5


def split_annexb(stream: bytes) -> list[bytes]:
    """NAL units of an Annex-B stream, each with its own start code."""
    starts = []
    i = stream.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i - 1 if i > 0 and stream[i - 1] == 0 else i)  # 4-byte start code
        i = stream.find(b"\x00\x00\x01", i + 3)
    return [stream[a:b] for a, b in zip(starts, [*starts[1:], len(stream)], strict=True)]


def strip_user_data_sei(stream: bytes) -> bytes:
    """Drop prefix-SEI NAL units that carry user-data-unregistered messages (x265's settings string)."""
    kept = []
    for nal in split_annexb(stream):
        body = nal[nal.index(b"\x00\x01") + 2 :]
        nal_type = (body[0] >> 1) & 0x3F
        if nal_type == HEVC_PREFIX_SEI and len(body) > 2 and body[2] == SEI_USER_DATA_UNREGISTERED:
            continue
        kept.append(nal)
    return b"".join(kept)


@register_codec("hevc")
class HevcCodec(FfmpegVideoCodec):
    knob = "crf"
    default_qualities = (18, 23, 28, 33, 38, 43, 48)
    higher_knob_is_better = False
    payload_contains = (
        "raw HEVC Annex-B stream (VPS/SPS/PPS + one intra slice), x265 settings SEI removed (= info=0); "
        "6-byte size header only for odd-sized images"
    )
    requires = "ffmpeg with libx265 (imageio-ffmpeg's bundled binary)"
    muxer = "hevc"
    record_mp4 = True

    def __init__(self, preset: str = "medium", pix_fmt: str = "yuv420p", **extra: Any) -> None:
        if pix_fmt not in ("yuv420p", "yuv444p"):
            raise OptionError(f"hevc: pix_fmt must be yuv420p or yuv444p, not {pix_fmt!r}")
        super().__init__(preset=preset, pix_fmt=pix_fmt, **extra)

    @classmethod
    def availability(cls) -> Availability:
        if has_encoder("libx265"):
            return Availability(True)
        return Availability(False, f"no ffmpeg with libx265 found: {FIX}")

    def encoder_args(self, quality: Quality) -> list[str]:
        return [
            "-pix_fmt",
            self.options["pix_fmt"],
            "-c:v",
            "libx265",
            "-preset",
            self.options["preset"],
            "-crf",
            str(quality),
            "-x265-params",
            "log-level=error",
        ]

    def finish(self, header: bytes, stream: bytes, mp4_bytes: int | None) -> Encoded:
        alt = {"with_sei": len(header) + len(stream)}
        if mp4_bytes is not None:
            alt["mp4_with_sei"] = mp4_bytes
        return Encoded(header + strip_user_data_sei(stream), alt)
