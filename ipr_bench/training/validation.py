"""Validation of a training run: real coding of the held-out images (bytes of the payload, PSNR, cosines)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class Validation:
    """The Trainer's validation (a mixin: it reads the trainer's model, config, data and recognizers)."""

    def validate(self) -> dict[str, float]:
        """Real coding of the held-out images: bpp from the bytes of the learned codec's payload (ipr_bench.learned),
        PSNR, and each training recognizer's cosine between the original's and the decoded image's embedding.
        A variable-rate model is validated at each of its levels (keys suffixed @q1 … @qK); one trained for ROI
        coding (a face background) at each face level from the background up, the rest at the background, as
        the ROI codecs code it."""
        model = self.model.eval()
        model.update(force=True)
        record = {"step": float(self.step), "n_images": float(len(self.validation.images))}
        if not self.config.rate_lambdas:
            record |= self._validate_at(model, 1, None)
        else:
            for k in range(len(self.config.rate_lambdas)):
                points = self._validation_points(k)
                if points is not None:
                    values = self._validate_at(model, *points)
                    record |= {f"{key}@q{k + 1}": v for key, v in values.items()}
        return record

    def _validation_points(self, k: int) -> tuple[int, int | None] | None:
        """(the payload's rate point, the face region's or None) of level k; None: not a level this run codes."""
        from ipr_bench.learned.coding import face_rate_point, level_rate_point

        levels = len(self.config.rate_lambdas)
        background = self.config.face_background
        if background is not None:
            if k < background:
                return None
            return level_rate_point(background, levels), (level_rate_point(k, levels) if k > background else None)
        point = level_rate_point(k, levels)
        return point, (face_rate_point(point, self.config.face_boost, levels) if self.config.face_boost else None)

    def _judges(self) -> list[tuple[Any, Any]]:
        """(recognizer, frozen module) pairs validation measures identity with: the training recognizers, or for
        an α = 0 run the ones named in its settings (built on first use)."""
        if self.recognizers:
            return list(zip(self.recognizers, self.criterion.recognizers, strict=True))
        if not hasattr(self, "_validation_judges"):
            from ipr_bench.core.registry import create_recognizer

            recognizers = [create_recognizer(r) for r in self.config.recognizers]
            self._validation_judges = [(r, r.differentiable().to(self.config.device).eval()) for r in recognizers]
        return self._validation_judges

    def _validate_at(self, model: Any, rate_point: int, face_point: int | None, batch: int = 16) -> dict[str, float]:
        from ipr_bench.learned.coding import compress_images, decompress_payloads

        device = self.config.device

        def code(images: list[np.ndarray], marks: list[dict[str, Any]]) -> tuple[list[bytes], list[np.ndarray]]:
            regions = face_cells(images, marks) if face_point is not None else None
            payloads = compress_images(model, images, rate_point, device, regions, face_point)
            return payloads, decompress_payloads(model, payloads, device)

        return measure_coding(self.validation.images, self.validation.landmarks, self._judges(), code, device, batch)


Coder = Callable[[list[np.ndarray], list[dict[str, Any]]], tuple[list[bytes], list[np.ndarray]]]


def face_cells(images: list[np.ndarray], marks: list[dict[str, Any]]) -> list[Any]:
    """Each image's face region (its first landmarker's face, grown as hevc-roi's) in latent cells; None: no face."""
    from ipr_bench.face.roi import face_region
    from ipr_bench.learned.coding import region_cells

    found = [face_region(next(iter(m.values())), image.shape) for image, m in zip(images, marks, strict=True)]
    return [None if r is None else region_cells(r, *image.shape[:2]) for r, image in zip(found, images, strict=True)]


def measure_coding(
    images: list[np.ndarray],
    landmarks: list[dict[str, Any]],
    judges: list[tuple[Any, Any]],
    code: Coder,
    device: str = "cpu",
    batch: int = 16,
) -> dict[str, float]:
    """bpp (8 × payload bytes / pixels, pooled), PSNR (pooled MSE) and each judge's mean cosine between the
    original's and the decoded image's embedding, of ``code`` (images + their landmarks → payloads, decoded images)
    over the images: any codec measured exactly as the trainer validates its own model."""
    import torch

    bits, sq_err, pixels = 0, 0.0, 0
    cosines: list[list[float]] = [[] for _ in judges]
    # images of one size are coded in batches (each keeps its own payload: the bytes are per image)
    by_size: dict[tuple[int, ...], list[int]] = {}
    for k, image in enumerate(images):
        by_size.setdefault(image.shape, []).append(k)
    groups = [ks[i : i + batch] for ks in by_size.values() for i in range(0, len(ks), batch)]
    for group in groups:
        originals = [images[k] for k in group]
        marks = [landmarks[k] for k in group]
        payloads, decoded = code(originals, marks)
        for image, payload, out in zip(originals, payloads, decoded, strict=True):
            bits += 8 * len(payload)
            pixels += image.shape[0] * image.shape[1]
            sq_err += float(((out.astype(np.float64) - image) ** 2).sum())
        both = torch.from_numpy(np.stack([*originals, *decoded])).permute(0, 3, 1, 2).float().to(device)
        for j, (rec, module) in enumerate(judges):
            m = np.stack([rec.alignment_matrix(mk[rec.spec.landmarker], originals[0].shape) for mk in marks])
            m = torch.from_numpy(np.concatenate([m, m])).float().to(device)
            with torch.no_grad():
                e = torch.nn.functional.normalize(module(both, m), dim=1)
            n = len(originals)
            cosines[j] += (e[:n] * e[n:]).sum(dim=1).tolist()
    mse = sq_err / (3 * pixels)
    record = {"bpp": bits / pixels, "psnr": float(10 * np.log10(255**2 / max(mse, 1e-12)))}
    for (rec, _), values in zip(judges, cosines, strict=True):
        record[f"cosine_{rec.name}"] = float(np.mean(values))
    return record
