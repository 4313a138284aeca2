"""A training run's state on disk, OUT/last: the model (safetensors + meta.json, ipr_bench.learned.checkpoint), the
optimizers' moments (optimizer.safetensors) and train_state.json (step, settings, validation history, the base).
Written optimizer first, each file atomically, so a checkpoint whose weights are newer than its optimizer state is
never read back; read back only when the saved settings equal the run's (those in NOT_SETTINGS may differ)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ipr_bench.core.cache import atomic_write_bytes
from ipr_bench.training.config import NOT_SETTINGS, STATE_FILE, completed

OPTIMIZER_FILE = "optimizer.safetensors"


def save_state(trainer: Any) -> Path:
    """OUT/last: weights (with meta.json), the optimizers' state and train_state.json, each written atomically.
    ``trainer`` is the Trainer that calls this (typed Any so that the import stays one-way)."""
    from safetensors.torch import save

    from ipr_bench.learned.checkpoint import save_checkpoint

    last = trainer.out / "last"
    meta = {
        "architecture": trainer.config.architecture,
        "args": list(trainer.config.args),
        "lambda": trainer.config.rate_lambdas[-1] if trainer.config.rate_lambdas else trainer.config.lmbda,
        "lambdas": list(trainer.config.rate_lambdas) or None,
        "levels": len(trainer.config.rate_lambdas) or None,
        "face_boost": trainer.config.face_boost or None,
        "face_background": trainer.config.face_background,
        "face_landmarker": (
            next(iter(trainer.landmarks[0]))
            if trainer.config.face_boost or trainer.config.face_background is not None
            else None
        ),
        "identity_weight": trainer.config.identity_weight,
        "trained_with": ",".join(trainer.config.recognizers) if trainer.config.identity_weight else None,
        "loss": (
            f"bpp + λ(255²·MSE + α·{trainer.config.identity} identity distance)"
            if trainer.config.face_background is None
            else f"bpp + 255²·mean(λ_pixel·squared error) + λ_face·α·{trainer.config.identity} identity distance"
        ),
        "steps": trainer.step,
        "training_data": trainer.data_description,
        "validation": trainer.history[-1] if trainer.history else None,
        "init_from": trainer.base,
        "edits": trainer.edits or None,
        "git_commit": trainer.git_commit,
    }
    tensors: dict[str, Any] = {}
    groups = {}
    for name, opt in (("main", trainer.optimizer), ("aux", trainer.aux_optimizer)):
        state = opt.state_dict()
        groups[name] = state["param_groups"]
        for idx, values in state["state"].items():
            for key, value in values.items():
                tensors[f"{name}.{idx}.{key}"] = value.detach().cpu().contiguous()
    # the optimizer state first: a checkpoint whose weights are newer than its optimizer is never read back
    atomic_write_bytes(last / OPTIMIZER_FILE, save(tensors))
    save_checkpoint(trainer.model, last, meta)
    state = {
        "step": trainer.step,
        "config": asdict(trainer.config),
        "param_groups": groups,
        "history": trainer.history,
        "init_from": trainer.base,
        "edits": trainer.edits,
    }
    atomic_write_bytes(last / STATE_FILE, (json.dumps(state, indent=1) + "\n").encode())
    return last


def resume_state(trainer: Any) -> bool:
    """Continue ``trainer`` from OUT/last if it is there (same config); False when starting fresh."""
    import torch
    from safetensors.torch import load_file

    from ipr_bench.core.errors import UnavailableError
    from ipr_bench.learned.checkpoint import load_checkpoint, load_weights

    last = trainer.out / "last"
    if not (last / STATE_FILE).is_file():
        return False
    state = json.loads((last / STATE_FILE).read_text())
    saved = {k: v for k, v in completed(state["config"]).items() if k not in NOT_SETTINGS}
    mine = {k: v for k, v in json.loads(json.dumps(asdict(trainer.config))).items() if k not in NOT_SETTINGS}
    if saved != mine:
        diff = sorted(k for k in mine if saved.get(k) != mine[k])
        raise UnavailableError(f"{last}: trained with other settings ({', '.join(diff)}); use another --out")
    from ipr_bench.learned.checkpoint import WEIGHTS_FILE

    trainer.base = state.get("init_from")
    if state["step"] == 0 and not (last / WEIGHTS_FILE).is_file():
        trainer._initialise()  # a fresh run sent as its settings alone (scripts/device/device_bundle.py)
        return False
    model, meta = load_checkpoint(last, trainer.config.device)
    if meta["steps"] != state["step"]:
        raise UnavailableError(f"{last}: weights at step {meta['steps']} but optimizer at {state['step']}")
    load_weights(trainer.model, model.state_dict())
    tensors = load_file(str(last / OPTIMIZER_FILE))
    for name, opt in (("main", trainer.optimizer), ("aux", trainer.aux_optimizer)):
        per_param: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            group, idx, field_name = key.split(".", 2)
            if group == name:
                per_param.setdefault(int(idx), {})[field_name] = value  # torch moves each to its parameter
        groups = state["param_groups"][name]
        if name == "main":  # the state is the same; how Adam runs (fused or not) follows this device
            groups = [g | {"fused": trainer.fused or None, "foreach": None} for g in groups]
        opt.load_state_dict({"state": per_param, "param_groups": groups})
    trainer.step = int(state["step"])
    trainer.history = list(state.get("history", []))
    trainer.edits = list(state.get("edits", []))
    return True
