"""The rate–accuracy table of a run, computed from the results store (never from memory), so it can be
recomputed from a committed store folder alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ipr_bench.cache import atomic_write_bytes
from ipr_bench.metrics import verification
from ipr_bench.store import ResultStore

HEADLINE_BPP = "bpp = mean over images of 8 × payload bytes / (H × W of the original)"


def summarize(store: ResultStore, labels: list[str], recognizers: list[str], far_target: float = 1e-3) -> pd.DataFrame:
    rows = []
    for label in labels:
        loaded = store.read_setting(label)
        if loaded is None:
            continue
        items, pairs, meta = loaded
        ok = items["error"] == ""
        bits = 8.0 * items.loc[ok, "n_bytes"].sum()
        pixels = float((items.loc[ok, "height"] * items.loc[ok, "width"]).sum())
        base: dict[str, Any] = {
            "setting": label,
            "codec": items["codec"].iloc[0],
            "knob": items["knob"].iloc[0],
            "quality": items["quality"].iloc[0],
            "bpp": items.loc[ok, "bpp"].mean(),
            "bpp_total": bits / pixels if pixels else np.nan,
            **{c: items.loc[ok, c].mean() for c in items.columns if c.startswith("bpp_")},
            "psnr": items.loc[ok, "psnr"].replace(np.inf, np.nan).mean(),
            "msssim": items.loc[ok, "msssim"].mean(),
            "n_items": len(items),
            "n_failed": int((~ok).sum()),
            "n_no_face": int((~items["face_detected"]).sum()),
        }
        for rec in recognizers:
            col = f"score__{rec}"
            if col not in pairs:
                continue
            v = verification(pairs[col].to_numpy(), pairs["same"].to_numpy(), pairs["fold"].to_numpy(), far_target)
            rows.append(
                {
                    **base,
                    "recognizer": rec,
                    "accuracy": 100 * v.accuracy,
                    "accuracy_std": 100 * v.accuracy_std,
                    "auc": v.auc,
                    "tar_at_far": 100 * v.tar_at_far,
                    "eer": 100 * v.eer,
                    "cos_to_original": items.loc[ok, f"cos_to_original__{rec}"].mean(),
                    "n_pairs": v.n_pairs,
                    "n_pairs_missing": v.n_missing,
                    "folds": len(set(pairs["fold"])),
                }
            )
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame, title: str, notes: list[str]) -> str:
    lines = [f"# {title}", ""]
    lines += [f"- {n}" for n in notes]
    lines.append("")
    cols = ["recognizer", "setting", "bpp", "psnr", "msssim", "accuracy", "auc", "tar_at_far", "eer", "cos_to_original"]
    header = [
        "recognizer",
        "setting",
        "bpp",
        "PSNR dB",
        "MS-SSIM",
        "accuracy % (± std)",
        "AUC",
        "TAR@FAR=1e-3 %",
        "EER %",
        "cos to original",
    ]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for _, r in table.sort_values(["recognizer", "codec", "bpp"]).iterrows():
        vals = [
            r["recognizer"],
            r["setting"],
            f"{r['bpp']:.4f}",
            "—" if not np.isfinite(r["psnr"]) else f"{r['psnr']:.2f}",
            "—" if not np.isfinite(r["msssim"]) else f"{r['msssim']:.4f}",
            f"{r['accuracy']:.2f} ± {r['accuracy_std']:.2f}",
            f"{r['auc']:.4f}",
            f"{r['tar_at_far']:.2f}",
            f"{r['eer']:.2f}",
            f"{r['cos_to_original']:.4f}",
        ]
        assert len(vals) == len(cols)
        lines.append("| " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


def write_summary(out: Path, table: pd.DataFrame, title: str, notes: list[str], provenance: dict[str, Any]) -> None:
    atomic_write_bytes(out / "summary.csv", table.to_csv(index=False, float_format="%.6g").encode())
    atomic_write_bytes(out / "summary.md", to_markdown(table, title, notes).encode())
    atomic_write_bytes(out / "provenance.json", (json.dumps(provenance, indent=2, default=str) + "\n").encode())


def append_run_log(out: Path, record: dict[str, Any]) -> None:
    """One JSON line per run (what was computed, what was reused, how long it took): runs.jsonl."""
    path = out / "runs.jsonl"
    previous = path.read_bytes() if path.is_file() else b""
    atomic_write_bytes(path, previous + (json.dumps(record) + "\n").encode())
