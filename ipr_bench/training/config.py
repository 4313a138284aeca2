"""The settings of a training run (``TrainConfig``) and reading them back from a run directory to resume it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "train_state.json"
# how long and where to train, how often to look: a resumed run may change these, not what it learns
NOT_SETTINGS = (
    "steps",
    "device",
    "checkpoint_every",
    "validate_every",
    "compile",
    "precision",
    "channels_last",
    "threads",
)
# a setting missing from an older run's saved state had, in that run, its default — except these, whose default
# changed when they became settings: older run directories still resume as what they were
LEGACY_DEFAULTS = {"loop": "naive"}
LOOPS = ("naive", "resident")


@dataclass(frozen=True)
class TrainConfig:
    architecture: str = "bmshj2018-hyperprior"
    args: tuple[int, ...] = (128, 192)
    lmbda: float = 0.0067
    # set: one variable-rate model (ipr_bench.learned.variable_rate, architecture gained-hyperprior, args N, M, K) with
    # these K λs, lowest rate first; each image of a batch trains at a random level with its λ
    rate_lambdas: tuple[float, ...] = ()
    # with rate_lambdas: code the face region (the first landmarker's box grown by 25%) this many levels higher
    # than the rest (a spatial level map; the region travels in the payload)
    face_boost: float = 0.0
    # with rate_lambdas, instead of a boost: train as the ROI codecs code (codecs/learned.py, option background):
    # each crop's background at this level (0 = the lowest), its face region at a random level at or above it;
    # each region's distortion weighed by its own level's λ, the identity term by the face's
    face_background: float | None = None
    identity_weight: float = 0.0  # α; 0 = the MSE-only baseline
    recognizers: tuple[str, ...] = ("facenet",)
    identity: str = "cosine"
    crop: int = 192
    batch_size: int = 8
    lr: float = 1e-4
    aux_lr: float = 1e-3
    steps: int = 1000
    seed: int = 0
    checkpoint_every: int = 250
    data: tuple[str, ...] = ("lfw",)  # training sources (ipr_bench.training.training_data.SOURCES)
    exclude_views: tuple[str, ...] = ("view2",)
    max_images: int | None = None  # a subset, for smoke tests
    validate_every: int = 500
    max_validation: int | None = None
    device: str = "cpu"
    loop: str = "resident"  # see LOOPS and the module docstring
    compile: bool = False  # torch.compile the codec's training forward (how it runs, not what it learns)
    # how a step runs (ipr_bench.training.precision): fp32 or bf16 autocast of the transforms and the recognizer,
    # channels_last memory layout, torch's intra-op threads (None: torch's choice)
    precision: str = "fp32"
    channels_last: bool = False
    threads: int | None = None
    # start from these weights (ipr_bench.training.finetune: zoo:NAME or a run), fresh optimizer; may add levels below
    init_from: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def completed(saved: dict[str, Any]) -> dict[str, Any]:
    """A saved config with every setting it predates filled in (JSON types, as saved)."""
    defaults = json.loads(json.dumps(asdict(TrainConfig())))
    return defaults | LEGACY_DEFAULTS | saved


def saved_config(out: Path | str, **changes: Any) -> TrainConfig:
    """The settings a run directory was trained with (to continue it elsewhere), with ``changes`` applied."""
    from ipr_bench.core.errors import UnavailableError

    path = Path(out) / "last" / STATE_FILE
    try:
        saved = json.loads(path.read_text())["config"]
    except FileNotFoundError:
        raise UnavailableError(f"{path} not found: nothing to continue") from None
    except (json.JSONDecodeError, KeyError) as exc:
        raise UnavailableError(f"{path}: not a training state ({exc})") from None
    known = {f for f in TrainConfig.__dataclass_fields__}
    saved = completed(saved)
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in saved.items() if k in known}
    return TrainConfig(**(values | changes))
