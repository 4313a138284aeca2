"""Training batches that live on the training device (the fast loop of ipr_bench.training.train, ``loop="resident"``).

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
  image — the aligned face of a crop is the aligned face of its image wherever the crop holds the face region —
  the first time a batch draws it (so a short run pays only for what it uses; after an epoch, nothing).

A step then draws its picks, jitters and flips from a CPU generator seeded by (seed, step) — the same batches on
any device, so a run may move between a CPU and a GPU — and gathers the crops with one indexing operation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ipr_bench.face.landmarks import FaceLandmarks
from ipr_bench.training.training_data import Crop, flip, shift

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
        self.host_sizes = np.array([i.shape[:2] for i in padded])
        self.sizes = torch.from_numpy(self.host_sizes).to(device)
        # the crop is centred on the face box of the first landmarker, as in the naive loop
        boxes = np.array([next(iter(m.values())).box for m in marks], np.float64)
        self.boxes = torch.from_numpy(boxes).to(device)
        self.centres = (self.boxes[:, :2] + self.boxes[:, 2:]) / 2

        self.matrices: list[Any] = []  # per recognizer: [n, 2 (plain, mirrored), 2, 3] image → face pixels
        self.targets: list[Any] = []  # per recognizer: [n, 2, D] unit embeddings of the original, filled lazily
        self.modules = list(differentiable)
        self.embedded = np.zeros((len(padded), 2), bool)  # on the host: checking it never waits for the GPU
        if len(recognizers) != len(differentiable):
            raise ValueError("one differentiable module per recognizer")
        for rec in recognizers:
            per_image = []
            for image, m in zip(padded, marks, strict=True):
                plain = m[rec.spec.landmarker]
                mirrored = flip(Crop(image, plain)).landmarks
                per_image.append(
                    [rec.alignment_matrix(plain, image.shape), rec.alignment_matrix(mirrored, image.shape)]
                )
            self.matrices.append(torch.from_numpy(np.array(per_image, np.float32)).to(device))
            self.targets.append(None)  # allocated at the first embedding, whose width it takes

    def _embed_originals(self, wanted: list[tuple[int, int]], chunk: int = 128) -> None:
        """Fill the targets of (image, mirrored) pairs not embedded yet, in batches of same-sized images."""
        import torch

        by_size: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for k, m in wanted:
            h, w = (int(v) for v in self.host_sizes[k])
            by_size.setdefault((h, w), []).append((k, m))
        batches = [(hw, p[i : i + chunk]) for hw, p in by_size.items() for i in range(0, len(p), chunk)]
        with torch.no_grad():
            for (h, w), pairs in batches:
                ks = torch.tensor([k for k, _ in pairs], device=self.device)
                ms = torch.tensor([m for _, m in pairs], device=self.device)
                x = self.images[ks, :, :h, :w].float()  # the whole image, 0–255
                x = torch.where(ms[:, None, None, None].bool(), x.flip(-1), x)
                for j, module in enumerate(self.modules):
                    e = torch.nn.functional.normalize(module(x, self.matrices[j][ks, ms]), dim=1)
                    if self.targets[j] is None:
                        self.targets[j] = torch.zeros(len(self), 2, e.shape[1], device=self.device)
                    self.targets[j][ks, ms] = e
        for k, m in wanted:
            self.embedded[k, m] = True

    def embed_all(self) -> None:
        """Embed every original now (a benchmark of the steady state, or a long run that prefers to pay first)."""
        missing = [(k, m) for k in range(len(self)) for m in (0, 1) if not self.embedded[k, m]]
        if self.modules and missing:
            self._embed_originals(missing)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def _draw_host(self, step: int) -> tuple[Any, Any, Any]:
        """(picks, jitter, mirrored) of ``step`` on the host, from a generator seeded by (seed, step)."""
        import torch

        g = torch.Generator().manual_seed(self.seed * 1_000_003 + step + SEED_SALT)
        b = self.batch_size
        picks = torch.randint(len(self), (b,), generator=g)
        jitter = (torch.rand(b, 2, generator=g, dtype=torch.float64) * 2 - 1) * self.jitter * self.crop
        mirrored = torch.randint(2, (b,), generator=g).bool()
        return picks, jitter, mirrored

    def draw(self, step: int) -> tuple[Any, Any, Any, Any]:
        """The batch of ``step``: (image indices, crop left, crop top, mirrored), tensors on the device."""
        import torch

        picks, jitter, mirrored = (t.to(self.device) for t in self._draw_host(step))
        size = self.crop
        hw = self.sizes[picks]
        corner = torch.round(self.centres[picks] + jitter - size / 2).long()
        left = torch.minimum(corner[:, 0].clamp(min=0), hw[:, 1] - size)
        top = torch.minimum(corner[:, 1].clamp(min=0), hw[:, 0] - size)
        return picks, left, top, mirrored

    def batch(self, step: int) -> tuple[Any, list[Any], list[Any]]:
        """(crops [B, 3, crop, crop] on the 0–1 scale, per recognizer their matrices [B, 2, 3] and the originals'
        unit embeddings [B, D])."""
        import torch

        if self.modules:
            host_picks, _, host_mirrored = self._draw_host(step)
            pairs = {(int(k), int(m)) for k, m in zip(host_picks, host_mirrored, strict=True)}
            missing = sorted(p for p in pairs if not self.embedded[p])
            if missing:
                self._embed_originals(missing)
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
        in the crop, grown by ``margin`` of its size on each side (as ipr_bench.face.roi.face_region), clipped."""
        import torch

        picks, left, top, mirrored = self.draw(step)
        box = self.boxes[picks] - torch.stack([left, top, left, top], dim=1).double()
        flipped = torch.stack([self.crop - 1 - box[:, 2], box[:, 1], self.crop - 1 - box[:, 0], box[:, 3]], dim=1)
        box = torch.where(mirrored[:, None], flipped, box)
        grow = margin * torch.stack([box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]], dim=1).repeat(1, 2)
        box = (box + grow * torch.tensor([-1, -1, 1, 1], device=box.device)).clamp(0, self.crop)
        return torch.cat([torch.floor(box[:, :2] / cell), torch.ceil(box[:, 2:] / cell)], dim=1).long()
