"""JPEG XL through pillow-jxl-plugin (libjxl), lossy VarDCT."""

from typing import Any

from ipr_bench.codec import Availability, PillowCodec, Quality
from ipr_bench.registry import register_codec


@register_codec("jxl")
class JxlCodec(PillowCodec):
    name = "jxl"
    knob = "quality"
    default_qualities = (10, 25, 40, 55, 70, 85)
    higher_knob_is_better = True
    payload_contains = "the complete .jxl codestream (no container)"
    requires = "pillow-jxl-plugin"
    pillow_format = "JXL"
    save_options = {"effort": 7}

    @classmethod
    def availability(cls) -> Availability:
        try:
            import pillow_jxl  # noqa: F401
        except ImportError:
            return Availability(False, "pillow-jxl-plugin is not installed: pip install pillow-jxl-plugin")
        return Availability(True)

    def quality_options(self, quality: Quality) -> dict[str, Any]:
        return {"quality": quality, "lossless": False}

    def encode(self, image: Any, quality: Quality) -> Any:
        import pillow_jxl  # noqa: F401  (registers the JXL plugin with Pillow)

        return super().encode(image, quality)

    def decode(self, payload: bytes) -> Any:
        import pillow_jxl  # noqa: F401

        return super().decode(payload)

    def version(self) -> str:
        from importlib.metadata import version

        return f"pillow-jxl-plugin {version('pillow-jxl-plugin')}"
