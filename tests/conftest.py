"""Shared fixtures: small generated datasets, and the ../shared data where present (CI has it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from PIL import Image

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = Path(os.environ.get("IPR_BENCH_DATA", SHARED / "data"))
HAS_LFW = (SHARED_DATA / "lfw" / "pairs.txt").is_file()
# The suite is a gate, so its property tests draw the same examples on every run ("gate"); searching for new
# failures is a separate, longer run: `HYPOTHESIS_PROFILE=explore pytest tests/test_payload_fuzz.py`.
settings.register_profile("gate", derandomize=True, max_examples=300, deadline=None)
settings.register_profile("explore", derandomize=False, max_examples=20_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gate"))

needs_lfw = pytest.mark.skipif(not HAS_LFW, reason="LFW not found: set IPR_BENCH_DATA (CI has ../shared/data)")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own cache; data and weights point at ../shared when it is there."""
    monkeypatch.setenv("IPR_BENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
    if HAS_LFW:
        monkeypatch.setenv("IPR_BENCH_DATA", str(SHARED_DATA))
        monkeypatch.setenv("IPR_BENCH_WEIGHTS", str(SHARED_DATA.parent / "weights"))


def smooth_image(seed: int, h: int = 96, w: int = 80) -> np.ndarray:
    """A deterministic photo-like image: luma structure at several scales, weaker smooth chroma, mild noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)

    def waves(n: int, fmax: float) -> np.ndarray:
        out = np.zeros((h, w))
        for _ in range(n):
            fx, fy = rng.uniform(0.5, fmax, 2)
            out += np.sin(2 * np.pi * (fx * xx + fy * yy) + rng.uniform(0, 6.28))
        return out / n

    luma = 128 + 80 * waves(5, 8) + rng.normal(0, 3, (h, w))
    chroma = [25 * waves(2, 2), 25 * waves(2, 2)]
    img = np.stack([luma + chroma[0], luma - 0.5 * chroma[0] - 0.5 * chroma[1], luma + chroma[1]], axis=-1)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture
def image() -> np.ndarray:
    return smooth_image(0)


@pytest.fixture
def lfw_mini(tmp_path: Path) -> Path:
    """A folder dataset of real LFW faces: 8 people with ≥3 images each, 3 images per person."""
    if not HAS_LFW:
        pytest.skip("needs LFW (../shared/data)")
    root = tmp_path / "lfw-mini"
    source = SHARED_DATA / "lfw" / "lfw"
    people = [p for p in sorted(source.iterdir()) if len(list(p.glob("*.jpg"))) >= 3][:8]
    for person in people:
        (root / person.name).mkdir(parents=True)
        for image in sorted(person.glob("*.jpg"))[:3]:
            shutil.copy(image, root / person.name / image.name)
    return root


@pytest.fixture
def synthetic_folder(tmp_path: Path) -> Path:
    """A folder dataset of generated images: 6 identities × 3 images."""
    root = tmp_path / "synthetic"
    for ident in range(6):
        (root / f"id{ident}").mkdir(parents=True)
        for k in range(3):
            Image.fromarray(smooth_image(ident * 10 + k)).save(root / f"id{ident}" / f"img{k}.png")
    return root
