"""Learned-codec checkpoints: build a CompressAI model, save and load it.

Checkpoint = a directory with ``model.safetensors`` (the state dict after ``update()``, so the entropy coder's
CDF tables travel with it) and ``meta.json`` (architecture, its arguments, λ, loss weights, training
recognizer(s), data, steps, git commit). A directory of such directories is a multi-rate codec: qualities
1…K in increasing λ order. Nothing is unpickled.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ipr_bench.core.cache import atomic_write_bytes
from ipr_bench.core.errors import UnavailableError

VARIABLE_RATE = "gained-hyperprior"  # ipr_bench.learned.variable_rate's architecture (named here: no compressai import)
WEIGHTS_FILE = "model.safetensors"
META_FILE = "meta.json"


LEVEL_STEPS = 4  # variable-rate payloads: quarter levels


def build_model(architecture: str, args: list[int]) -> Any:
    import warnings

    with warnings.catch_warnings():  # compressai 1.2.8 calls the deprecated torch.jit.script at import
        warnings.filterwarnings("ignore", category=FutureWarning, message=".*torch.jit.script.*")
        from compressai.zoo.image import model_architectures

        from ipr_bench.learned.variable_rate import GainedScaleHyperprior

    if architecture == VARIABLE_RATE:
        if len(args) != 3:
            raise UnavailableError(f"{VARIABLE_RATE} takes N, M and the number of levels, not {args}")
        return with_fast_indexes(GainedScaleHyperprior(*args))
    if architecture not in model_architectures:
        raise UnavailableError(
            f"unknown CompressAI architecture {architecture!r}; known: {sorted(model_architectures)}"
        )
    return with_fast_indexes(model_architectures[architecture](*args))


def fast_build_indexes(conditional: Any, scales: Any) -> Any:
    """CompressAI's ``GaussianConditional.build_indexes`` as one ``searchsorted``: the same integers (each scale's
    count of table entries below it, by the same exact comparisons), where CompressAI makes two passes over the
    tensor per table entry (64 entries: 3 s of a 4 s encode + decode of one LFW image on this CPU)."""
    import torch

    scales = conditional.lower_bound_scale(scales)
    table = conditional.scale_table[:-1].to(device=scales.device, dtype=scales.dtype).contiguous()
    return torch.searchsorted(table, scales.contiguous()).int()


def with_fast_indexes(model: Any) -> Any:
    """``model`` with fast_build_indexes in its Gaussian conditional, if it has one (the bitstreams are unchanged)."""
    from functools import partial

    conditional = getattr(model, "gaussian_conditional", None)
    if conditional is not None:
        conditional.build_indexes = partial(fast_build_indexes, conditional)
    return model


def save_checkpoint(model: Any, directory: Path | str, meta: dict[str, Any]) -> Path:
    """Write model.safetensors (after update(), so the CDF tables are included) and meta.json, each atomically."""
    from safetensors.torch import save

    directory = Path(directory)
    for key in ("architecture", "args"):
        if key not in meta:
            raise ValueError(f"checkpoint metadata needs {key!r}")
    model.update(force=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(directory / WEIGHTS_FILE, save(state))
    atomic_write_bytes(directory / META_FILE, (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode())
    return directory


def load_weights(model: Any, state: dict[str, Any]) -> Any:
    """Load a state dict into a model whose entropy coders may already hold CDF tables of another size.

    CompressAI resizes those buffers only when they are empty (a fresh model); a model that was loaded or
    updated once must have them resized to the incoming tables first."""
    from compressai.entropy_models import EntropyBottleneck, GaussianConditional
    from compressai.models.utils import update_registered_buffers

    for name, module in model.named_modules():
        if isinstance(module, EntropyBottleneck | GaussianConditional) and f"{name}._quantized_cdf" in state:
            update_registered_buffers(module, name, ["_quantized_cdf", "_offset", "_cdf_length"], state, "resize")
    model.load_state_dict(state)
    return model


def read_meta(directory: Path) -> dict[str, Any]:
    path = directory / META_FILE
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise UnavailableError(f"{directory} is not a learned-codec checkpoint: no {META_FILE}") from None
    except json.JSONDecodeError as exc:
        raise UnavailableError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    for key in ("architecture", "args"):
        if key not in meta:
            raise UnavailableError(f"{path}: missing {key!r}")
    return meta


def load_checkpoint(directory: Path | str, device: str = "cpu") -> tuple[Any, dict[str, Any]]:
    """(model in eval mode with its entropy coder ready, metadata)."""
    from safetensors.torch import load_file

    directory = Path(directory)
    meta = read_meta(directory)
    if not (directory / WEIGHTS_FILE).is_file():
        raise UnavailableError(f"{directory}: no {WEIGHTS_FILE}")
    model = build_model(meta["architecture"], meta["args"])
    # CompressAI resizes the entropy coder's buffers to the stored CDF tables when loading
    model.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
    return model.to(device).eval(), meta


def checkpoint_dirs(root: Path | str) -> list[Path]:
    """The rate points of a codec directory: itself, or its checkpoint subdirectories (or their ``last/``, as
    training writes them) in increasing λ."""
    root = Path(root)
    if (root / META_FILE).is_file():
        return [root]
    subdirs = []
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        if (d / META_FILE).is_file():
            subdirs.append(d)
        elif (d / "last" / META_FILE).is_file():  # a directory of training runs (ipr-bench train --out DIR/qK)
            subdirs.append(d / "last")
    if not subdirs:
        raise UnavailableError(f"no learned-codec checkpoint under {root} (expected {META_FILE} + {WEIGHTS_FILE})")
    return sorted(subdirs, key=lambda d: float(read_meta(d).get("lambda", 0.0)))


def checkpoint_digest(directory: Path) -> str:
    digest = hashlib.sha256()
    for name in (WEIGHTS_FILE, META_FILE):
        digest.update((directory / name).read_bytes())
    return digest.hexdigest()[:16]
