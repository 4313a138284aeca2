"""How a training step runs on the hardware: bfloat16 autocast, memory layout, threads.

bf16 (``--precision bf16``) autocasts the codec's analysis and synthesis transforms (g_a, h_a, h_s, g_s) and the
frozen recognizer — the convolutions, which are nearly all of a step's time. Everything that decides rate stays
float32: the quantisation (noise or rounding), the entropy models and their likelihoods, the gains, the rate
term and the loss. Each transform's output is cast back to float32 before it meets them. On a Zen 4 CPU
(avx512_bf16) a step of the 128/192 hyperprior at crop 192 takes 649 ms instead of 1,638 (../shared measurement).
Without native bf16 it is emulated and far slower: on a Zen 3 CPU (AVX2 only) bf16 ran at 0.08× of fp32 for the
MSE loss and 0.09× with FaceNet (results/training/bench_train.md). ``auto`` takes bf16 only where the hardware
has it (a CPU flag avx512_bf16 or amx_bf16; a CUDA device that supports bf16), fp32 elsewhere.

Only training is autocast: a model in eval mode (validation, compress, decompress, the codec) runs its plain
float32 (and float64 coding-scale) path, so bitstreams never depend on how the model was trained.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

PRECISIONS = ("fp32", "bf16", "auto")
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
TRANSFORMS = ("g_a", "h_a", "h_s", "g_s")  # CompressAI's names for the four convolutional transforms


def check_precision(precision: str) -> str:
    from ipr_bench.core.errors import OptionError

    if precision not in PRECISIONS:
        raise OptionError(f"precision {precision!r} unknown; choose one of {', '.join(PRECISIONS)}")
    return precision


def native_bf16(device_type: str = "cpu", cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Does this device compute bf16 natively (not emulated)? CPU: one of CPU_BF16_FLAGS in ``cpuinfo``."""
    if device_type == "cuda":
        import torch

        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    try:
        flags = Path(cpuinfo).read_text().split()
    except OSError:  # not Linux: no way to tell cheaply, so the safe choice
        return False
    return any(flag in flags for flag in CPU_BF16_FLAGS)


def resolve_precision(precision: str, device_type: str = "cpu", warn: Callable[[str], None] | None = None) -> str:
    """``auto`` → bf16 where ``native_bf16``, else fp32; an explicit bf16 without native support is kept, with a
    warning through ``warn`` (it is correct, only slow)."""
    check_precision(precision)
    native = native_bf16(device_type)
    if precision == "auto":
        return "bf16" if native else "fp32"
    if precision == "bf16" and not native and warn:
        warn(
            f"bf16 on a {device_type} without native bf16 ({' or '.join(CPU_BF16_FLAGS)}) is emulated: about 10× "
            "slower than fp32 on a Zen 3 CPU; --precision auto picks fp32 here"
        )
    return precision


def autocast_transforms(model: Any, device_type: str) -> Any:
    """Make ``model``'s transforms run under bf16 autocast while the model trains (in place; returns it).

    The patch is an instance attribute over each transform's ``forward``: the state dict, checkpoints and the
    eval-mode coding path are those of the plain model."""
    import torch

    for name in TRANSFORMS:
        module = getattr(model, name, None)
        if module is None or getattr(module, "_bf16_autocast", False):
            continue
        plain = type(module).forward.__get__(module)

        def forward(x: Any, _plain: Any = plain, _module: Any = module) -> Any:
            if not _module.training:
                return _plain(x)
            with torch.autocast(device_type, dtype=torch.bfloat16):
                return _plain(x).float()

        module.forward = forward
        module._bf16_autocast = True
    return model


def configure_threads(threads: int | None) -> int:
    """Set torch's intra-op threads (None: leave torch's choice); returns the number in force."""
    import torch

    if threads is not None:
        if threads < 1:
            from ipr_bench.core.errors import OptionError

            raise OptionError(f"threads {threads}: give 1 or more")
        torch.set_num_threads(threads)
    return torch.get_num_threads()
