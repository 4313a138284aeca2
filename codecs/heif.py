"""HEIF (HEVC intra in an ISOBMFF container) through pillow-heif's bundled libheif + x265."""

from ipr_bench.codecs.base import PillowCodec
from ipr_bench.core.registry import register_codec


@register_codec("heif")
class HeifCodec(PillowCodec):
    knob = "quality"
    default_qualities = (10, 25, 40, 55, 70, 85)
    higher_knob_is_better = True
    payload_contains = "the complete .heic file: HEIF/ISOBMFF boxes + HEVC intra bitstream"
    requires = "pillow-heif"
    pillow_format = "HEIF"
    plugin = "pillow_heif.HeifImagePlugin"
    plugin_package = "pillow-heif"

    def version(self) -> str:
        import pillow_heif

        return f"pillow-heif {pillow_heif.__version__} libheif {pillow_heif.libheif_version()}"
