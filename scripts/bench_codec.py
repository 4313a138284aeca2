"""Learned-codec throughput: the batched codec against a one-image-at-a-time loop, same checkpoint, device and run.

The loop is what CompressAI's ``eval_model`` does: for each image, ``compress`` then ``decompress`` with a batch
of one. The batched path is the harness's own (``LearnedCodec.encode_batch`` / ``decode_batch``: batches of one
image size and rate point). Both produce real payloads through CompressAI's entropy coder, timed with the device
synchronised, after a warm-up of each. Images/s counts one encode plus one decode per image. The run also checks
what batching must not change:

- ``batched_payloads_equal``: share of images whose batched payload is byte-identical to the loop's;
- ``decode_agrees``: share whose batched decode equals the one-at-a-time decode of the same payload.

Rows go to results/bench/bench_codec.jsonl (device, versions, checkpoint digest). ``--save-payloads FILE`` also
writes the batched payloads (hex) with each decoded image's PSNR and sha256, so that a stream encoded on a GPU can
be decoded on another machine and compared (``--check-payloads FILE`` does that here).

    python scripts/bench_codec.py --checkpoint runs/zoo/ipr/last --n 64                # here (CPU)
    python scripts/bench_codec.py --checkpoint runs/zoo/ipr/last --device cuda --n 512  # in a GPU lease
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ipr_bench.core.images import psnr

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "bench" / "bench_codec.jsonl"


def lfw_images(n: int, root: Path | None) -> list[np.ndarray]:
    """The first ``n`` 250×250 LFW images under ``root`` (default: the data root's lfw/), sorted by path."""
    from ipr_bench.core.images import read_rgb
    from ipr_bench.core.paths import data_root

    paths = sorted((root or data_root() / "lfw").rglob("*.jpg"))[:n]
    if len(paths) < n:
        raise SystemExit(f"{root}: {len(paths)} images, {n} asked for")
    return [read_rgb(p) for p in paths]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True, help="a learned checkpoint directory")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n", type=int, default=64, help="images")
    parser.add_argument("--quality", type=float, default=3.0, help="the codec quality (a variable-rate level)")
    parser.add_argument("--images", type=Path, default=None, help="folder of LFW images (default: data root)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--save-payloads", type=Path, default=None, help="JSON of payloads + decoded PSNR/sha256")
    parser.add_argument("--check-payloads", type=Path, default=None, help="decode a saved JSON here and compare")
    args = parser.parse_args()
    if args.check_payloads:
        check_payloads(args.check_payloads, args.checkpoint, args.device, args.images)
        return

    import compressai
    import torch

    from ipr_bench.core.cache import atomic_write_bytes
    from ipr_bench.core.registry import create_codec
    from ipr_bench.learned.checkpoint import checkpoint_digest

    images = lfw_images(args.n, args.images)
    codec = create_codec(f"learned:{args.checkpoint}", device=args.device)
    q = args.quality

    def sync() -> None:
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    def loop(batch: list[np.ndarray]) -> tuple[list[bytes], list[np.ndarray]]:
        payloads, decoded = [], []
        for image in batch:
            payloads.append(codec.encode(image, q).payload)
            decoded.append(codec.decode(payloads[-1]))
        return payloads, decoded

    def batched(batch: list[np.ndarray]) -> tuple[list[bytes], list[np.ndarray]]:
        payloads = [e.payload for e in codec.encode_batch(batch, q)]
        decoded = codec.decode_batch(payloads)
        failed = [d for d in decoded if isinstance(d, Exception)]
        if failed:
            raise SystemExit(f"batched decode failed: {failed[0]}")
        return payloads, decoded  # type: ignore[return-value]

    loop(images[:2])  # warm-up: model load, kernels, allocator
    batched(images[: min(len(images), 32)])
    timings = {}
    results = {}
    for name, fn in (("loop", loop), ("batched", batched)):
        sync()
        t0 = time.perf_counter()
        results[name] = fn(images)
        sync()
        timings[name] = time.perf_counter() - t0
        print(f"{name}: {len(images) / timings[name]:.1f} images/s (encode + decode)", flush=True)
    loop_payloads, loop_decoded = results["loop"]
    batch_payloads, batch_decoded = results["batched"]
    same_payload = float(np.mean([a == b for a, b in zip(loop_payloads, batch_payloads, strict=True)]))
    single = [codec.decode(p) for p in batch_payloads]
    agrees = float(np.mean([np.array_equal(a, b) for a, b in zip(single, batch_decoded, strict=True)]))
    bpp = 8 * sum(len(p) for p in batch_payloads) / sum(im.shape[0] * im.shape[1] for im in images)
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"cpu: {platform.machine()}"
    row = {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device": device,
        "torch": torch.__version__,
        "compressai": compressai.__version__,
        "checkpoint": str(args.checkpoint),
        "checkpoint_sha256_16": checkpoint_digest(codec.rate_points[0]),
        "n_images": len(images),
        "quality": q,
        "bpp": round(bpp, 4),
        "loop_images_per_s": round(len(images) / timings["loop"], 2),
        "batched_images_per_s": round(len(images) / timings["batched"], 2),
        "speedup": round(timings["loop"] / timings["batched"], 2),
        "batched_payloads_equal": same_payload,
        "decode_agrees": agrees,
    }
    print(json.dumps(row), flush=True)
    old = args.out.read_bytes() if args.out.is_file() else b""
    atomic_write_bytes(args.out, old + (json.dumps(row) + "\n").encode())
    if args.save_payloads:
        saved = {
            "row": row,
            "payloads": [p.hex() for p in batch_payloads],
            "psnr": [psnr(a, b) for a, b in zip(images, batch_decoded, strict=True)],
            "sha256": [hashlib.sha256(d.tobytes()).hexdigest() for d in batch_decoded],
        }
        atomic_write_bytes(args.save_payloads, json.dumps(saved).encode())


def check_payloads(saved_file: Path, checkpoint: Path, device: str, images_root: Path | None) -> None:
    """Decode payloads saved on another device here: how many decode to the same pixels, and the largest PSNR
    drop (a stream that decodes to other symbols — mismatched entropy-model indexes — drops by many dB)."""
    from ipr_bench.core.registry import create_codec

    saved = json.loads(saved_file.read_text())
    images = lfw_images(len(saved["payloads"]), images_root)
    codec = create_codec(f"learned:{checkpoint}", device=device)
    decoded = [codec.decode(bytes.fromhex(p)) for p in saved["payloads"]]
    same = [hashlib.sha256(d.tobytes()).hexdigest() == h for d, h in zip(decoded, saved["sha256"], strict=True)]
    drops = [there - psnr(im, d) for im, d, there in zip(images, decoded, saved["psnr"], strict=True)]
    print(
        json.dumps(
            {
                "encoded_on": saved["row"]["device"],
                "decoded_on": device,
                "n": len(decoded),
                "identical_pixels": float(np.mean(same)),
                "max_psnr_drop_db": round(max(drops), 4),
                "mean_psnr_drop_db": round(float(np.mean(drops)), 5),
            }
        )
    )


if __name__ == "__main__":
    main()
