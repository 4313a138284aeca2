"""Baseline JPEG through Pillow's libjpeg (4:2:0, optimised Huffman tables)."""

from ipr_bench.codecs.base import PillowCodec
from ipr_bench.core.registry import register_codec


@register_codec("jpeg")
class JpegCodec(PillowCodec):
    knob = "quality"
    default_qualities = (5, 10, 20, 30, 50, 70)
    higher_knob_is_better = True
    payload_contains = "the complete .jpg file: JFIF header, quantisation and Huffman tables, entropy-coded data"
    requires = "Pillow"
    pillow_format = "JPEG"
    save_options = {"subsampling": "4:2:0", "optimize": True}
