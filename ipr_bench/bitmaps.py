"""Where a learned codec spends its bits: per-pixel information content from its entropy model.

A CompressAI model's forward pass gives, per latent tensor, the likelihood p of every quantised element; its
information content is −log2 p bits. Summed over channels, each spatial position of a latent at stride s (the
hyperprior's y: 16, z: 64) carries the bits of an s × s block of pixels, spread evenly over that block here, so
the map of an image sums exactly to the model's estimate of its bit count (the entropy coder's real payload is
within a few bytes of it). Maps can then be measured inside and outside the face region
(``ipr_bench.roi``) or averaged over a dataset in aligned face coordinates (each image's alignment transform), as
a density, with the face template on top.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def latent_bits(likelihoods: dict[str, Any]) -> dict[str, np.ndarray]:
    """Per latent tensor, bits per spatial position, summed over channels: {name: [N, h, w]}."""
    out = {}
    for name, p in likelihoods.items():
        values = p.detach().double().cpu().numpy() if hasattr(p, "detach") else np.asarray(p, np.float64)
        out[name] = -np.log2(values).sum(axis=1)
    return out


def pixel_bits(likelihoods: dict[str, Any], padded_hw: tuple[int, int]) -> np.ndarray:
    """[N, H, W] bits per pixel of the padded input: each latent position's bits spread over its stride × stride
    block. Sums to the total information content of every latent."""
    h, w = padded_hw
    total = None
    for bits in latent_bits(likelihoods).values():
        n, lh, lw = bits.shape
        sy, sx = h // lh, w // lw
        if sy * lh != h or sx * lw != w or sy != sx:
            raise ValueError(f"latent {lh}×{lw} does not tile the {h}×{w} input with square blocks")
        spread = np.repeat(np.repeat(bits, sy, axis=1), sx, axis=2) / (sy * sx)
        total = spread if total is None else total + spread
    if total is None:
        raise ValueError("no likelihoods")
    return total


def split_by_region(bits: np.ndarray, region: Any) -> tuple[float, float]:
    """(bits inside, bits outside) a face region of one image's map [H, W] (the map may be the padded one:
    padding counts as outside)."""
    inside = float(bits[region.top : region.bottom, region.left : region.right].sum())
    return inside, float(bits.sum()) - inside


def face_density(bits: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """One map [H, W] (bits per pixel) warped into aligned face coordinates (``matrix``: image → face pixels)
    as a density in bits per image pixel, so maps of differently sized faces average meaningfully."""
    import cv2

    warped = cv2.warpAffine(
        bits.astype(np.float32),
        matrix,
        (size[1], size[0]),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=math.nan,
    )
    return warped
