"""Harness overhead for an HEVC sweep over N LFW images, against a floor measured in the same run.

Harness: `Runner` with a fresh cache, HEVC at 7 CRFs + the originals, ArcFace, N images (everything it
normally does: per-image streams, PSNR/MS-SSIM, alignment, cache and store writes), 2 worker processes.
Floor ("same encodes"): the same 7·N single-image encodes (one x265 instance and one stream per image and
CRF, byte-identical to the harness's payloads) as outputs of a single ffmpeg process, one ffmpeg process
decoding all of them, landmarks detected once per original, and one batched ArcFace pass over every face.
A second, looser floor ("all-intra") encodes the N images as one all-intra stream per CRF instead: less
x265 start-up, but not the same bitstreams (rate control sees a sequence), so it is reported for context.

    python scripts/bench_harness.py --n 64          # prints both times and the ratio, writes a JSON line
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from ipr_bench import evaluate
from ipr_bench.codecs.ffmpeg import ffmpeg_exe, run_ffmpeg
from ipr_bench.core.images import read_rgb
from ipr_bench.core.registry import create_codec, create_dataset, create_recognizer
from ipr_bench.datasets.base import Dataset
from ipr_bench.landmarkers.base import detect_landmarks

CRFS = [18, 23, 28, 33, 38, 43, 48]


def subset(n: int) -> Dataset:
    return create_dataset("lfw").select_folds([1]).head(n)


def harness(ds: Dataset, workers: int) -> float:
    """The runner's wall time inside ``evaluate`` (what ``ipr-bench run`` does), fresh store and cache."""
    with tempfile.TemporaryDirectory() as tmp:
        run = evaluate(
            dataset=ds,
            codecs=["hevc"],
            qualities={"hevc": CRFS},
            recognizers=["arcface"],
            out=Path(tmp) / "out",
            cache=str(Path(tmp) / "c"),
            workers=workers,
            chunk_size=max(1, len(ds.items) // (2 * workers)),
            progress=False,
            report=False,
        )
        return run.elapsed_s


def floor(ds: Dataset, same_encodes: bool = True) -> float:
    arcface = create_recognizer("arcface")
    hevc = create_codec("hevc")
    t0 = time.perf_counter()
    images = [read_rgb(i.path) for i in ds.items]
    h, w = images[0].shape[:2]
    with tempfile.TemporaryDirectory() as tmp:
        decoded: list[np.ndarray] = []
        if same_encodes:
            args = []
            for k, image in enumerate(images):
                image.tofile(os.path.join(tmp, f"{k}.rgb"))
                args += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-i", os.path.join(tmp, f"{k}.rgb")]
            outputs = [(crf, k) for crf in CRFS for k in range(len(images))]
            for crf, k in outputs:
                encoder = [a if a != "log-level=error" else "log-level=error:info=0" for a in hevc.encoder_args(crf)]
                args += [
                    "-map",
                    f"{k}:v",
                    "-frames:v",
                    "1",
                    *encoder,
                    "-f",
                    "hevc",
                    os.path.join(tmp, f"{crf}-{k}.hevc"),
                ]
            run_ffmpeg(args, None, "floor encode")
            args = []
            for crf, k in outputs:
                args += ["-f", "hevc", "-i", os.path.join(tmp, f"{crf}-{k}.hevc")]
            for n, (crf, k) in enumerate(outputs):
                args += ["-map", f"{n}:v", "-pix_fmt", "rgb24", "-f", "rawvideo", os.path.join(tmp, f"{crf}-{k}.out")]
            run_ffmpeg(args, None, "floor decode")
            decoded = [
                np.fromfile(os.path.join(tmp, f"{crf}-{k}.out"), np.uint8).reshape(h, w, 3) for crf, k in outputs
            ]
        else:
            raw = os.path.join(tmp, "all.rgb")
            with open(raw, "wb") as f:
                f.write(b"".join(im.tobytes() for im in images))
            args = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-i", raw]
            for crf in CRFS:
                encoder = [
                    a.replace("log-level=error", "log-level=error:info=0:keyint=1") for a in hevc.encoder_args(crf)
                ]
                args += ["-map", "0:v", *encoder, "-f", "hevc", os.path.join(tmp, f"{crf}.hevc")]
            run_ffmpeg(args, None, "floor encode")
            args = []
            for crf in CRFS:
                args += ["-f", "hevc", "-i", os.path.join(tmp, f"{crf}.hevc")]
            for k, crf in enumerate(CRFS):
                args += ["-map", f"{k}:v", "-pix_fmt", "rgb24", "-f", "rawvideo", os.path.join(tmp, f"{crf}.rgb")]
            run_ffmpeg(args, None, "floor decode")
            for crf in CRFS:
                decoded += list(np.fromfile(os.path.join(tmp, f"{crf}.rgb"), np.uint8).reshape(len(images), h, w, 3))
    marks = [detect_landmarks(im, arcface.spec.landmarker) for im in images]
    faces = np.stack([arcface.align(im, marks[i % len(images)]) for i, im in enumerate(images + decoded)])
    arcface.embed(faces)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=Path("results/bench"))
    args = parser.parse_args()
    ds = subset(args.n)
    floor(subset(4))  # warm up: model loads, page cache
    t_floor = floor(ds, same_encodes=True)
    t_all_intra = floor(ds, same_encodes=False)
    t_harness = harness(ds, args.workers)
    record = {
        "bench": "hevc sweep harness vs floor",
        "n_images": len(ds.items),
        "crfs": CRFS,
        "recognizer": "arcface",
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "harness_s": round(t_harness, 2),
        "floor_same_encodes_s": round(t_floor, 2),
        "ratio": round(t_harness / t_floor, 3),
        "floor_all_intra_s": round(t_all_intra, 2),
        "ratio_vs_all_intra": round(t_harness / t_all_intra, 3),
        "ffmpeg": ffmpeg_exe(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(json.dumps(record))
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "bench_harness.jsonl", "a") as f:
        f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
