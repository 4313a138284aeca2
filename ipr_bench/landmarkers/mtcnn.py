"""``mtcnn``: facenet-pytorch's MTCNN (weights ship in its wheel), the ArcFace template's five points."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ipr_bench.core.errors import Availability
from ipr_bench.core.registry import register_landmarker
from ipr_bench.face.landmarks import FaceLandmarks, centre_box
from ipr_bench.landmarkers.base import Landmarker, nearest_centre


@functools.cache
def mtcnn_model() -> Any:
    from facenet_pytorch import MTCNN

    return MTCNN(keep_all=True, device="cpu")


@register_landmarker("mtcnn")
class MtcnnLandmarker(Landmarker):
    scheme = "five-point"
    requires = "torch + facenet-pytorch (MTCNN weights ship in its wheel)"

    @classmethod
    def availability(cls) -> Availability:
        try:
            import facenet_pytorch  # noqa: F401
        except ImportError:
            return Availability(False, "pip install --no-deps facenet-pytorch==2.6.0")
        return Availability(True)

    def detect(self, images: list[np.ndarray]) -> list[FaceLandmarks]:
        out: list[FaceLandmarks | None] = [None] * len(images)
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, im in enumerate(images):
            by_shape.setdefault(im.shape, []).append(i)
        for indices in by_shape.values():  # MTCNN batches only same-sized images
            boxes, _, points = mtcnn_model().detect(np.stack([images[i] for i in indices]), landmarks=True)
            for i, b, p in zip(indices, boxes, points, strict=True):
                if b is None or len(b) == 0:
                    out[i] = self._on_centre_box(images[i])
                else:
                    k = nearest_centre(np.asarray(b), images[i])
                    out[i] = FaceLandmarks(
                        np.asarray(b[k], np.float64), np.asarray(p[k], np.float64), True, self.scheme
                    )
        return [o for o in out if o is not None]

    def _on_centre_box(self, image: np.ndarray) -> FaceLandmarks:
        """MTCNN's last stage (O-Net) on the central box: its five points there, as dlib's shape predictor does."""
        import torch
        import torch.nn.functional as F  # noqa: N812

        box = centre_box(image).round().astype(int)
        x1, y1, x2, y2 = box
        crop = torch.from_numpy(np.ascontiguousarray(image[y1:y2, x1:x2])).permute(2, 0, 1)[None].float()
        crop = F.interpolate(crop, size=(48, 48), mode="area")
        with torch.no_grad():
            _, rel, _ = mtcnn_model().onet((crop - 127.5) * 0.0078125)
        rel = rel[0].numpy().astype(np.float64)
        points = np.stack([x1 + (x2 - x1) * rel[:5], y1 + (y2 - y1) * rel[5:]], axis=1)
        return FaceLandmarks(box.astype(np.float64), points, False, self.scheme)

    def identity(self) -> list[Any]:
        from importlib.metadata import version

        m = mtcnn_model()
        return ["mtcnn", version("facenet-pytorch"), m.min_face_size, list(m.thresholds), m.factor]
