"""celeba-wild: in-the-wild CelebA photos with identity labels (``$IPR_BENCH_DATA/celeba-wild``).

Layout::

    celeba-wild/identities.csv          file,identity,source,width,height,bytes,celebahq_idx
    celeba-wild/<identity>/<name>.jpg   whole-scene photos: the face must be found and cut out first

The identities are split once into a train part and a test part by a seeded hash of the identity label, so
the split of one identity never depends on which other identities a copy holds. Learned codecs train only on
the train part; verification pairs come only from the test part. CelebFaces+, CelebA's source, was built with
identities disjoint from LFW's (Sun et al. 2014; not verified here), so the train part may also feed codecs
evaluated on LFW.

As a benchmark (``--dataset celeba-wild``) each photo is cut to a CelebA-HQ-framed face square first; photos
without one clear, large enough face are left out and listed (ipr_bench.datasets.detect_crop).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ipr_bench.core.errors import DataError
from ipr_bench.core.paths import data_root
from ipr_bench.core.registry import register_dataset
from ipr_bench.core.text import csv_rows, read_text
from ipr_bench.datasets.base import Dataset, Item, safe_join
from ipr_bench.datasets.detect_crop import DEFAULT_SIZE
from ipr_bench.datasets.folder import cropped, paired

COLUMNS = ("file", "identity")
SPLIT_SEED = 0
TEST_FRACTION = 0.5


def default_root() -> Path:
    return data_root() / "celeba-wild"


def read_items(root: str | Path | None = None) -> list[Item]:
    """Every photo listed in identities.csv; DataError naming the file and line for a malformed row."""
    base = Path(root) if root else default_root()
    table = base / "identities.csv"
    text = read_text(table, missing="set IPR_BENCH_DATA to a folder holding celeba-wild/")
    header, rows = csv_rows(table, text)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DataError(f"{table}:1: header lacks column(s) {', '.join(missing)}; expected {','.join(COLUMNS)},…")
    items = []
    for line, row in rows:
        if not row.get("file") or not row.get("identity"):
            raise DataError(f"{table}:{line}: empty file or identity")
        parts = row["file"].split("/")
        path = safe_join(base, *parts, where=f"{table}:{line}")
        items.append(Item(id=row["file"], path=path, identity=row["identity"]))
    return items


def split_identities(
    identities: set[str], seed: int = SPLIT_SEED, test_fraction: float = TEST_FRACTION
) -> tuple[set[str], set[str]]:
    """(train, test): an identity is test when sha256(seed, identity), read as a fraction of 2²⁵⁶, falls below
    ``test_fraction`` — a coin per identity, so about that fraction (not exactly) is test."""
    test = {
        i for i in identities if int(hashlib.sha256(f"{seed}:{i}".encode()).hexdigest(), 16) < test_fraction * 2**256
    }
    return identities - test, test


def training_items(root: str | Path | None = None, seed: int = SPLIT_SEED) -> list[Item]:
    """The photos of the train identities."""
    items = read_items(root)
    train, _ = split_identities({i.identity for i in items}, seed)
    return [i for i in items if i.identity in train]


@register_dataset("celeba-wild")
def celeba_wild(
    split: str = "test",
    root: str | Path | None = None,
    detect_crop: int | None = None,
    n_folds: int = 10,
    pairs_per_fold: int = 300,
    seed: int = 0,
) -> Dataset:
    """celeba-wild as a verification benchmark: the photos of one identity split (``celeba-wild`` = the test
    part, ``celeba-wild:train`` for checks on the other), each cut to a CelebA-HQ-framed square of
    ``detect_crop`` px (default 512; ipr_bench.datasets.detect_crop), seeded balanced pairs in 10
    identity-disjoint folds."""
    if split not in ("test", "train"):
        raise DataError(f"celeba-wild: split must be 'test' or 'train', not {split!r}")
    size = int(detect_crop or DEFAULT_SIZE)
    items = read_items(root)
    train, test = split_identities({i.identity for i in items})
    part = test if split == "test" else train
    items = [i for i in items if i.identity in part]
    kept, excluded, framing = cropped(items, size)
    name = "celeba-wild" if split == "test" else "celeba-wild-train"
    return paired(name, f"celeba-wild {split} split{framing}", kept, n_folds, pairs_per_fold, seed, excluded)
