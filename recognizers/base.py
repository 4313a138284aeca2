"""The recognizer protocol: what input a face embedder wants (as data) and how it embeds a batch."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, replace
from typing import Any, ClassVar

import numpy as np

from ipr_bench.core.errors import Availability, UnavailableError
from ipr_bench.face.alignment import alignment_matrix, warp
from ipr_bench.face.landmarks import FaceLandmarks
from ipr_bench.face.spec import ALIGNMENT_OPTIONS, FaceSpec


class Recognizer(ABC):
    name: ClassVar[str]
    requires: ClassVar[str]
    spec: FaceSpec
    has_torch_module: ClassVar[bool] = False  # True: usable in training losses through differentiable()

    def __init__(self, **options: Any) -> None:
        """Options override the alignment part of the class's spec, e.g. ``landmarker="mtcnn"``."""
        unknown = set(options) - set(ALIGNMENT_OPTIONS)
        if unknown:
            raise UnavailableError(
                f"recognizer {self.name}: unknown options {sorted(unknown)}; it takes {', '.join(ALIGNMENT_OPTIONS)}"
            )
        if options.get("box_margin") is not None:
            options["box_margin"] = float(options["box_margin"])
        self.spec = replace(type(self).spec, **options)

    @classmethod
    def availability(cls) -> Availability:
        return Availability(True)

    @classmethod
    def needs_argument(cls) -> str | None:
        """What a user must add to the name (``NAME:ARG``) before this recognizer can run here, if anything."""
        return None

    def alignment_matrix(self, landmarks: FaceLandmarks, image_shape: tuple[int, ...]) -> np.ndarray:
        """2×3 matrix from image pixels to this recognizer's input pixels."""
        return alignment_matrix(landmarks, self.spec, image_shape)

    def align(self, image: np.ndarray, landmarks: FaceLandmarks) -> np.ndarray:
        """Aligned RGB uint8 face of spec.input_size."""
        return warp(image, self.alignment_matrix(landmarks, image.shape), self.spec.input_size)

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
        """The network as a frozen torch.nn.Module taking preprocessed input, where the model allows; else None."""
        return None

    def differentiable(self) -> Any:
        """This recognizer as a differentiable torch module over whole images and alignment matrices
        (ipr_bench.recognizers.differentiable), for training losses; UnavailableError if evaluation-only."""
        from ipr_bench.recognizers.differentiable import DifferentiableRecognizer

        module = self.torch_module()
        if module is None:
            raise UnavailableError(f"recognizer {self.name} is evaluation-only: it has no torch module")
        return DifferentiableRecognizer(module, self.spec)

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
