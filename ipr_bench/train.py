"""Training a learned face codec with the identity-preserving loss (ipr_bench.losses), resumable.

Data: LFW images of people in no evaluation pair (ipr_bench.datasets.lfw.training_items), face-centred random
crops with their landmarks carried through crop and flip (ipr_bench.training_data). Randomness is a function
of (seed, step), so a resumed run draws exactly the batches an uninterrupted one would.

Output directory:
    last/model.safetensors, last/meta.json   the checkpoint (a learned-codec directory: learned:OUT/last)
    last/optimizer.safetensors, last/train_state.json   what resuming needs (tensors and JSON; no pickle)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ipr_bench.cache import atomic_write_bytes

STATE_FILE = "train_state.json"
OPTIMIZER_FILE = "optimizer.safetensors"


@dataclass(frozen=True)
class TrainConfig:
    architecture: str = "bmshj2018-hyperprior"
    args: tuple[int, ...] = (128, 192)
    lmbda: float = 0.0067
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
    exclude_views: tuple[str, ...] = ("view2",)
    max_images: int | None = None  # a subset, for smoke tests
    device: str = "cpu"
    extra: dict[str, Any] = field(default_factory=dict)


class Trainer:
    def __init__(self, config: TrainConfig, out: Path | str) -> None:
        import torch

        from ipr_bench.cache import Cache, content_key
        from ipr_bench.datasets.base import item_digest
        from ipr_bench.datasets.lfw import training_items
        from ipr_bench.errors import DataError
        from ipr_bench.images import read_rgb
        from ipr_bench.landmarks import cached_landmarks
        from ipr_bench.learned import build_model
        from ipr_bench.losses import IdentityPreservingLoss
        from ipr_bench.registry import create_landmarker, create_recognizer

        self.config = config
        self.out = Path(out)
        torch.manual_seed(config.seed)
        self.model = build_model(config.architecture, list(config.args)).to(config.device)
        self.recognizers = [create_recognizer(r) for r in config.recognizers] if config.identity_weight else []
        self.criterion = IdentityPreservingLoss(
            config.lmbda,
            config.identity_weight,
            [r.differentiable().to(config.device) for r in self.recognizers],
            config.identity,  # type: ignore[arg-type]
        )
        items, self.images, self.skipped = [], [], []
        for item in training_items(config.exclude_views)[: config.max_images]:
            try:  # one unreadable image is skipped and reported, never fatal
                self.images.append(read_rgb(item.path))
                items.append(item)
            except DataError as exc:
                self.skipped.append(str(exc))
        self.items = items
        landmarkers = sorted({r.spec.landmarker for r in self.recognizers} or {"mtcnn"})
        digests = [item_digest(i) for i in items]
        found: dict[str, list[Any]] = {}
        for name in landmarkers:  # detected once per training set and landmarker, then read from the cache
            landmarker = create_landmarker(name)
            key = content_key("landmarks", *landmarker.identity(), digests)
            found[name] = cached_landmarks(Cache(), landmarker, key, self.images)
        self.landmarks = [{name: found[name][k] for name in landmarkers} for k in range(len(items))]
        main = [p for n, p in self.model.named_parameters() if not n.endswith(".quantiles")]
        aux = [p for n, p in self.model.named_parameters() if n.endswith(".quantiles")]
        self.optimizer = torch.optim.Adam(main, lr=config.lr)
        self.aux_optimizer = torch.optim.Adam(aux, lr=config.aux_lr)
        self.step = 0

    # ----------------------------------------------------------------------------------------- data
    def batch(self, step: int) -> tuple[Any, list[Any]]:
        import torch

        from ipr_bench.training_data import Crop, crop_around_face, flip, shift

        rng = np.random.default_rng([self.config.seed, step])
        picks = rng.integers(0, len(self.images), self.config.batch_size)
        crops, matrices = [], [[] for _ in self.recognizers]
        for k in picks:
            name = next(iter(self.landmarks[k]))
            window = crop_around_face(self.images[k], self.landmarks[k][name], self.config.crop, rng)
            offset = window.landmarks.box[:2] - self.landmarks[k][name].box[:2]  # the crop is a translation
            mirrored = bool(rng.integers(2))
            crops.append((flip(window) if mirrored else window).image)
            for j, rec in enumerate(self.recognizers):  # every landmarker's points follow the same crop and flip
                moved = Crop(window.image, shift(self.landmarks[k][rec.spec.landmarker], *offset))
                moved = flip(moved) if mirrored else moved
                matrices[j].append(rec.alignment_matrix(moved.landmarks, moved.image.shape))
        x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().div(255).to(self.config.device)
        return x, [torch.from_numpy(np.stack(m)).float().to(self.config.device) for m in matrices]

    # ------------------------------------------------------------------------------------- training
    def train_step(self) -> dict[str, float]:
        import torch

        self.model.train()
        # the quantisation noise of training comes from torch's global generator: seed it by (seed, step) so a
        # resumed run, or one whose recognizer loading drew random numbers, sees the same noise
        torch.manual_seed(self.config.seed * 1_000_003 + self.step)
        x, matrices = self.batch(self.step)
        self.optimizer.zero_grad()
        self.aux_optimizer.zero_grad()
        out = self.criterion(self.model(x), x, matrices if self.recognizers else None)
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        aux = self.model.aux_loss()
        aux.backward()
        self.aux_optimizer.step()
        self.step += 1
        return {k: float(v.detach()) for k, v in out.items()} | {"aux": float(aux.detach())}

    def run(self, report: Callable[[int, dict[str, float], float], None] | None = None) -> None:
        t0 = time.monotonic()
        first = self.step
        while self.step < self.config.steps:
            logs = self.train_step()
            if report:
                report(self.step, logs, (self.step - first) / max(time.monotonic() - t0, 1e-9))
            if self.step % self.config.checkpoint_every == 0 or self.step == self.config.steps:
                self.save()

    # ---------------------------------------------------------------------------------- checkpoints
    def save(self) -> Path:
        from safetensors.torch import save

        from ipr_bench.learned import save_checkpoint
        from ipr_bench.runner import provenance

        last = self.out / "last"
        meta = {
            "architecture": self.config.architecture,
            "args": list(self.config.args),
            "lambda": self.config.lmbda,
            "identity_weight": self.config.identity_weight,
            "trained_with": ",".join(self.config.recognizers) if self.config.identity_weight else None,
            "loss": f"bpp + λ(255²·MSE + α·{self.config.identity} identity distance)",
            "steps": self.step,
            "training_data": {
                "lfw_people_excluded_by_views": list(self.config.exclude_views),
                "n_images": len(self.items),
                "n_people": len({i.identity for i in self.items}),
            },
            "git_commit": provenance()["git_commit"],
        }
        tensors: dict[str, Any] = {}
        groups = {}
        for name, opt in (("main", self.optimizer), ("aux", self.aux_optimizer)):
            state = opt.state_dict()
            groups[name] = state["param_groups"]
            for idx, values in state["state"].items():
                for key, value in values.items():
                    tensors[f"{name}.{idx}.{key}"] = value.detach().cpu().contiguous()
        # the optimizer state first: a checkpoint whose weights are newer than its optimizer is never read back
        atomic_write_bytes(last / OPTIMIZER_FILE, save(tensors))
        save_checkpoint(self.model, last, meta)
        state = {"step": self.step, "config": asdict(self.config), "param_groups": groups}
        atomic_write_bytes(last / STATE_FILE, (json.dumps(state, indent=1) + "\n").encode())
        return last

    def resume(self) -> bool:
        """Continue from OUT/last if it is there (same config); False when starting fresh."""
        import torch
        from safetensors.torch import load_file

        from ipr_bench.errors import UnavailableError
        from ipr_bench.learned import load_checkpoint

        last = self.out / "last"
        if not (last / STATE_FILE).is_file():
            return False
        state = json.loads((last / STATE_FILE).read_text())
        saved = {k: v for k, v in state["config"].items() if k != "steps"}
        mine = {k: v for k, v in json.loads(json.dumps(asdict(self.config))).items() if k != "steps"}
        if saved != mine:
            diff = sorted(k for k in mine if saved.get(k) != mine[k])
            raise UnavailableError(f"{last}: trained with other settings ({', '.join(diff)}); use another --out")
        model, meta = load_checkpoint(last, self.config.device)
        if meta["steps"] != state["step"]:
            raise UnavailableError(f"{last}: weights at step {meta['steps']} but optimizer at {state['step']}")
        self.model.load_state_dict(model.state_dict())
        tensors = load_file(str(last / OPTIMIZER_FILE))
        for name, opt in (("main", self.optimizer), ("aux", self.aux_optimizer)):
            per_param: dict[int, dict[str, torch.Tensor]] = {}
            for key, value in tensors.items():
                group, idx, field_name = key.split(".", 2)
                if group == name:
                    per_param.setdefault(int(idx), {})[field_name] = value.to(self.config.device)
            opt.load_state_dict({"state": per_param, "param_groups": state["param_groups"][name]})
        self.step = int(state["step"])
        return True
