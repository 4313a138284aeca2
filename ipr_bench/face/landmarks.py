"""Face landmarks as data: the face box and five points a landmarker found on an image (``ipr_bench.landmarkers``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CENTRE_BOX_FRACTION = 0.45  # side of the fallback box relative to the shorter image side


@dataclass(frozen=True)
class FaceLandmarks:
    box: np.ndarray  # (4,) left, top, right, bottom
    points: np.ndarray  # (5, 2) in the landmarker's own order
    detected: bool
    scheme: str = "dlib5"  # what the points are: "dlib5" or "five-point" (the ArcFace template's order)

    def eye_centres(self) -> np.ndarray:
        """(2, 2) eye centres, image-left eye first."""
        if self.scheme == "dlib5":
            eyes = np.stack([self.points[0:2].mean(axis=0), self.points[2:4].mean(axis=0)])
        else:
            eyes = self.points[0:2]
        return eyes[np.argsort(eyes[:, 0])]

    def template_points(self) -> np.ndarray:
        """(5, 2) in template order (left eye, right eye, nose tip, left and right mouth corner); NaN where this
        landmarker has no point of that definition."""
        if self.scheme == "five-point":
            return np.asarray(self.points, np.float64)
        out = np.full((5, 2), np.nan)
        out[:2] = self.eye_centres()
        return out


def centre_box(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    side = CENTRE_BOX_FRACTION * min(h, w)
    return np.array([w / 2 - side / 2, h / 2 - side / 2, w / 2 + side / 2, h / 2 + side / 2])


def landmarks_to_arrays(marks: list[FaceLandmarks | None]) -> dict[str, np.ndarray]:
    """Landmarks as plain arrays for the cache (no pickle); a missing image is all-NaN."""
    n = len(marks)
    boxes, points, detected = np.full((n, 4), np.nan), np.full((n, 5, 2), np.nan), np.zeros(n, bool)
    for i, m in enumerate(marks):
        if m is not None:
            boxes[i], points[i], detected[i] = m.box, m.points, m.detected
    return {"box": boxes, "points": points, "detected": detected}


def landmarks_from_arrays(data: dict[str, np.ndarray], scheme: str) -> list[FaceLandmarks | None]:
    return [
        None
        if np.isnan(data["box"][i]).any()
        else FaceLandmarks(data["box"][i], data["points"][i], bool(data["detected"][i]), scheme)
        for i in range(len(data["box"]))
    ]
