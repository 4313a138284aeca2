"""Lossy WebP through Pillow's libwebp at its slowest, best-compressing method."""

from ipr_bench.codecs.base import PillowCodec
from ipr_bench.core.registry import register_codec


@register_codec("webp")
class WebpCodec(PillowCodec):
    knob = "quality"
    default_qualities = (5, 20, 40, 60, 80)
    higher_knob_is_better = True
    payload_contains = "the complete .webp file: RIFF container + VP8 bitstream"
    requires = "Pillow with WebP support"
    pillow_format = "WEBP"
    save_options = {"method": 6}
