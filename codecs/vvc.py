"""VVC intra through vvenc (ffmpeg's libvvenc), decoded by ffmpeg's native VVC decoder, QP sweep.

vvenc codes 10-bit 4:2:0 (ffmpeg converts the RGB input). Default preset ``fast``: measured here 0.7 s per
250×250 image vs 2.8 s at vvenc's own default ``medium`` (choose it with ``--codec-option vvc.preset=medium``).
"""

from __future__ import annotations

from typing import Any

from ipr_bench.codecs.base import Quality
from ipr_bench.codecs.ffmpeg import FIX, FfmpegVideoCodec, has_encoder
from ipr_bench.core.errors import Availability
from ipr_bench.core.registry import register_codec


@register_codec("vvc")
class VvcCodec(FfmpegVideoCodec):
    knob = "qp"
    knob_range = (0, 63)
    default_qualities = (37, 42, 47, 52)
    higher_knob_is_better = False
    payload_contains = (
        "raw VVC Annex-B stream (parameter sets + one intra picture); 6-byte size header only for odd sizes"
    )
    requires = "ffmpeg with libvvenc and the native VVC decoder (imageio-ffmpeg's bundled binary)"
    muxer = "vvc"

    def __init__(self, preset: str = "fast", **extra: Any) -> None:
        super().__init__(preset=preset, **extra)

    @classmethod
    def availability(cls) -> Availability:
        if has_encoder("libvvenc"):
            return Availability(True)
        return Availability(False, f"no ffmpeg with libvvenc found: {FIX}")

    def encoder_args(self, quality: Quality) -> list[str]:
        return ["-c:v", "libvvenc", "-preset", self.options["preset"], "-qp", str(quality)]
