"""Writing the report of a results store: summary.json, figures/, report.md and report.html (the schema of
summary.json: ipr_bench.analysis.analyse)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ipr_bench.analysis.analyse import Analysis, analyse
from ipr_bench.analysis.bitmaps import current_bits
from ipr_bench.core.cache import atomic_write_bytes
from ipr_bench.core.errors import IprBenchError
from ipr_bench.render.figures import figure, robustness_figure, save_figure
from ipr_bench.render.html import html_report
from ipr_bench.render.markdown import PICTURES, bits_table, markdown_report, markdown_tables
from ipr_bench.store.results import ResultStore


def build_report(
    store_dir: Path | str,
    out: Path | str | None = None,
    anchor: str = "hevc:23",
    epsilon: float = 0.5,
    protocol: str = "lfw10fold",
) -> Analysis:
    """report.md, report.html, summary.json and figures/ for a results store (written into ``out``)."""
    analysis = analyse(store_dir, anchor, epsilon, protocol)
    out = Path(out or store_dir)
    data = analysis.to_json()
    if data["anchor"]["bpp"] is None:
        raise IprBenchError(
            f"anchor {anchor} is not in the store {store_dir}: codecs/qualities there: "
            + ", ".join(sorted(set(analysis.table["setting"])))
        )
    figures: dict[str, tuple[bytes, str]] = {}
    for metric in ("accuracy", "tar", "cos", "psnr"):
        figures[metric] = save_figure(figure(analysis, metric), out / "figures" / f"rate_{metric}")
    robust = robustness_figure(analysis, data["robustness"])
    if robust is not None:
        figures["robustness"] = save_figure(robust, out / "figures" / "robustness")
    tables = markdown_tables(analysis, data)
    bits, stale = current_bits(store_dir)  # written by `ipr-bench bits` (it needs the images and checkpoints)
    if bits is not None and len(bits):
        tables["bits"] = bits_table(bits)
    if stale:
        tables["bits"] = tables.get("bits", "") + (
            f"\n\n{stale} row(s) of bits_inside.csv left out: made with a codec this store's settings no longer "
            "hold (or before rows carried its fingerprint); `ipr-bench bits` remakes them."
        )
    atomic_write_bytes(out / "summary.json", (json.dumps(data, indent=1) + "\n").encode())
    # pictures made by `ipr-bench gallery` and `ipr-bench bits` (they need the images; the report only the store)
    store = ResultStore(store_dir)
    pictures = [g for prefix, _ in PICTURES for g in sorted((out / "figures").glob(f"{prefix}*.png"))]
    galleries = [g.stem for g in pictures if store.is_current(g)]  # made from the codecs the store holds now
    for left_out in sorted({g.stem for g in pictures} - set(galleries)):
        print(
            f"report: {left_out}.png left out: not made from the codecs {store_dir} holds now (or made before "
            "pictures recorded their sources); `ipr-bench gallery` / `ipr-bench bits` remake it",
            file=sys.stderr,
        )
    atomic_write_bytes(out / "report.md", markdown_report(analysis, data, tables, figures, galleries).encode())
    atomic_write_bytes(out / "report.html", html_report(analysis, data, tables, figures, galleries).encode())
    return analysis
