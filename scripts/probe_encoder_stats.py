"""What per-block statistics does the bundled ffmpeg/x265 expose? (issue 14: where do x265's bits go?)

The learned codecs' bit maps come from their entropy model (``ipr_bench.analysis.bitmaps``). For x265 the same map would
need per-CTU bits, or at least per-block QP, from the encoder or the decoder. This probe checks, on one LFW image
at CRF 28, every route the bundled build offers, with x264 as the control that shows a route works when the
codec supports it:

1. the decoder's encoding-parameters side data (``-export_side_data venc_params``, drawn by ``codecview=qp=1``):
   does drawing the QP map change any pixel?
2. x265's CSV log at its most detailed level (``csv-log-level=2``): how many rows per frame, and does any
   column name a position (CTU/x/y)?
3. x265's ``analysis-save``: written at all, and how large (its format is an undocumented, version-specific
   binary dump of CU decisions, so it is not parsed here).

    python scripts/probe_encoder_stats.py > results/lfw-roi/encoder-stats.md
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def ffmpeg(*args: str) -> None:
    from ipr_bench.codecs.ffmpeg import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", *args], check=True)


def qp_drawing_changes_pixels(encoded: Path, work: Path) -> int:
    """Largest pixel change made by drawing the decoder's QP map (0: the decoder exported none)."""
    from ipr_bench.core.images import read_rgb

    plain, drawn = work / "plain.png", work / "drawn.png"
    ffmpeg("-i", str(encoded), "-frames:v", "1", str(plain))
    ffmpeg(
        "-export_side_data", "venc_params", "-i", str(encoded), "-vf", "codecview=qp=1", "-frames:v", "1", str(drawn)
    )
    return int(np.abs(read_rgb(plain).astype(int) - read_rgb(drawn).astype(int)).max())


def main() -> None:
    from ipr_bench.codecs.ffmpeg import ffmpeg_exe
    from ipr_bench.core.registry import create_dataset

    image = create_dataset("lfw").items[0].path
    banner = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True).stdout.splitlines()[0]
    version = banner.split(" Copyright")[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        hevc, avc = work / "x265.mp4", work / "x264.mp4"
        log, analysis = work / "x265.csv", work / "analysis.dat"
        params = (
            f"crf=28:log-level=error:csv={log}:csv-log-level=2:analysis-save={analysis}:analysis-save-reuse-level=10"
        )
        ffmpeg("-i", str(image), "-frames:v", "1", "-c:v", "libx265", "-x265-params", params, str(hevc))
        ffmpeg("-i", str(image), "-frames:v", "1", "-c:v", "libx264", "-crf", "28", str(avc))
        hevc_change, avc_change = qp_drawing_changes_pixels(hevc, work), qp_drawing_changes_pixels(avc, work)
        with open(log, newline="") as f:
            rows = list(csv.reader(f))
        header = [h.strip() for h in rows[0]]
        # a per-CTU log would need a position column; "Total CTU time (ms)" is a frame's timing, not one
        positional = [
            h for h in header if {"x", "y", "position", "address"} & set(h.lower().split()) or h.lower() == "ctu"
        ]
        analysis_bytes = os.path.getsize(analysis) if analysis.exists() else 0
    print("# Per-block statistics from the bundled ffmpeg / x265\n")
    print(f"`python scripts/probe_encoder_stats.py` on `{image.name}` at CRF 28; {version}.\n")
    print("| route | HEVC (libx265) | control: H.264 (libx264) |")
    print("|---|---|---|")
    print(
        f"| decoder QP map (`-export_side_data venc_params`, `codecview=qp=1`): largest pixel change from drawing it "
        f"| {hevc_change} ({'exported' if hevc_change else 'none exported'}) "
        f"| {avc_change} ({'exported' if avc_change else 'none exported'}) |"
    )
    print(
        f"| x265 CSV log, `csv-log-level=2`: rows for one frame; columns naming a position "
        f"| {len(rows) - 1} row(s) of {len(header)} columns; {', '.join(positional) or 'none'} | — |"
    )
    print(
        f"| x265 `analysis-save` (reuse level 10) | {analysis_bytes} bytes of undocumented, version-specific binary "
        "CU decisions (not parsed) | — |"
    )
    verdict = (
        "no per-CTU bits and no per-block QP"
        if not hevc_change and not positional
        else "some per-block information (see the table)"
    )
    print(
        f"\nThe bundled build exposes {verdict} for HEVC, so the share of x265's bits inside the face region is "
        "not measured here. hevc-roi's split is known only by construction: the face region is coded at the CRF's "
        "QP (plus x265's adaptive quantisation) and everything else at +N QP."
    )


if __name__ == "__main__":
    main()
