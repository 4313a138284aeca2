"""The dataset protocol: items, pairs in folds, a content fingerprint."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ipr_bench.core.errors import DataError


@dataclass(frozen=True)
class Item:
    id: str  # path relative to the dataset's image root, with '/' separators
    path: Path
    identity: str


@dataclass(frozen=True)
class Pair:
    fold: int  # 1-based
    a: str  # item ids
    b: str
    same: bool


@dataclass
class Dataset:
    name: str
    label: str  # what a result table says it was computed on
    items: list[Item]
    pairs: list[Pair]
    folds: tuple[int, ...] = field(default=())
    excluded: dict[str, str] = field(default_factory=dict)  # item id → why it is not in the benchmark

    def __post_init__(self) -> None:
        if not self.folds:
            self.folds = tuple(sorted({p.fold for p in self.pairs}))

    def select_folds(self, folds: Iterable[int]) -> Dataset:
        wanted = sorted(set(folds))
        missing = [f for f in wanted if f not in self.folds]
        if missing:
            raise DataError(f"{self.name}: no fold(s) {missing}; it has folds {list(self.folds)}")
        pairs = [p for p in self.pairs if p.fold in wanted]
        used = {p.a for p in pairs} | {p.b for p in pairs}
        label = self.label if len(wanted) == len(self.folds) else f"{self.label}, folds {_ranges(wanted)}"
        return Dataset(self.name, label, [i for i in self.items if i.id in used], pairs, tuple(wanted), self.excluded)

    def head(self, n: int) -> Dataset:
        """The first ``n`` items and the pairs among them (benchmarks and smoke runs)."""
        items = self.items[:n]
        ids = {i.id for i in items}
        pairs = [p for p in self.pairs if p.a in ids and p.b in ids]
        return Dataset(f"{self.name}-head{n}", f"{self.label}, first {n} images", items, pairs, self.folds)

    def fingerprint(self) -> str:
        """Hash of the pairs and of every item's bytes: results are only reused for identical data."""
        h = hashlib.sha256()
        for p in self.pairs:
            h.update(f"{p.fold}\t{p.a}\t{p.b}\t{int(p.same)}\n".encode())
        for item in self.items:
            h.update(item.id.encode() + b"\0" + item_digest(item).encode())
        return h.hexdigest()[:16]


_digests: dict[tuple[str, int, int], str] = {}


def item_digest(item: Item) -> str:
    """sha256 of the item's file (memoised on path, size and mtime); 'missing' when unreadable."""
    try:
        st = item.path.stat()
    except OSError:
        return "missing"
    key = (str(item.path), st.st_size, st.st_mtime_ns)
    if key not in _digests:
        _digests[key] = hashlib.sha256(item.path.read_bytes()).hexdigest()
    return _digests[key]


def _ranges(values: list[int]) -> str:
    out, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            out.append(f"{start}" if start == v else f"{start}–{v}")
            start = None
    return ",".join(out)


def safe_join(root: Path, *parts: str, where: str) -> Path:
    """Join parts under root, refusing any part that is not a plain name (so no name can leave the root).

    Safety is judged on the names (what a pairs file says), not on where the user's own files point: a data
    root made of symlinks (``cp -rs``, a dataset kept elsewhere) is the user's layout, not an escape."""
    for part in parts:
        if not part or part in (".", "..") or "/" in part or "\\" in part or "\0" in part:
            raise DataError(f"{where}: {part!r} is not a plain name; paths may not leave the data root")
    return root.joinpath(*parts)
