"""A recognizer as a differentiable function of whole images, for identity losses in training.

The same preprocessing as evaluation: the alignment matrix of each *original* image (fixed, from its
landmarks) warps the batch with ``grid_sample`` (ipr_bench.face.alignment.warp_torch), then the recognizer's
channel order, scale and offset, then its frozen network. Gradients flow to the input pixels; the network's
parameters stay frozen.
"""

from __future__ import annotations

import torch
from torch import nn

from ipr_bench.face.alignment import warp_torch
from ipr_bench.face.spec import FaceSpec


class DifferentiableRecognizer(nn.Module):
    def __init__(self, network: nn.Module, spec: FaceSpec) -> None:
        super().__init__()
        if spec.layout != "NCHW":
            raise ValueError(f"differentiable recognizers need an NCHW network, this one is {spec.layout}")
        self.network = network.eval()
        for p in self.network.parameters():
            p.requires_grad_(False)
        self.spec = spec

    def train(self, mode: bool = True) -> DifferentiableRecognizer:
        super().train(mode)
        self.network.eval()  # a frozen recognizer: batch-norm statistics never move
        return self

    def preprocess(self, faces: torch.Tensor) -> torch.Tensor:
        """RGB faces [N, 3, h, w] on the 0–255 scale → network input."""
        x = faces.flip(1) if self.spec.channel_order == "BGR" else faces
        return x * self.spec.scale + self.spec.offset

    def forward(self, images: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
        """Embeddings [N, D] of RGB images [N, 3, H, W] on the 0–255 scale, aligned by matrices [N, 2, 3]."""
        faces = warp_torch(images, matrices, self.spec.input_size)
        return self.network(self.preprocess(faces))
