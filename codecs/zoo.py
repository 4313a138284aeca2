"""The shipped learned codecs: ``ipr`` (trained with the identity-preserving loss), ``mse`` (the same
architecture trained on MSE alone, the paper's baseline) and ``ipr-roi`` (the identity loss with face maps, coded
ROI-style: the face at the quality's level, the rest at the lowest). ``mse-roi`` codes the shipped ``mse`` the same
way (the ROI control). Checkpoints live in ``ipr_bench/zoo/<entry>/``, one subdirectory per rate point (qualities
1…K in increasing λ, like CompressAI's zoo) or one variable-rate model; ``ipr:DIR`` etc. load any trained
checkpoint directory instead.

Shipped weights are half precision where that costs nothing measurable (``ship``): every tensor of ≥ 4,096
elements (the transforms' convolutions) as fp16, the rest (gains, entropy models, CDF tables) as trained, since
every shipped model adds its weights to the repository's history for good.
"""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path
from typing import Any

from ipr_bench.core.errors import OptionError, UnavailableError
from ipr_bench.core.registry import register_codec

from .learned import LearnedCodec

ZOO = Path(str(files("ipr_bench") / "zoo")).resolve()  # package data (pyproject), beside the code


def shipped(name: str) -> Path | None:
    root = ZOO / name
    return root if root.is_dir() and any(root.glob("*/meta.json")) else None


ENTRIES = {"ipr": "identity", "ipr-roi": "identity", "mse": "mse"}  # zoo entry → the loss it must be trained with
HALF_MIN_ELEMENTS = 4096


def half_weights(source: Path, target: Path) -> None:
    """``source``'s weights file with its large float tensors as fp16 (see the module doc), written to ``target``."""
    from safetensors.torch import load_file, save

    from ipr_bench.core.cache import atomic_write_bytes

    state = load_file(str(source))
    half = {k: v.half() if v.is_floating_point() and v.numel() >= HALF_MIN_ELEMENTS else v for k, v in state.items()}
    atomic_write_bytes(target, save({k: v.contiguous() for k, v in half.items()}))


def ship(run: Path | str, name: str, zoo: Path = ZOO, half: bool = True) -> Path:
    """Make a trained run the shipped ``name`` codec: copy its checkpoint (``RUN/last`` or RUN itself: weights and
    meta.json, not the optimizer) to ``zoo/name/RUN-NAME/``, replacing what was shipped before as a whole (a
    variable-rate model is one directory; rate points of different runs must not mix). Refuses a checkpoint
    whose loss does not fit the name (``ipr``, ``ipr-roi``: identity weight > 0; ``mse``: 0). ``half``: the
    weights in half precision (module doc). Returns the new directory."""
    from ipr_bench.learned.checkpoint import META_FILE, WEIGHTS_FILE, load_checkpoint, read_meta

    run = Path(run)
    source = run / "last" if (run / "last" / META_FILE).is_file() else run
    meta = read_meta(source)
    identity = float(meta.get("identity_weight") or 0.0)
    if name not in ENTRIES:
        raise OptionError(f"ship: the zoo holds {', '.join(ENTRIES)}, not {name!r}")
    if (ENTRIES[name] == "identity") != (identity > 0):
        raise OptionError(
            f"ship {source} as {name}: it was trained with identity weight {identity:g}; ipr needs > 0, mse needs 0"
        )
    load_checkpoint(source, "cpu")  # refuse a checkpoint that does not load before touching the zoo
    staging, old = zoo / f".{name}.staging", zoo / f".{name}.old"
    for leftover in (staging, old):
        shutil.rmtree(leftover, ignore_errors=True)
    target = staging / (run.name if source == run / "last" else source.name)
    target.mkdir(parents=True)
    shutil.copy2(source / META_FILE, target / META_FILE)
    if half:
        half_weights(source / WEIGHTS_FILE, target / WEIGHTS_FILE)
    else:
        shutil.copy2(source / WEIGHTS_FILE, target / WEIGHTS_FILE)
    load_checkpoint(target, "cpu")  # the copy loads too
    if (zoo / name).exists():
        (zoo / name).rename(old)
    staging.rename(zoo / name)  # the swap: a reader sees the old zoo entry or the new one, never half of one
    shutil.rmtree(old, ignore_errors=True)
    return zoo / name / target.name


class ZooCodec(LearnedCodec):
    train_hint = ""
    entry = ""  # the zoo folder it codes with ("": its own name)
    defaults: dict[str, Any] = {}  # options it runs with unless given

    def __init__(self, checkpoint: str | Path | None = None, device: str | None = None, **options: Any) -> None:
        root = checkpoint or shipped(self.entry or self.name)
        if root is None:
            raise UnavailableError(f"codec {self.name}: {self._missing()}")
        super().__init__(root, device, **(self.defaults | options))

    @classmethod
    def _missing(cls) -> str:
        entry = cls.entry or cls.name
        return (
            f"this version ships no {entry} checkpoints (expected under {ZOO / entry}); train them with "
            f"`{cls.train_hint}` and give the directory as {cls.name}:DIR"
        )

    @classmethod
    def needs_argument(cls) -> str | None:
        # with shipped checkpoints the bare name runs; without, only NAME:DIR does
        return None if shipped(cls.entry or cls.name) else f"a checkpoint directory ({cls.name}:DIR): {cls._missing()}"


@register_codec("ipr")
class IprCodec(ZooCodec):
    """The shipped model trained with the identity-preserving loss (FaceNet), one level over the whole image;
    ``ipr:DIR`` runs another checkpoint directory; zoo/ipr/RUN/meta.json says which run, step and validation."""

    train_hint = "ipr-bench train --identity-weight 600 --lambda L --out DIR/qK"


@register_codec("mse")
class MseCodec(ZooCodec):
    """The shipped model trained on MSE alone (the paper's baseline), one level over the whole image."""

    train_hint = "ipr-bench train --identity-weight 0 --lambda L --out DIR/qK"


# The learned codecs' own ROI coding: the face region at the quality's level, the rest of the image at the lowest
# (quality 1), the map sent in the payload (9 bytes); results/training/against_hevc.md measures it against
# hevc-roi on the arms' held-out images.


@register_codec("ipr-roi")
class IprRoiCodec(ZooCodec):
    """The shipped model trained with the identity loss and face maps, coded ROI-style: the face region (the
    original's MTCNN box grown by 25%) at the quality's level, the rest of the image at level 1; the map's face
    level and region travel in the payload (9 bytes). A face-less image is coded at the quality everywhere."""

    train_hint = (
        "python scripts/train_arms.py (the ipr-roi-ft arm), then ipr-bench ship runs/arms/ipr-roi-ft --as ipr-roi"
    )
    defaults = {"background": 1}


@register_codec("mse-roi")
class MseRoiCodec(MseCodec):
    """The shipped ``mse`` coded as ``ipr-roi`` codes: the control that says what the map alone buys."""

    entry = "mse"
    defaults = {"background": 1}
