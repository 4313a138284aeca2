"""Report figures (PNG and SVG): rate–metric panels per recognizer, robustness to unseen recognizers."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from ipr_bench.analysis.analyse import ORIGINAL, Analysis
from ipr_bench.core.cache import atomic_write_bytes

METRICS = {
    "accuracy": ("accuracy", "accuracy_std", "verification accuracy (%)"),
    "tar": ("tar_at_far", None, "TAR @ FAR=1e-3 (%)"),
    "cos": ("cos_to_original", None, "mean cosine to the original's embedding"),
    "psnr": ("psnr", None, "PSNR (dB)"),
}


def figure(analysis: Analysis, metric: str = "accuracy", log_bpp: bool = True) -> Any:
    """One panel per recognizer: the metric against bpp for every codec, the originals as a line (± std band)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    col, err, label = METRICS[metric]
    recs = analysis.recognizers if metric != "psnr" else analysis.recognizers[:1]
    fig, axes = plt.subplots(1, len(recs), figsize=(5.2 * len(recs), 4.2), squeeze=False)
    for ax, rec in zip(axes[0], recs, strict=True):
        for codec in analysis.codecs:
            r = analysis.rows(codec, rec)
            if r.empty:
                continue
            ax.errorbar(
                r["bpp"], r[col], yerr=r[err] if err else None, marker="o", ms=3.5, capsize=2, lw=1.2, label=codec
            )
        ref = analysis.rows(ORIGINAL, rec)
        if len(ref) and metric in ("accuracy", "tar"):
            y = float(ref[col].iloc[0])
            ax.axhline(y, color="k", lw=1, ls="--", label="original")
            if err:
                s = float(ref[err].iloc[0])
                ax.axhspan(y - s, y + s, color="k", alpha=0.08)
        a_row = analysis.anchor_row(rec)
        if a_row is not None and metric != "psnr":
            ax.plot(
                [a_row["bpp"]],
                [a_row[col]],
                "k*",
                ms=10,
                label=f"anchor {analysis.anchor.codec}:{analysis.anchor.quality:g}",
            )
        if log_bpp:
            ax.set_xscale("log")
        ax.set_xlabel("bpp (payload)")
        ax.set_ylabel(label)
        ax.set_title(rec if metric != "psnr" else "all recognizers")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"{analysis.dataset}: {label} vs bpp ({analysis.protocol} thresholds)", fontsize=10)
    fig.tight_layout()
    return fig


def robustness_figure(analysis: Analysis, rows: list[dict[str, Any]]) -> Any | None:
    """Bars of the parity ratio per codec × recognizer (rows: Analysis.robustness())."""
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6.0, 0.65 * len(rows)), 3.5))
    labels = [f"{r['codec']}\n{r['recognizer']}{' (seen)' if r['seen'] else ''}" for r in rows]
    values = [r["parity_ratio_original"] if r["parity_ratio_original"] is not None else np.nan for r in rows]
    bars = ax.bar(range(len(rows)), values, color=["C0" if r["seen"] else "C1" for r in rows])
    for bar, r in zip(bars, rows, strict=True):
        if r.get("advantage") == "undecided":  # a ratio of bounds: hatched
            bar.set_hatch("//")
    ax.axhline(1.0, color="0.3", linewidth=0.8)  # below: fewer bits than the anchor codec at parity
    ax.set_xticks(range(len(rows)), labels, fontsize=7)
    ax.set_ylabel(f"parity bpp / {analysis.anchor.codec}'s parity bpp")
    fig.tight_layout()
    return fig


def save_figure(fig: Any, stem: Path) -> tuple[bytes, str]:
    import matplotlib
    import matplotlib.pyplot as plt

    png, svg = io.BytesIO(), io.StringIO()
    fig.savefig(png, format="png", dpi=110, metadata={"Software": None})
    # a fixed id salt and no date: the same store gives byte-identical SVGs, so regenerating a report adds no churn
    with matplotlib.rc_context({"svg.hashsalt": "ipr-bench"}):
        fig.savefig(svg, format="svg", metadata={"Date": None})

    plt.close(fig)
    atomic_write_bytes(stem.with_suffix(".png"), png.getvalue())
    atomic_write_bytes(stem.with_suffix(".svg"), svg.getvalue().encode())
    return png.getvalue(), svg.getvalue()
