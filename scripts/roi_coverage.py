"""How much of each recognizer's input crop lies inside the ROI baselines' face region, per margin.

The face region (ipr_bench.face.roi) is what hevc-roi / hevc-blur protect; a recognizer whose crop reaches outside it
sees degraded background. For each LFW View 1 DevTest image (View 2 is never used for choices) and each
recognizer, the crop's footprint in the image (the output pixel grid mapped back through the alignment) is
compared with the region at several margins. Writes a markdown table to stdout.

    python scripts/roi_coverage.py --images 200 > results/lfw-roi/coverage.md
"""

from __future__ import annotations

import argparse

import numpy as np

from ipr_bench.core.images import read_rgb
from ipr_bench.core.registry import create_landmarker, create_recognizer
from ipr_bench.datasets.lfw import lfw
from ipr_bench.face.roi import face_region


def footprint(recognizer, marks, shape) -> np.ndarray:
    """(N, 2) image coordinates of the recognizer's input pixel centres (inside the image only)."""
    h, w = recognizer.spec.input_size
    if recognizer.name == "dlib":
        import dlib

        from ipr_bench.recognizers.dlib import CHIP_PADDING, CHIP_SIZE

        pts = dlib.points()
        for x, y in marks.points:
            pts.append(dlib.point(int(round(x)), int(round(y))))
        rect = dlib.rectangle(*[int(v) for v in marks.box])
        chip = dlib.get_face_chip_details(dlib.full_object_detection(rect, pts), CHIP_SIZE, CHIP_PADDING)
        r, angle = chip.rect, chip.angle
        cx, cy = (r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2
        u, v = np.meshgrid(np.linspace(-0.5, 0.5, w), np.linspace(-0.5, 0.5, h))
        du, dv = u * (r.right() - r.left()), v * (r.bottom() - r.top())
        xs = cx + du * np.cos(angle) - dv * np.sin(angle)
        ys = cy + du * np.sin(angle) + dv * np.cos(angle)
        p = np.stack([xs.ravel(), ys.ravel()], axis=1)
    else:
        m = np.vstack([recognizer.alignment_matrix(marks, shape), [0, 0, 1]])
        inv = np.linalg.inv(m)
        u, v = np.meshgrid(np.arange(w), np.arange(h))
        grid = np.stack([u.ravel(), v.ravel(), np.ones(u.size)])
        p = (inv @ grid)[:2].T
    inside = (p[:, 0] >= 0) & (p[:, 0] < shape[1]) & (p[:, 1] >= 0) & (p[:, 1] < shape[0])
    return p[inside]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--margins", default="0,0.1,0.25,0.4")
    args = ap.parse_args()
    margins = [float(m) for m in args.margins.split(",")]
    items = lfw("view1-test").items[: args.images]
    images = [read_rgb(i.path) for i in items]
    region_marks = create_landmarker("mtcnn").detect(images)
    recognizers = {name: create_recognizer(name) for name in ("arcface", "facenet", "dlib")}
    own = {n: create_landmarker(n).detect(images) for n in {r.spec.landmarker for r in recognizers.values()}}
    cover = {(r, m): [] for r in recognizers for m in margins}
    share = {m: [] for m in margins}
    for k, image in enumerate(images):
        for m in margins:
            region = face_region(region_marks[k], image.shape, m)
            if region is None:
                continue
            share[m].append(region.fraction_of(image.shape))
            for name, rec in recognizers.items():
                p = footprint(rec, own[rec.spec.landmarker][k], image.shape)
                ok = (p[:, 0] >= region.left) & (p[:, 0] < region.right)
                ok &= (p[:, 1] >= region.top) & (p[:, 1] < region.bottom)
                cover[(name, m)].append(ok.mean() if len(p) else np.nan)
    print(
        f"Share of each recognizer's input crop inside the face region (mean over {len(images)} LFW View 1 "
        "DevTest images; region = MTCNN box grown by the margin on each side)\n"
    )
    print("| margin | region / image | " + " | ".join(recognizers) + " |")
    print("|---|---|" + "---|" * len(recognizers))
    for m in margins:
        cells = [f"{100 * np.nanmean(cover[(r, m)]):.1f}%" for r in recognizers]
        print(f"| {m:g} | {100 * np.mean(share[m]):.1f}% | " + " | ".join(cells) + " |")
    print("\nCommand: python scripts/roi_coverage.py " + f"--images {args.images} --margins {args.margins}")


if __name__ == "__main__":
    main()
