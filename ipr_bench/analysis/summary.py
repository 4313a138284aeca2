"""The rate–accuracy table of a run, computed from the results store (never from memory), so it can be
recomputed from a committed store folder alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ipr_bench.analysis.metrics import PROTOCOLS, verification
from ipr_bench.core.cache import atomic_write_bytes
from ipr_bench.store import schema
from ipr_bench.store.results import ResultStore

HEADLINE_BPP = "bpp = mean over images of 8 × payload bytes / (H × W of the original)"


def summarize(
    store: ResultStore,
    labels: list[str],
    recognizers: list[str],
    far_target: float = 1e-3,
    protocols: tuple[str, ...] = PROTOCOLS,
) -> pd.DataFrame:
    """One row per setting × recognizer × threshold protocol (``protocol`` column)."""
    originals = store.read_setting("original")
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
            "setting": items["setting"].iloc[0],
            "codec": items["codec"].iloc[0],
            "knob": items["knob"].iloc[0],
            "quality": items["quality"].iloc[0],
            "bpp": items.loc[ok, "bpp"].mean(),
            "bpp_total": bits / pixels if pixels else np.nan,
            **{c: items.loc[ok, c].mean() for c in items.columns if c.startswith("bpp_")},
            # what a codec did per image (e.g. codec_roi_applied: the share coded with a face region)
            **{c: items.loc[ok, c].mean() for c in schema.codec_info_columns(items.columns)},
            "psnr": items.loc[ok, "psnr"].replace(np.inf, np.nan).mean(),
            "msssim": items.loc[ok, "msssim"].mean(),
            "n_items": len(items),
            "n_failed": int((~ok).sum()),
        }
        landmarker_of = {c["recognizer"]: c.get("landmarker", "dlib5") for c in meta["recognizers"].values()}
        for rec in recognizers:
            col = schema.score(rec)
            if col not in pairs:
                continue
            detected = items[schema.face_detected(landmarker_of[rec])]
            reference = None
            if originals is not None and col in originals[1] and list(originals[1]["a"]) == list(pairs["a"]):
                reference = originals[1][col].to_numpy()
            for protocol in protocols:
                if protocol == "fixed-original" and reference is None:
                    continue  # no originals in this store for this recognizer
                v = verification(
                    pairs[col].to_numpy(),
                    pairs["same"].to_numpy(),
                    pairs["fold"].to_numpy(),
                    far_target,
                    protocol,
                    reference,
                )
                rows.append(
                    {
                        **base,
                        "recognizer": rec,
                        "protocol": protocol,
                        "accuracy": 100 * v.accuracy,
                        "accuracy_std": 100 * v.accuracy_std,
                        "auc": v.auc,
                        "tar_at_far": 100 * v.tar_at_far,
                        "eer": 100 * v.eer,
                        "decisions_changed": v.decisions_changed if reference is not None else np.nan,
                        "flip_rate": 100 * v.flip_rate if reference is not None else np.nan,
                        "tar_at_original_threshold": 100 * v.tar_at_reference_threshold,
                        "far_at_original_threshold": 100 * v.far_at_reference_threshold,
                        "cos_to_original": items.loc[ok, schema.cos_to_original(rec)].mean(),
                        "n_no_face": int((~detected.astype(bool)).sum()),
                        "n_pairs": v.n_pairs,
                        "n_pairs_missing": v.n_missing,
                        "folds": len(set(pairs["fold"])),
                    }
                )
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame, title: str, notes: list[str]) -> str:
    """One line per setting × recognizer: the LFW-protocol figures, then accuracy with the originals' thresholds."""
    lines = [f"# {title}", ""]
    lines += [f"- {n}" for n in notes]
    lines.append("")
    header = [
        "recognizer",
        "setting",
        "bpp",
        "PSNR dB",
        "MS-SSIM",
        "accuracy % (LFW 10-fold)",
        "AUC",
        "TAR@FAR=1e-3 %",
        "EER %",
        "accuracy % (originals' thresholds)",
        "decisions changed",
        "cos to original",
    ]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    lfw = table[table["protocol"] == "lfw10fold"]
    fixed = table[table["protocol"] == "fixed-original"].set_index(["setting", "recognizer"])
    for _, r in lfw.sort_values(["recognizer", "codec", "bpp"]).iterrows():
        f = fixed.loc[(r["setting"], r["recognizer"])] if (r["setting"], r["recognizer"]) in fixed.index else None
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
            "—" if f is None else f"{f['accuracy']:.2f} ± {f['accuracy_std']:.2f}",
            "—" if f is None else f"{int(f['decisions_changed'])} ({f['flip_rate']:.2f}%)",
            f"{r['cos_to_original']:.4f}",
        ]
        lines.append("| " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


def describe(store: ResultStore, labels: list[str], command: str) -> tuple[str, list[str]]:
    """Title and notes for a table: what data, what bytes, what protocol — read from the store's metadata."""
    from ipr_bench.core.registry import CODECS

    metas = [m for m in (store.read_meta(label) for label in labels) if m]
    first = metas[0]
    codecs = sorted({m["codec_config"]["codec"] for m in metas} - {"original"})
    payloads = []
    for name in codecs:
        try:
            payloads.append(f"{name}: {CODECS.get(name)[0].payload_contains}")
        except KeyError:
            payloads.append(f"{name}: (codec not installed here)")
    notes = [
        f"dataset: {first['dataset_label']} (folds {first['folds']}), fingerprint {first['dataset_fingerprint']}",
        f"command: `{command.strip()}`",
        HEADLINE_BPP + "; bytes per codec: " + "; ".join(payloads),
        "originals row: bpp of the source files as stored on disk",
        "accuracy: LFW 10-fold protocol (each fold's threshold chosen on the other folds of the same setting), "
        "mean ± population std over folds; AUC, EER, TAR@FAR=1e-3 on all pairs pooled; a pair with a failed image "
        "counts as 'different'",
        "originals' thresholds (protocol fixed-original): each fold's threshold is chosen on the other folds of the "
        "uncompressed originals, as a recognizer calibrated once on clean faces; 'decisions changed' = pairs "
        "decided differently from the originals (summary.csv also has TAR/FAR at the originals' FAR=1e-3 threshold)",
        f"alignment: landmarks detected on the {first['align_on']} image; "
        + "; ".join(_alignment_text(c) for c in first["recognizers"].values()),
        "MS-SSIM: RGB, computed as pytorch-msssim does, only where the shorter side is > 160 px (else '—')",
    ]
    runs: dict[str, int] = {}
    for m in metas:
        prov = m.get("provenance", {})
        dlib_build = prov.get("builds", {}).get("dlib", {})
        key = f"commit {prov.get('git_commit', 'unknown')[:10]}, dlib {dlib_build.get('version', '?')}" + (
            " (BLAS)" if dlib_build.get("blas") else " (no BLAS)" if dlib_build else ""
        )
        runs[key] = runs.get(key, 0) + 1
    notes.append("computed by: " + "; ".join(f"{k}: {n} setting(s)" for k, n in runs.items()))
    return f"Rate–accuracy: {first['dataset_label']}", notes


def _alignment_text(config: dict[str, Any]) -> str:
    name, landmarker = config["recognizer"], config.get("landmarker", "dlib5")
    if config["template"] == "dlib-chip":
        return f"{name}: dlib's own face chips on {landmarker} points"
    if config.get("box_margin") is not None:
        return f"{name}: {landmarker} box + {config['box_margin']:g} px margin, resized"
    used = "eye centres" if landmarker == "dlib5" else "5 points"
    return f"{name}: {landmarker} {used} onto the '{config['template']}' template"


def write_report(store: ResultStore, labels: list[str], recognizers: list[str] | None, command: str) -> pd.DataFrame:
    """summary.csv and summary.md for these settings (all recognizers in the store when None)."""
    if recognizers is None:
        recognizers = sorted(
            {
                c["name"] if "name" in c else c["recognizer"]
                for m in (store.read_meta(label) for label in labels)
                if m
                for c in m["recognizers"].values()
            }
        )
    table = summarize(store, labels, recognizers)
    title, notes = describe(store, labels, command)
    atomic_write_bytes(store.root / "summary.csv", table.to_csv(index=False, float_format="%.6g").encode())
    atomic_write_bytes(store.root / "summary.md", to_markdown(table, title, notes).encode())
    return table


def write_provenance(out: Path, provenance: dict[str, Any]) -> None:
    atomic_write_bytes(out / "provenance.json", (json.dumps(provenance, indent=2, default=str) + "\n").encode())


def append_run_log(out: Path, record: dict[str, Any]) -> None:
    """One JSON line per run (what was computed, what was reused, how long it took): runs.jsonl."""
    path = out / "runs.jsonl"
    previous = path.read_bytes() if path.is_file() else b""
    atomic_write_bytes(path, previous + (json.dumps(record) + "\n").encode())
