"""Pack what one lease of GPU training needs into .devcarry/ (git-ignored), within the device's 64 MiB.

The lent GPU machine has torch, numpy, pandas, opencv and onnx but no internet, no ../shared and no compressai.
This gathers, for the run directories to continue (``ipr-bench train --out DIR`` made them):

    .devcarry/wheels/      cp312 wheels: compressai, pytorch-msssim, facenet-pytorch, einops, safetensors,
                           platformdirs, and ipr-bench itself (pure Python); torchvision and Pillow are assumed
    .devcarry/weights/     FaceNet as an int8 copy (recognizers.facenet.compact_weights; the graph is 94 MB)
    .devcarry/data/        exactly the training and validation images the runs read (LFW pool, celeba-wild train)
    .devcarry/cache/       their landmarks, so the machine detects nothing
    .devcarry/runs/NAME/   each run's last checkpoint and optimizer state (resumed exactly); a fresh run
                           (``ipr-bench train … --steps 0``) goes as its settings alone and starts there

then packs it into loads (scripts/device/device_loads.py): ``.devloads/00``, ``01``, … each small enough to travel
beside the working tree (64 MiB per call). It prints the calls to make, back to back so the machine stays warm:

    run(command="true", carry=[".devloads/00"])              # one per load but the last: it stays there
    run(command="bash scripts/device/device_train.sh 480", carry=[".devloads/01"])   # assembles, checks, trains

and afterwards, while the INDEX.txt that comes back names a next batch, the call it names. Then here:
``python scripts/device/device_unpack.py FILES_AT_1 FILES_AT_2 … runs/zoo`` (the files_at folder of every call).

Every call also sends the tracked tree, and results/ and the shipped zoo are most of it (reports and galleries
~56 MiB, ipr_bench/zoo 42 MiB by 2026-11-26): more than the 64 MiB a call may carry. The training machine needs
neither, so before bundling take both out of what travels and put them back after the lease (the files stay on
disk throughout; commit nothing in between):

    git rm -r -q --cached results ipr_bench/zoo && printf '/results/\\n/ipr_bench/zoo/\\n' >> .git/info/exclude
    git reset -q -- results ipr_bench/zoo && sed -i '\\|^/results/$|d; \\|^/ipr_bench/zoo/$|d' .git/info/exclude

Usage: python scripts/device/device_bundle.py runs/zoo/ipr-q3 runs/zoo/mse-q3 ...
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / ".devcarry"
LOADS = ROOT / ".devloads"
LIMIT = 64 * 2**20
MARGIN = 2**20  # for files that change between bundling and the calls (a log, a result committed meanwhile)
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
    """Bytes of what every call sends anyway: tracked files and untracked files git does not ignore."""
    listing = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    files = subprocess.run(listing, cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
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

    from ipr_bench.core.cache import Cache
    from ipr_bench.core.paths import data_root
    from ipr_bench.recognizers.facenet import COMPACT_FILE, compact_weights
    from ipr_bench.training.config import STATE_FILE, saved_config
    from ipr_bench.training.train import training_data

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
        state = json.loads((run / "last" / STATE_FILE).read_text())
        if state["step"] == 0:  # a fresh run (ipr-bench train --steps 0): its settings suffice, it starts there
            (BUNDLE / "runs" / run.name / "last").mkdir(parents=True)
            shutil.copy2(run / "last" / STATE_FILE, BUNDLE / "runs" / run.name / "last" / STATE_FILE)
        else:
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
    # results/ and the zoo are no training code: leaving them behind (see the docstring) keeps the commit clean
    status = ["git", "status", "--porcelain", "--", ".", ":!results", ":!ipr_bench/zoo"]
    dirty = subprocess.run(status, cwd=ROOT, capture_output=True, text=True).stdout.strip()
    (BUNDLE / "COMMIT").write_text(commit + ("-dirty" if dirty else "") + "\n")  # checkpoints made there record it

    sizes = {part.name: tree_size(part) for part in sorted(BUNDLE.iterdir())}
    tracked = tracked_size()
    for name, size in sizes.items():
        print(f"  .devcarry/{name}: {size / 2**20:.1f} MiB")
    sys.path.insert(0, str(ROOT / "scripts" / "device"))
    from device_loads import pack

    budget = LIMIT - tracked - MARGIN
    loads = pack(BUNDLE, LOADS, budget)
    print(
        f"bundle {sum(sizes.values()) / 2**20:.1f} MiB; working tree {tracked / 2**20:.1f} MiB leaves "
        f"{budget / 2**20:.1f} MiB per call → {len(loads)} load(s). Calls, back to back (the machine stays warm):"
    )
    for folder in loads[:-1]:
        print(f'  run(command="true", carry=[".devloads/{folder.name}"])')
    print(f'  run(command="bash scripts/device/device_train.sh SECONDS", carry=[".devloads/{loads[-1].name}"])')


if __name__ == "__main__":
    main()
