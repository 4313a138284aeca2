"""A results store's curves in other tools' formats: ``ipr-bench export --results STORE --format compressai-json``.

compressai-json: one file per codec, ``<out>/<codec>.json``, in the format CompressAI's own evaluation writes and
``python -m compressai.utils.plot`` reads::

    {"name": "hevc", "description": "...", "results": {"bpp": [...], "psnr-rgb": [...], "ms-ssim-rgb": [...]}}

one entry per setting, in increasing bpp (bpp = 8 × payload bytes / original pixels, averaged over images, as in
the store). The recognition columns come along as extra keys of ``results``, one list per recognizer
(LFW-style protocol of the store's default threshold): ``accuracy-<rec>`` (%), ``tar@far=1e-3-<rec>`` (%),
``cosine-<rec>`` (identity cosine to the original), so a CompressAI plotting script can draw them with
``-m accuracy-arcface``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ipr_bench.core.errors import DataError

FORMATS = ("compressai-json",)
PROTOCOL = "lfw10fold"  # the threshold protocol exported (each fold's threshold chosen on the other nine)


def _read_summary(store: Path) -> Any:
    import pandas as pd

    path = store / "summary.csv"
    if not path.is_file():
        raise DataError(f"{store}: no summary.csv (not a results store, or its run has not finished a setting)")
    return pd.read_csv(path)


def compressai_curves(store: Path | str) -> dict[str, dict[str, Any]]:
    """Per codec, its CompressAI-format results dict."""
    store = Path(store)
    table = _read_summary(store)
    table = table[table["codec"] != "original"] if "codec" in table else table
    provenance = store / "provenance.json"
    dataset = ""
    if provenance.is_file():
        dataset = str(json.loads(provenance.read_text()).get("dataset") or "")
    curves: dict[str, dict[str, Any]] = {}
    for codec, rows in table.groupby("codec", sort=True):
        per_setting = rows.drop_duplicates("setting").sort_values("bpp")
        results: dict[str, list[float]] = {
            "bpp": per_setting["bpp"].astype(float).tolist(),
            "psnr-rgb": per_setting["psnr"].astype(float).tolist(),
            "ms-ssim-rgb": per_setting["msssim"].astype(float).tolist(),
        }
        order = per_setting["setting"].tolist()
        scored = rows[rows["protocol"] == PROTOCOL] if "protocol" in rows else rows.iloc[0:0]
        for recognizer, by_rec in scored.groupby("recognizer", sort=True):
            by_setting = by_rec.set_index("setting").reindex(order)
            for key, column in (
                ("accuracy", "accuracy"),
                ("tar@far=1e-3", "tar_at_far"),
                ("cosine", "cos_to_original"),
            ):
                results[f"{key}-{recognizer}"] = [float(v) for v in by_setting[column].tolist()]
        curves[str(codec)] = {
            "name": str(codec),
            "description": f"ipr-bench store {store.name}{' on ' + dataset if dataset else ''}: "
            f"settings {', '.join(order)}",
            "results": results,
        }
    return curves


def export(store: Path | str, fmt: str, out: Path | str) -> list[Path]:
    """Write the store's curves in ``fmt`` to ``out``; returns the files written."""
    from ipr_bench.core.cache import atomic_write_bytes
    from ipr_bench.core.errors import OptionError

    if fmt not in FORMATS:
        raise OptionError(f"export format {fmt!r} unknown; formats: {', '.join(FORMATS)}")
    out = Path(out)
    written = []
    for codec, curve in compressai_curves(store).items():
        path = out / f"{codec.replace('/', '_').replace(':', '_')}.json"
        atomic_write_bytes(path, (json.dumps(curve, indent=2) + "\n").encode())
        written.append(path)
    return written
