"""Built-in recognizers, one module per model family; importing this package registers them."""

from ipr_bench.recognizers import arcface, dlib, facenet, faceplugin, mobilefacenet192, onnx, sface  # noqa: F401
