"""The results store: one pair of parquet tables per codec setting (item measures, pair scores), with the
provenance and the keys that make them reusable in the parquet metadata. Written atomically; a setting's
tables are only ever replaced whole. Committing a store folder (e.g. ``results/lfw-classical``) lets a fresh
machine reuse finished settings without re-encoding anything.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ipr_bench.core.cache import atomic_write_bytes

META_KEY = b"ipr_bench"


def slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", label.replace("@", "_"))


class ResultStore:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _path(self, table: str, label: str) -> Path:
        return self.root / table / f"{slug(label)}.parquet"

    def write_setting(self, label: str, items: pd.DataFrame, pairs: pd.DataFrame, meta: dict[str, Any]) -> None:
        # pairs first: a setting counts as present only once its items table (written last) exists
        for table, frame in (("pairs", pairs), ("items", items)):
            arrow = pa.Table.from_pandas(frame, preserve_index=False)
            arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), META_KEY: json.dumps(meta)})
            buf = io.BytesIO()
            pq.write_table(arrow, buf, compression="zstd")
            atomic_write_bytes(self._path(table, label), buf.getvalue())

    def read_meta(self, label: str) -> dict[str, Any] | None:
        path = self._path("items", label)
        if not path.is_file() or not self._path("pairs", label).is_file():
            return None
        try:
            return json.loads(pq.read_schema(path).metadata[META_KEY])
        except Exception:
            return None

    def read_setting(self, label: str) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]] | None:
        meta = self.read_meta(label)
        if meta is None:
            return None
        items = pq.read_table(self._path("items", label)).to_pandas()
        pairs = pq.read_table(self._path("pairs", label)).to_pandas()
        if meta != json.loads(pq.read_schema(self._path("pairs", label)).metadata[META_KEY]):
            return None  # tables from two different runs (killed between the two writes)
        return items, pairs, meta

    def labels(self) -> list[str]:
        return sorted(p.stem for p in (self.root / "items").glob("*.parquet"))

    def fingerprint(self, setting: str) -> str | None:
        """What made a setting's stored rows, in 16 hex digits (its codec config: checkpoints' hashes, options);
        None when the setting is not stored. Files derived from a setting (``ipr-bench bits``) carry it, so a
        report can tell them from ones made with a codec since replaced."""
        meta = self.read_meta(setting)
        if meta is None:
            return None
        config = json.dumps(meta.get("codec_config", {}), sort_keys=True)
        return hashlib.sha256(config.encode()).hexdigest()[:16]

    def record_sources(self, picture: Path, settings: list[str]) -> None:
        """Beside a picture made from some of this store's settings (``ipr-bench gallery``, ``bits``): which, with
        their fingerprints (``<picture>.sources.json``), so that reports show it only while the store holds
        the same codecs (is_current)."""
        sources = {s: self.fingerprint(s) for s in settings}
        atomic_write_bytes(sources_path(picture), (json.dumps(sources, indent=1, sort_keys=True) + "\n").encode())

    def is_current(self, picture: Path) -> bool:
        """Was ``picture`` made from settings this store holds now, coded by the same codecs? False without a
        sources file (made before pictures recorded theirs)."""
        if not picture.is_file():
            return False
        try:
            sources = json.loads(sources_path(picture).read_text())
        except (OSError, ValueError):
            return False
        return bool(sources) and all(f is not None and self.fingerprint(s) == f for s, f in sources.items())


def sources_path(picture: Path) -> Path:
    return picture.with_suffix(".sources.json")
