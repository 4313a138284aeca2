"""Compact copies of frozen recognizer weights, for carrying them where space is short (the 64 MiB that goes to a
lent GPU machine): each large weight tensor as int8 with one fp32 scale per output channel, the rest as is.

A FaceNet copy shrinks from 94 MB to 23 MB; its embeddings keep cosine >= 0.9998 to the full weights' (4 LFW
faces, tests/test_facenet.py), ample for a training loss. Evaluation uses the full weights.
"""

from __future__ import annotations

from typing import Any

FORMAT = "ipr-bench int8 per-output-channel v1"
MIN_ELEMENTS = 4096  # smaller tensors (biases, batch-norm statistics) stay fp32: they are a few percent of bytes


def compact(state: dict[str, Any]) -> dict[str, Any]:
    import torch

    out = {}
    for name, value in state.items():
        if value.is_floating_point() and value.ndim >= 2 and value.numel() >= MIN_ELEMENTS:
            rows = value.float().reshape(value.shape[0], -1)
            scale = rows.abs().amax(dim=1).clamp_min(1e-12) / 127
            q = (rows / scale[:, None]).round().clamp(-127, 127).to(torch.int8)
            out[f"{name}::int8"] = q.reshape(value.shape).contiguous()
            out[f"{name}::scale"] = scale.contiguous()
        else:
            out[name] = value.contiguous()
    return out


def expand(data: dict[str, Any]) -> dict[str, Any]:
    """The fp32 state dict a compact copy stands for."""
    state = {}
    for name, value in data.items():
        if name.endswith("::scale"):
            continue
        if name.endswith("::int8"):
            base = name[: -len("::int8")]
            scale = data[f"{base}::scale"]
            state[base] = (value.float().reshape(value.shape[0], -1) * scale[:, None]).reshape(value.shape)
        else:
            state[name] = value
    return state
