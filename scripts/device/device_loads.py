"""Moving a lease's luggage in loads: what one device call cannot carry, several calls on the warm machine can.

One call carries the tracked tree plus its carried paths, 64 MiB in all, and brings back at most 8 files of
16 MiB (64 MiB) from $OUT. An exactly resumable hyperprior state alone (N=128, M=192: weights 20 MB + Adam's
two moments 40 MB) does not fit beside the tree, the training images and FaceNet, so:

- out (here): ``pack`` tars the bundle (.devcarry/) and splits it into loads ``.devloads/00``, ``01``, … each
  small enough to travel with the tree; call k carries ``.devloads/k`` (git-ignored paths a call leaves on the
  machine stay there for the next call while the machine is warm), the last call also trains;
- in (there): ``assemble`` checks that every part arrived (count and sha256 in MANIFEST.json) and unpacks;
- back (there): the training script leaves its results in ``.devreturn/``; ``send DIR OUT K`` copies the K-th
  batch of at most 7 files (plus INDEX.txt saying how many batches there are) to $OUT, one folder deep;
- home (here): scripts/device/device_unpack.py joins the parts of all batches.

    python scripts/device/device_loads.py pack .devcarry .devloads --budget BYTES      (device_bundle.py calls it)
    python3 scripts/device/device_loads.py assemble .devloads .devcarry                (device_train.sh calls it)
    python3 scripts/device/device_loads.py send .devreturn "$OUT" 1                    (a later call, for batch 1)

Standard library only: it runs on the bare device machine before anything is installed.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
import tarfile
from pathlib import Path

MANIFEST = "MANIFEST.json"
INDEX = "INDEX.txt"
PART = "bundle.tar.{:02d}"
FILES_PER_BATCH = 7  # the device returns 8 files: 7 parts and the index
BYTES_PER_BATCH = 60 * 2**20
MAX_FILE = 15 * 2**20  # returned files may be 16 MiB each: the training script splits at 15


def pack(source: Path, loads: Path, budget: int) -> list[Path]:
    """Tar ``source`` (its name kept as the top folder) and split it into load folders of ≤ ``budget`` bytes."""
    if budget < 2**20:
        raise SystemExit(f"a device call has {budget} bytes left beside the tracked tree: make the tree smaller")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(source, arcname=source.name)
    data = buffer.getvalue()
    if loads.exists():
        shutil.rmtree(loads)
    chunk = budget - 4096  # the manifest travels in the last load
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] or [b""]
    folders = []
    for k, piece in enumerate(pieces):
        folder = loads / f"{k:02d}"
        folder.mkdir(parents=True)
        (folder / PART.format(k)).write_bytes(piece)
        folders.append(folder)
    manifest = {"parts": len(pieces), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (folders[-1] / MANIFEST).write_text(json.dumps(manifest) + "\n")
    return folders


def assemble(loads: Path, target_parent: Path) -> None:
    """Join and check the parts under ``loads``, then unpack the bundle into ``target_parent``."""
    manifests = sorted(loads.glob(f"*/{MANIFEST}"))
    if not manifests:
        raise SystemExit(f"{loads}: no {MANIFEST}: the last load has not arrived (carry it in this call)")
    manifest = json.loads(manifests[-1].read_text())
    parts = {int(p.name.rsplit(".", 1)[1]): p for p in loads.glob("*/bundle.tar.*")}
    missing = [k for k in range(manifest["parts"]) if k not in parts]
    if missing:
        raise SystemExit(
            f"{loads}: loads {', '.join(f'{k:02d}' for k in missing)} missing on this machine (a fresh machine "
            "keeps none: carry every load again, one per call, the machine kept warm between the calls)"
        )
    data = b"".join(parts[k].read_bytes() for k in range(manifest["parts"]))
    if len(data) != manifest["bytes"] or hashlib.sha256(data).hexdigest() != manifest["sha256"]:
        raise SystemExit(f"{loads}: the joined loads do not match {MANIFEST} (a stale load left by an earlier bundle?)")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        tar.extractall(target_parent, filter="data")  # refuses absolute paths and links out of the target


def batches(source: Path) -> list[list[Path]]:
    """The files under ``source`` in return batches: ≤ FILES_PER_BATCH files and ≤ BYTES_PER_BATCH bytes each."""
    out: list[list[Path]] = [[]]
    size = 0
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        n = path.stat().st_size
        if n > MAX_FILE:
            raise SystemExit(f"{path}: {n} bytes; split it into parts of at most {MAX_FILE} bytes first")
        if len(out[-1]) == FILES_PER_BATCH or size + n > BYTES_PER_BATCH:
            out.append([])
            size = 0
        out[-1].append(path)
        size += n
    return out


def send(source: Path, out: Path, k: int) -> None:
    """Copy batch ``k`` of ``source`` into ``out`` as ``out/<flattened relative path>``, with INDEX.txt."""
    all_batches = batches(source)
    if not 0 <= k < len(all_batches):
        raise SystemExit(f"batch {k} does not exist: {source} makes {len(all_batches)} batches (0…)")
    for path in all_batches[k]:
        # one folder deep at most: the device returns $OUT/a/b/file, not deeper
        relative = path.relative_to(source).parts
        target = out / relative[0] / "__".join(relative[1:]) if len(relative) > 1 else out / relative[0]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    lines = [f"batch {k} of {len(all_batches)} (0-based)"]
    lines += [f"batch {j}: {', '.join(str(p.relative_to(source)) for p in b)}" for j, b in enumerate(all_batches)]
    if k + 1 < len(all_batches):
        lines.append(f'next: run(command="python3 scripts/device/device_loads.py send .devreturn $OUT {k + 1}")')
    (out / INDEX).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv: list[str]) -> None:
    usage = "usage: device_loads.py pack SRC LOADS --budget BYTES | assemble LOADS PARENT | send DIR OUT K"
    if len(argv) < 3:
        raise SystemExit(usage)
    verb, a, b = argv[0], Path(argv[1]), Path(argv[2])
    if verb == "pack" and len(argv) == 5 and argv[3] == "--budget":
        for folder in pack(a, b, int(argv[4])):
            print(folder)
    elif verb == "assemble" and len(argv) == 3:
        assemble(a, b)
    elif verb == "send" and len(argv) == 4:
        send(a, b, int(argv[3]))
    else:
        raise SystemExit(usage)


if __name__ == "__main__":
    main(sys.argv[1:])
