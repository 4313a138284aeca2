"""Images are read as RGB uint8 whatever the source; bad files are clear per-item errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ipr_bench.core.errors import DataError
from ipr_bench.core.images import ms_ssim, psnr, read_rgb


def test_modes_become_rgb_uint8(tmp_path: Path, image: np.ndarray) -> None:
    rgb = Image.fromarray(image)
    cases = {
        "gray.png": rgb.convert("L"),
        "cmyk.jpg": rgb.convert("CMYK"),
        "rgba.png": rgb.convert("RGBA"),
        "palette.png": rgb.convert("P"),
        "bw.png": rgb.convert("1"),
    }
    for name, img in cases.items():
        img.save(tmp_path / name)
        out = read_rgb(tmp_path / name)
        assert out.dtype == np.uint8 and out.shape == image.shape, name


def test_16_bit_is_scaled(tmp_path: Path) -> None:
    arr = np.full((10, 12), 65535, np.uint16)
    arr[0, 0] = 0
    Image.fromarray(arr).save(tmp_path / "deep.png")
    out = read_rgb(tmp_path / "deep.png")
    assert out.shape == (10, 12, 3) and out[1, 1, 0] == 255 and out[0, 0, 0] == 0


def test_exif_rotation_is_applied(tmp_path: Path, image: np.ndarray) -> None:
    img = Image.fromarray(image)  # 96 high × 80 wide
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    img.save(tmp_path / "rot.jpg", exif=exif, quality=95)
    assert read_rgb(tmp_path / "rot.jpg").shape == (80, 96, 3)


def test_alpha_is_composited_on_black(tmp_path: Path) -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 0  # fully transparent red → black
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    assert read_rgb(tmp_path / "a.png").max() == 0


@pytest.mark.parametrize("content", [b"", b"not an image", None])
def test_corrupt_and_truncated_files_name_the_file(tmp_path: Path, image: np.ndarray, content: bytes | None) -> None:
    path = tmp_path / "bad.jpg"
    if content is None:
        Image.fromarray(image).save(path, quality=90)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # truncated
    else:
        path.write_bytes(content)
    with pytest.raises(DataError, match="bad.jpg"):
        read_rgb(path)
    with pytest.raises(DataError, match="not found"):
        read_rgb(tmp_path / "absent.jpg")


def test_psnr_and_ms_ssim(image: np.ndarray) -> None:
    assert psnr(image, image) == float("inf")
    noisy = np.clip(image.astype(int) + 5, 0, 255).astype(np.uint8)
    assert 30 < psnr(image, noisy) < 36
    assert np.isnan(ms_ssim(image, noisy))  # 96 px: too small for 5 scales
    big = np.kron(image, np.ones((3, 3, 1), np.uint8))  # 288×240
    assert ms_ssim(big, big) == pytest.approx(1.0)


def test_ms_ssim_matches_pytorch_msssim(image: np.ndarray) -> None:
    torch = pytest.importorskip("torch")
    pytorch_msssim = pytest.importorskip("pytorch_msssim")
    rng = np.random.default_rng(3)
    big = np.kron(image, np.ones((3, 3, 1), np.uint8))[:251, :233]  # odd sizes exercise the pooling pad
    noisy = np.clip(big + rng.normal(0, 12, big.shape), 0, 255).astype(np.uint8)

    def t(a: np.ndarray) -> object:
        return torch.from_numpy(a.copy()).permute(2, 0, 1)[None].double()

    expected = float(pytorch_msssim.ms_ssim(t(big), t(noisy), data_range=255))
    assert ms_ssim(big, noisy) == pytest.approx(expected, abs=1e-5)
