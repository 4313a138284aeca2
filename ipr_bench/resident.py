"""Training batches that live on the training device (the fast loop of ipr_bench.train, ``loop="resident"``).

The naive loop cuts every crop with numpy, estimates each alignment matrix from the moved landmarks and runs the
frozen recognizer on the original crop to get its target embedding — CPU work and an extra network pass per
step, which leave a GPU idle. Here, once per run:

- every training image goes to the device as one uint8 tensor (a canvas of the largest size; images smaller than
  the crop are edge-padded first, centred, as ``crop_around_face`` does);
- per recognizer, the alignment matrix of each image and of its mirror image is estimated once. A crop is a
  translation, so the crop's matrix is the image's with its offset folded in (face = A·p + t, p = p_crop + o
  → t' = t + A·o); the similarity fit is translation-equivariant, so this equals the naive loop's matrix
  except where a recognizer clips its face box to the crop's border;
- per recognizer, the target embedding of each image and of its mirror image is computed once, from the whole
  image: the aligned face of a crop is the aligned face of its image wherever the crop holds the face region.

A step then draws its picks, jitters and flips from a CPU generator seeded by (seed, step) — the same batches on
any device, so a run may move between a CPU and a GPU — and gathers the crops with one indexing operation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ipr_bench.landmarks import FaceLandmarks
from ipr_bench.training_data import Crop, flip, shift

SEED_SALT = 7_919  # batches and quantisation noise (seeded seed·1_000_003 + step in the trainer) never share a stream


class ResidentBatches:
    def __init__(
        self,
        images: list[np.ndarray],
        landmarks: list[dict[str, FaceLandmarks]],
        recognizers: list[Any],
        differentiable: list[Any],
        crop: int,
        batch_size: int,
        seed: int,
        device: str,
        jitter: float = 0.15,
    ) -> None:
        """``recognizers``: the Recognizer plugins (for their alignment); ``differentiable``: their torch modules
        (for the target embeddings), in the same order."""
        import torch

        self.crop, self.batch_size, self.seed, self.jitter, self.device = crop, batch_size, seed, jitter, device
        padded, marks = [], []
        for image, per_landmarker in zip(images, landmarks, strict=True):
            h, w = image.shape[:2]
            ph, pw = max(crop - h, 0), max(crop - w, 0)
            if ph or pw:
                image = np.pad(image, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)), mode="edge")
                per_landmarker = {k: shift(v, pw // 2, ph // 2) for k, v in per_landmarker.items()}
            padded.append(image)
            marks.append(per_landmarker)
        height, width = max(i.shape[0] for i in padded), max(i.shape[1] for i in padded)
        canvas = np.zeros((len(padded), height, width, 3), np.uint8)
        for k, image in enumerate(padded):
            canvas[k, : image.shape[0], : image.shape[1]] = image
        self.images = torch.from_numpy(canvas).permute(0, 3, 1, 2).contiguous().to(device)
        self.sizes = torch.tensor([i.shape[:2] for i in padded], device=device)
        # the crop is centred on the face box of the first landmarker, as in the naive loop
        boxes = np.array([next(iter(m.values())).box for m in marks], np.float64)
        self.boxes = torch.from_numpy(boxes).to(device)
        self.centres = (self.boxes[:, :2] + self.boxes[:, 2:]) / 2

        self.matrices: list[Any] = []  # per recognizer: [n, 2 (plain, mirrored), 2, 3] image → face pixels
        self.targets: list[Any] = []  # per recognizer: [n, 2, D] unit embeddings of the original
        for rec, module in zip(recognizers, differentiable, strict=True):
            per_image = []
            for image, m in zip(padded, marks, strict=True):
                plain = m[rec.spec.landmarker]
                mirrored = flip(Crop(image, plain)).landmarks
                per_image.append(
                    [rec.alignment_matrix(plain, image.shape), rec.alignment_matrix(mirrored, image.shape)]
                )
            matrices = torch.from_numpy(np.array(per_image, np.float32)).to(device)
            self.matrices.append(matrices)
            self.targets.append(self._embed_originals(module, padded, matrices))

    def _embed_originals(self, module: Any, images: list[np.ndarray], matrices: Any, chunk: int = 16) -> Any:
        """Unit embeddings [n, 2, D] of each image and its mirror image, in batches of same-sized images."""
        import torch

        out: list[Any] = [None] * len(images)
        by_size: dict[tuple[int, ...], list[int]] = {}
        for k, image in enumerate(images):
            by_size.setdefault(image.shape, []).append(k)
        with torch.no_grad():
            for indices in by_size.values():
                for start in range(0, len(indices), chunk):
                    ks = indices[start : start + chunk]
                    x = torch.from_numpy(np.stack([images[k] for k in ks])).permute(0, 3, 1, 2).float()
                    x = torch.cat([x, x.flip(-1)]).to(self.device)  # the images, then their mirror images (0–255)
                    m = torch.cat([matrices[ks, 0], matrices[ks, 1]])
                    e = torch.nn.functional.normalize(module(x, m), dim=1)
                    for j, k in enumerate(ks):
                        out[k] = torch.stack([e[j], e[len(ks) + j]])
        return torch.stack(out)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def draw(self, step: int) -> tuple[Any, Any, Any, Any]:
        """The batch of ``step``: (image indices, crop left, crop top, mirrored), tensors on the device."""
        import torch

        g = torch.Generator().manual_seed(self.seed * 1_000_003 + step + SEED_SALT)
        b, size = self.batch_size, self.crop
        picks = torch.randint(len(self), (b,), generator=g)
        jitter = (torch.rand(b, 2, generator=g, dtype=torch.float64) * 2 - 1) * self.jitter * size
        mirrored = torch.randint(2, (b,), generator=g).bool()
        picks, jitter, mirrored = picks.to(self.device), jitter.to(self.device), mirrored.to(self.device)
        hw = self.sizes[picks]
        corner = torch.round(self.centres[picks] + jitter - size / 2).long()
        left = torch.minimum(corner[:, 0].clamp(min=0), hw[:, 1] - size)
        top = torch.minimum(corner[:, 1].clamp(min=0), hw[:, 0] - size)
        return picks, left, top, mirrored

    def batch(self, step: int) -> tuple[Any, list[Any], list[Any]]:
        """(crops [B, 3, crop, crop] on the 0–1 scale, per recognizer their matrices [B, 2, 3] and the originals'
        unit embeddings [B, D])."""
        import torch

        picks, left, top, mirrored = self.draw(step)
        span = torch.arange(self.crop, device=self.device)
        rows, cols = top[:, None] + span, left[:, None] + span
        x = self.images[picks[:, None, None], :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
        x = torch.where(mirrored[:, None, None, None], x.flip(-1), x).float().div(255)

        # the offset of the crop in the image it was cut from: the mirror image's for a mirrored crop
        width = self.sizes[picks, 1]
        offset = torch.stack([torch.where(mirrored, width - self.crop - left, left), top], dim=1).float()
        which = mirrored.long()
        matrices, targets = [], []
        for m_all, t_all in zip(self.matrices, self.targets, strict=True):
            m = m_all[picks, which].clone()
            m[:, :, 2] += (m[:, :, :2] @ offset[:, :, None])[:, :, 0]
            matrices.append(m)
            targets.append(t_all[picks, which])
        return x, matrices, targets

    def face_cells(self, step: int, cell: int = 16, margin: float = 0.25) -> Any:
        """[B, 4] (left, top, right, bottom) latent cells of each crop's face region: the first landmarker's box
        in the crop, grown by ``margin`` of its size on each side (as ipr_bench.roi.face_region), clipped."""
        import torch

        picks, left, top, mirrored = self.draw(step)
        box = self.boxes[picks] - torch.stack([left, top, left, top], dim=1).double()
        flipped = torch.stack([self.crop - 1 - box[:, 2], box[:, 1], self.crop - 1 - box[:, 0], box[:, 3]], dim=1)
        box = torch.where(mirrored[:, None], flipped, box)
        grow = margin * torch.stack([box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]], dim=1).repeat(1, 2)
        box = (box + grow * torch.tensor([-1, -1, 1, 1], device=box.device)).clamp(0, self.crop)
        return torch.cat([torch.floor(box[:, :2] / cell), torch.ceil(box[:, 2:] / cell)], dim=1).long()
