"""Bit maps of learned codecs: the per-pixel information content sums to the true bit count and sits where the
entropy model put it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ipr_bench.bitmaps import face_density, latent_bits, pixel_bits, split_by_region
from ipr_bench.roi import FaceRegion


def test_map_of_a_synthetic_codec_sums_to_its_true_bit_count() -> None:
    rng = np.random.default_rng(0)
    likelihoods = {
        "y": torch.tensor(rng.uniform(0.01, 1.0, (2, 8, 4, 8))),  # stride 16 on a 64 × 128 input
        "z": torch.tensor(rng.uniform(0.01, 1.0, (2, 5, 1, 2))),  # stride 64
    }
    maps = pixel_bits(likelihoods, (64, 128))
    true_bits = sum(-np.log2(p.numpy()).sum(axis=(1, 2, 3)) for p in likelihoods.values())
    assert maps.shape == (2, 64, 128)
    assert np.allclose(maps.sum(axis=(1, 2)), true_bits)
    y_bits = -np.log2(likelihoods["y"].numpy()).sum(axis=(1, 2, 3))
    assert np.allclose(latent_bits(likelihoods)["y"].sum(axis=(1, 2)), y_bits)
    with pytest.raises(ValueError, match="does not tile"):
        pixel_bits({"z": torch.tensor(rng.uniform(0.01, 1.0, (1, 5, 1, 1)))}, (64, 96))


def test_bits_stay_in_their_block_and_split_by_the_face_region() -> None:
    y = np.ones((1, 1, 4, 4))
    y[0, 0, 1, 2] = 0.25  # 2 bits in the block rows 16–31, columns 32–47; every other position p = 1 (0 bits)
    bits = pixel_bits({"y": y}, (64, 64))[0]
    assert bits.sum() == pytest.approx(2.0)
    assert bits[16:32, 32:48].sum() == pytest.approx(2.0) and bits[16:32, 32:48].std() == 0
    inside, outside = split_by_region(bits, FaceRegion(30, 10, 50, 40))
    assert inside == pytest.approx(2.0 * (16 * 16) / 256) and outside == pytest.approx(0.0)
    half_in, half_out = split_by_region(bits, FaceRegion(40, 0, 64, 64))
    assert half_in == pytest.approx(1.0) and half_out == pytest.approx(1.0)


def test_face_density_is_the_map_seen_through_the_alignment() -> None:
    bits = np.zeros((64, 64))
    bits[20:30, 20:30] = 1.5
    shift = np.array([[1.0, 0, -10], [0, 1.0, -10]])  # image → face: move up-left by 10 px
    density = face_density(bits, shift, (48, 48))
    assert density[15, 15] == pytest.approx(1.5) and density[2, 2] == 0
    outside = face_density(bits, np.array([[1.0, 0, 30], [0, 1.0, 30]]), (48, 48))
    assert np.isnan(outside[5, 5])  # face pixels outside the image are unknown, not zero
