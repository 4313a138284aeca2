"""Face landmarkers: where the face is and five points on it, detected once on each original image.

Four are built in, and a recognizer names the one its alignment needs (``FaceSpec.landmarker``):

- ``dlib5``: dlib's HOG detector (one upsampling) + ``shape_predictor_5_face_landmarks``. Its five points are
  the two corners of each eye and the nose *base*: no mouth corners, and not the nose tip the ArcFace template
  means, so template alignment uses only its eye centres.
- ``mtcnn``: facenet-pytorch's MTCNN (weights ship in its wheel). Its points are the ArcFace template's five:
  eye centres, nose tip, mouth corners.
- ``yunet``: OpenCV Zoo's YuNet 2023mar (weights from $IPR_BENCH_WEIGHTS, sha256-checked), the same five points;
  where it finds nothing, the template's points on the central box stand in (``detected`` False).
- ``scrfd``: insightface's SCRFD-500MF with keypoints (weights from $IPR_BENCH_WEIGHTS, sha256-checked), the same
  five points, the same stand-in.

The face nearest the image centre is taken. When none is found (a few deep-funneled LFW images), the landmark
stage of each detector is run on a central box, the usual LFW practice since every LFW face is centred; such
items are flagged ``detected = False``.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from ipr_bench.core.cache import Cache
from ipr_bench.core.errors import Availability
from ipr_bench.face.landmarks import FaceLandmarks, centre_box, landmarks_from_arrays, landmarks_to_arrays


def nearest_centre(boxes: np.ndarray, image: np.ndarray) -> int:
    h, w = image.shape[:2]
    centres = (boxes[:, :2] + boxes[:, 2:4]) / 2
    return int(np.argmin(((centres - [w / 2, h / 2]) ** 2).sum(axis=1)))


class Landmarker(ABC):
    name: ClassVar[str]
    scheme: ClassVar[str]
    requires: ClassVar[str]

    @classmethod
    def availability(cls) -> Availability:
        return Availability(True)

    @abstractmethod
    def detect(self, images: list[np.ndarray]) -> list[FaceLandmarks]:
        """Landmarks of the face nearest the centre of each RGB uint8 image."""

    @abstractmethod
    def identity(self) -> list[Any]:
        """Everything that determines the output (cache keys and provenance)."""


def template_on_centre_box(image: np.ndarray, scheme: str) -> FaceLandmarks:
    """No face found: the central box with the template's points placed in it (LFW faces are centred)."""
    from ipr_bench.face.alignment import template_points

    box = centre_box(image)
    side = box[2] - box[0]
    return FaceLandmarks(box, box[:2] + template_points("arcface", (112, 112)) / 112 * side, False, scheme)


@functools.cache
def _landmarker(name: str) -> Landmarker:
    from ipr_bench.core.registry import create_landmarker

    return create_landmarker(name)


def detect_landmarks(image: np.ndarray, landmarker: str = "dlib5") -> FaceLandmarks:
    """One image's landmarks by the named landmarker (for scripts and tests; runs batch through detect)."""
    return _landmarker(landmarker).detect([image])[0]


def cached_landmarks(
    cache: Cache, landmarker: Landmarker, key: str, images: list[np.ndarray | None]
) -> list[FaceLandmarks | None]:
    """Cached landmarks of a chunk's images, detected now if the cache has none."""
    data = cache.get("landmarks", key)
    if data is None:
        present = [i for i, im in enumerate(images) if im is not None]
        found = landmarker.detect([images[i] for i in present]) if present else []
        marks: list[FaceLandmarks | None] = [None] * len(images)
        for i, m in zip(present, found, strict=True):
            marks[i] = m
        cache.put("landmarks", key, landmarks_to_arrays(marks))
        return marks
    return landmarks_from_arrays(data, landmarker.scheme)
