"""Training throughput, naive loop vs the fast one, for the MSE-only loss and with the identity term.

In one run on one device: for each loss (α = 0; α > 0 with the frozen FaceNet), the naive loop (numpy crops,
the originals' embeddings recomputed every step) and the resident loop (ipr_bench.training.resident: data, alignment and
the originals' embeddings on the device; on a GPU also fused Adam, bfloat16 recognizer, optionally
torch.compile and larger batches), timed in its steady state (the originals embedded during set-up, as they
are after a run's first epoch). Each variant is a real Trainer on the real LFW training images (the first
``--images``), warmed up, then timed over ``--steps`` steps (the GPU synchronised before and after).
Images/s = steps × batch / seconds. Rows go to results/training/bench_train.jsonl with the device and versions;
results/training/bench_train.md is regenerated from all rows (``--table-only`` does only that).

    python scripts/bench_train.py                       # here (CPU): the real model, a few steps
    python scripts/bench_train.py --precisions fp32,bf16,bf16+cl --threads 2   # + bf16 autocast, channels_last
    python scripts/bench_train.py --device cuda --steps 200 --batches 8,32 --compile   # in a GPU lease

``--precisions``: the resident loop again in each listed mode (fp32, bf16, and +cl for channels_last;
ipr_bench.training.precision); ``--note`` says what else ran on the machine (background jobs paused or not), recorded
in every row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "training" / "bench_train.jsonl"


def device_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    from ipr_bench.training.precision import native_bf16

    cpu = platform.processor() or platform.machine()
    # the vector unit decides bf16's speed (native on Zen 4 / Sapphire Rapids, emulated on Zen 3): rows from
    # different machines must say which they ran on
    isa = torch.backends.cpu.get_cpu_capability() + (" + native bf16" if native_bf16("cpu") else ", no native bf16")
    return f"cpu: {cpu} {isa}, {os.cpu_count()} cores, {torch.get_num_threads()} threads"


def measure(config, warmup: int, steps: int) -> dict:
    import torch

    from ipr_bench.training.train import Trainer

    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        trainer = Trainer(config, out)
        if trainer.resident is not None:  # steady state: after its first epoch a run embeds no original again
            trainer.resident.embed_all()
        setup = time.perf_counter() - t0
        for _ in range(warmup):  # includes torch.compile's compilation
            trainer.train_step()
        sync = torch.cuda.synchronize if config.device.startswith("cuda") else (lambda: None)
        sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            logs = trainer.train_step()
        loss = float(logs["loss"])  # waits for the last step
        sync()
        seconds = time.perf_counter() - t0
    return {
        "setup_s": round(setup, 2),
        "seconds": round(seconds, 3),
        "images_per_s": round(steps * config.batch_size / seconds, 2),
        "last_loss": round(loss, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto")
    parser.add_argument("--steps", type=int, default=6, help="timed steps per variant")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (compilation, allocator)")
    parser.add_argument("--images", type=int, default=48, help="LFW training images loaded (the first N)")
    parser.add_argument("--batch", type=int, default=8, help="the naive loop's batch size (the trainer's default)")
    parser.add_argument("--batches", default="", help="extra batch sizes for the resident loop, e.g. 32,64")
    parser.add_argument("--compile", action="store_true", help="also the resident loop under torch.compile")
    parser.add_argument("--channels", default="128,192", help="the model's N,M (the trainer's default)")
    parser.add_argument("--crop", type=int, default=192)
    parser.add_argument("--identity-weight", type=float, default=600.0)
    parser.add_argument("--precisions", default="", help="extra resident-loop modes, e.g. fp32,bf16,bf16+cl")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--note", default="", help="what else ran on the machine meanwhile (recorded per row)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--table-only", action="store_true", help="only rewrite the .md table from the .jsonl")
    args = parser.parse_args()
    if args.table_only:
        write_table(args.out)
        return

    import torch

    from ipr_bench.bench.provenance import provenance
    from ipr_bench.training.config import TrainConfig

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    if args.threads:
        torch.set_num_threads(args.threads)
    base = TrainConfig(
        args=tuple(int(c) for c in args.channels.split(",")),
        crop=args.crop,
        batch_size=args.batch,
        max_images=args.images,
        max_validation=1,
        device=device,
        steps=10**9,
    )
    # (loop, batch, compiled, precision, channels_last)
    variants = [("naive", args.batch, False, "fp32", False), ("resident", args.batch, False, "fp32", False)]
    extra = [int(b) for b in args.batches.split(",") if b]
    variants += [("resident", b, False, "fp32", False) for b in extra]
    for mode in (m for m in args.precisions.split(",") if m):
        precision, _, layout = mode.partition("+")
        if (precision, layout) != ("fp32", ""):
            variants.append(("resident", args.batch, False, precision, layout == "cl"))
    if args.compile:
        variants += [("resident", b, True, "fp32", False) for b in sorted({args.batch, *extra})]
    common = {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device": device_name(device),
        "torch": torch.__version__,
        "git_commit": provenance()["git_commit"],
        "architecture": f"{base.architecture} N,M={args.channels}",
        "crop": args.crop,
        "images_loaded": args.images,
        "warmup_steps": args.warmup,
        "steps": args.steps,
        "threads": torch.get_num_threads(),
        "note": args.note,
    }
    rows = []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for loss, alpha in (("mse", 0.0), ("identity (facenet)", args.identity_weight)):
        naive_rate = None
        for loop, batch, compiled, precision, channels_last in variants:
            config = replace(
                base,
                loop=loop,
                batch_size=batch,
                compile=compiled,
                identity_weight=alpha,
                precision=precision,
                channels_last=channels_last,
            )
            result = measure(config, args.warmup, args.steps)
            naive_rate = naive_rate or result["images_per_s"]
            row = common | {"loss": loss, "loop": loop, "batch": batch, "compile": compiled} | result
            row |= {"precision": precision, "channels_last": channels_last}
            row["speedup_vs_naive"] = round(result["images_per_s"] / naive_rate, 3)
            rows.append(row)
            with args.out.open("a") as f:  # row by row: a run stopped by its time limit keeps what it measured
                f.write(json.dumps(row) + "\n")
            print(
                f"{loss:20s} {loop:8s} {precision}{'+cl' if channels_last else '':3s} batch {batch:3d}"
                f"{' compiled' if compiled else '':9s} "
                f"{result['images_per_s']:8.2f} images/s  ×{row['speedup_vs_naive']:.2f}  "
                f"(setup {result['setup_s']} s)",
                flush=True,
            )
    print(f"appended {len(rows)} rows to {args.out}")
    write_table(args.out)


def write_table(jsonl: Path) -> Path:
    """bench_train.md beside the JSONL: one table per benchmark run (date, device), every variant a row."""
    from ipr_bench.core.cache import atomic_write_bytes

    rows = [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()]
    runs: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        runs.setdefault((row["date_utc"], row["device"]), []).append(row)
    lines = [
        "# Training throughput: naive loop vs resident loop, fp32 vs bf16",
        "",
        f"Generated by `python {Path(__file__).name}` "
        "(scripts/) from bench_train.jsonl; each table is one run on one device.",
        "",
    ]
    for (date, device), group in runs.items():
        first = group[0]
        lines += [
            f"## {date} — {device}",
            "",
            f"{first['architecture']}, crop {first['crop']}, torch {first['torch']}, {first['images_loaded']} LFW "
            f"training images loaded, {first['warmup_steps']} warm-up + {first['steps']} timed steps, "
            f"git {first['git_commit'][:10]}"
            + (f", {first['threads']} threads" if first.get("threads") else "")
            + (f"; meanwhile: {first['note']}" if first.get("note") else ""),
            "",
            "| loss | loop | precision | layout | batch | compiled | images/s | × naive | setup s |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in group:
            layout = "channels_last" if r.get("channels_last") else "contiguous"
            lines.append(
                f"| {r['loss']} | {r['loop']} | {r.get('precision', 'fp32')} | {layout} | {r['batch']} | "
                f"{'yes' if r['compile'] else 'no'} | {r['images_per_s']:.2f} | {r['speedup_vs_naive']:.2f} | "
                f"{r['setup_s']:.1f} |"
            )
        lines.append("")
    path = jsonl.with_suffix(".md")
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode())
    return path


if __name__ == "__main__":
    main()
