"""Built-in codecs, one module per codec; importing this package registers them."""

from ipr_bench.codecs import (  # noqa: F401
    avif,
    compressai_models,
    heif,
    hevc,
    hevc_blur,
    hevc_roi,
    jpeg,
    jxl,
    learned,
    vvc,
    webp,
    zoo,
)
