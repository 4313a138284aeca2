"""The shipped learned codecs: ``ipr`` (trained with the identity-preserving loss) and ``mse`` (the same
architecture trained on MSE alone, the paper's baseline). Their checkpoints live in ``ipr_bench/zoo/<name>/``,
one subdirectory per rate point (qualities 1…K in increasing λ, like CompressAI's zoo); ``ipr:DIR`` / ``mse:DIR``
load any trained checkpoint directory instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipr_bench
from ipr_bench.errors import UnavailableError
from ipr_bench.registry import register_codec

from .learned import LearnedCodec

ZOO = Path(ipr_bench.__file__).resolve().parent / "zoo"


def shipped(name: str) -> Path | None:
    root = ZOO / name
    return root if root.is_dir() and any(root.glob("*/meta.json")) else None


class ZooCodec(LearnedCodec):
    train_hint = ""

    def __init__(self, checkpoint: str | Path | None = None, device: str | None = None, **options: Any) -> None:
        root = checkpoint or shipped(self.name)
        if root is None:
            raise UnavailableError(f"codec {self.name}: {self._missing()}")
        super().__init__(root, device, **options)

    @classmethod
    def _missing(cls) -> str:
        return (
            f"this version ships no {cls.name} checkpoints (expected under {ZOO / cls.name}); train them with "
            f"`{cls.train_hint}` and give the directory as {cls.name}:DIR"
        )

    @classmethod
    def needs_argument(cls) -> str | None:
        # with shipped checkpoints the bare name runs; without, only NAME:DIR does
        return None if shipped(cls.name) else f"a checkpoint directory ({cls.name}:DIR): {cls._missing()}"


@register_codec("ipr")
class IprCodec(ZooCodec):
    name = "ipr"
    train_hint = "ipr-bench train --identity-weight 600 --lambda L --out DIR/qK"


@register_codec("mse")
class MseCodec(ZooCodec):
    name = "mse"
    train_hint = "ipr-bench train --identity-weight 0 --lambda L --out DIR/qK"
