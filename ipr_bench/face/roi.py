"""The face region a region-of-interest baseline protects, from the landmarks of the original image.

The region is the landmarker's face box grown by ``margin`` × its width/height on every side, clipped to the
image. The default margin (0.25, i.e. a region 1.5× the box) covers what the recognizers look at: FaceNet's crop
is the MTCNN box plus 32 of 160 output pixels, ArcFace's 112 × 112 template warp and dlib's 150 px chip (padding
0.25) reach about as far; ``scripts/roi_coverage.py`` measures the share of each recognizer's crop inside it.

No region (and so the plain codec, recorded per image) when the image has no landmarks or the landmarker only
guessed the face (``detected`` False: the central-box fallback), or the clipped region is empty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ipr_bench.core.errors import OptionError
from ipr_bench.face.landmarks import FaceLandmarks

DEFAULT_MARGIN = 0.25


@dataclass(frozen=True)
class FaceRegion:
    """A pixel rectangle [left, right) × [top, bottom), inside the image."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def fraction_of(self, shape: tuple[int, ...]) -> float:
        """Share of the image's pixels inside the region."""
        return self.width * self.height / float(shape[0] * shape[1])

    def mask(self, shape: tuple[int, ...]) -> np.ndarray:
        """(H, W) bool, True inside the region."""
        out = np.zeros(shape[:2], bool)
        out[self.top : self.bottom, self.left : self.right] = True
        return out


def face_region(
    face: FaceLandmarks | None, shape: tuple[int, ...], margin: float = DEFAULT_MARGIN
) -> FaceRegion | None:
    """The face box grown by ``margin`` of its size on each side and clipped to an image of ``shape``; None when
    there is no detected face or nothing of the region lies inside the image."""
    if face is None or not face.detected or not np.all(np.isfinite(face.box)):
        return None
    if margin < 0:
        raise ValueError(f"face region margin must be ≥ 0, not {margin}")
    x1, y1, x2, y2 = (float(v) for v in face.box)
    grow_x, grow_y = margin * (x2 - x1), margin * (y2 - y1)
    h, w = shape[:2]
    left = max(0, math.floor(x1 - grow_x))
    top = max(0, math.floor(y1 - grow_y))
    right = min(w, math.ceil(x2 + grow_x))
    bottom = min(h, math.ceil(y2 + grow_y))
    if right <= left or bottom <= top:
        return None
    return FaceRegion(left, top, right, bottom)


def soft_mask(shape: tuple[int, ...], region: FaceRegion, feather: float) -> np.ndarray:
    """(H, W) float32 weight of the original: 1 inside the region, falling off as a Gaussian of the distance to
    it (σ = ``feather`` px) outside, so a background pre-filter leaves the region itself untouched."""
    h, w = shape[:2]
    ys, xs = np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32)
    dx = np.maximum(np.maximum(region.left - xs, xs - (region.right - 1)), 0)
    dy = np.maximum(np.maximum(region.top - ys, ys - (region.bottom - 1)), 0)
    d2 = dy[:, None] ** 2 + dx[None, :] ** 2
    if feather <= 0:
        return (d2 == 0).astype(np.float32)
    return np.exp(-d2 / (2 * feather**2)).astype(np.float32)


def spec_argument(codec: str, argument: str | None, option: str, value: Any, default: Any) -> Any:
    """A numeric strength given as ``NAME:VALUE`` or as the option itself (the runner rebuilds codecs from both)."""

    def number(text: Any) -> float:
        try:
            return float(text)
        except (TypeError, ValueError):
            raise OptionError(f"{codec}: {option} must be a number, not {text!r} (e.g. {codec}:{default})") from None

    if argument is not None and value is not None and number(argument) != number(value):
        raise OptionError(f"{codec}:{argument} and {option}={value} disagree: give the {option} once")
    chosen = argument if argument is not None else value if value is not None else default
    number(chosen)
    return chosen
