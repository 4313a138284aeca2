"""LFW: the View 2 10-fold protocol (pairs.txt) and the View 1 development pairs.

Expected layout under the data root (``$IPR_BENCH_DATA``)::

    lfw/lfw/<Name>/<Name>_NNNN.jpg      images (original or deep-funneled: same names)
    lfw/pairs.txt                       View 2, header "10 300"
    lfw/pairsDevTrain.txt, pairsDevTest.txt   View 1, header "1100" / "500"
    lfw/VARIANT or lfw/SOURCE.md        which variant this is (original, deep-funneled): results are labelled with it
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ipr_bench.core.errors import DataError
from ipr_bench.core.paths import data_root
from ipr_bench.core.registry import register_dataset
from ipr_bench.core.text import is_ascii_integer, read_text
from ipr_bench.datasets.base import Dataset, Item, Pair, safe_join

VIEWS = {"view2": ("pairs.txt",), "view1-train": ("pairsDevTrain.txt",), "view1-test": ("pairsDevTest.txt",)}
FETCH_HINT = "get LFW with `ipr-bench data fetch lfw`, or set IPR_BENCH_DATA to a folder holding lfw/"


def infer_layout(path: Path, rows: list[tuple[int, list[str]]]) -> tuple[int, int]:
    """(folds, pairs of each kind per fold) of a pairs file without a header, from LFW's layout: each fold is a
    block of matched lines (3 fields) followed by a block of as many mismatched lines (4 fields). A file that
    does not follow it is refused: without its header the folds would be a guess."""
    kinds = [len(tok) for _, tok in rows]
    runs: list[tuple[int, int]] = []  # (kind, length)
    for kind in kinds:
        if runs and runs[-1][0] == kind:
            runs[-1] = (kind, runs[-1][1] + 1)
        else:
            runs.append((kind, 1))
    sizes = {length for _, length in runs}
    alternating = [kind for kind, _ in runs] == [3, 4] * (len(runs) // 2) and len(runs) % 2 == 0
    if runs and alternating and len(sizes) == 1:
        return len(runs) // 2, sizes.pop()
    raise DataError(
        f"{path}:1: no header line ('FOLDS PAIRS', e.g. '10 300') and the lines do not follow LFW's layout "
        "(per fold, a block of matched pairs then as many mismatched ones), so the folds cannot be known: add the "
        "header as the first line"
    )


def parse_pairs(path: Path, image_root: Path, check_images: bool = True, notes: list[str] | None = None) -> list[Pair]:
    """Parse an LFW pairs file (with or without its count header) into pairs with 1-based folds; with
    ``check_images`` False only the names matter (who to exclude from training), not whether the images are here.
    A file without a header gets its folds from LFW's layout (``infer_layout``), said in ``notes``."""
    lines = read_text(path, missing=f"the pairs file is needed; {FETCH_HINT}").splitlines()
    rows = [(n + 1, line.split()) for n, line in enumerate(lines) if line.strip()]
    n_folds, per_fold = 1, None
    headerless = not (rows and all(is_ascii_integer(tok) for tok in rows[0][1]) and len(rows[0][1]) in (1, 2))
    if not headerless:
        header = [int(t) for t in rows[0][1]]
        rows = rows[1:]
        if len(header) == 2:
            n_folds, per_fold = header
        if len(rows) != n_folds * 2 * (per_fold or header[0]) and len(header) == 2:
            raise DataError(
                f"{path}:1: header says {n_folds} folds × {per_fold} matched + {per_fold} mismatched pairs "
                f"= {2 * n_folds * per_fold} lines, but the file has {len(rows)} pair lines"
            )
        if len(header) == 1 and len(rows) != 2 * header[0]:
            raise DataError(f"{path}:1: header says {header[0]} pairs of each kind, file has {len(rows)} lines")
    block = len(rows) // n_folds if n_folds else len(rows)
    pairs = []
    for index, (lineno, tok) in enumerate(rows):
        where = f"{path}:{lineno}"
        if len(tok) == 3:
            (name, i, j), same = tok, True
            a, b = (name, i), (name, j)
        elif len(tok) == 4:
            a, b, same = (tok[0], tok[1]), (tok[2], tok[3]), False
        else:
            raise DataError(
                f"{where}: expected 'Name n1 n2' (matched) or 'Name1 n1 Name2 n2' (mismatched), got {' '.join(tok)!r}"
            )
        ids = []
        for name, num in (a, b):
            if not is_ascii_integer(num) or int(num) < 1:
                raise DataError(f"{where}: image number {num!r} is not a positive integer")
            rel = f"{name}_{int(num):04d}.jpg"
            file = safe_join(image_root, name, rel, where=where)
            if check_images and not file.is_file():
                raise DataError(f"{where}: image {name}/{rel} not found under {image_root}")
            ids.append(f"{name}/{rel}")
        pairs.append(Pair(fold=min(index // block, n_folds - 1) + 1, a=ids[0], b=ids[1], same=same))
    if not pairs:
        raise DataError(f"{path}: no pairs found")
    if headerless:
        n_folds, per_fold = infer_layout(path, rows)  # every line is well-formed: now the layout decides the folds
        if n_folds > 1:
            pairs = [replace(p, fold=k // (2 * per_fold) + 1) for k, p in enumerate(pairs)]
        if notes is not None:
            notes.append(
                f"{path.name} has no header: {n_folds} fold(s) × {per_fold} pairs of each kind from its layout"
            )
    return pairs


def lfw_variant(root: Path) -> str:
    """'original' or 'deep-funneled' from a VARIANT file (written by `data fetch`) or SOURCE.md."""
    variant = root / "VARIANT"
    if variant.is_file():
        return variant.read_text().strip() or "as found"
    source = root / "SOURCE.md"
    if source.is_file() and "deep-funneled" in source.read_text(errors="replace").lower():
        return "deep-funneled"
    return "as found"


VIEW1_FOLDS = 10


def cross_validation_folds(pairs: list[Pair], n: int = VIEW1_FOLDS) -> list[Pair]:
    """View 1 files have no folds; without them every threshold would be chosen on nothing. Pair k goes to fold
    k mod n + 1 (interleaved: the files list matched pairs first, so each fold gets both kinds in equal number),
    and thresholds are cross-validated over these folds as over View 2's."""
    return [replace(p, fold=k % n + 1) for k, p in enumerate(pairs)]


def pairs_dataset(pairs: str | Path, image_root: Path, name: str, label: str) -> Dataset:
    """A user's own pairs file in LFW's format (``Name n1 n2`` / ``Name1 n1 Name2 n2``, images
    ``image_root/Name/Name_NNNN.jpg``), with the checks of the official files: folds from its header or, without
    one, from LFW's layout; every name plain; every image present."""
    path = Path(pairs).expanduser()
    if not path.is_file():
        raise DataError(f"--pairs {path}: no such file")
    notes: list[str] = []
    parsed = parse_pairs(path, image_root, notes=notes)
    ids = sorted({p.a for p in parsed} | {p.b for p in parsed})
    items = [Item(id=i, path=image_root / i, identity=i.split("/")[0]) for i in ids]
    label = f"{label}, pairs from {path.name}" + "".join(f" ({note})" for note in notes)
    return Dataset(name=f"{name}-{path.stem}", label=label, items=items, pairs=parsed)


@register_dataset("lfw")
def lfw(view: str = "view2", root: str | Path | None = None, pairs: str | Path | None = None) -> Dataset:
    """Labeled Faces in the Wild: View 2 (10 folds) or View 1 dev pairs (lfw:view1-train, lfw:view1-test; split
    into 10 interleaved folds, see cross_validation_folds); ``pairs``: your own pairs file over LFW's images."""
    if view not in VIEWS:
        raise DataError(f"lfw: unknown view {view!r}; views: {', '.join(VIEWS)}")
    base = Path(root) if root else data_root() / "lfw"
    image_root = base / "lfw"
    if not image_root.is_dir():
        raise DataError(f"lfw: no image folder at {image_root}; {FETCH_HINT}")
    if pairs:
        return pairs_dataset(pairs, image_root, "lfw", f"LFW ({lfw_variant(base)})")
    notes: list[str] = []
    parsed = parse_pairs(base / VIEWS[view][0], image_root, notes=notes)
    if view != "view2":
        parsed = cross_validation_folds(parsed)
    ids = sorted({p.a for p in parsed} | {p.b for p in parsed})
    items = [Item(id=i, path=image_root / i, identity=i.split("/")[0]) for i in ids]
    variant = lfw_variant(base)
    view_label = {"view2": "View 2", "view1-train": "View 1 DevTrain", "view1-test": "View 1 DevTest"}[view]
    label = f"LFW ({variant}) {view_label}" + "".join(f" ({note})" for note in notes)
    return Dataset(name="lfw" if view == "view2" else f"lfw-{view}", label=label, items=items, pairs=parsed)


def training_items(exclude_views: tuple[str, ...] = ("view2",), root: str | Path | None = None) -> list[Item]:
    """Every LFW image of the people who appear in no pair of ``exclude_views``: training data that is
    identity-disjoint from those evaluations (for View 2: 1,468 people, 1,549 images in the shared copy)."""
    base = Path(root) if root else data_root() / "lfw"
    image_root = base / "lfw"
    if not image_root.is_dir():
        raise DataError(f"lfw: no image folder at {image_root}; {FETCH_HINT}")
    excluded: set[str] = set()
    for view in exclude_views:
        if view not in VIEWS:
            raise DataError(f"lfw: unknown view {view!r}; views: {', '.join(VIEWS)}")
        for pair in parse_pairs(base / VIEWS[view][0], image_root, check_images=False):
            excluded |= {pair.a.split("/")[0], pair.b.split("/")[0]}
    return [
        Item(id=f"{person.name}/{image.name}", path=image, identity=person.name)
        for person in sorted(p for p in image_root.iterdir() if p.is_dir() and p.name not in excluded)
        for image in sorted(person.glob("*.jpg"))
    ]
