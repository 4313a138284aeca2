"""What input a face embedder wants, as data: crop size, alignment template, pixel scaling, its landmarker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class FaceSpec:
    input_size: tuple[int, int]  # (H, W)
    template: str = "arcface"
    channel_order: Literal["RGB", "BGR"] = "RGB"
    scale: float = 1 / 127.5  # network input = pixel * scale + offset
    offset: float = -1.0
    layout: Literal["NCHW", "NHWC"] = "NCHW"
    embedding_dim: int = 512
    metric: Literal["cosine", "euclidean"] = "cosine"
    landmarker: str = "mtcnn"  # registry name of the landmarker: MTCNN's five points are the templates' five
    box_margin: float | None = None  # set: crop the detector box with this margin instead of the template warp


ALIGNMENT_OPTIONS = ("landmarker", "template", "box_margin")
