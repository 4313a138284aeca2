"""CelebA-HQ (Karras et al. 2018) as a verification benchmark, for users who hold its images.

Layout (``$IPR_BENCH_DATA/celebahq`` or ``--dataset celebahq:/path``)::

    celebahq/0.jpg … 29999.jpg          any of 1024/512/256 px (.jpg or .png); a subset is fine
    celebahq/CelebA-HQ-identity.txt     "<file> <identity>" per line (else $IPR_BENCH_DATA/celebahq-labels/)
    celebahq/split.csv                  optional: "identity,part" rows, part = train | test

Identities are CelebA-HQ's dense ids (0…6216). Pairs: seeded, balanced, in 10 identity-disjoint folds, from the
``test`` part of the split file when there is one (learned codecs then train on the ``train`` part). Item ids
are ``<identity>/<file>``. The pixels are not available on these machines; the loader is tested with the real
label file and generated stand-in images.
"""

from __future__ import annotations

from pathlib import Path

from ipr_bench.core.errors import DataError
from ipr_bench.core.paths import data_root
from ipr_bench.core.registry import register_dataset
from ipr_bench.core.text import csv_rows, is_ascii_integer, read_text
from ipr_bench.datasets.base import Dataset, Item
from ipr_bench.datasets.folder import paired

LABELS = "CelebA-HQ-identity.txt"
N_IMAGES = 30000


def read_identities(path: Path) -> dict[str, str]:
    """file → identity from a CelebA-HQ-identity.txt; DataError naming the line for anything malformed."""
    lines = read_text(path, missing="the identity file ships in ../shared/data/celebahq-labels").splitlines()
    out: dict[str, str] = {}
    for n, line in enumerate(lines, start=1):
        tok = line.split()
        if not tok:
            continue
        if (
            len(tok) != 2
            or not tok[0].endswith(".jpg")
            or not is_ascii_integer(tok[0][:-4])
            or not is_ascii_integer(tok[1])
        ):
            raise DataError(f"{path}:{n}: expected '<index>.jpg <identity>', got {line.strip()!r}")
        out[tok[0]] = tok[1]
    if not out:
        raise DataError(f"{path}: no identities")
    return out


def read_split(path: Path) -> dict[str, str]:
    """identity → part from a split CSV with columns identity,part (part: train or test)."""
    _, rows = csv_rows(path, read_text(path, missing="write it with columns identity,part, or remove it"))
    out = {}
    for n, row in rows:
        if row.get("part") not in ("train", "test") or not row.get("identity"):
            raise DataError(f"{path}:{n}: expected identity,part with part train or test, got {row}")
        out[row["identity"]] = row["part"]
    return out


@register_dataset("celebahq")
def celebahq(
    root: str | Path | None = None,
    part: str = "test",
    n_folds: int = 10,
    pairs_per_fold: int = 300,
    seed: int = 0,
) -> Dataset:
    """CelebA-HQ images present under ``root`` with seeded identity-balanced pairs (see the module doc)."""
    base = Path(root) if root else data_root() / "celebahq"
    if not base.is_dir():
        raise DataError(f"celebahq: no folder {base}; put 0.jpg … 29999.jpg there or pass --dataset celebahq:/path")
    labels = base / LABELS if (base / LABELS).is_file() else data_root() / "celebahq-labels" / LABELS
    identity_of = read_identities(labels)
    split_file = base / "split.csv"
    split = read_split(split_file) if split_file.is_file() else None
    if part not in ("train", "test"):
        raise DataError(f"celebahq: part must be train or test, not {part!r}")
    items = []
    for file, ident in identity_of.items():
        if split is not None and split.get(ident) != part:
            continue
        stem = file.rsplit(".", 1)[0]
        path = next((base / f"{stem}{s}" for s in (".jpg", ".png") if (base / f"{stem}{s}").is_file()), None)
        if path is None:
            continue
        items.append(Item(id=f"{ident}/{path.name}", path=path, identity=ident))
    if not items:
        raise DataError(
            f"celebahq: none of the {len(identity_of)} images listed in {labels} is in {base} "
            "(expected <index>.jpg or .png, e.g. 0.jpg)"
        )
    which = f", {part} part of {split_file.name}" if split is not None else ""
    label = f"CelebA-HQ ({len(items)} of {N_IMAGES:,} images{which})"
    return paired("celebahq", label, items, n_folds, pairs_per_fold, seed)
