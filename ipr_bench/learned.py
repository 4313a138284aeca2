"""Learned codecs: CompressAI models as ipr-bench codecs — their bitstream and their checkpoints.

Bitstream (what bpp counts; version 1)::

    1 byte   format version
    1 byte   rate point (quality index of the codec: which model decodes it)
    2 × u16  original height, width (big-endian)
    per entropy-coded string of the model (y, then z for the hyperpriors):
             LEB128 length, then the bytes CompressAI's range coder wrote

The latent shapes follow from the image size (the image is edge-padded to a multiple of the model's stride,
64, and cropped back after decoding), so nothing else is sent; the decoder holds the codec's models, as any
decoder holds its tables.

A variable-rate checkpoint (ipr_bench.variable_rate, architecture ``gained-hyperprior``) is one model for all
its rates: its rate-point byte carries the level instead, in quarter steps (byte = 1 + 4 × level), so
quality q (1…K, quarter steps between) decodes at level q − 1. One trained with face maps (meta
``face_boost``) codes the face region ``face_boost`` levels higher; its payloads are format version 2, whose
header adds that region in latent cells of 16 px (4 × u16: left, top, right, bottom) — the decoder rebuilds
the same map from it, and bpp pays for those 8 bytes.

Checkpoint = a directory with ``model.safetensors`` (the state dict after ``update()``, so the entropy coder's
CDF tables travel with it) and ``meta.json`` (architecture, its arguments, λ, loss weights, training
recognizer(s), data, steps, git commit). A directory of such directories is a multi-rate codec: qualities
1…K in increasing λ order. Nothing is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ipr_bench.cache import atomic_write_bytes
from ipr_bench.errors import DataError, UnavailableError

FORMAT_VERSION = 1
REGION_VERSION = 2  # version 1 + the face region the level map was made from
STRIDE = 64  # total downsampling of the CompressAI hyperprior family: latents of z are H/64 × W/64
CELL = 16  # y's downsampling: the level map's resolution
VARIABLE_RATE = "gained-hyperprior"  # ipr_bench.variable_rate's architecture (named here: no compressai import)
WEIGHTS_FILE = "model.safetensors"
META_FILE = "meta.json"


# --------------------------------------------------------------------------------------------- bitstream


def _leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


HEADER = struct.Struct(">BBHH")
REGION = struct.Struct(">HHHH")


def pack(
    rate_point: int, height: int, width: int, strings: list[bytes], region: tuple[int, int, int, int] | None = None
) -> bytes:
    """``region``: the face region in latent cells (left, top, right, bottom), for a face-map model."""
    if not (0 < height < 65536 and 0 < width < 65536):
        raise ValueError(f"image size {height}×{width} does not fit the 16-bit header")
    if not 0 < rate_point < 256:
        raise ValueError(f"rate point {rate_point} does not fit its byte")
    body = b"".join(_leb128(len(s)) + s for s in strings)
    if region is None:
        return HEADER.pack(FORMAT_VERSION, rate_point, height, width) + body
    return HEADER.pack(REGION_VERSION, rate_point, height, width) + REGION.pack(*region) + body


def peek_rate_point(payload: bytes) -> int:
    if len(payload) < HEADER.size:
        raise DataError(f"learned-codec payload of {len(payload)} bytes is shorter than its {HEADER.size}-byte header")
    version, rate_point, _, _ = HEADER.unpack(payload[: HEADER.size])
    if version not in (FORMAT_VERSION, REGION_VERSION):
        raise DataError(
            f"learned-codec payload has format version {version}; this ipr-bench reads {FORMAT_VERSION} and "
            f"{REGION_VERSION}"
        )
    return rate_point


def payload_region(payload: bytes) -> tuple[int, int, int, int] | None:
    """The face region (latent cells) a version-2 payload carries; None for version 1."""
    peek_rate_point(payload)
    if payload[0] != REGION_VERSION:
        return None
    if len(payload) < HEADER.size + REGION.size:
        raise DataError("learned-codec payload truncated in its face region")
    return REGION.unpack(payload[HEADER.size : HEADER.size + REGION.size])  # type: ignore[return-value]


def unpack(payload: bytes, n_strings: int) -> tuple[int, int, list[bytes]]:
    """(height, width, strings); DataError naming what is wrong for a damaged or foreign payload."""
    has_region = payload_region(payload) is not None
    _, _, height, width = HEADER.unpack(payload[: HEADER.size])
    from ipr_bench.images import max_pixels

    if not height or not width or height * width > max_pixels():  # checked before any latent is allocated
        raise DataError(f"learned-codec payload declares a {height}×{width} image: empty or over the input cap")
    strings, pos = [], HEADER.size + (REGION.size if has_region else 0)
    for k in range(n_strings):
        length, shift = 0, 0
        while True:
            if pos >= len(payload):
                raise DataError(f"learned-codec payload truncated in the length of string {k + 1} of {n_strings}")
            byte = payload[pos]
            pos += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if pos + length > len(payload):
            raise DataError(f"learned-codec payload truncated: string {k + 1} needs {length} bytes")
        strings.append(payload[pos : pos + length])
        pos += length
    if pos != len(payload):
        raise DataError(f"learned-codec payload has {len(payload) - pos} bytes after its last string")
    return height, width, strings


# ------------------------------------------------------------------------------------------- checkpoints


LEVEL_STEPS = 4  # variable-rate payloads: quarter levels


def build_model(architecture: str, args: list[int]) -> Any:
    import warnings

    with warnings.catch_warnings():  # compressai 1.2.8 calls the deprecated torch.jit.script at import
        warnings.filterwarnings("ignore", category=FutureWarning, message=".*torch.jit.script.*")
        from compressai.zoo.image import model_architectures

        from ipr_bench.variable_rate import GainedScaleHyperprior

    if architecture == VARIABLE_RATE:
        if len(args) != 3:
            raise UnavailableError(f"{VARIABLE_RATE} takes N, M and the number of levels, not {args}")
        return with_fast_indexes(GainedScaleHyperprior(*args))
    if architecture not in model_architectures:
        raise UnavailableError(
            f"unknown CompressAI architecture {architecture!r}; known: {sorted(model_architectures)}"
        )
    return with_fast_indexes(model_architectures[architecture](*args))


def fast_build_indexes(conditional: Any, scales: Any) -> Any:
    """CompressAI's ``GaussianConditional.build_indexes`` as one ``searchsorted``: the same integers (each scale's
    count of table entries below it, by the same exact comparisons), where CompressAI makes two passes over the
    tensor per table entry (64 entries: 3 s of a 4 s encode + decode of one LFW image on this CPU)."""
    import torch

    scales = conditional.lower_bound_scale(scales)
    table = conditional.scale_table[:-1].to(device=scales.device, dtype=scales.dtype).contiguous()
    return torch.searchsorted(table, scales.contiguous()).int()


def with_fast_indexes(model: Any) -> Any:
    """``model`` with fast_build_indexes in its Gaussian conditional, if it has one (the bitstreams are unchanged)."""
    from functools import partial

    conditional = getattr(model, "gaussian_conditional", None)
    if conditional is not None:
        conditional.build_indexes = partial(fast_build_indexes, conditional)
    return model


def save_checkpoint(model: Any, directory: Path | str, meta: dict[str, Any]) -> Path:
    """Write model.safetensors (after update(), so the CDF tables are included) and meta.json, each atomically."""
    from safetensors.torch import save

    directory = Path(directory)
    for key in ("architecture", "args"):
        if key not in meta:
            raise ValueError(f"checkpoint metadata needs {key!r}")
    model.update(force=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(directory / WEIGHTS_FILE, save(state))
    atomic_write_bytes(directory / META_FILE, (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode())
    return directory


def load_weights(model: Any, state: dict[str, Any]) -> Any:
    """Load a state dict into a model whose entropy coders may already hold CDF tables of another size.

    CompressAI resizes those buffers only when they are empty (a fresh model); a model that was loaded or
    updated once must have them resized to the incoming tables first."""
    from compressai.entropy_models import EntropyBottleneck, GaussianConditional
    from compressai.models.utils import update_registered_buffers

    for name, module in model.named_modules():
        if isinstance(module, EntropyBottleneck | GaussianConditional) and f"{name}._quantized_cdf" in state:
            update_registered_buffers(module, name, ["_quantized_cdf", "_offset", "_cdf_length"], state, "resize")
    model.load_state_dict(state)
    return model


def read_meta(directory: Path) -> dict[str, Any]:
    path = directory / META_FILE
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise UnavailableError(f"{directory} is not a learned-codec checkpoint: no {META_FILE}") from None
    except json.JSONDecodeError as exc:
        raise UnavailableError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    for key in ("architecture", "args"):
        if key not in meta:
            raise UnavailableError(f"{path}: missing {key!r}")
    return meta


def load_checkpoint(directory: Path | str, device: str = "cpu") -> tuple[Any, dict[str, Any]]:
    """(model in eval mode with its entropy coder ready, metadata)."""
    from safetensors.torch import load_file

    directory = Path(directory)
    meta = read_meta(directory)
    if not (directory / WEIGHTS_FILE).is_file():
        raise UnavailableError(f"{directory}: no {WEIGHTS_FILE}")
    model = build_model(meta["architecture"], meta["args"])
    # CompressAI resizes the entropy coder's buffers to the stored CDF tables when loading
    model.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
    return model.to(device).eval(), meta


def checkpoint_dirs(root: Path | str) -> list[Path]:
    """The rate points of a codec directory: itself, or its checkpoint subdirectories (or their ``last/``, as
    training writes them) in increasing λ."""
    root = Path(root)
    if (root / META_FILE).is_file():
        return [root]
    subdirs = []
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        if (d / META_FILE).is_file():
            subdirs.append(d)
        elif (d / "last" / META_FILE).is_file():  # a directory of training runs (ipr-bench train --out DIR/qK)
            subdirs.append(d / "last")
    if not subdirs:
        raise UnavailableError(f"no learned-codec checkpoint under {root} (expected {META_FILE} + {WEIGHTS_FILE})")
    return sorted(subdirs, key=lambda d: float(read_meta(d).get("lambda", 0.0)))


def checkpoint_digest(directory: Path) -> str:
    digest = hashlib.sha256()
    for name in (WEIGHTS_FILE, META_FILE):
        digest.update((directory / name).read_bytes())
    return digest.hexdigest()[:16]


# ------------------------------------------------------------------------------------------ coding


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
    """A pixel FaceRegion (ipr_bench.roi) → the latent cells it touches (left, top, right, bottom)."""
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


def _level(model: Any, x: Any, rate_point: int, regions: Cells | None, boost: float, device: str) -> Any:
    """A variable-rate model's level for a batch: the rate point's, or its map with the face regions boosted."""
    level: Any = (rate_point - 1) / LEVEL_STEPS
    if regions is not None and boost:
        grid = (x.shape[-2] // CELL, x.shape[-1] // CELL)
        level = _regions_map(level, regions, grid, boost, model.levels - 1).to(device)
    return level


def information_maps(
    model: Any,
    images: list[np.ndarray],
    rate_point: int = 1,
    device: str = "cpu",
    regions: Cells | None = None,
    boost: float = 0.0,
) -> np.ndarray:
    """[N, H', W'] bits per pixel of the padded input (ipr_bench.bitmaps.pixel_bits) that the entropy model assigns
    to what ``compress_images`` codes with the same arguments: the eval-mode forward pass rounds the latents as
    compress does, so each map sums to the image's coded information (the payload adds the coder's few bytes of
    overhead and the header)."""
    import torch

    from ipr_bench.bitmaps import pixel_bits

    x = _input_batch(images, device)
    with torch.no_grad():
        level = _level(model, x, rate_point, regions, boost, device) if is_variable_rate(model) else None
        out = model(x) if level is None else model(x, level)
    return pixel_bits(out["likelihoods"], tuple(x.shape[-2:]))


def compress_images(
    model: Any,
    images: list[np.ndarray],
    rate_point: int = 1,
    device: str = "cpu",
    regions: Cells | None = None,
    boost: float = 0.0,
) -> list[bytes]:
    """Payloads of same-sized RGB uint8 images, compressed as one batch (a variable-rate model at the level its
    rate point says; with ``regions`` — latent cells per image, None where no face — and ``boost``, the face
    region that many levels higher)."""
    import torch

    h, w = images[0].shape[:2]
    x = _input_batch(images, device)
    with torch.no_grad():
        if is_variable_rate(model):
            out = model.compress(x, _level(model, x, rate_point, regions, boost, device))
        else:
            out = model.compress(x)
    expected = latent_shape(model, h, w)
    if list(out["shape"]) != expected:
        raise RuntimeError(f"latent shape {list(out['shape'])} != {expected}: not a CompressAI stride-64 model")
    sent = regions if (regions is not None and boost) else [None] * len(images)
    return [pack(rate_point, h, w, [s[i] for s in out["strings"]], sent[i]) for i in range(len(images))]


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
    """Decoded images of payloads that share an image size and rate point, as one batch (what
    ``decompress_payload`` gives each; the GPU's throughput comes from batches)."""
    import torch

    n_strings = 2 if hasattr(model, "h_a") else 1
    unpacked = [unpack(p, n_strings) for p in payloads]
    sizes = {(h, w) for h, w, _ in unpacked}
    points = {peek_rate_point(p) for p in payloads}
    if len(sizes) != 1 or len(points) != 1:
        raise ValueError(f"one batch needs one image size and rate point, got sizes {sizes} and points {points}")
    (h, w), point = sizes.pop(), points.pop()
    shape = latent_shape(model, h, w)
    strings = [[guarded(u[2][k], model, shape) for u in unpacked] for k in range(n_strings)]
    with torch.no_grad():
        if is_variable_rate(model):
            level: Any = (point - 1) / LEVEL_STEPS
            regions = [payload_region(p) for p in payloads]
            if any(r is not None for r in regions):
                grid = (-(-h // STRIDE) * STRIDE // CELL, -(-w // STRIDE) * STRIDE // CELL)
                level = _regions_map(level, regions, grid, boost, model.levels - 1).to(device)
            x_hat = model.decompress(strings, shape, level)["x_hat"]
        else:
            x_hat = model.decompress(strings, shape)["x_hat"]
    x_hat = x_hat[:, :, :h, :w].clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    return [np.ascontiguousarray(x) for x in x_hat]


def decompress_payload(model: Any, payload: bytes, device: str = "cpu", boost: float = 0.0) -> np.ndarray:
    return decompress_payloads(model, [payload], device, boost)[0]
