"""Choose the ROI baselines' default strength on LFW View 1 only, and record the choice.

Run the tuning matrix first (View 1 DevTest, 10 interleaved folds; FaceNet, the recognizer the paper trains
with, so the other recognizers stay unseen by this choice too):

    ipr-bench run --preset lfw-roi-tuning
    python scripts/tune_roi.py            # → results/lfw-roi/tuning.json and tuning.md

For each family (``hevc-roi:QP`` background offsets, ``hevc-blur:SIGMA`` strengths) the variant with the lowest
bpp at parity with the originals (accuracy within ε = 0.5 pp) wins; variants that never reach parity rank after
those that do, by their BD-rate against plain HEVC. The codecs' defaults in codecs/hevc_roi.py and
codecs/hevc_blur.py must equal the recorded choice (a test checks).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "results" / "lfw-roi" / "view1-tuning"
FAMILIES = ("hevc-roi", "hevc-blur")


def check_view1(meta: dict[str, Any]) -> None:
    """Refuse anything but LFW View 1: choosing on View 2 would tune on the test set."""
    if not str(meta.get("dataset", "")).startswith("lfw-view1"):
        sys.exit(f"tuning store holds {meta.get('dataset_label', meta.get('dataset'))!r}: tune on LFW View 1 only")


def choose(
    parity: list[dict[str, Any]], family: str, recognizer: str, bd: dict[str, float] | None = None
) -> dict[str, Any]:
    """The variant of ``family`` with the lowest parity bpp (ref: originals) under ``recognizer``."""
    rows = [
        p
        for p in parity
        if p["codec"].split(":")[0] == family and p["recognizer"] == recognizer and p["ref"] == "original"
    ]
    if not rows:
        raise SystemExit(f"no {family} variants for {recognizer} in the tuning store")
    bd = bd or {}

    def rank(p: dict[str, Any]) -> tuple[int, float]:
        if p["reached"] and p["bpp"] is not None:
            return (0, p["bpp"])
        value = bd.get(p["codec"])
        return (1, value if value is not None and math.isfinite(value) else math.inf)

    return min(rows, key=rank)


def main() -> None:
    from ipr_bench.report import analyse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, default=STORE)
    ap.add_argument("--recognizer", default="facenet")
    ap.add_argument("--epsilon", type=float, default=0.5)
    args = ap.parse_args()
    analysis = analyse(args.store, anchor="hevc:23", epsilon=args.epsilon)
    check_view1(next(iter(analysis.meta.values())))
    parity = analysis.parities()
    bd = {
        r["codec"]: r["bd_rate_percent"]
        for r in analysis.bd_rates()
        if r["recognizer"] == args.recognizer and r["metric"] == "accuracy"
    }
    chosen = {}
    for family in FAMILIES:
        best = choose(parity, family, args.recognizer, bd)
        chosen[family] = {
            "codec": best["codec"],
            "argument": best["codec"].partition(":")[2],
            "parity_bpp": best["bpp"],
            "bd_rate_vs_hevc_percent": bd.get(best["codec"]),
        }
    rows = [p for p in parity if p["recognizer"] == args.recognizer and p["ref"] == "original"]
    reference = {r["recognizer"]: r for r in analysis.reference()}[args.recognizer]
    record = {
        "dataset": analysis.dataset,
        "recognizer": args.recognizer,
        "epsilon_pp": args.epsilon,
        "original_accuracy": reference["accuracy"],
        "criterion": "lowest bpp at parity with the originals; then BD-rate (accuracy) vs hevc",
        "variants": [
            {
                "codec": p["codec"],
                "parity_bpp": p["bpp"],
                "parity_status": p["status"],
                "bd_rate_vs_hevc_percent": bd.get(p["codec"]),
            }
            for p in rows
        ],
        "chosen": chosen,
        "command": "ipr-bench run --preset lfw-roi-tuning && python scripts/tune_roi.py",
    }
    out = args.store.parent
    (out / "tuning.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        f"# ROI baselines: strength chosen on {analysis.dataset}",
        "",
        f"Recognizer {args.recognizer}; originals {reference['accuracy']:.2f}% (10 interleaved folds); parity = "
        f"accuracy ≥ originals − {args.epsilon} pp. Never tuned on View 2.",
        "",
        "| variant | bpp at parity | status | BD-rate vs hevc (accuracy) |",
        "|---|---|---|---|",
    ]
    for v in record["variants"]:
        pb = f"{v['parity_bpp']:.3f}" if v["parity_bpp"] is not None else "—"
        b = v["bd_rate_vs_hevc_percent"]
        lines.append(f"| {v['codec']} | {pb} | {v['parity_status']} | {f'{b:+.1f}%' if b is not None else '—'} |")
    lines += [
        "",
        "Chosen: " + ", ".join(f"{f} → `{c['codec']}`" for f, c in chosen.items()),
        "",
        f"Command: `{record['command']}`",
    ]
    (out / "tuning.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
