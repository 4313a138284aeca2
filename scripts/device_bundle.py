"""Pack what one lease of GPU training needs into .devcarry/ (git-ignored), within the device's 64 MiB.

The lent GPU machine has torch, numpy, pandas, opencv and onnx but no internet, no ../shared and no compressai.
This gathers, for the run directories to continue (``ipr-bench train --out DIR`` made them):

    .devcarry/wheels/      cp312 wheels: compressai, pytorch-msssim, facenet-pytorch, einops, safetensors,
                           platformdirs, and ipr-bench itself (pure Python); torchvision and Pillow are assumed
    .devcarry/weights/     FaceNet as an int8 copy (recognizers.facenet.compact_weights; the graph is 94 MB)
    .devcarry/data/        exactly the training and validation images the runs read (LFW pool, celeba-wild train)
    .devcarry/cache/       their landmarks, so the machine detects nothing
    .devcarry/runs/NAME/   each run's last checkpoint and optimizer state (resumed exactly)

and prints the total with the tracked tree, refusing to leave a bundle that would not fit. Then, on the device:

    run(command="bash scripts/device_train.sh 480", carry=[".devcarry"])

Usage: python scripts/device_bundle.py runs/zoo/ipr-q3 runs/zoo/mse-q3 ...
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / ".devcarry"
LIMIT = 64 * 2**20
WHEELS = [
    "compressai==1.2.8",
    "pytorch-msssim==1.0.0",
    "facenet-pytorch==2.6.0",
    "einops",
    "platformdirs",
    "safetensors",
]  # Pillow is not sent (7 MB): torchvision, which facenet-pytorch needs, brings it
PLATFORMS = ["manylinux_2_34_x86_64", "manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]


def tracked_size() -> int:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    return sum((ROOT / f.decode()).stat().st_size for f in files if f and (ROOT / f.decode()).is_file())


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def fetch_wheels(target: Path, python: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    common = ["--no-deps", "--only-binary", ":all:", "--python-version", python, "-d", str(target), "-q"]
    pip = [sys.executable, "-m", "pip", "download"]
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    subprocess.run([*pip, *common, *platforms, *WHEELS], check=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(target), str(ROOT)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="run directories (with last/) to continue on the GPU")
    parser.add_argument("--python", default="3.12", help="the GPU machine's Python (wheels are fetched for it)")
    args = parser.parse_args()

    from ipr_bench.cache import Cache
    from ipr_bench.datasets.base import data_root
    from ipr_bench.recognizers.facenet import COMPACT_FILE, compact_weights
    from ipr_bench.train import saved_config, training_data

    if BUNDLE.exists():
        shutil.rmtree(BUNDLE)
    fetch_wheels(BUNDLE / "wheels", args.python)
    compact_weights(BUNDLE / "weights" / COMPACT_FILE)

    cache, source_root, needed = Cache(), data_root(), set()
    for run in args.runs:
        data = training_data(saved_config(run))
        for item in data.train.items + data.validation.items:
            needed.add(item.path)
        for key in data.landmark_keys:
            src = cache.path("landmarks", key)
            dst = Cache(BUNDLE / "cache").path("landmarks", key)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        shutil.copytree(run / "last", BUNDLE / "runs" / run.name / "last")
    # the files that say which images are excluded (LFW's pairs, celeba-wild's identity table) and label the data
    for extra in (
        "lfw/pairs.txt",
        "lfw/pairsDevTrain.txt",
        "lfw/pairsDevTest.txt",
        "lfw/SOURCE.md",
        "lfw/VARIANT",
        "celeba-wild/identities.csv",
    ):
        if (source_root / extra).is_file():
            needed.add(source_root / extra)
    for path in needed:
        dst = BUNDLE / "data" / path.relative_to(source_root)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dst)

    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    (BUNDLE / "COMMIT").write_text(commit + ("-dirty" if dirty else "") + "\n")  # checkpoints made there record it

    sizes = {part.name: tree_size(part) for part in sorted(BUNDLE.iterdir())}
    tracked = tracked_size()
    total = tracked + sum(sizes.values())
    for name, size in sizes.items():
        print(f"  .devcarry/{name}: {size / 2**20:.1f} MiB")
    print(f"tracked tree {tracked / 2**20:.1f} MiB; total {total / 2**20:.1f} MiB of {LIMIT / 2**20:.0f} MiB")
    if total > LIMIT:
        sys.exit(f"too large for the device by {(total - LIMIT) / 2**20:.1f} MiB: continue fewer or smaller runs")


if __name__ == "__main__":
    main()
