"""Which landmarks and which crop each recognizer should use, measured on LFW View 1 (the development view).

    python scripts/compare_alignment.py            # runs what is missing, then writes the table
    python scripts/compare_alignment.py --table    # only rebuild the table from the committed stores

Each variant is one ``ipr-bench run`` on the originals of lfw:view1-train and lfw:view1-test; the stores land
in results/lfw-recognizers/view1/<view>/<variant>/. The table reports DevTest accuracy at the threshold chosen
on DevTrain (the honest View 1 use), and AUC / TAR@FAR=1e-3 on each view.
Writes results/lfw-recognizers/alignment-view1.{md,csv}.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ipr_bench import evaluate
from ipr_bench.analysis.metrics import accuracy_at, best_threshold, roc_auc, tar_at_far
from ipr_bench.store import schema
from ipr_bench.store.results import ResultStore

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "lfw-recognizers"
VIEWS = ("view1-train", "view1-test")
# (variant, recognizer, options); the first of each recognizer is its alignment before this comparison
VARIANTS: list[tuple[str, str, dict[str, object]]] = [
    ("dlib-chip_dlib5", "dlib", {}),
    ("arcface_template_dlib5-eyes", "arcface", {"landmarker": "dlib5", "box_margin": None}),
    ("arcface_template_mtcnn", "arcface", {"landmarker": "mtcnn", "box_margin": None}),
    ("facenet_template_dlib5-eyes", "facenet", {"landmarker": "dlib5", "box_margin": None}),
    ("facenet_template_mtcnn", "facenet", {"landmarker": "mtcnn", "box_margin": None}),
    ("facenet_box-margin14_mtcnn", "facenet", {"landmarker": "mtcnn", "box_margin": 14}),
    ("facenet_box-margin32_mtcnn", "facenet", {"landmarker": "mtcnn", "box_margin": 32}),
    ("facenet_box-margin44_mtcnn", "facenet", {"landmarker": "mtcnn", "box_margin": 44}),
]


def store_dir(view: str, variant: str) -> Path:
    return OUT / "view1" / view / variant


def run_variant(view: str, variant: str, recognizer: str, options: dict[str, object], workers: int) -> None:
    if ResultStore(store_dir(view, variant)).read_setting("original") is not None:
        return
    out = store_dir(view, variant).relative_to(ROOT)
    argv = ["ipr-bench", "run", "--dataset", f"lfw:{view}", "--codecs", "none", "--recognizers", recognizer]
    argv += ["--out", str(out), "--workers", str(workers)]
    for key, value in options.items():
        argv += ["--recognizer-option", f"{recognizer}.{key}={'null' if value is None else value}"]
    print("$", " ".join(argv), file=sys.stderr, flush=True)
    evaluate(
        dataset=f"lfw:{view}",
        codecs=["none"],
        recognizers=[recognizer],
        recognizer_options={recognizer: options},
        out=ROOT / out,
        workers=workers,
        command=" ".join(argv),
        report=False,
    )


def scores(view: str, variant: str, recognizer: str) -> tuple[np.ndarray, np.ndarray]:
    loaded = ResultStore(store_dir(view, variant)).read_setting("original")
    if loaded is None:
        raise SystemExit(f"missing store {store_dir(view, variant)}: run without --table first")
    _, pairs, _ = loaded
    return pairs[schema.score(recognizer)].to_numpy(), pairs["same"].to_numpy()


def table() -> pd.DataFrame:
    rows = []
    for variant, recognizer, _ in VARIANTS:
        train_scores, train_same = scores("view1-train", variant, recognizer)
        test_scores, test_same = scores("view1-test", variant, recognizer)
        threshold = best_threshold(train_scores, train_same)
        items, _, meta = ResultStore(store_dir("view1-test", variant)).read_setting("original")
        landmarker = next(iter(meta["recognizers"].values())).get("landmarker", "dlib5")
        rows.append(
            {
                "recognizer": recognizer,
                "variant": variant,
                "devtest_accuracy": 100 * accuracy_at(test_scores, test_same, threshold),
                "devtrain_accuracy": 100 * accuracy_at(train_scores, train_same, threshold),
                "devtest_auc": roc_auc(test_scores, test_same),
                "devtrain_auc": roc_auc(train_scores, train_same),
                "devtest_tar_at_1e-3": 100 * tar_at_far(test_scores, test_same, 1e-3),
                "no_face_devtest": int((~items[schema.face_detected(landmarker)].astype(bool)).sum()),
            }
        )
    return pd.DataFrame(rows)


def write(df: pd.DataFrame) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    df.to_csv(OUT / "alignment-view1.csv", index=False, float_format="%.4f")
    lines = [
        "# Alignment per recognizer on LFW (deep-funneled) View 1",
        "",
        "DevTest accuracy at the threshold chosen on DevTrain (1,000 / 2,200 pairs; one fold each, so no ± here);",
        "AUC and TAR@FAR=1e-3 pooled per view (DevTest has 500 different-person pairs, so its TAR@1e-3 is the TAR",
        "with no false accept). Originals only. Regenerate: `python scripts/compare_alignment.py`.",
        "Landmarks on the original image; `dlib5-eyes`: eye centres of dlib's 5-point model onto the template;",
        "`mtcnn`: MTCNN's five points (facenet-pytorch weights); `box-marginN`: MTCNN box + N px margin at 160 px",
        "(facenet-pytorch's extract_face). `no face`: images where the landmarker found none (central-box fallback).",
        "",
        "| recognizer | alignment | DevTest acc % | DevTrain acc % | DevTest AUC | DevTrain AUC | DevTest TAR@1e-3 % "
        "| no face (DevTest) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, r in df.iterrows():
        lines.append(
            f"| {r['recognizer']} | {r['variant']} | {r['devtest_accuracy']:.2f} | {r['devtrain_accuracy']:.2f} | "
            f"{r['devtest_auc']:.4f} | {r['devtrain_auc']:.4f} | {r['devtest_tar_at_1e-3']:.1f} | "
            f"{r['no_face_devtest']} |"
        )
    (OUT / "alignment-view1.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", action="store_true", help="only rebuild the table from the stores")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not args.table:
        for view in VIEWS:
            for variant, recognizer, options in VARIANTS:
                run_variant(view, variant, recognizer, options, args.workers)
    write(table())


if __name__ == "__main__":
    main()
