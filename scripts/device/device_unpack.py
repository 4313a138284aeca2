"""Bring a lease's checkpoints home: join the 15 MiB parts scripts/device/device_train.sh returned (NAME/FILE.partNN,
over one or more calls' $OUT batches) back into run directories NAME/last/FILE, check each loads (safetensors,
no pickle), print each run's step and last validation, and keep the logs; the lease's extras (bench_train rows, the
codec check) go to TARGET/lease-extras/ (then: python scripts/device/device_codec_check.py decode FILE --model RUN/last
decodes the GPU's payloads on this CPU as well; bench rows: append to results/training/bench_train.jsonl).

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
    runs = {path.parent.parent.name for path in join_parts(args.sources, args.target)}
    for log in sorted(p for s in args.sources for p in s.glob("logs/*.log")):
        # a run's log goes beside it; the lease's own (bench, codec check) with the extras
        folder = args.target / log.stem if log.stem in runs else args.target / "lease-extras"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ("lease.log" if log.stem in runs else log.name)).write_bytes(log.read_bytes())
    for extra in sorted(p for s in args.sources for p in s.glob("extras/*")):  # bench rows, codec checks
        (args.target / "lease-extras").mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(args.target / "lease-extras" / extra.name, extra.read_bytes())
        print(f"{extra.name} → {args.target / 'lease-extras'}")
    from ipr_bench.learned.checkpoint import load_checkpoint

    for state in sorted(args.target.glob("*/last/train_state.json")):
        _, meta = load_checkpoint(state.parent)
        history = json.loads(state.read_text()).get("history") or [{}]
        print(f"{state.parent.parent.name}: step {meta['steps']}, validation {history[-1]}")


if __name__ == "__main__":
    main()
