"""Reading images as RGB uint8, whatever the source mode, and the quality measures between two images."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ipr_bench.core.errors import DataError
from ipr_bench.core.text import is_ascii_integer


def to_rgb_uint8(img: Image.Image) -> np.ndarray:
    """RGB uint8 array from any Pillow image: EXIF rotation applied, alpha composited on black, 16-bit scaled."""
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        arr = np.clip(np.rint(arr / peak * 255.0), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(arr[..., None], 3, axis=2))
    if img.mode == "F":
        arr = np.clip(np.rint(np.asarray(img, dtype=np.float64)), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(arr[..., None], 3, axis=2))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (0, 0, 0, 255))
        img = Image.alpha_composite(background, img)
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


MAX_PIXELS_ENV = "IPR_BENCH_MAX_PIXELS"
DEFAULT_MAX_PIXELS = 40_000_000  # a 40-Mpx photo decodes to 120 MB; face work rarely needs more


def max_pixels() -> int:
    """The tool's own cap on an input image's pixels ($IPR_BENCH_MAX_PIXELS, ``--max-pixels``): checked from the
    header before anything is decoded, so one huge image costs an error, not the machine's memory."""
    value = os.environ.get(MAX_PIXELS_ENV, "").strip()  # str.strip takes more than int() does ('\x1f')
    return int(value) if is_ascii_integer(value) and int(value) > 0 else DEFAULT_MAX_PIXELS


def check_size(img: Image.Image, what: str) -> None:
    width, height = img.size
    cap = max_pixels()
    if width * height > cap:
        raise DataError(
            f"{what}: {width}×{height} = {width * height / 1e6:.1f} Mpx is over the {cap / 1e6:g}-Mpx input cap; "
            f"downscale it, or raise the cap with --max-pixels N (or {MAX_PIXELS_ENV})"
        )


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as an H×W×3 uint8 RGB array; raise DataError naming the file on any failure."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            check_size(img, str(path))  # from the header, before decoding
            img.load()  # truncated files fail here, not later
            return to_rgb_uint8(img)
    except FileNotFoundError:
        raise DataError(f"{path}: image file not found") from None
    except DataError:
        raise
    except Exception as exc:  # Pillow raises many types for corrupt data
        raise DataError(
            f"{path}: cannot decode image ({type(exc).__name__}: {exc}); replace or remove the file"
        ) from None


def decode_rgb_bytes(data: bytes, what: str = "image bytes") -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as img:
            check_size(img, what)
            img.load()
            return to_rgb_uint8(img)
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{what}: cannot decode ({type(exc).__name__}: {exc})") from None


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB over all RGB samples (peak 255); inf for identical images."""
    mse = np.mean((reference.astype(np.float64) - test.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


MS_SSIM_MIN_SIDE = 161  # 5 scales with an 11-px window need the smallest side > 160 px
MS_SSIM_WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - size // 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _filter_valid(x: np.ndarray, win: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation over the two spatial axes of an (H, W, C) float32 array, as float64.
    Filtering in float32 is ~2.5× faster; the result stays within 2e-6 of pytorch-msssim in float64."""
    import cv2

    r = len(win) // 2
    full = cv2.sepFilter2D(x, cv2.CV_32F, win, win, borderType=cv2.BORDER_REFLECT).reshape(x.shape)
    return full[r : x.shape[0] - r, r : x.shape[1] - r].astype(np.float64)


def _avg_pool2(x: np.ndarray) -> np.ndarray:
    """2×2 average pooling, stride 2, zero padding of (size % 2) counted in the mean (torch's avg_pool2d)."""
    ph, pw = x.shape[0] % 2, x.shape[1] % 2
    x = np.pad(x, ((ph, ph), (pw, pw), (0, 0)))
    h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
    x = x[:h, :w]
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])


def ms_ssim(reference: np.ndarray, test: np.ndarray, data_range: float = 255.0) -> float:
    """MS-SSIM on RGB (Wang et al. 2003; the computation of pytorch-msssim, per channel then averaged), in
    NumPy float64. NaN where the image is too small for 5 scales."""
    if min(reference.shape[:2]) < MS_SSIM_MIN_SIDE:
        return float("nan")
    x, y = reference.astype(np.float32), test.astype(np.float32)
    win = _gaussian_window().astype(np.float32)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for level in range(len(MS_SSIM_WEIGHTS)):
        mu1, mu2 = _filter_valid(x, win), _filter_valid(y, win)
        s11 = _filter_valid(x * x, win) - mu1**2
        s22 = _filter_valid(y * y, win) - mu2**2
        s12 = _filter_valid(x * y, win) - mu1 * mu2
        cs_map = (2 * s12 + c2) / (s11 + s22 + c2)
        if level < len(MS_SSIM_WEIGHTS) - 1:
            values.append(np.maximum(cs_map.mean(axis=(0, 1)), 0))
            x, y = _avg_pool2(x), _avg_pool2(y)
        else:
            ssim_map = (2 * mu1 * mu2 + c1) / (mu1**2 + mu2**2 + c1) * cs_map
            values.append(np.maximum(ssim_map.mean(axis=(0, 1)), 0))
    per_channel = np.prod(np.stack(values) ** MS_SSIM_WEIGHTS[:, None], axis=0)
    return float(per_channel.mean())
