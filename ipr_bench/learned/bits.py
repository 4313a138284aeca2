"""Bits per latent position and per pixel from an entropy model's likelihoods (information content, −log2 p).

What ``ipr_bench.analysis.bitmaps`` maps over faces and ``coding.information_maps`` returns per image."""

from __future__ import annotations

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
