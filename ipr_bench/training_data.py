"""Training crops for learned face codecs: face-centred random crops with their alignment matrices.

Each training image's landmarks are detected once (any registered landmarker) and carried through the crop
and the horizontal flip, so the identity term of the loss aligns the reconstruction exactly as the evaluation
aligns a decoded image: with the original's landmarks, through the same matrix (ipr_bench.alignment).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ipr_bench.landmarks import FaceLandmarks

FLIP_FIVE_POINT = [1, 0, 2, 4, 3]  # mirrored: the left eye becomes the right eye, the mouth corners swap
FLIP_DLIB5 = [2, 3, 0, 1, 4]  # dlib order: two corners of one eye, two of the other, nose base


@dataclass(frozen=True)
class Crop:
    image: np.ndarray  # uint8 [size, size, 3]
    landmarks: FaceLandmarks  # in the crop's coordinates


def crop_around_face(
    image: np.ndarray, landmarks: FaceLandmarks, size: int, rng: np.random.Generator, jitter: float = 0.15
) -> Crop:
    """A size×size window containing the face centre (shifted by up to ``jitter``·size), edge-padded if the image
    is smaller; the landmarks moved with it."""
    h, w = image.shape[:2]
    if h < size or w < size:
        ph, pw = max(size - h, 0), max(size - w, 0)
        image = np.pad(image, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)), mode="edge")
        landmarks = shift(landmarks, pw // 2, ph // 2)
        h, w = image.shape[:2]
    cx, cy = (landmarks.box[0] + landmarks.box[2]) / 2, (landmarks.box[1] + landmarks.box[3]) / 2
    dx, dy = rng.uniform(-jitter, jitter, 2) * size
    left = int(np.clip(round(cx + dx - size / 2), 0, w - size))
    top = int(np.clip(round(cy + dy - size / 2), 0, h - size))
    return Crop(image[top : top + size, left : left + size], shift(landmarks, -left, -top))


def shift(landmarks: FaceLandmarks, dx: float, dy: float) -> FaceLandmarks:
    return replace(landmarks, box=landmarks.box + [dx, dy, dx, dy], points=landmarks.points + [dx, dy])


def flip(crop: Crop) -> Crop:
    """Mirror left–right; points are mirrored and relabelled so 'left eye' still means the image-left eye."""
    w = crop.image.shape[1]
    m = crop.landmarks
    points = m.points.copy()
    points[:, 0] = w - 1 - points[:, 0]
    points = points[FLIP_FIVE_POINT if m.scheme == "five-point" else FLIP_DLIB5]
    box = np.array([w - 1 - m.box[2], m.box[1], w - 1 - m.box[0], m.box[3]])
    return Crop(np.ascontiguousarray(crop.image[:, ::-1]), replace(m, box=box, points=points))
