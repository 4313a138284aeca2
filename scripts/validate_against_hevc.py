"""The learned arms against HEVC and face-ROI HEVC on the arms' own held-out images, measured the same way.

The arms' validation (78 held-out LFW training-pool images, real payload bytes, FaceNet cosine between the
original's and the decoded image's embeddings) is cheap; an LFW View 2 run is hours. This script codes those same
images with x265 (``hevc``, ``hevc-roi`` at their default settings) through ``measure_coding``, the function the
trainer validates with, so a learned arm and HEVC are compared on identical images, alignment and judge:
BD-rate at equal FaceNet cosine (negative: fewer bits) with analysis.rd's overlap rule. It is a proxy for the LFW
parity question (does a learned codec beat face-ROI x265?), not a replacement for it.

Face-map levels: a gained model's level may vary over the latent grid (ipr_bench.learned.variable_rate), so a
model can code the face region ``boost`` levels above the rest at decode time too. ``--boosts`` measures each
arm at several boosts (0: one level everywhere), including boosts it was not trained with, to see how far the
map alone moves the curve.

    python scripts/validate_against_hevc.py --runs runs/arms --boosts 0,1,2,3
    python scripts/validate_against_hevc.py --table-only      # results/training/against_hevc.md from the JSON

The ROI-training pilot (scripts/train_arms.py PILOT_ARMS; ``zoo-ipr-roi`` is a link to the shipped ipr-roi, its start
point: ``mkdir -p runs/roi-pilot/zoo-ipr-roi && ln -s "$PWD"/ipr_bench/zoo/ipr-roi/* runs/roi-pilot/zoo-ipr-roi/last``),
the same face λs for each arm (ipr-roi-bg has two levels more below):

    python scripts/validate_against_hevc.py --runs runs/roi-pilot --arms ipr-roi-cont,ipr-roi-bg,zoo-ipr-roi \
        --boosts "" --background-levels 0 --levels 0,2,3,4,5,6,7 --arm-levels ipr-roi-bg=0,4,5,6,7,8,9 \
        --out results/training/roi_pilot
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "training" / "against_hevc"
CLASSICAL = {"hevc": (28, 33, 38, 43), "hevc-roi": (23, 28, 33, 38)}  # CRFs spanning the arms' 0.05–0.45 bpp


def measure_classical(name: str, crfs: tuple[int, ...], data: Any, judges: list, device: str) -> dict[str, Any]:
    from ipr_bench.core.registry import create_codec
    from ipr_bench.training.validation import measure_coding

    codec = create_codec(name)
    landmarker = getattr(codec, "landmarker", None)
    record: dict[str, Any] = {"n_images": float(len(data.images)), "settings": {}}
    for q, crf in enumerate(crfs, start=1):
        quality = codec.parse_quality(str(crf))

        def code(images: list[np.ndarray], marks: list[dict], quality: Any = quality) -> tuple[list, list]:
            encoded = [codec.encode(im, quality, face=m.get(landmarker)) for im, m in zip(images, marks, strict=True)]
            payloads = [e.payload for e in encoded]
            return payloads, [codec.decode(p) for p in payloads]

        values = measure_coding(data.images, data.landmarks, judges, code, device)
        record |= {f"{key}@q{q}": v for key, v in values.items()}
        record["settings"][f"q{q}"] = f"crf={crf}"
        print(f"{name} crf={crf}: {values}", flush=True)
    return record


def measure_arm(run: Path, points: list[tuple[int, float]], data: Any, judges: list, device: str) -> dict[str, Any]:
    """The arm at each (level, boost) point: ``level`` everywhere, ``level + boost`` on the face region."""
    from ipr_bench.learned.checkpoint import load_checkpoint
    from ipr_bench.learned.coding import compress_images, decompress_payloads, face_rate_point, level_rate_point
    from ipr_bench.training.validation import face_cells, measure_coding

    model, meta = load_checkpoint(run / "last", device)
    model.eval()
    n_levels = int(meta["levels"])
    record: dict[str, Any] = {"n_images": float(len(data.images)), "step": meta.get("steps"), "settings": {}}
    for q, (level, boost) in enumerate(points, start=1):
        point = level_rate_point(level, n_levels)
        face = face_rate_point(point, boost, n_levels) if boost else None

        def code(images: list[np.ndarray], marks: list[dict], point: int = point, face: int | None = face) -> tuple:
            regions = face_cells(images, marks) if face else None
            payloads = compress_images(model, images, point, device, regions, face)
            return payloads, decompress_payloads(model, payloads, device)

        values = measure_coding(data.images, data.landmarks, judges, code, device)
        record |= {f"{key}@q{q}": v for key, v in values.items()}
        record["settings"][f"q{q}"] = f"q{level + 1}" + (f", face q{level + 1 + boost:g}" if boost else "")
        print(f"{run.name} level {level} boost {boost:g}: {values}", flush=True)
    return record


def _rate(d: Any) -> str:
    """A BD-rate Delta (ipr_bench.training.evidence) as a table cell."""
    return "n/a" if math.isnan(d.value) else f"{d.value:+.1f}% (overlap {d.overlap:.0%})"


def _cosine(d: Any) -> str:
    """A cosine-at-equal-bpp Delta as a table cell."""
    return "n/a" if math.isnan(d.value) else f"{d.value:+.4f} (overlap {d.overlap:.0%})"


def table(data: dict[str, Any], against: str = "", out: Path = OUT) -> str:
    """The Markdown table of a measurement; ``against``: one learned record's key (e.g. a pilot's control,
    ``ipr-roi-cont@background0``) that every other learned record is also compared with."""
    from ipr_bench.training.evidence import compare

    rows = data["records"]
    lines = [
        "# Learned arms against HEVC and face-ROI HEVC on the arms' held-out images",
        "",
        f"Generated by `python {' '.join(data['command'])}` ({data['time']}, git {data['git_commit'][:10]}).",
        f"Images: the arms' validation set ({int(next(iter(rows.values()))['n_images'])} held-out LFW training-pool "
        "photos, no View 2 person); bpp = 8 × payload bytes / pixels (learned: header + region + entropy-coded "
        "strings; x265: Annex-B stream); FaceNet cosine between the original's and the decoded image's embeddings "
        "(MTCNN "
        "alignment, as the trainer validates). BD-rate at equal cosine: negative = fewer bits for the same identity; "
        "n/a where the curves share < 25% of their cosine range. A proxy for LFW parity, not the LFW protocol.",
        "",
        "| codec | curve | step | BD-rate vs hevc-roi | BD-rate vs hevc | cosine vs hevc-roi at equal bpp |",
        "|---|---|---|---|---|---|",
    ]
    for name, record in rows.items():
        if name in CLASSICAL:
            continue
        cells = []
        for anchor in ("hevc-roi", "hevc"):
            cells.append(_rate(compare(rows[anchor], record).bd_rate_at_equal_cosine))
        cells.append(_cosine(compare(rows["hevc-roi"], record).bd_cosine))
        lines.append(f"| {record['arm']} | {record['curve']} | {record.get('step')} | " + " | ".join(cells) + " |")
    if against:
        if against not in rows:
            raise SystemExit(f"--against {against}: not measured here; records: {', '.join(rows)}")
        ref = rows[against]
        lines += [
            "",
            f"## Against {ref['arm']} ({ref['curve']}, step {ref.get('step')})",
            "",
            f"`python scripts/validate_against_hevc.py --out {out.resolve().relative_to(ROOT)} --table-only --against "
            f"{against}` (no coding: from the JSON).",
            "",
            f"| codec | curve | step | BD-rate at equal cosine vs {ref['arm']} | cosine at equal bpp |",
            "|---|---|---|---|---|",
        ]
        for name, record in rows.items():
            if name in CLASSICAL or name == against:
                continue
            c = compare(ref, record)
            lines.append(
                f"| {record['arm']} | {record['curve']} | {record.get('step')} | {_rate(c.bd_rate_at_equal_cosine)} "
                f"| {_cosine(c.bd_cosine)} |"
            )
    lines += ["", "## Points", "", "| codec | setting | bpp | PSNR dB | FaceNet cos |", "|---|---|---|---|---|"]
    for name, record in rows.items():
        for q, setting in record["settings"].items():
            lines.append(
                f"| {record.get('arm', name)} | {setting} | {record[f'bpp@{q}']:.4f} | {record[f'psnr@{q}']:.2f} "
                f"| {record[f'cosine_facenet@{q}']:.4f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "arms")
    parser.add_argument("--arms", default="mse-ft,ipr-ft,ipr-roi-ft")
    parser.add_argument("--boosts", default="0,1,2,3", help="face boosts each arm is measured at")
    parser.add_argument("--levels", default="1,2,3,4,5", help="0-based levels (the arms' 0.1–0.3 bpp)")
    parser.add_argument(
        "--arm-levels",
        action="append",
        default=[],
        metavar="ARM=LEVELS",
        help="an arm's own 0-based levels instead of --levels (an arm with levels added below), repeatable",
    )
    parser.add_argument(
        "--background-levels",
        default="",
        help="0-based levels: a curve per level B, the background at B and the face at each of --levels above B",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument(
        "--against", default="", help="also compare every learned curve with this one (a record key: ARM@background0)"
    )
    parser.add_argument("--skip-classical", action="store_true", help="arms only (the JSON then lacks the anchors)")
    args = parser.parse_args()
    json_path, md_path = args.out.with_suffix(".json"), args.out.with_suffix(".md")
    if args.table_only:
        from ipr_bench.core.cache import atomic_write_bytes

        atomic_write_bytes(md_path, table(json.loads(json_path.read_text()), args.against, args.out).encode())
        return

    from dataclasses import replace

    from ipr_bench.bench.provenance import provenance
    from ipr_bench.core.cache import atomic_write_bytes
    from ipr_bench.core.registry import create_recognizer
    from ipr_bench.training.config import saved_config
    from ipr_bench.training.train import training_data

    arms = [a for a in args.arms.split(",") if a]
    config = saved_config(args.runs / arms[0])
    data = training_data(replace(config, max_images=1)).validation  # the held-out set does not depend on it
    facenet = create_recognizer("facenet")
    judges = [(facenet, facenet.differentiable().to(args.device).eval())]
    started = time.time()
    records: dict[str, Any] = {}
    for name, crfs in CLASSICAL.items() if not args.skip_classical else ():
        records[name] = measure_classical(name, crfs, data, judges, args.device) | {"arm": name, "curve": "crf"}
    own_levels = dict(item.split("=", 1) for item in args.arm_levels)
    unknown = set(own_levels) - set(arms)
    if unknown:
        raise SystemExit(f"--arm-levels names {', '.join(sorted(unknown))}, not in --arms")
    for arm in arms:
        levels = [int(k) for k in own_levels.get(arm, args.levels).split(",")]
        for boost in (float(b) for b in args.boosts.split(",") if b):
            record = measure_arm(args.runs / arm, [(k, boost) for k in levels], data, judges, args.device)
            records[f"{arm}@boost{boost:g}"] = record | {"arm": arm, "boost": boost, "curve": f"face +{boost:g}"}
        for floor in (int(b) for b in args.background_levels.split(",") if b):
            points = [(floor, float(k - floor)) for k in levels if k > floor]
            record = measure_arm(args.runs / arm, points, data, judges, args.device)
            curve = f"background q{floor + 1}"
            records[f"{arm}@background{floor}"] = record | {"arm": arm, "boost": None, "curve": curve}
    result = {
        "command": ["scripts/validate_against_hevc.py", *sys.argv[1:]],
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git_commit": provenance().get("git_commit", ""),
        "elapsed_s": round(time.time() - started, 1),
        "records": records,
    }
    atomic_write_bytes(json_path, (json.dumps(result, indent=1) + "\n").encode())
    atomic_write_bytes(md_path, table(result, args.against, args.out).encode())
    print(md_path.read_text())


if __name__ == "__main__":
    main()
