"""A training run's resume state, small enough to commit: ``compact.safetensors`` + the run's JSON and ledger.

A full state (``RUN/last``: fp32 weights, Adam's two moments) of the 128/192 gained hyperprior is 62 MB; the
repository keeps every committed byte forever. The compact state keeps what resuming needs, at the precision
it needs:

- weights as a **bfloat16 delta from the run's base** (``--init-from``; the base's weights are already in the
  repository, found by their sha256): a fine-tuned weight is the base's plus a small change, and bf16 keeps 8
  bits of that change, an error ~2⁻⁹ of it — far below one optimizer step. A run without a base stores its
  weights in fp32. Integer buffers (the entropy coder's CDF tables) are stored as they are;
- Adam's second moment (``exp_avg_sq``, a ~1,000-step average that scales each parameter's step) as 8 bits of
  log₂ per value, between the tensor's min and max: a relative error of a few percent in a step size;
- Adam's first moment (a ~10-step average) is dropped: it is rebuilt within a few dozen steps.

``unpack`` rebuilds ``RUN/last`` (model.safetensors, optimizer.safetensors, train_state.json, meta.json,
ledger.csv) so that ``ipr-bench train --out RUN --continue`` resumes; tests/test_compact_state.py checks that a
run resumed from it follows the run resumed from the full state.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ipr_bench.core.errors import UnavailableError

COMPACT_FILE = "compact.safetensors"
COPIED = ("train_state.json", "meta.json", "ledger.csv")
LOG_FLOOR = -126.0  # log₂ of the smallest second moment kept apart from 0
BASES = "bases"  # beside the compact states: base weights by sha256 (the same bytes as a zoo file: free in git)


def _base_weights(state: dict[str, Any], bases: Path | None) -> dict[str, Any] | None:
    """The base's weights as the trainer initialised the run (levels extended), or None for a run without one."""
    base = state.get("init_from")
    if not base:
        return None
    from ipr_bench.training.finetune import extend_levels_below

    candidates = [bases / f"{base['sha256'][:16]}.safetensors"] if bases else []
    candidates.append(Path(base["path"]) / "model.safetensors")
    from safetensors.torch import load_file

    from ipr_bench.core.cache import file_sha256

    for path in candidates:
        if path.is_file() and file_sha256(path) == base["sha256"]:
            weights = load_file(str(path))
            config = state["config"]
            extra = len(config.get("rate_lambdas") or ()) - len(base.get("lambdas") or ())
            return extend_levels_below(weights, extra) if extra > 0 else weights
    raise UnavailableError(
        f"the run's base {base['source']} (sha256 {base['sha256'][:16]}) is not at {' or '.join(map(str, candidates))}"
    )


def pack(last: Path | str, dest: Path | str, bases: Path | str | None = None) -> Path:
    """Write the compact state of ``last`` (a run's last/) to ``dest``; the base's weights go to ``bases``."""
    import torch
    from safetensors.torch import load_file, save_file

    last, dest = Path(last), Path(dest)
    state = json.loads((last / "train_state.json").read_text())
    bases = Path(bases) if bases else dest.parent / BASES
    base = state.get("init_from")
    if base:
        bases.mkdir(parents=True, exist_ok=True)
        kept = bases / f"{base['sha256'][:16]}.safetensors"
        if not kept.is_file():
            shutil.copyfile(Path(base["path"]) / "model.safetensors", kept)
    reference = _base_weights(state, bases)
    weights = load_file(str(last / "model.safetensors"))
    tensors: dict[str, torch.Tensor] = {}
    for key, value in weights.items():
        if not value.is_floating_point():
            tensors[f"int.{key}"] = value
        elif reference is not None and key in reference and reference[key].shape == value.shape:
            tensors[f"delta.{key}"] = (value - reference[key].to(value.dtype)).to(torch.bfloat16)
        else:
            tensors[f"full.{key}"] = value
    optimizer = load_file(str(last / "optimizer.safetensors"))
    for key, value in optimizer.items():
        if key.endswith(".exp_avg_sq"):
            logs = torch.log2(value.float().clamp_min(2.0**LOG_FLOOR))
            lo, hi = logs.min(), logs.max()
            span = (hi - lo).clamp_min(1e-6)
            tensors[f"vq.{key}"] = torch.round((logs - lo) / span * 255).to(torch.uint8)
            tensors[f"vrange.{key}"] = torch.stack([lo, hi])
        elif key.endswith(".step"):
            tensors[f"opt.{key}"] = value
        # exp_avg: dropped (see the module docstring)
    dest.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(dest / f".{COMPACT_FILE}.tmp"))
    (dest / f".{COMPACT_FILE}.tmp").replace(dest / COMPACT_FILE)
    for name in COPIED:
        if (last / name).is_file():
            shutil.copyfile(last / name, dest / name)
    return dest / COMPACT_FILE


def unpack(source: Path | str, last: Path | str, bases: Path | str | None = None) -> Path:
    """Rebuild a resumable ``last/`` from a compact state (written file by file, the weights last but one and
    the train state last: a half-unpacked directory is never taken for a resumable one)."""
    import torch
    from safetensors.torch import load_file, save

    from ipr_bench.core.cache import atomic_write_bytes

    source, last = Path(source), Path(last)
    state = json.loads((source / "train_state.json").read_text())
    reference = _base_weights(state, Path(bases) if bases else source.parent / BASES)
    tensors = load_file(str(source / COMPACT_FILE))
    weights, optimizer = {}, {}
    for key, value in tensors.items():
        kind, name = key.split(".", 1)
        if kind == "int" or kind == "full":
            weights[name] = value
        elif kind == "delta":
            if reference is None:
                raise UnavailableError(f"{source}: weights stored as a delta but the state names no base")
            weights[name] = reference[name].float() + value.float()
        elif kind == "vq":
            lo, hi = tensors[f"vrange.{name}"]
            v = torch.exp2(lo + value.float() / 255 * (hi - lo))
            optimizer[name] = v
            optimizer[name.removesuffix("_sq")] = torch.zeros_like(v)  # exp_avg: rebuilt by training
        elif kind == "opt":
            optimizer[name] = value
    last.mkdir(parents=True, exist_ok=True)
    (last / "train_state.json").unlink(missing_ok=True)
    atomic_write_bytes(last / "optimizer.safetensors", save(optimizer))
    atomic_write_bytes(last / "model.safetensors", save(weights))
    for name in ("meta.json", "ledger.csv", "train_state.json"):
        if (source / name).is_file():
            atomic_write_bytes(last / name, (source / name).read_bytes())
    return last
