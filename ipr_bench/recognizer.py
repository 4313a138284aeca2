"""The recognizer protocol: what input a face embedder wants (as data) and how it embeds a batch."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from ipr_bench.alignment import FaceLandmarks, align_to_template
from ipr_bench.codec import Availability


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


class Recognizer(ABC):
    name: ClassVar[str]
    requires: ClassVar[str]
    spec: FaceSpec

    @classmethod
    def availability(cls) -> Availability:
        return Availability(True)

    def align(self, image: np.ndarray, landmarks: FaceLandmarks) -> np.ndarray:
        """Aligned RGB uint8 face of spec.input_size."""
        return align_to_template(image, landmarks, self.spec.template, self.spec.input_size)

    def preprocess(self, faces: np.ndarray) -> np.ndarray:
        """uint8 [N, H, W, 3] RGB → float32 network input per the spec."""
        x = faces[..., ::-1] if self.spec.channel_order == "BGR" else faces
        x = x.astype(np.float32) * np.float32(self.spec.scale) + np.float32(self.spec.offset)
        if self.spec.layout == "NCHW":
            x = x.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(x)

    @abstractmethod
    def embed(self, faces: np.ndarray) -> np.ndarray:
        """Embeddings [N, D] float32 of aligned uint8 RGB faces [N, H, W, 3]."""

    def torch_module(self) -> Any:
        """A differentiable torch.nn.Module taking preprocessed input, where the model allows; else None."""
        return None

    def config(self) -> dict[str, Any]:
        """Everything that determines the embeddings: part of cache keys and provenance."""
        return {"recognizer": self.name, **asdict(self.spec)}


def similarity(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """Row-wise score where higher means 'same person': cosine, or minus the Euclidean distance."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if metric == "cosine":
        na = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        return np.sum(a * b, axis=1) / np.maximum(na, 1e-12)
    if metric == "euclidean":
        return -np.linalg.norm(a - b, axis=1)
    raise ValueError(f"unknown metric {metric!r}")


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return similarity(a, b, "cosine")
