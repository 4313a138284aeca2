"""JPEG XL through pillow-jxl-plugin (libjxl), lossy VarDCT."""

from typing import Any

from ipr_bench.codecs.base import PillowCodec, Quality
from ipr_bench.core.registry import register_codec


@register_codec("jxl")
class JxlCodec(PillowCodec):
    knob = "quality"
    default_qualities = (10, 25, 40, 55, 70, 85)
    higher_knob_is_better = True
    payload_contains = "the complete .jxl codestream (no container)"
    requires = "pillow-jxl-plugin"
    pillow_format = "JXL"
    save_options = {"effort": 7}
    plugin = "pillow_jxl"
    plugin_package = "pillow-jxl-plugin"

    def quality_options(self, quality: Quality) -> dict[str, Any]:
        return {"quality": quality, "lossless": False}

    def version(self) -> str:
        from importlib.metadata import version

        return f"pillow-jxl-plugin {version('pillow-jxl-plugin')}"
