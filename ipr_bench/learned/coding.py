"""Coding images with a CompressAI model: compress to payloads (ipr_bench.learned.bitstream), decompress, per-pixel
information maps; variable-rate levels and face-region level maps."""

from __future__ import annotations

from typing import Any

import numpy as np

from ipr_bench.learned.bitstream import pack, payload_face_point, payload_region, peek_rate_point, unpack
from ipr_bench.learned.checkpoint import LEVEL_STEPS

STRIDE = 64  # total downsampling of the CompressAI hyperprior family: latents of z are H/64 × W/64
CELL = 16  # y's downsampling: the level map's resolution


def pad_to_stride(x: Any, stride: int = STRIDE) -> Any:
    """Edge-pad a [N, C, H, W] batch on the right and bottom to multiples of the stride."""
    import torch.nn.functional as F  # noqa: N812

    h, w = x.shape[-2:]
    ph, pw = (-h) % stride, (-w) % stride
    return F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x


def latent_shape(model: Any, height: int, width: int) -> list[int]:
    """The latent shape ``decompress`` is given for an image of this size (padded to STRIDE): the hyperpriors'
    z at 1/64, a factorized-prior model's y at 1/16 (it has no hyper-latent)."""
    padded = [-(-height // STRIDE) * STRIDE, -(-width // STRIDE) * STRIDE]
    stride = STRIDE if hasattr(model, "h_a") else CELL
    return [padded[0] // stride, padded[1] // stride]


def is_variable_rate(model: Any) -> bool:
    return hasattr(model, "levels")


def level_rate_point(level: float, levels: int) -> int:
    """The rate-point byte of a variable-rate payload at ``level`` (0…levels−1, quarter steps)."""
    point = 1 + round(LEVEL_STEPS * level)
    if not (0 <= level <= levels - 1 and abs(point - 1 - LEVEL_STEPS * level) < 1e-9):
        raise ValueError(f"level {level}: levels are 0…{levels - 1} in steps of 1/{LEVEL_STEPS}")
    return point


def region_cells(region: Any, height: int, width: int) -> tuple[int, int, int, int]:
    """A pixel FaceRegion (ipr_bench.face.roi) → the latent cells it touches (left, top, right, bottom)."""
    return (
        region.left // CELL,
        region.top // CELL,
        min(-(-region.right // CELL), -(-width // CELL)),
        min(-(-region.bottom // CELL), -(-height // CELL)),
    )


def level_map(level: Any, cells: Any, grid: tuple[int, int], boost: float, top: float) -> Any:
    """[N, 1, gh, gw] levels over y's grid: each image's ``level`` ([N]) everywhere, ``level + boost`` (at most
    ``top``) inside its ``cells`` ([N, 4]: left, top, right, bottom; an empty box where there is no face)."""
    import torch

    rows = torch.arange(grid[0], device=level.device)[None, :, None]
    cols = torch.arange(grid[1], device=level.device)[None, None, :]
    inside = (
        (cols >= cells[:, 0, None, None])
        & (cols < cells[:, 2, None, None])
        & (rows >= cells[:, 1, None, None])
        & (rows < cells[:, 3, None, None])
    )
    boosted = (level + boost).clamp(max=top)
    return torch.where(inside, boosted[:, None, None], level[:, None, None])[:, None]


def _regions_map(
    level: float, regions: list[tuple[int, int, int, int] | None], grid: tuple[int, int], boost: float, top: float
) -> Any:
    """level_map of payload regions (None: no face) at one level."""
    import torch

    cells = torch.tensor([r or (0, 0, 0, 0) for r in regions])
    return level_map(torch.full((len(regions),), float(level)), cells, grid, boost, top)


def _input_batch(images: list[np.ndarray], device: str) -> Any:
    """Same-sized RGB uint8 images → the model's padded [N, 3, H, W] input in [0, 1]."""
    import torch

    return pad_to_stride(torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(255).to(device))


Cells = list[tuple[int, int, int, int] | None]  # per image, its face region in latent cells (None: no face)


def face_rate_point(rate_point: int, boost: float, levels: int) -> int:
    """The face region's rate point of a model that codes faces ``boost`` levels above the rest (at most its top)."""
    return min(rate_point + round(LEVEL_STEPS * boost), level_rate_point(levels - 1, levels))


def _level(model: Any, x: Any, rate_point: int, regions: Cells | None, face_point: int | None, device: str) -> Any:
    """A variable-rate model's level for a batch: the rate point's, or a map with the face regions at the face
    rate point's level."""
    level: Any = (rate_point - 1) / LEVEL_STEPS
    if regions is not None and face_point is not None:
        grid = (x.shape[-2] // CELL, x.shape[-1] // CELL)
        boost = (face_point - rate_point) / LEVEL_STEPS
        level = _regions_map(level, regions, grid, boost, model.levels - 1).to(device)
    return level


def information_maps(
    model: Any,
    images: list[np.ndarray],
    rate_point: int = 1,
    device: str = "cpu",
    regions: Cells | None = None,
    face_point: int | None = None,
) -> np.ndarray:
    """[N, H', W'] bits per pixel of the padded input (ipr_bench.learned.bits.pixel_bits) the entropy model assigns
    to what ``compress_images`` codes with the same arguments: the eval-mode forward pass rounds the latents as
    compress does, so each map sums to the image's coded information (the payload adds the coder's few bytes of
    overhead and the header)."""
    import torch

    from ipr_bench.learned.bits import pixel_bits

    x = _input_batch(images, device)
    with torch.no_grad():
        level = _level(model, x, rate_point, regions, face_point, device) if is_variable_rate(model) else None
        out = model(x) if level is None else model(x, level)
    return pixel_bits(out["likelihoods"], tuple(x.shape[-2:]))


def compress_images(
    model: Any,
    images: list[np.ndarray],
    rate_point: int = 1,
    device: str = "cpu",
    regions: Cells | None = None,
    face_point: int | None = None,
) -> list[bytes]:
    """Payloads of same-sized RGB uint8 images, compressed as one batch (a variable-rate model at the level its
    rate point says; with ``regions`` — latent cells per image, None where no face — and ``face_point``, the face
    region at that rate point's level: version-3 payloads, which carry both)."""
    import torch

    h, w = images[0].shape[:2]
    x = _input_batch(images, device)
    with torch.no_grad():
        if is_variable_rate(model):
            out = model.compress(x, _level(model, x, rate_point, regions, face_point, device))
        else:
            out = model.compress(x)
    expected = latent_shape(model, h, w)
    if list(out["shape"]) != expected:
        raise RuntimeError(f"latent shape {list(out['shape'])} != {expected}: not a CompressAI stride-64 model")
    sent = regions if (regions is not None and face_point is not None) else [None] * len(images)
    return [
        pack(rate_point, h, w, [s[i] for s in out["strings"]], sent[i], face_point if sent[i] else None)
        for i in range(len(images))
    ]


def guarded(string: bytes, model: Any, shape: list[int]) -> bytes:
    """An entropy-coded string followed by zero bytes that CompressAI's range decoder may read but never needs.

    Its rANS decoder (C++) reads 32-bit words from the string with no bounds check: a damaged or foreign string
    sends it past the end, and that crashed the process (tests/test_payload_fuzz.py). A valid string decodes to
    the same symbols with or without the zeros (nothing reads beyond what was written). On zeros the decoder's
    renormalisation and its bypass loops read at most a few words per symbol, so the padding is sized by the
    latents' symbol count: a damaged string then decodes to garbage pixels or an error, never out of bounds."""
    channels = max(int(getattr(model, "M", 0)), int(getattr(model, "N", 0)), 1)
    symbols = channels * (shape[0] * 4) * (shape[1] * 4)  # y at 1/16 (4× z's grid per side), the larger latent
    return string + bytes(4 * (4 * symbols + len(string)) + 4096)


def decompress_payloads(model: Any, payloads: list[bytes], device: str = "cpu", boost: float = 0.0) -> list[np.ndarray]:
    """Decoded images of payloads that share an image size and rate points, as one batch (what
    ``decompress_payload`` gives each; the GPU's throughput comes from batches). ``boost``: the checkpoint's face
    boost, for version-2 payloads (version 3 carries the face's rate point)."""
    import torch

    n_strings = 2 if hasattr(model, "h_a") else 1
    unpacked = [unpack(p, n_strings) for p in payloads]
    sizes = {(h, w) for h, w, _ in unpacked}
    points = {peek_rate_point(p) for p in payloads}
    face_points = {payload_face_point(p) for p in payloads if payload_region(p) is not None}
    if len(sizes) != 1 or len(points) != 1 or len(face_points) > 1:
        raise ValueError(
            f"one batch needs one image size and rate point, got sizes {sizes}, points {points}, face {face_points}"
        )
    (h, w), point = sizes.pop(), points.pop()
    shape = latent_shape(model, h, w)
    strings = [[guarded(u[2][k], model, shape) for u in unpacked] for k in range(n_strings)]
    with torch.no_grad():
        if is_variable_rate(model):
            level: Any = (point - 1) / LEVEL_STEPS
            regions = [payload_region(p) for p in payloads]
            if face_points:
                face_point = face_points.pop()
                face_boost = boost if face_point is None else (face_point - point) / LEVEL_STEPS
                grid = (-(-h // STRIDE) * STRIDE // CELL, -(-w // STRIDE) * STRIDE // CELL)
                level = _regions_map(level, regions, grid, face_boost, model.levels - 1).to(device)
            x_hat = model.decompress(strings, shape, level)["x_hat"]
        else:
            x_hat = model.decompress(strings, shape)["x_hat"]
    x_hat = x_hat[:, :, :h, :w].clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    return [np.ascontiguousarray(x) for x in x_hat]


def decompress_payload(model: Any, payload: bytes, device: str = "cpu", boost: float = 0.0) -> np.ndarray:
    return decompress_payloads(model, [payload], device, boost)[0]
