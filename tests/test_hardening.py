"""Hostile-but-fair inputs (issue 27): huge images, skipped files, pairs files without a header, symlinked roots."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ipr_bench.core.errors import DataError
from ipr_bench.core.images import read_rgb
from ipr_bench.datasets.folder import folder, scan_identities
from ipr_bench.datasets.lfw import lfw, parse_pairs

from conftest import smooth_image


def test_an_image_over_the_pixel_cap_is_refused_from_its_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 10000 × 10000 of one colour: a few hundred KB on disk, under Pillow's bomb limit, 300 MB once decoded
    path = tmp_path / "huge.png"
    Image.new("RGB", (10_000, 10_000), (90, 120, 150)).save(path, optimize=False)
    assert path.stat().st_size < 2_000_000
    with pytest.raises(
        DataError, match=r"huge\.png: 10000×10000 = 100\.0 Mpx is over the 40-Mpx input cap.*--max-pixels"
    ):
        read_rgb(path)
    monkeypatch.setenv("IPR_BENCH_MAX_PIXELS", "1000")
    small = tmp_path / "small.png"
    Image.fromarray(smooth_image(1, 40, 40)).save(small)
    with pytest.raises(DataError, match="over the 0.001-Mpx input cap"):
        read_rgb(small)
    monkeypatch.setenv("IPR_BENCH_MAX_PIXELS", "2000")
    assert read_rgb(small).shape == (40, 40, 3)


def test_a_folder_dataset_reads_gifs_and_lists_every_file_it_skips(synthetic_folder: Path) -> None:
    Image.fromarray(smooth_image(7)).save(synthetic_folder / "id0" / "animated.gif")
    (synthetic_folder / "id1" / "notes.txt").write_text("not an image")
    (synthetic_folder / "id2" / "raw").mkdir()
    (synthetic_folder / "README").write_text("a file at the root")
    identities, skipped = scan_identities(synthetic_folder)
    assert "animated.gif" in identities["id0"]
    assert read_rgb(synthetic_folder / "id0" / "animated.gif").shape[2] == 3
    assert set(skipped) == {"id1/notes.txt", "id2/raw/", "README"}
    assert ".txt is not an image suffix" in skipped["id1/notes.txt"]
    ds = folder(synthetic_folder)
    assert set(ds.excluded) >= set(skipped)  # what the run writes to excluded.csv and counts in its summary


@pytest.fixture
def lfw_root(tmp_path: Path) -> Path:
    base = tmp_path / "lfw"
    for person in ("Ann_A", "Bob_B", "Cid_C", "Dee_D"):
        (base / "lfw" / person).mkdir(parents=True)
        for i in range(1, 4):
            Image.new("RGB", (8, 8)).save(base / "lfw" / person / f"{person}_{i:04d}.jpg")
    return base


def fold_lines(person: str, other: str) -> str:
    return f"{person} 1 2\n{person} 2 3\n{person} 1 {other} 1\n{person} 2 {other} 2\n"


def test_a_pairs_file_without_header_gets_lfw_folds_from_its_layout_or_is_refused(lfw_root: Path) -> None:
    path = lfw_root / "pairs.txt"
    path.write_text(fold_lines("Ann_A", "Bob_B") + fold_lines("Cid_C", "Dee_D") + fold_lines("Bob_B", "Cid_C"))
    notes: list[str] = []
    pairs = parse_pairs(path, lfw_root / "lfw", notes=notes)
    assert [p.fold for p in pairs] == [1] * 4 + [2] * 4 + [3] * 4  # not one fold of 12 pairs
    assert notes == ["pairs.txt has no header: 3 fold(s) × 2 pairs of each kind from its layout"]
    headed = lfw_root / "headed.txt"
    headed.write_text("3 2\n" + path.read_text())
    assert parse_pairs(headed, lfw_root / "lfw") == pairs
    assert "no header: 3 fold(s)" in lfw(root=lfw_root).label  # the run's label says so
    # blocks of unequal size: no fold layout to read
    path.write_text("Ann_A 1 2\nAnn_A 2 3\nAnn_A 1 Bob_B 1\n")
    with pytest.raises(DataError, match=r"pairs.txt:1: no header line .* add the header"):
        parse_pairs(path, lfw_root / "lfw")


def test_a_data_root_of_file_symlinks_is_the_users_layout_not_an_escape(lfw_root: Path, tmp_path: Path) -> None:
    (lfw_root / "pairs.txt").write_text(
        "2 1\n" + fold_lines("Ann_A", "Bob_B")[:0] + "Ann_A 1 2\nAnn_A 1 Bob_B 1\nCid_C 1 2\nCid_C 1 Dee_D 1\n"
    )
    linked = tmp_path / "linked" / "lfw"
    shutil.copytree(lfw_root, linked, copy_function=lambda src, dst: Path(dst).symlink_to(Path(src).resolve()))
    assert (linked / "lfw" / "Ann_A" / "Ann_A_0001.jpg").is_symlink()
    ds = lfw(root=linked)
    assert len(ds.pairs) == 4 and np.array_equal(
        read_rgb(ds.items[0].path), read_rgb(lfw_root / "lfw" / ds.items[0].id)
    )
    (linked / "pairs.txt").unlink()
    (linked / "pairs.txt").write_text("1\n../lfw 1 2\nAnn_A 1 Bob_B 1\n")
    with pytest.raises(DataError, match=r"pairs.txt:2: '\.\./lfw' is not a plain name"):
        lfw(root=linked)
