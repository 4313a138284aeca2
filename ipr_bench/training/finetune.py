"""Starting a training run from trained weights: ``ipr-bench train --init-from RUN|zoo:NAME``.

Weights only: the optimizer starts fresh, the step counter at 0 (the run's steps are its own). The base is
recorded where the run is (meta.json, train_state.json, the ledger): its source, the sha256 of its weights
file, its steps and its loss, so a fine-tuned model always says what it grew from.

Lower rates: a variable-rate base (ipr_bench.learned.variable_rate) may be given extra levels below its lowest λ. The
run's λs must then end with the base's λs (``--lambdas 0.0005,0.0009,<the base's λs>``): the new levels' gain
vectors on y are extrapolated geometrically from the base's two lowest levels: each new level is the lowest one
with every channel's gain divided, and its inverse gain multiplied, by one factor per table (the median over
channels of the step between the two lowest levels, towards a coarser quantiser), so each new level starts as a
uniformly coarser quantiser of the same latent, and training refines them. (Per channel, as the first arms were
extended: after training, the lowest levels switch most of y's channels off and their steps scatter — the shipped
ipr-roi's gain steps run from −5.6 to +8.0 — and continuing each channel's own step two levels down grew gains by
up to e¹¹: the decoder's output exploded, MSE 4.6 on 0–1 images at the first step, then 10¹⁰. The paired arms
mse-ft, ipr-ft and ipr-roi-ft were extended that way from the regular mse base; their saved states carry what they
started from, so resuming them is unchanged.) The hyper-latent's gains are not extrapolated: a new level starts
with the base's lowest level's, so z costs what it cost there. (Extrapolated, they grew as y's shrank: on the
paired arms z cost 0.046 bpp at the lowest new level against 0.005 at the base's lowest, a third of that level's
bits, and 1,000 training steps at lr 1e-4 had not moved them back; ``hold_hyper_gains_below`` repairs a run
extended the old way.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ipr_bench.core.errors import OptionError, UnavailableError

GAIN_TABLES = ("gain", "inverse_gain", "hyper_gain", "hyper_inverse_gain")
HYPER_TABLES = ("hyper_gain", "hyper_inverse_gain")
LAMBDA_TOLERANCE = 1e-9


def resolve_base(spec: str) -> Path:
    """The checkpoint directory ``spec`` names: ``zoo:NAME`` (the shipped codec), a run (its ``last/``) or a
    checkpoint directory."""
    from ipr_bench.learned.checkpoint import META_FILE

    if spec.startswith("zoo:"):
        from ipr_bench.codecs.zoo import shipped

        name = spec[4:]
        root = shipped(name)
        if root is None:
            raise UnavailableError(f"--init-from {spec}: no shipped {name!r} checkpoint in this version's zoo")
        dirs = sorted(d for d in root.iterdir() if (d / META_FILE).is_file())
        if len(dirs) != 1:
            raise UnavailableError(f"--init-from {spec}: expected one variable-rate checkpoint, found {len(dirs)}")
        return dirs[0]
    path = Path(spec)
    for candidate in (path / "last", path):
        if (candidate / META_FILE).is_file():
            return candidate
    raise UnavailableError(f"--init-from {spec}: no checkpoint there (expected {META_FILE} in it or in its last/)")


def describe_base(spec: str) -> dict[str, Any]:
    """What a run records about its base: source, weights sha256, steps, loss, λs, identity weight."""
    from ipr_bench.core.cache import file_sha256
    from ipr_bench.learned.checkpoint import WEIGHTS_FILE, read_meta

    directory = resolve_base(spec)
    meta = read_meta(directory)
    return {
        "source": spec,
        "path": str(directory),
        "sha256": file_sha256(directory / WEIGHTS_FILE),
        "steps": meta.get("steps"),
        "loss": meta.get("loss"),
        "identity_weight": meta.get("identity_weight"),
        "lambda": meta.get("lambda"),
        "lambdas": meta.get("lambdas"),
        "architecture": meta.get("architecture"),
        "args": meta.get("args"),
    }


def extend_levels_below(state: dict[str, Any], extra: int) -> dict[str, Any]:
    """A gained model's state dict with ``extra`` new levels below its lowest one (new rows first)."""
    import torch

    if extra < 0:
        raise ValueError("extra levels must be ≥ 0")
    out = dict(state)
    for name in GAIN_TABLES:
        table = state[name]
        if name in HYPER_TABLES:
            new = [table[0]] * extra  # z coded as at the base's lowest level (see the module doc)
        else:
            logs = table.abs().clamp_min(1e-6).log()
            # one log-step for every channel: the median over channels of the step from level 0 to level 1, and
            # only towards a coarser quantiser (y's gain falls, its inverse grows as the level drops)
            step = (logs[1] - logs[0]).median()
            step = step.clamp(min=0) if name == "gain" else step.clamp(max=0)
            new = [torch.exp(logs[0] - k * step) for k in range(extra, 0, -1)]
        out[name] = torch.cat([torch.stack(new).to(table.dtype), table]) if new else table
    return out


def hold_hyper_gains_below(model: Any, level: int) -> None:
    """Give every level below ``level`` that level's hyper-latent gains (in place, no gradient): what
    ``extend_levels_below`` now does at the start, applied to a run whose new levels were extended the old way."""
    import torch

    if not 0 < level < model.levels:
        raise ValueError(f"level {level}: a model with {model.levels} levels has levels 1…{model.levels - 1} to hold")
    with torch.no_grad():
        for name in HYPER_TABLES:
            table = getattr(model, name)
            table[:level] = table[level]


def base_state(spec: str, architecture: str, args: tuple[int, ...], lambdas: tuple[float, ...]) -> dict[str, Any]:
    """The base's weights, shaped for a run with these settings (levels extended below when asked)."""
    from safetensors.torch import load_file

    from ipr_bench.learned.checkpoint import VARIABLE_RATE, WEIGHTS_FILE, read_meta

    directory = resolve_base(spec)
    meta = read_meta(directory)
    state = load_file(str(directory / WEIGHTS_FILE))
    base_args = tuple(int(a) for a in meta["args"])
    if meta["architecture"] != architecture:
        raise OptionError(f"--init-from {spec}: its architecture is {meta['architecture']}, this run's {architecture}")
    if architecture != VARIABLE_RATE or base_args == tuple(args):
        if base_args != tuple(args):
            raise OptionError(f"--init-from {spec}: its arguments are {base_args}, this run's {tuple(args)}")
        return state
    base_lambdas = tuple(float(v) for v in meta.get("lambdas") or ())
    extra = len(lambdas) - len(base_lambdas)
    same_top = extra >= 0 and all(
        abs(a - b) <= LAMBDA_TOLERANCE * max(abs(b), 1) for a, b in zip(lambdas[extra:], base_lambdas, strict=True)
    )
    if base_args[:2] != tuple(args[:2]) or not same_top:
        raise OptionError(
            f"--init-from {spec}: its channels {base_args[:2]} and λs {list(base_lambdas)}; this run asks "
            f"{tuple(args[:2])} and {list(lambdas)}. To add levels below, give --lambdas NEW_LOW…,"
            f"{','.join(f'{v:g}' for v in base_lambdas)} (the base's λs last)"
        )
    return extend_levels_below(state, extra)
