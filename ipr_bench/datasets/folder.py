"""Any ``root/<identity>/<image>`` tree: balanced matched/mismatched pairs in identity-disjoint folds."""

from __future__ import annotations

import random
from pathlib import Path

from ipr_bench.core.errors import DataError
from ipr_bench.core.registry import register_dataset
from ipr_bench.datasets.base import Dataset, Item, Pair

# what Pillow reads (a GIF's first frame; pillow-heif adds HEIF/AVIF); anything else is listed as skipped
IMAGE_SUFFIXES = {
    ".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".gif", ".heic", ".heif",
    ".avif", ".jxl",
}  # fmt: skip


def scan_identities(root: Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    """(identity → its image files, path → why it was skipped) for every entry of the tree: nothing is left out
    without a word."""
    if not root.is_dir():
        raise DataError(f"folder: {root} is not a directory (expected root/<identity>/<image>)")
    found: dict[str, list[str]] = {}
    skipped: dict[str, str] = {}
    for entry in sorted(root.iterdir()):
        if not entry.is_dir():
            skipped[entry.name] = "skipped: a file at the root (images go in root/<identity>/)"
            continue
        files = []
        for f in sorted(entry.iterdir()):
            rel = f"{entry.name}/{f.name}"
            if f.is_dir():
                skipped[rel + "/"] = "skipped: a folder inside an identity (only root/<identity>/<image> is read)"
            elif f.suffix.lower() not in IMAGE_SUFFIXES:
                skipped[rel] = (
                    f"skipped: {f.suffix or 'no suffix'} is not an image suffix ({' '.join(sorted(IMAGE_SUFFIXES))})"
                )
            else:
                files.append(f.name)
        if files:
            found[entry.name] = files
    if not found:
        raise DataError(f"folder: no images in {root}/<identity>/ (suffixes {sorted(IMAGE_SUFFIXES)})")
    return found, skipped


def make_pairs(identities: dict[str, list[str]], n_folds: int, per_fold: int, seed: int) -> list[Pair]:
    """Identities are split into folds; each fold gets up to ``per_fold`` matched and as many mismatched pairs."""
    rng = random.Random(seed)
    names = sorted(identities)
    rng.shuffle(names)
    folds = [names[k::n_folds] for k in range(n_folds)]
    pairs: list[Pair] = []
    for k, fold_names in enumerate(folds, start=1):
        matched_pool = [
            (f"{n}/{a}", f"{n}/{b}")
            for n in fold_names
            for i, a in enumerate(identities[n])
            for b in identities[n][i + 1 :]
        ]
        rng.shuffle(matched_pool)
        matched = matched_pool[:per_fold]
        mismatched: set[tuple[str, str]] = set()
        if len(fold_names) >= 2:
            budget = 50 * per_fold
            while len(mismatched) < len(matched) and budget:
                budget -= 1
                n1, n2 = rng.sample(fold_names, 2)
                a = f"{n1}/{rng.choice(identities[n1])}"
                b = f"{n2}/{rng.choice(identities[n2])}"
                mismatched.add((min(a, b), max(a, b)))
        n = min(len(matched), len(mismatched))  # balanced
        pairs += [Pair(k, a, b, True) for a, b in matched[:n]]
        pairs += [Pair(k, a, b, False) for a, b in sorted(mismatched)[:n]]
    if not pairs:
        raise DataError("folder: could not build any balanced pairs (need identities with ≥2 images)")
    return pairs


@register_dataset("folder")
def folder(
    root: str | Path | None = None,
    n_folds: int = 10,
    pairs_per_fold: int = 300,
    seed: int = 0,
    detect_crop: int | None = None,
    pairs: str | Path | None = None,
) -> Dataset:
    """Any root/<identity>/<image> tree, with seeded balanced pairs in identity-disjoint folds. With
    ``detect_crop`` SIZE, in-the-wild photos are first cut down to SIZE² CelebA-HQ-framed face crops
    (ipr_bench.datasets.detect_crop); photos without one clear face are left out and listed. With ``pairs``,
    your own pairs file in LFW's format names the pairs and folds (images root/Name/Name_NNNN.jpg)."""
    if root is None:
        raise DataError("folder: give the root as --dataset folder:/path/to/root")
    root = Path(root)
    if pairs:
        if detect_crop:
            raise DataError("folder: --pairs names images of the folder as they are; it does not go with --detect-crop")
        from ipr_bench.datasets.lfw import pairs_dataset

        return pairs_dataset(pairs, root, f"folder-{root.name}", f"folder {root.name}")
    identities, skipped = scan_identities(root)
    items = [Item(id=f"{n}/{f}", path=root / n / f, identity=n) for n, files in identities.items() for f in files]
    excluded: dict[str, str] = dict(skipped)
    framing = ""
    if detect_crop:
        items, left_out, framing = cropped(items, int(detect_crop))
        excluded |= left_out
    return paired(f"folder-{root.name}", f"folder {root.name}{framing}", items, n_folds, pairs_per_fold, seed, excluded)


def cropped(items: list[Item], size: int) -> tuple[list[Item], dict[str, str], str]:
    """Detect-and-crop ``items`` (cached), with a progress line; (kept items, excluded id → reason, label part)."""
    from ipr_bench.core.progress import Progress
    from ipr_bench.datasets.detect_crop import describe_outcomes, detect_crop_items

    with Progress() as bar:
        stage = bar.stage(f"detect + crop {size} px", len(items), "photos")
        kept, outcomes = detect_crop_items(items, size, progress=lambda n, total: stage.advance(1))
        stage.close()
    excluded = {o.item: f"{o.status}: {o.detail}" if o.detail else o.status for o in outcomes if o.status != "ok"}
    return kept, excluded, f", {size} px CelebA-HQ-framed crops, {describe_outcomes(outcomes)}"


def paired(
    name: str,
    label: str,
    items: list[Item],
    n_folds: int,
    pairs_per_fold: int,
    seed: int,
    excluded: dict[str, str] | None = None,
) -> Dataset:
    """The dataset of the items (ids ``<identity>/<file>``) that appear in seeded balanced pairs over them."""
    identities: dict[str, list[str]] = {}
    for item in items:
        identities.setdefault(item.identity, []).append(item.id.split("/", 1)[1])
    # each fold needs two identities for mismatched pairs: small sets get fewer folds, and the label says so
    n_folds = max(1, min(n_folds, len(identities) // 2))
    pairs = make_pairs(identities, n_folds, pairs_per_fold, seed)
    used = {p.a for p in pairs} | {p.b for p in pairs}
    kept = sorted((i for i in items if i.id in used), key=lambda i: i.id)
    label = f"{label} ({len(identities)} identities, {n_folds} folds, seed {seed})"
    return Dataset(name=name, label=label, items=kept, pairs=pairs, excluded=excluded or {})
