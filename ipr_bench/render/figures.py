"""Report figures (PNG and SVG): rate–metric panels per recognizer, robustness to unseen recognizers."""

from __future__ import annotations

import io
import textwrap
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


MAX_COLUMNS = 3  # panels per row: a grid a laptop shows whole, not a strip
PANEL_INCHES = (3.8, 3.0)  # one panel (at the 110 dpi of save_figure: 418 × 330 px)


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, columns) for n panels: at most MAX_COLUMNS per row, 2 × 2 for four."""
    columns = 2 if n == 4 else max(1, min(MAX_COLUMNS, n))
    return -(-max(n, 1) // columns), columns


def figure(analysis: Analysis, metric: str = "accuracy", log_bpp: bool = True) -> Any:
    """One panel per recognizer in a grid (grid_shape): the metric against bpp for every codec, the originals as a
    line (± std band); one legend for every panel (a codec keeps its colour in each)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    col, err, label = METRICS[metric]
    recs = analysis.recognizers if metric != "psnr" else analysis.recognizers[:1]
    rows, columns = grid_shape(len(recs))
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(PANEL_INCHES[0] * columns, PANEL_INCHES[1] * rows),
        squeeze=False,
        layout="constrained",
    )
    colours = {codec: f"C{k}" for k, codec in enumerate(analysis.codecs)}
    legend: dict[str, Any] = {}  # label → handle, over all panels
    for ax, rec in zip(axes.flat, recs, strict=False):
        for codec in analysis.codecs:
            r = analysis.rows(codec, rec)
            if r.empty:
                continue
            ax.errorbar(
                r["bpp"],
                r[col],
                yerr=r[err] if err else None,
                marker="o",
                ms=3.5,
                capsize=2,
                lw=1.2,
                color=colours[codec],
                label=codec,
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
            # plain numbers at 1, 2, 5 × 10^k: the default minor labels (2×10⁻¹, 3×10⁻¹, …) overlap
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(rec if metric != "psnr" else "all recognizers", fontsize=10)
        ax.tick_params(labelsize=8)
        ax.grid(True, which="both", alpha=0.3)
        for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(text, handle)
    for k, ax in enumerate(axes.flat[: len(recs)]):
        if k + columns >= len(recs):  # the lowest panel of its column
            ax.set_xlabel("bpp (payload)", fontsize=9)
    for ax in axes.flat[len(recs) :]:
        ax.axis("off")
    fig.supylabel(label, fontsize=9)
    title = f"{analysis.dataset}: {label} vs bpp ({analysis.protocol} thresholds)"
    fig.suptitle(textwrap.fill(title, int(13 * PANEL_INCHES[0] * columns)), fontsize=10)
    if legend:
        order = [c for c in analysis.codecs if c in legend] + [t for t in legend if t not in analysis.codecs]
        kwargs = {"fontsize": 8, "frameon": False}
        spare = axes.flat[len(recs)] if len(recs) < rows * columns else None
        if spare is not None:  # an empty grid cell holds the legend
            spare.legend([legend[t] for t in order], order, loc="center", **kwargs)
        else:  # below the panels, in as many columns as the figure's width holds
            entry = 8 * 0.62 * max(map(len, order)) + 40  # points: text at 8 pt, handle and spacing
            ncols = max(1, min(len(order), int(72 * PANEL_INCHES[0] * columns // entry)))
            legend_rows = -(-len(order) // ncols)
            fig.set_size_inches(PANEL_INCHES[0] * columns, PANEL_INCHES[1] * rows + 0.35 + 0.2 * legend_rows)
            fig.legend([legend[t] for t in order], order, loc="outside lower center", ncols=ncols, **kwargs)
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
