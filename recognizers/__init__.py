"""Built-in recognizers, one module per model family; importing this package registers them."""

from ipr_bench.recognizers import (  # noqa: F401
    arcface,
    deepface,
    dlib,
    facenet,
    faceplugin,
    mobilefacenet192,
    onnx,
    sface,
)
