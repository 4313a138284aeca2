"""Commit training runs compactly, and get them back on a fresh machine (ipr_bench.training.compact_state).

    python scripts/training_state.py pack runs/arms/mse-ft runs/arms/ipr-ft runs/arms/ipr-roi-ft
        → results/training/state/<name>/ (compact.safetensors, train_state.json, meta.json, ledger.csv) and the
          base's weights in results/training/state/bases/ (the same bytes as the zoo's file: nothing new in git)
    python scripts/training_state.py unpack results/training/state/ipr-ft runs/arms/ipr-ft
        → runs/arms/ipr-ft/last/, resumable (scripts/train_arms.py, ipr-bench train --continue)
    python scripts/training_state.py check runs/arms/ipr-ft
        → packs and unpacks into a temporary folder and reports how far the weights moved (max |Δ|, relative)

A full state is ~62 MB per run (fp32 weights + Adam's two moments); the compact one is the bf16 change since
the base, and Adam's second moment in 8 bits — commit it at most once per session.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / "results" / "training" / "state"


def pack_runs(runs: list[Path], dest: Path) -> None:
    from ipr_bench.training.compact_state import pack

    for run in runs:
        target = pack(run / "last", dest / run.name, dest / "bases")
        size = sum(f.stat().st_size for f in target.parent.iterdir() if f.is_file())
        print(f"{run} → {target.parent} ({size / 1e6:.1f} MB)")


def check_run(run: Path) -> None:
    import torch
    from safetensors.torch import load_file

    from ipr_bench.training.compact_state import pack, unpack

    with tempfile.TemporaryDirectory() as tmp:
        pack(run / "last", Path(tmp) / "state", Path(tmp) / "bases")
        back = unpack(Path(tmp) / "state", Path(tmp) / "last", Path(tmp) / "bases")
        a, b = load_file(str(run / "last" / "model.safetensors")), load_file(str(back / "model.safetensors"))
        worst = max(float((a[k].float() - b[k].float()).abs().max()) for k in a if a[k].is_floating_point())
        scale = max(float(a[k].float().abs().max()) for k in a if a[k].is_floating_point())
        same = all(torch.equal(a[k], b[k]) for k in a if not a[k].is_floating_point())
        print(f"{run}: max |Δweight| {worst:.2e} (largest weight {scale:.2f}); integer tables equal: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="verb", required=True)
    p = sub.add_parser("pack")
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--dest", type=Path, default=STATE)
    u = sub.add_parser("unpack")
    u.add_argument("state", type=Path)
    u.add_argument("run", type=Path)
    c = sub.add_parser("check")
    c.add_argument("run", type=Path)
    args = parser.parse_args()
    if args.verb == "pack":
        pack_runs(args.runs, args.dest)
    elif args.verb == "unpack":
        from ipr_bench.training.compact_state import unpack

        print(unpack(args.state, args.run / "last", args.state.parent / "bases"))
    else:
        check_run(args.run)


if __name__ == "__main__":
    main()
