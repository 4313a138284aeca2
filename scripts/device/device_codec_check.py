"""Does a learned payload encoded on one device decode to the same pixels on another? And what batching buys.

The entropy coder only works if the decoder recomputes exactly the scales the encoder used: the hyperprior's
scales are rounded to their CDF-table index in float64 (ipr_bench.learned.coding) so that a GPU encoder and a CPU
decoder agree, but that was never checked across devices. This script checks it, with real checkpoints:

    encode (on the lent GPU):  for each level, N same-sized LFW images → payloads, batched, and the device's own
                               decode of each (sha256 of the uint8 pixels); times a batched and a one-image loop
    decode (a fresh process, CPU; at home too): decodes every payload one by one, compares the pixels' sha256
                               with the encoder side's, and counts identical reconstructions per level

Everything goes into one JSON file (payloads base64), because a device call brings back at most 8 files:

    python scripts/device/device_codec_check.py encode runs/arms/ipr-ft/last --device cuda --n 64 --out check.json
    python scripts/device/device_codec_check.py decode check.json --device cpu     # adds its counts to the file

Images: the first N 250×250 JPEGs under $IPR_BENCH_DATA (sorted paths; the lease's bundle holds LFW training
images), the same list on every machine.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np


def images(n: int, root: Path | None = None) -> tuple[list[str], list[np.ndarray]]:
    from ipr_bench.core.images import read_rgb

    root = root or Path(os.environ.get("IPR_BENCH_DATA", "."))
    names, out = [], []
    for path in sorted(root.rglob("*.jpg")):
        image = read_rgb(path)
        if image.shape[:2] == (250, 250):
            names.append(str(path.relative_to(root)))
            out.append(image)
        if len(out) == n:
            break
    if len(out) < n:
        raise SystemExit(f"{root}: only {len(out)} 250×250 JPEGs, {n} asked for")
    return names, out


def digest(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()


def synchronise(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def where(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return f"cpu: {platform.processor() or platform.machine()} {torch.backends.cpu.get_cpu_capability()}"


def encode(model_dir: Path, device: str, n: int, loop_n: int, out: Path) -> dict[str, Any]:
    import torch

    from ipr_bench.learned.checkpoint import WEIGHTS_FILE, load_checkpoint
    from ipr_bench.learned.coding import compress_images, decompress_payloads, level_rate_point

    model, meta = load_checkpoint(model_dir, device)
    levels = int(meta.get("levels") or 1)
    names, pictures = images(n)
    torch.manual_seed(0)
    report: dict[str, Any] = {
        "model": str(model_dir),
        "weights_sha256": hashlib.sha256((model_dir / WEIGHTS_FILE).read_bytes()).hexdigest(),
        "steps": meta.get("steps"),
        "encoder": where(device),
        "torch": torch.__version__,
        "images": names,
        "levels": {},
    }
    compress_images(model, pictures[:2], level_rate_point(0, levels) if levels > 1 else 1, device)  # warm-up
    for q in range(1, levels + 1):
        point = level_rate_point(q - 1, levels) if levels > 1 else 1
        synchronise(device)
        t0 = time.perf_counter()
        payloads = compress_images(model, pictures, point, device)
        synchronise(device)
        t1 = time.perf_counter()
        decoded = decompress_payloads(model, payloads, device)
        synchronise(device)
        t2 = time.perf_counter()
        for image in pictures[:loop_n]:  # one image at a time: what a per-image codec loop costs here
            compress_images(model, [image], point, device)
        synchronise(device)
        t3 = time.perf_counter()
        for payload in payloads[:loop_n]:
            decompress_payloads(model, [payload], device)
        synchronise(device)
        t4 = time.perf_counter()
        report["levels"][str(q)] = {
            "payloads": [base64.b64encode(p).decode() for p in payloads],
            "sha256": [digest(x) for x in decoded],
            "bpp": float(np.mean([8 * len(p) / (250 * 250) for p in payloads])),
            "images_per_s": {
                "encode_batched": n / (t1 - t0),
                "decode_batched": n / (t2 - t1),
                "encode_one_by_one": loop_n / (t3 - t2),
                "decode_one_by_one": loop_n / (t4 - t3),
            },
        }
        rates = report["levels"][str(q)]["images_per_s"]
        print(f"q{q}: " + ", ".join(f"{k} {v:.1f} img/s" for k, v in rates.items()), flush=True)
    out.write_text(json.dumps(report) + "\n")
    return report


def decode(check: Path, device: str, model_dir: Path | None = None) -> dict[str, Any]:
    """Decode every payload of ``check`` here, one by one; record how many match the encoder side's pixels.
    ``model_dir``: where the same checkpoint lies on this machine (its weights' sha256 must match)."""
    from ipr_bench.learned.checkpoint import WEIGHTS_FILE, load_checkpoint
    from ipr_bench.learned.coding import decompress_payloads

    report = json.loads(check.read_text())
    model_dir = model_dir or Path(report["model"])
    if hashlib.sha256((model_dir / WEIGHTS_FILE).read_bytes()).hexdigest() != report["weights_sha256"]:
        raise SystemExit(f"{model_dir}: not the checkpoint the payloads were encoded with (weights differ)")
    model, _ = load_checkpoint(model_dir, device)
    here = where(device)
    counts = {}
    for q, level in report["levels"].items():
        same = 0
        for payload, expected in zip(level["payloads"], level["sha256"], strict=True):
            # a desynchronised entropy decoder may fail outright: that payload is not identical
            with contextlib.suppress(Exception):
                same += digest(decompress_payloads(model, [base64.b64decode(payload)], device)[0]) == expected
        counts[q] = {"identical": same, "of": len(level["payloads"])}
        print(f"q{q}: {same}/{len(level['payloads'])} identical to the encoder's own decode", flush=True)
    report.setdefault("decoders", {})[here] = counts
    tmp = check.with_suffix(".tmp")
    tmp.write_text(json.dumps(report) + "\n")
    tmp.replace(check)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True)
    enc = sub.add_parser("encode")
    enc.add_argument("model", type=Path, help="a checkpoint directory (RUN/last)")
    enc.add_argument("--device", default="cuda")
    enc.add_argument("--n", type=int, default=64)
    enc.add_argument("--loop-n", type=int, default=16, help="images timed one at a time")
    enc.add_argument("--out", type=Path, required=True)
    dec = sub.add_parser("decode")
    dec.add_argument("check", type=Path)
    dec.add_argument("--device", default="cpu")
    dec.add_argument("--model", type=Path, help="the same checkpoint's directory here (default: the encoder's path)")
    args = parser.parse_args()
    if args.step == "encode":
        encode(args.model, args.device, args.n, args.loop_n, args.out)
    else:
        decode(args.check, args.device, args.model)


if __name__ == "__main__":
    main()
