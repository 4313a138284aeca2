"""Bring a lease's checkpoints home: join the 15 MiB parts scripts/device/device_train.sh returned (NAME/FILE.partNN,
over one or more calls' $OUT batches) back into run directories NAME/last/FILE, check each loads (safetensors,
no pickle), print each run's step and last validation, and keep the logs.

Usage: python scripts/device/device_unpack.py FILES_AT_1 [FILES_AT_2 …] runs/zoo
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from ipr_bench.core.cache import atomic_write_bytes

PART_SUFFIX = re.compile(r"\.part[0-9][0-9]$")


def join_parts(sources: list[Path], target: Path) -> list[Path]:
    """NAME/FILE.partNN under any of ``sources`` → target/NAME/last/FILE, written atomically."""
    parts: dict[str, list[Path]] = {}
    for source in sources:
        for part in sorted(source.glob("*/*.part[0-9][0-9]")):
            whole = f"{part.parent.name}/last/{PART_SUFFIX.sub('', part.name)}"
            parts.setdefault(whole, []).append(part)
    written = []
    # the state file last: a run directory whose state is newer than its weights is never read back
    for whole in sorted(parts, key=lambda name: name.endswith("train_state.json")):
        data = b"".join(p.read_bytes() for p in sorted(parts[whole], key=lambda p: p.name))
        atomic_write_bytes(target / whole, data)
        written.append(target / whole)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="+", type=Path, help="the files_at folder of each call that returned files")
    parser.add_argument("target", type=Path, help="where the run directories live here (e.g. runs/zoo)")
    args = parser.parse_args()
    join_parts(args.sources, args.target)
    for log in sorted(p for s in args.sources for p in s.glob("logs/*.log")):
        (args.target / log.stem).mkdir(parents=True, exist_ok=True)
        (args.target / log.stem / "lease.log").write_bytes(log.read_bytes())
    from ipr_bench.learned.checkpoint import load_checkpoint

    for state in sorted(args.target.glob("*/last/train_state.json")):
        _, meta = load_checkpoint(state.parent)
        history = json.loads(state.read_text()).get("history") or [{}]
        print(f"{state.parent.parent.name}: step {meta['steps']}, validation {history[-1]}")


if __name__ == "__main__":
    main()
