"""The shipped learned codecs: ``ipr`` (trained with the identity-preserving loss) and ``mse`` (the same
architecture trained on MSE alone, the paper's baseline). Their checkpoints live in ``ipr_bench/zoo/<name>/``,
one subdirectory per rate point (qualities 1…K in increasing λ, like CompressAI's zoo); ``ipr:DIR`` / ``mse:DIR``
load any trained checkpoint directory instead.
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


def ship(run: Path | str, name: str, zoo: Path = ZOO) -> Path:
    """Make a trained run the shipped ``name`` codec: copy its checkpoint (``RUN/last`` or RUN itself: weights and
    meta.json, not the optimizer) to ``zoo/name/RUN-NAME/``, replacing what was shipped before as a whole (a
    variable-rate model is one directory; rate points of different runs must not mix). Refuses a checkpoint
    whose loss does not fit the name (``ipr``: identity weight > 0; ``mse``: 0). Returns the new directory."""
    from ipr_bench.learned.checkpoint import META_FILE, WEIGHTS_FILE, load_checkpoint, read_meta

    run = Path(run)
    source = run / "last" if (run / "last" / META_FILE).is_file() else run
    meta = read_meta(source)
    identity = float(meta.get("identity_weight") or 0.0)
    if name not in ("ipr", "mse"):
        raise OptionError(f"ship: the zoo holds ipr and mse, not {name!r}")
    if (name == "ipr") != (identity > 0):
        raise OptionError(
            f"ship {source} as {name}: it was trained with identity weight {identity:g}; ipr needs > 0, mse needs 0"
        )
    load_checkpoint(source, "cpu")  # refuse a checkpoint that does not load before touching the zoo
    staging, old = zoo / f".{name}.staging", zoo / f".{name}.old"
    for leftover in (staging, old):
        shutil.rmtree(leftover, ignore_errors=True)
    target = staging / (run.name if source == run / "last" else source.name)
    target.mkdir(parents=True)
    for file in (WEIGHTS_FILE, META_FILE):
        shutil.copy2(source / file, target / file)
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
    train_hint = "ipr-bench train --identity-weight 600 --lambda L --out DIR/qK"


@register_codec("mse")
class MseCodec(ZooCodec):
    train_hint = "ipr-bench train --identity-weight 0 --lambda L --out DIR/qK"


# The learned codecs' own ROI coding: the face region at the quality's level, the rest of the image at the lowest
# (quality 1), the map sent in the payload (9 bytes). On the arms' held-out images this matched hevc-roi's
# FaceNet cosine at equal bpp where the same model at one level everywhere needed ~40% more bits
# (results/training/against_hevc.md).


@register_codec("ipr-roi")
class IprRoiCodec(IprCodec):
    entry = "ipr"
    defaults = {"background": 1}


@register_codec("mse-roi")
class MseRoiCodec(MseCodec):
    entry = "mse"
    defaults = {"background": 1}
