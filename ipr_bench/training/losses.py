"""The identity-preserving rate–distortion loss of Xiao et al. (2022), CompressAI style:

    L = R + λ · (255² · MSE + α · D_id)

R is the rate the model's likelihoods imply, in bits per pixel of the *original* image (padding is not paid
for twice); MSE is on the 0–1 scale, as in CompressAI's RateDistortionLoss, so λ has its usual meaning;
D_id compares a frozen recognizer's embedding of the reconstruction with that of the original, both faces cut
out with the alignment matrix (ipr_bench.recognizers.differentiable): 1 − cosine by default, or the squared L2
distance of the unit embeddings. Several recognizers may share α. α = 0 is the MSE-only baseline.
The recognizers are never trained: their parameters are frozen and stay in eval mode.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn


def image_bpp(likelihoods: dict[str, torch.Tensor], n_pixels: int) -> torch.Tensor:
    """Estimated bits per pixel of each image [N]: Σ −log₂ p over its latents / its pixels."""
    bits = sum(torch.log(v).flatten(1).sum(dim=1) for v in likelihoods.values()) / -math.log(2)
    return bits / n_pixels  # type: ignore[return-value]


def rate_bpp(likelihoods: dict[str, torch.Tensor], n_pixels: int) -> torch.Tensor:
    """Estimated bits per pixel of a batch (mean over images)."""
    return image_bpp(likelihoods, n_pixels).mean()


class IdentityPreservingLoss(nn.Module):
    def __init__(
        self,
        lmbda: float,
        identity_weight: float = 0.0,
        recognizers: list[nn.Module] | None = None,
        identity: Literal["cosine", "l2"] = "cosine",
        bf16: bool = False,
    ) -> None:
        """``bf16``: run the frozen recognizer under bfloat16 autocast (its input and the distance stay float32;
        the codec's autocast, if any, is the trainer's: ipr_bench.training.precision)."""
        super().__init__()
        if identity_weight and not recognizers:
            raise ValueError("an identity weight needs at least one differentiable recognizer")
        self.lmbda = lmbda
        self.identity_weight = identity_weight
        self.recognizers = nn.ModuleList(recognizers or [])
        self.identity = identity
        self.bf16 = bf16

    def identity_distance(
        self,
        x_hat: torch.Tensor,
        x: torch.Tensor,
        matrices: list[torch.Tensor],
        targets: list[torch.Tensor] | None = None,
        per_image: bool = False,
    ) -> torch.Tensor:
        """Mean over recognizers and images of the embedding distance (``per_image``: over recognizers only, [N]);
        x, x_hat on the 0–1 scale. ``targets``: the originals' unit embeddings when already known
        (ipr_bench.training.resident), which saves a network pass."""
        terms = []
        for k, (recognizer, m) in enumerate(zip(self.recognizers, matrices, strict=True)):
            if targets is None:
                with torch.no_grad():
                    target = nn.functional.normalize(recognizer(x * 255, m), dim=1)
            else:
                target = targets[k]
            with torch.autocast(x_hat.device.type, torch.bfloat16, enabled=self.bf16):
                pred = recognizer(x_hat * 255, m)
            pred = nn.functional.normalize(pred.float(), dim=1)
            if self.identity == "cosine":
                distance = 1 - (pred * target).sum(dim=1)
            else:
                distance = ((pred - target) ** 2).sum(dim=1)
            terms.append(distance if per_image else distance.mean())
        return torch.stack(terms).mean(dim=0)

    def forward(
        self,
        output: dict[str, torch.Tensor | dict[str, torch.Tensor]],
        x: torch.Tensor,
        matrices: list[torch.Tensor] | None = None,
        n_pixels: int | None = None,
        targets: list[torch.Tensor] | None = None,
        lmbda: torch.Tensor | None = None,
        lmbda_map: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """``output`` is a CompressAI model's forward(x) (x_hat, likelihoods); ``matrices``: one [N, 2, 3] batch
        of alignment matrices per recognizer; ``n_pixels``: H × W of the unpadded image (default: x's);
        ``targets``: the originals' unit embeddings per recognizer, if known; ``lmbda``: a λ per image [N]
        (a variable-rate model trains each image at its own level), instead of the loss's own λ;
        ``lmbda_map`` (with ``lmbda``): a λ per pixel [N, 1, H, W] for the distortion, where regions of an image
        are coded at different levels (``lmbda`` then weighs the identity term)."""
        x_hat = output["x_hat"]
        h, w = x.shape[-2:]
        if lmbda is not None:
            return self._per_image(output, x, matrices, n_pixels or h * w, targets, lmbda, lmbda_map)
        bpp = rate_bpp(output["likelihoods"], n_pixels or h * w)
        mse = nn.functional.mse_loss(x_hat, x)
        out = {"bpp": bpp, "mse": mse}
        distortion = 255**2 * mse
        if self.identity_weight:
            if matrices is None:
                raise ValueError("the identity term needs each image's alignment matrices")
            out["identity"] = self.identity_distance(x_hat.clamp(0, 1), x, matrices, targets)
            distortion = distortion + self.identity_weight * out["identity"]
        out["loss"] = bpp + self.lmbda * distortion
        return out

    def _per_image(
        self,
        output: dict[str, torch.Tensor | dict[str, torch.Tensor]],
        x: torch.Tensor,
        matrices: list[torch.Tensor] | None,
        n_pixels: int,
        targets: list[torch.Tensor] | None,
        lmbda: torch.Tensor,
        lmbda_map: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        x_hat = output["x_hat"]
        bpp = image_bpp(output["likelihoods"], n_pixels)  # type: ignore[arg-type]
        squared = (x_hat - x) ** 2
        mse = squared.flatten(1).mean(dim=1)
        out = {"bpp": bpp.mean(), "mse": mse.mean()}
        # λ · 255² · MSE, each pixel's error at its own region's λ where a map is given
        weighed = lmbda * 255**2 * mse if lmbda_map is None else 255**2 * (lmbda_map * squared).flatten(1).mean(dim=1)
        if self.identity_weight:
            if matrices is None:
                raise ValueError("the identity term needs each image's alignment matrices")
            identity = self.identity_distance(x_hat.clamp(0, 1), x, matrices, targets, per_image=True)
            out["identity"] = identity.mean()
            weighed = weighed + lmbda * self.identity_weight * identity
        out["loss"] = (bpp + weighed).mean()
        return out
