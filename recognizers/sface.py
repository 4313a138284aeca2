"""SFace (Zhong et al. 2021, "SFace: Sigmoid-Constrained Hypersphere Loss for Robust Face Recognition"), the
OpenCV Zoo's ``face_recognition_sface_2021dec.onnx`` that OpenCV's ``cv2.FaceRecognizerSF`` and deepface's
SFace run. Not shipped here (no offline source): a user puts the file in the weights folder as
``sface-2021dec/face_recognition_sface_2021dec.onnx`` or names it, ``--recognizers sface:/path/to/file.onnx``;
either way its SHA-256 must be the published one (38,696,353 bytes), so a different release is refused.

Preprocessing as FaceRecognizerSF: the ArcFace 5-point template at 112×112, then
``blobFromImage(face, 1, (112, 112), (0, 0, 0), swapRB=True)`` on OpenCV's BGR image — RGB pixels 0–255, NCHW;
128-d embedding compared by cosine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ipr_bench.core.registry import register_recognizer
from ipr_bench.core.weights import checked_file
from ipr_bench.recognizers.onnx import WeightsFolderOnnxRecognizer

SFACE_SHA256 = "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79"


@register_recognizer("sface")
class SFaceRecognizer(WeightsFolderOnnxRecognizer):
    weights = "sface-2021dec/face_recognition_sface_2021dec.onnx"
    sha256 = SFACE_SHA256
    how_to_get = (
        "the OpenCV Zoo file models/face_recognition_sface/face_recognition_sface_2021dec.onnx "
        "(github.com/opencv/opencv_zoo or huggingface.co/opencv/face_recognition_sface)"
    )
    requires = f"onnxruntime + weights {weights} (user-supplied; sha256 {SFACE_SHA256[:12]}…)"
    description = {
        "input_size": (112, 112),
        "template": "arcface",
        "channel_order": "RGB",
        "scale": 1.0,
        "offset": 0.0,
        "layout": "NCHW",
        "embedding_dim": 128,
        "metric": "cosine",
    }

    def __init__(self, model_path: str | Path | None = None, **options: Any) -> None:
        if model_path is None:
            super().__init__(**options)
            return
        path = checked_file(Path(model_path).expanduser(), self.sha256, f"the published {self.name} model")
        super(WeightsFolderOnnxRecognizer, self).__init__(path, name=self.name, **{**self.description, **options})
