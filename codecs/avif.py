"""AVIF (AV1 intra) through Pillow's libavif."""

from ipr_bench.codecs.base import PillowCodec
from ipr_bench.core.errors import Availability
from ipr_bench.core.registry import register_codec


@register_codec("avif")
class AvifCodec(PillowCodec):
    knob = "quality"
    default_qualities = (10, 25, 40, 55, 70, 85)
    higher_knob_is_better = True
    payload_contains = "the complete .avif file: HEIF/ISOBMFF boxes + AV1 intra bitstream"
    requires = "Pillow >= 11.3 built with libavif"
    pillow_format = "AVIF"
    save_options = {"subsampling": "4:2:0", "speed": 6}

    @classmethod
    def availability(cls) -> Availability:
        from PIL import features

        if features.check("avif"):
            return Availability(True)
        return Availability(False, "this Pillow has no AVIF support: pip install -U 'pillow>=11.3'")
