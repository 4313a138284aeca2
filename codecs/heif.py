"""HEIF (HEVC intra in an ISOBMFF container) through pillow-heif's bundled libheif + x265."""

from typing import Any

from ipr_bench.codec import Availability, PillowCodec
from ipr_bench.registry import register_codec


@register_codec("heif")
class HeifCodec(PillowCodec):
    name = "heif"
    knob = "quality"
    default_qualities = (10, 25, 40, 55, 70, 85)
    higher_knob_is_better = True
    payload_contains = "the complete .heic file: HEIF/ISOBMFF boxes + HEVC intra bitstream"
    requires = "pillow-heif"
    pillow_format = "HEIF"

    @classmethod
    def availability(cls) -> Availability:
        try:
            import pillow_heif  # noqa: F401
        except ImportError:
            return Availability(False, "pillow-heif is not installed: pip install pillow-heif")
        return Availability(True)

    def encode(self, image: Any, quality: Any) -> Any:
        import pillow_heif

        pillow_heif.register_heif_opener()
        return super().encode(image, quality)

    def decode(self, payload: bytes) -> Any:
        import pillow_heif

        pillow_heif.register_heif_opener()
        return super().decode(payload)

    def version(self) -> str:
        import pillow_heif

        return f"pillow-heif {pillow_heif.__version__} libheif {pillow_heif.libheif_version()}"
