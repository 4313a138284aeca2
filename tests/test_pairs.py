"""LFW pairs files: the real format, and clear errors naming file and line for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from ipr_bench.core.errors import DataError
from ipr_bench.datasets.folder import folder, make_pairs
from ipr_bench.datasets.lfw import lfw, parse_pairs

from conftest import SHARED_DATA, needs_lfw


@pytest.fixture
def lfw_root(tmp_path: Path) -> Path:
    base = tmp_path / "lfw"
    for person, n in [("Ann_A", 3), ("Bob_B", 2), ("Cid_C", 1)]:
        (base / "lfw" / person).mkdir(parents=True)
        for i in range(1, n + 1):
            Image.new("RGB", (8, 8)).save(base / "lfw" / person / f"{person}_{i:04d}.jpg")
    return base


def write(base: Path, text: str, name: str = "pairs.txt") -> Path:
    path = base / name
    path.write_text(text)
    return path


def test_two_fold_file_with_header(lfw_root: Path) -> None:
    text = "2\t1\nAnn_A\t1\t2\nAnn_A\t1\tBob_B\t1\nBob_B\t1\t2\nAnn_A\t3\tCid_C\t1\n"
    pairs = parse_pairs(write(lfw_root, text), lfw_root / "lfw")
    assert [(p.fold, p.same) for p in pairs] == [(1, True), (1, False), (2, True), (2, False)]
    assert pairs[1].a == "Ann_A/Ann_A_0001.jpg" and pairs[1].b == "Bob_B/Bob_B_0001.jpg"


def test_view1_style_header_and_no_header(lfw_root: Path) -> None:
    one = parse_pairs(write(lfw_root, "1\nAnn_A 1 2\nAnn_A 1 Bob_B 2\n"), lfw_root / "lfw")
    none = parse_pairs(write(lfw_root, "Ann_A 1 2\nAnn_A 1 Bob_B 2\n"), lfw_root / "lfw")
    assert one == none and len(one) == 2 and {p.fold for p in one} == {1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Ann_A\t1\n", r"pairs.txt:1: expected 'Name n1 n2'"),
        ("Ann_A 1 2\nAnn_A x 2\n", r"pairs.txt:2: image number 'x'"),
        ("Ann_A 1 9\n", r"pairs.txt:1: image Ann_A/Ann_A_0009.jpg not found"),
        ("Nobody 1 2\n", r"pairs.txt:1: image Nobody/Nobody_0001.jpg not found"),
        ("../etc 1 2\n", r"pairs.txt:1: '\.\./etc' is not a plain name"),
        ("Ann_A/../../x 1 2\n", r"pairs.txt:1: .* not a plain name"),
        ("2 1\nAnn_A 1 2\n", r"pairs.txt:1: header says 2 folds"),
        ("", r"no pairs found"),
    ],
)
def test_bad_pairs_files_name_file_and_line(lfw_root: Path, text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_pairs(write(lfw_root, text), lfw_root / "lfw")


def test_missing_pairs_file_says_how_to_get_lfw(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="ipr-bench data fetch lfw"):
        lfw(root=tmp_path)


@needs_lfw
def test_real_view2_and_view1() -> None:
    v2 = lfw(root=SHARED_DATA / "lfw")
    assert len(v2.pairs) == 6000 and v2.folds == tuple(range(1, 11)) and len(v2.items) == 7701
    for fold in v2.folds:
        fp = [p for p in v2.pairs if p.fold == fold]
        assert sum(p.same for p in fp) == 300 and len(fp) == 600
    assert "deep-funneled" in v2.label
    assert len(lfw("view1-train", root=SHARED_DATA / "lfw").pairs) == 2200
    assert len(lfw("view1-test", root=SHARED_DATA / "lfw").pairs) == 1000
    sub = v2.select_folds([1, 2])
    assert len(sub.pairs) == 1200 and "folds 1–2" in sub.label


def test_folder_pairs_are_balanced_deterministic_and_identity_disjoint(synthetic_folder: Path) -> None:
    a = folder(synthetic_folder, n_folds=3, pairs_per_fold=2, seed=1)
    b = folder(synthetic_folder, n_folds=3, pairs_per_fold=2, seed=1)
    assert a.pairs == b.pairs
    assert a.pairs != folder(synthetic_folder, n_folds=3, pairs_per_fold=2, seed=2).pairs
    for f in a.folds:
        fp = [p for p in a.pairs if p.fold == f]
        assert sum(p.same for p in fp) == sum(not p.same for p in fp) > 0
        for p in fp:
            assert (p.a.split("/")[0] == p.b.split("/")[0]) == p.same
    ids_by_fold = [{x.split("/")[0] for p in a.pairs if p.fold == f for x in (p.a, p.b)} for f in a.folds]
    assert not set.intersection(*ids_by_fold)


def test_make_pairs_needs_multi_image_identities() -> None:
    with pytest.raises(DataError, match="balanced pairs"):
        make_pairs({"a": ["1.jpg"], "b": ["1.jpg"]}, n_folds=2, per_fold=5, seed=0)


@needs_lfw
def test_training_people_are_disjoint_from_every_evaluation_pair() -> None:
    from ipr_bench.datasets.lfw import lfw, training_items

    view2 = {i.identity for i in lfw().items}
    train = training_items()
    assert train and not ({i.identity for i in train} & view2)
    assert all(i.path.is_file() and i.id.startswith(i.identity + "/") for i in train)
    both = training_items(("view2", "view1-train", "view1-test"))
    view1 = {i.identity for v in ("view1-train", "view1-test") for i in lfw(view=v).items}
    assert not ({i.identity for i in both} & (view2 | view1)) and len(both) < len(train)
