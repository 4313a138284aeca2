"""Local executor vs Ray on the same work, in one run, and Ray's overhead per task.

Work: the runner over N LFW images (fold 1), originals + JPEG q 20/50 + HEVC CRF 28/38, ArcFace, chunks of 8
images; every configuration starts from an empty cache and store. Configurations: local with 1 (in-process)
and 2 worker processes; Ray (an in-process cluster started by ``ray.init``) with 1 and 2 CPUs, i.e. 1 and 2
worker processes. Ray's overhead per task is measured separately: the mean wall time of 200 empty tasks
submitted at once, on the 2-CPU cluster.

    python scripts/bench_executor.py --n 80     # prints a table, appends a JSON line to results/bench/
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from ipr_bench import evaluate
from ipr_bench.core.registry import create_dataset
from ipr_bench.datasets.base import Dataset

OUT = Path(__file__).resolve().parents[1] / "results" / "bench" / "bench_executor.jsonl"


def subset(n: int) -> Dataset:
    return create_dataset("lfw").select_folds([1]).head(n)


def timed_run(ds: Dataset, executor: str, workers: int) -> tuple[float, int]:
    """The runner's wall time inside ``evaluate`` and its chunk tasks, fresh store and cache."""
    with tempfile.TemporaryDirectory() as tmp:
        run = evaluate(
            dataset=ds,
            codecs=["jpeg", "hevc"],
            qualities={"jpeg": [20, 50], "hevc": [28, 38]},
            recognizers=["arcface"],
            out=Path(tmp) / "out",
            cache=str(Path(tmp) / "c"),
            workers=workers,
            chunk_size=8,
            executor=executor,
            progress=False,
            report=False,
        )
        return run.elapsed_s, run.tasks


def empty_task_overhead(n: int = 200) -> float:
    import ray

    @ray.remote(num_cpus=1)
    def nothing() -> None:
        return None

    ray.get([nothing.remote() for _ in range(8)])  # workers up
    t0 = time.perf_counter()
    ray.get([nothing.remote() for _ in range(n)])
    return (time.perf_counter() - t0) / n


def main() -> None:
    import ray

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=80)
    args = ap.parse_args()
    ds = subset(args.n)
    rows = []
    for workers in (1, 2):
        wall, tasks = timed_run(ds, "local", workers)
        rows.append({"executor": "local", "workers": workers, "wall_s": round(wall, 2), "tasks": tasks})
    for cpus in (1, 2):
        ray.init(num_cpus=cpus, include_dashboard=False, logging_level="ERROR")
        try:
            wall, tasks = timed_run(ds, "ray", cpus)
            row = {"executor": "ray", "workers": cpus, "wall_s": round(wall, 2), "tasks": tasks}
            if cpus == 2:
                row["empty_task_ms"] = round(1000 * empty_task_overhead(), 2)
            rows.append(row)
        finally:
            ray.shutdown()
    print(f"{len(ds.items)} images, {rows[0]['tasks']} chunk tasks, {os.cpu_count()} cores")
    print("| executor | worker processes | wall s | vs local, same workers |")
    print("|---|---|---|---|")
    local = {r["workers"]: r["wall_s"] for r in rows if r["executor"] == "local"}
    for r in rows:
        print(f"| {r['executor']} | {r['workers']} | {r['wall_s']:.1f} | ×{r['wall_s'] / local[r['workers']]:.2f} |")
    overhead = next(r["empty_task_ms"] for r in rows if "empty_task_ms" in r)
    print(f"Ray overhead per task (200 empty tasks, 2 CPUs): {overhead:.2f} ms")
    record = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "ray": ray.__version__,
        "images": len(ds.items),
        "rows": rows,
        "command": f"python scripts/bench_executor.py --n {args.n}",
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("a") as f:
        f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
