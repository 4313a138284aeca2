"""High-resolution datasets: CelebA-HQ-framed detect-and-crop, celeba-wild as a benchmark, the CelebA-HQ loader."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ipr_bench.core.cache import Cache
from ipr_bench.core.errors import DataError
from ipr_bench.core.registry import create_dataset
from ipr_bench.datasets import detect_crop as dc
from ipr_bench.datasets.base import Item

from conftest import SHARED_DATA, smooth_image

# a frontal face's five points (eyes, nose, mouth corners) in a 200 × 200 photo
POINTS = np.array([[80.0, 90.0], [120.0, 90.0], [100.0, 110.0], [86.0, 130.0], [114.0, 130.0]])


def rotate(points: np.ndarray, degrees: float, centre: tuple[float, float]) -> np.ndarray:
    t = np.deg2rad(degrees)
    r = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return (points - centre) @ r.T + centre


def test_celebahq_square_follows_karras_framing() -> None:
    centre, x, y = dc.celebahq_square(POINTS)
    # eye centre (100, 90) + 0.1 × eye-to-mouth (0, 40); side = max(4 × 40, 3.6 × 40) = 160
    assert np.allclose(centre, [100, 94]) and np.allclose(x, [80, 0]) and np.allclose(y, [0, 80])
    m, scale = dc.crop_matrix(POINTS, 320)
    corners = np.array([[20, 14, 1], [180, 14, 1], [20, 174, 1], [180, 174, 1]], float)
    assert np.allclose(corners @ m.T, [[0, 0], [320, 0], [0, 320], [320, 320]])
    assert scale == pytest.approx(2.0)


def test_a_rotated_face_lands_on_the_same_crop_coordinates() -> None:
    turned = rotate(POINTS, 25, (100, 100))
    m0, _ = dc.crop_matrix(POINTS, 256)
    m1, _ = dc.crop_matrix(turned, 256)
    eyes0 = np.c_[POINTS[:2], np.ones(2)] @ m0.T
    eyes1 = np.c_[turned[:2], np.ones(2)] @ m1.T
    assert np.allclose(eyes0, eyes1, atol=1e-6)
    assert eyes1[0, 1] == pytest.approx(eyes1[1, 1])  # eyes level in the crop


def fake_detector(faces: list[tuple[np.ndarray, np.ndarray]]):
    def detect(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not faces:
            return np.zeros((0, 4)), np.zeros((0, 5, 2))
        return np.stack([f[0] for f in faces]), np.stack([f[1] for f in faces])

    return detect


def box_of(points: np.ndarray) -> np.ndarray:
    return np.array(
        [points[:, 0].min() - 20, points[:, 1].min() - 30, points[:, 0].max() + 20, points[:, 1].max() + 15]
    )


def test_crop_outcomes(monkeypatch: pytest.MonkeyPatch) -> None:
    photo = smooth_image(1, 200, 200)
    monkeypatch.setattr(dc, "detect_faces", fake_detector([]))
    assert dc.crop_face(photo, 128)[1].status == "no face"
    small = (POINTS - 100) * 0.3 + 40
    monkeypatch.setattr(dc, "detect_faces", fake_detector([(box_of(POINTS), POINTS), (box_of(small), small)]))
    crop, outcome = dc.crop_face(photo, 128)
    assert outcome.status == "ok" and crop.shape == (128, 128, 3)  # a much smaller second face is not ambiguous
    assert outcome.scale == pytest.approx(0.8) and outcome.outside == 0
    twin = POINTS + [40, 0]
    monkeypatch.setattr(dc, "detect_faces", fake_detector([(box_of(POINTS), POINTS), (box_of(twin), twin)]))
    assert dc.crop_face(photo, 128)[1].status == "ambiguous"
    monkeypatch.setattr(dc, "detect_faces", fake_detector([(box_of(POINTS), POINTS)]))
    crop, outcome = dc.crop_face(photo, 512, max_upscale=1.25)
    assert crop is None and outcome.status == "too small" and outcome.scale == pytest.approx(3.2)
    corner = POINTS - 70  # the square leaves the photo: mirrored, and the share is recorded
    monkeypatch.setattr(dc, "detect_faces", fake_detector([(box_of(corner), corner)]))
    crop, outcome = dc.crop_face(photo, 128)
    assert outcome.status == "ok" and 0.1 < outcome.outside < 0.6


def test_detect_crop_items_caches_and_records(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    root = tmp_path / "photos"
    (root / "a").mkdir(parents=True)
    Image.fromarray(smooth_image(2, 200, 200)).save(root / "a" / "1.png")
    (root / "a" / "2.jpg").write_bytes(b"not a jpeg")
    items = [Item("a/1.png", root / "a" / "1.png", "a"), Item("a/2.jpg", root / "a" / "2.jpg", "a")]
    calls = []

    def detect(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(1)
        return box_of(POINTS)[None], POINTS[None]

    monkeypatch.setattr(dc, "detect_faces", detect)
    cache = Cache(tmp_path / "cache")
    kept, outcomes = dc.detect_crop_items(items, 96, cache=cache)
    assert [o.status for o in outcomes] == ["ok", "unreadable"] and "2.jpg" in outcomes[1].detail
    assert len(kept) == 1 and kept[0].id == "a/1.png" and np.asarray(Image.open(kept[0].path)).shape == (96, 96, 3)
    again, _ = dc.detect_crop_items(items, 96, cache=cache)
    assert len(calls) == 1 and again == kept  # cached: nothing detected twice
    assert dc.describe_outcomes(outcomes) == "1 of 2 photos kept (unreadable 1)"


@pytest.mark.shared
def test_folder_detect_crop_on_real_faces(lfw_mini: Path) -> None:
    ds = create_dataset("folder", root=lfw_mini, n_folds=2, pairs_per_fold=6, seed=0, detect_crop=112)
    assert "112 px CelebA-HQ-framed crops" in ds.label and ds.pairs
    kept = {i.id for i in ds.items}
    assert all(p.a in kept and p.b in kept for p in ds.pairs)
    assert all(Image.open(i.path).size == (112, 112) for i in ds.items)
    assert all(i.path.suffix == ".png" for i in ds.items)  # the cached crops, not the photos


@pytest.mark.shared
def test_celeba_wild_pairs_come_from_the_test_identities_only(
    lfw_mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-in celeba-wild (LFW faces under an identities.csv) run through the real detector."""
    from ipr_bench.datasets.celeba_wild import split_identities

    root = tmp_path / "celeba-wild"
    rows = []
    for person in sorted(lfw_mini.iterdir()):
        for image in sorted(person.glob("*.jpg")):
            (root / person.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(image, root / person.name / image.name)
            rows.append({"file": f"{person.name}/{image.name}", "identity": person.name})
    with open(root / "identities.csv", "w", newline="") as f:
        w = csv.DictWriter(f, ["file", "identity"])
        w.writeheader()
        w.writerows(rows)
    train, test = split_identities({r["identity"] for r in rows})
    assert train and test
    ds = create_dataset("celeba-wild", root=root, detect_crop=112, pairs_per_fold=10)
    assert {i.identity for i in ds.items} <= test and ds.name == "celeba-wild"
    other = create_dataset("celeba-wild:train", root=root, detect_crop=112, pairs_per_fold=10)
    assert {i.identity for i in other.items} <= train
    with pytest.raises(DataError, match="split"):
        create_dataset("celeba-wild:val", root=root)


@pytest.mark.shared
def test_celebahq_on_the_real_label_file(tmp_path: Path) -> None:
    labels = SHARED_DATA / "celebahq-labels" / "CelebA-HQ-identity.txt"
    if not labels.is_file():
        pytest.skip("needs ../shared/data/celebahq-labels")
    identity_of = dict(line.split() for line in labels.read_text().splitlines()[:400])
    by_identity: dict[str, list[str]] = {}
    for file, ident in identity_of.items():
        by_identity.setdefault(ident, []).append(file)
    chosen = [i for i, files in by_identity.items() if len(files) >= 2][:12]
    root = tmp_path / "celebahq"
    root.mkdir()
    for ident in chosen:  # small stand-in images under the real names
        for file in by_identity[ident]:
            Image.fromarray(smooth_image(int(file.split(".")[0]), 64, 64)).save(root / file)
    (root / "split.csv").write_text(
        "identity,part\n" + "".join(f"{i},{'test' if k % 2 else 'train'}\n" for k, i in enumerate(chosen))
    )
    ds = create_dataset("celebahq", root=root, pairs_per_fold=5)
    test = {i for k, i in enumerate(chosen) if k % 2}
    assert {i.identity for i in ds.items} <= test
    assert all(identity_of[i.path.name] == i.identity for i in ds.items)  # labels come from the real file
    assert all(p.same == (p.a.split("/")[0] == p.b.split("/")[0]) for p in ds.pairs)
    assert sum(p.same for p in ds.pairs) == sum(not p.same for p in ds.pairs)
    assert "of 30,000 images, test part of split.csv" in ds.label
    train = create_dataset("celebahq", root=root, part="train", pairs_per_fold=5)
    assert {i.identity for i in train.items} <= set(chosen) - test


def test_celebahq_errors_name_the_file_and_line(tmp_path: Path) -> None:
    root = tmp_path / "hq"
    root.mkdir()
    (root / "CelebA-HQ-identity.txt").write_text("0.jpg 0\n1.jpg x\n")
    with pytest.raises(DataError, match=r"CelebA-HQ-identity.txt:2"):
        create_dataset("celebahq", root=root)
    (root / "CelebA-HQ-identity.txt").write_text("0.jpg 0\n1.jpg 0\n")
    with pytest.raises(DataError, match="none of the 2 images"):
        create_dataset("celebahq", root=root)


def test_downscaling_crops_average_instead_of_aliasing(monkeypatch: pytest.MonkeyPatch) -> None:
    stripes = np.zeros((400, 400, 3), np.uint8)
    stripes[:, ::2] = 255  # 1-px stripes: a plain warp at ×0.4 would sample them into strong false patterns
    big = (POINTS - 100) * 2.5 + 200  # face square 400 px → 160 px crop: ×0.4
    monkeypatch.setattr(dc, "detect_faces", fake_detector([(box_of(big), big)]))
    crop, outcome = dc.crop_face(stripes, 160)
    assert outcome.status == "ok" and outcome.scale == pytest.approx(0.4)
    assert abs(crop.mean() - 127.5) < 8 and crop.std() < 40  # point sampling gives a std near 127
