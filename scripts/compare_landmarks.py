"""Which landmark source should each recognizer align with? Accuracy per source on LFW originals, and how far
the sources disagree.

1. Accuracy: one ``ipr-bench run`` per landmarker on the uncompressed LFW View 2 images (no codec), every
   5-point recognizer aligned with that landmarker's points/box; stores in
   ``results/lfw-recognizers/landmarks/<landmarker>/``. MTCNN is every such recognizer's default, so its row is
   read from the View 2 store (``results/lfw-recognizers/view2``, the same configuration) instead of being run
   again; dlib's recognizer needs dlib's own five points, so it has one row, dlib5, from that store too.
2. Disagreement: every landmarker on the first ``--nme-images`` View 2 images; NME = mean distance between two
   sources' points divided by the reference's inter-ocular distance (eye centres), on the points both define
   (dlib5 has eye centres only).

Writes ``results/lfw-recognizers/landmarks.md``.

    python scripts/compare_landmarks.py [--workers 2] [--nme-images 500]
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "lfw-recognizers"
LANDMARKERS = ("mtcnn", "yunet", "scrfd", "dlib5")
RECOGNIZERS = ("arcface", "facenet", "faceplugin", "mobilefacenet192")
DEFAULT = "mtcnn"  # the landmarker every recognizer in RECOGNIZERS aligns with unless told otherwise
VIEW2 = OUT / "view2"  # each recognizer with its default alignment (README there)


def store(landmarker: str) -> Path:
    return VIEW2 if landmarker == DEFAULT else OUT / "landmarks" / landmarker


def run_accuracy(landmarker: str, workers: int) -> None:
    if landmarker == DEFAULT:
        return  # the View 2 store holds it
    argv = [
        sys.executable,
        "-m",
        "ipr_bench",
        "run",
        "--dataset",
        "lfw",
        "--codecs",
        "",
        "--recognizers",
        ",".join(RECOGNIZERS),
        "--landmarks",
        landmarker,
        "--out",
        str(store(landmarker)),
        "--workers",
        str(workers),
    ]
    subprocess.run(argv, cwd=ROOT, check=True)


def accuracy(landmarker: str) -> dict[str, tuple[float, float]]:
    from ipr_bench.analysis.summary import summarize
    from ipr_bench.store.results import ResultStore

    table = summarize(ResultStore(store(landmarker)), ["original"], list(RECOGNIZERS), protocols=("lfw10fold",))
    out = {r["recognizer"]: (r["accuracy"], r["accuracy_std"]) for _, r in table.iterrows()}
    if landmarker == "dlib5":  # dlib's recognizer aligns with dlib5 by default: its row is in the View 2 store
        view2 = summarize(ResultStore(VIEW2), ["original"], ["dlib"], protocols=("lfw10fold",))
        out.update({r["recognizer"]: (r["accuracy"], r["accuracy_std"]) for _, r in view2.iterrows()})
    return out


def comparable(a: str, b: str) -> list[int]:
    """Template indices both sources define (dlib5: the eyes only)."""
    return [0, 1] if "dlib5" in (a, b) else [0, 1, 2, 3, 4]


def nme_table(n: int) -> dict[tuple[str, str], float]:
    from ipr_bench.core.images import read_rgb
    from ipr_bench.core.registry import create_landmarker
    from ipr_bench.datasets.lfw import lfw

    items = lfw().items[:n]
    images = [read_rgb(i.path) for i in items]
    found = {name: create_landmarker(name).detect(images) for name in LANDMARKERS}
    out = {}
    for a, b in itertools.permutations(LANDMARKERS, 2):
        errors = []
        for fa, fb in zip(found[a], found[b], strict=True):
            if not (fa.detected and fb.detected):
                continue
            pa, pb = fa.template_points(), fb.template_points()
            keep = comparable(a, b)
            iod = np.linalg.norm(pa[1] - pa[0])
            errors.append(np.linalg.norm(pa[keep] - pb[keep], axis=1).mean() / iod)
        out[(a, b)] = float(np.mean(errors)) if errors else float("nan")
    return out


def best_source_lines(acc: dict[str, dict[str, tuple[float, float]]]) -> list[str]:
    """Per recognizer: the landmarker it scores best with, against the one its spec uses by default."""
    from ipr_bench.core.registry import create_recognizer

    out = []
    for rec in [*RECOGNIZERS, "dlib"]:
        scored = {name: acc[name][rec] for name in LANDMARKERS if rec in acc[name]}
        if not scored:
            continue
        best = max(scored, key=lambda name: scored[name][0])
        default = create_recognizer(rec).spec.landmarker
        if default not in scored:
            out.append(f"- {rec}: best with {best} ({scored[best][0]:.2f}%); its default {default} was not measured.")
            continue
        gap = scored[best][0] - scored[default][0]
        spread = max(scored[best][1], scored[default][1])
        keep = "is the default" if best == default else f"beats the default {default} by {gap:.2f} pp"
        within = f" (within one fold std, {spread:.2f})" if best != default and gap < spread else ""
        out.append(f"- {rec}: best with {best} ({scored[best][0]:.2f}%), which {keep}{within}.")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--nme-images", type=int, default=500)
    args = ap.parse_args()
    for name in LANDMARKERS:
        run_accuracy(name, args.workers)
    acc = {name: accuracy(name) for name in LANDMARKERS}
    nme = nme_table(args.nme_images)
    lines = [
        "# Landmark sources on uncompressed LFW (deep-funneled) View 2",
        "",
        "Accuracy % ± std over the 10 folds with each recognizer aligned on each landmarker's output "
        "(`python scripts/compare_landmarks.py`; stores under `landmarks/`, the mtcnn row and dlib from `view2/`).",
        "",
        "| landmarker | " + " | ".join([*RECOGNIZERS, "dlib"]) + " |",
        "|---|" + "---|" * (len(RECOGNIZERS) + 1),
    ]
    for name in LANDMARKERS:
        cells = [
            f"{acc[name][r][0]:.2f} ± {acc[name][r][1]:.2f}" if r in acc[name] else "—" for r in [*RECOGNIZERS, "dlib"]
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", *best_source_lines(acc)]
    lines += [
        "",
        f"Disagreement (NME: mean point distance / the row source's inter-ocular distance, first {args.nme_images} "
        "View 2 images where both detect a face; dlib5 pairs compare eye centres only):",
        "",
        "| reference \\ other | " + " | ".join(LANDMARKERS) + " |",
        "|---|" + "---|" * len(LANDMARKERS),
    ]
    for a in LANDMARKERS:
        lines.append(f"| {a} | " + " | ".join("—" if a == b else f"{nme[(a, b)]:.3f}" for b in LANDMARKERS) + " |")
    (OUT / "landmarks.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
