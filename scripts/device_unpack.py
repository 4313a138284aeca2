"""Bring a lease's checkpoints home: join the 15 MiB parts scripts/device_train.sh wrote under $OUT back into
run directories, check each loads (safetensors, no pickle), and print each run's step and last validation.

Usage: python scripts/device_unpack.py FILES_AT/runs runs/zoo
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from ipr_bench.cache import atomic_write_bytes


def join_parts(source: Path, target: Path) -> list[Path]:
    parts: dict[str, list[Path]] = {}
    for part in sorted(source.rglob("*.part[0-9][0-9]")):
        whole = re.sub(r"\.part\d\d$", "", str(part.relative_to(source)))
        parts.setdefault(whole, []).append(part)
    written = []
    # the state file last: a run directory whose state is newer than its weights is never read back
    for whole in sorted(parts, key=lambda name: name.endswith("train_state.json")):
        data = b"".join(p.read_bytes() for p in sorted(parts[whole]))
        atomic_write_bytes(target / whole, data)
        written.append(target / whole)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="the runs/ folder of a lease's returned files")
    parser.add_argument("target", type=Path, help="where the run directories live here (e.g. runs/zoo)")
    args = parser.parse_args()
    join_parts(args.source, args.target)
    from ipr_bench.learned import load_checkpoint

    for state in sorted(args.target.glob("*/last/train_state.json")):
        _, meta = load_checkpoint(state.parent)
        history = json.loads(state.read_text()).get("history") or [{}]
        print(f"{state.parent.parent.name}: step {meta['steps']}, validation {history[-1]}")


if __name__ == "__main__":
    main()
