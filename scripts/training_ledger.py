"""results/training/ledger.csv: every training session of the given runs, one row each, oldest first.

Each run keeps its own ledger in RUN/last/ledger.csv (ipr_bench.training.train writes a row when a session ends: a GPU
lease, a CPU run); this gathers them with the run's name, so the project's record says which lease trained what:

    python scripts/training_ledger.py runs/zoo/ipr-q3 runs/zoo/mse-q3 [--out results/training/ledger.csv]
    python scripts/training_ledger.py --keep runs/arms/*     # add these runs' sessions to the committed rows

``--keep`` keeps the rows already in --out (runs trained on other machines, whose run folders are not here);
a session already there (same run and date) is not added twice.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def gather(runs: list[Path]) -> list[dict[str, str]]:
    from ipr_bench.training.train import LEDGER_FILE

    rows = []
    for run in runs:
        path = run / "last" / LEDGER_FILE
        if not path.is_file():
            raise SystemExit(f"{path}: no ledger (train the run with this version of ipr-bench first)")
        rows += [{"run": run.name} | row for row in csv.DictReader(io.StringIO(path.read_text()))]
    return sorted(rows, key=lambda r: (r["date_utc"], r["run"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "training" / "ledger.csv")
    parser.add_argument("--keep", action="store_true", help="keep the rows already in --out")
    args = parser.parse_args()

    from ipr_bench.core.cache import atomic_write_csv

    rows = gather(args.runs)
    if args.keep and args.out.is_file():
        kept = list(csv.DictReader(io.StringIO(args.out.read_text())))
        seen = {(r["run"], r["date_utc"]) for r in kept}
        rows = sorted(kept + [r for r in rows if (r["run"], r["date_utc"]) not in seen], key=lambda r: r["date_utc"])
    atomic_write_csv(args.out, rows, list(dict.fromkeys(k for row in rows for k in row)))
    print(f"{args.out}: {len(rows)} sessions of {len(args.runs)} runs")


if __name__ == "__main__":
    main()
