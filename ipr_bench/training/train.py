"""Training a learned face codec with the identity-preserving loss (ipr_bench.training.losses), resumable.

Data: LFW images of people in no evaluation pair (ipr_bench.datasets.lfw.training_items), face-centred random
crops with their landmarks carried through crop and flip (ipr_bench.training.training_data). Randomness is a function
of (seed, step), so a resumed run draws exactly the batches an uninterrupted one would.

Two loops learn the same thing: ``naive`` (numpy crops, the originals' embeddings recomputed each step) and
``resident`` (the default: data, alignment and originals' embeddings on the device, ipr_bench.training.resident; on a
GPU also fused Adam, bfloat16 for the frozen recognizer and, with ``compile``, torch.compile). They draw
different batches, so the loop is a setting of the run.

Output directory:
    last/model.safetensors, last/meta.json   the checkpoint (a learned-codec directory: learned:OUT/last)
    last/optimizer.safetensors, last/train_state.json   what resuming needs (tensors and JSON; no pickle)
    last/ledger.csv   one row per training session (a GPU lease, a CPU run): where, how long, steps, validation
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np

from ipr_bench.core.cache import atomic_write_csv
from ipr_bench.core.registry import register_producer
from ipr_bench.training.config import LOOPS, STATE_FILE, TrainConfig, saved_config
from ipr_bench.training.validation import Validation

LEDGER_FILE = "ledger.csv"
LEVEL_SALT = 104_729  # the levels a variable-rate batch trains at: a stream of their own


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def training_data(config: TrainConfig) -> Any:
    """The images (with each needed landmarker's landmarks) a run with these settings trains and validates on:
    the trainer's data, and what a GPU lease must carry for it (scripts/device/device_bundle.py)."""
    from ipr_bench.core.registry import create_recognizer
    from ipr_bench.training.training_data import load_training_data

    # α = 0 trains without a recognizer but is still validated with them (the paired arms compare cosines)
    landmarkers = sorted({create_recognizer(r).spec.landmarker for r in config.recognizers} or {"mtcnn"})
    return load_training_data(config.data, landmarkers, config.exclude_views, config.max_images, config.max_validation)


@register_producer("ipr-train")
class Trainer(Validation):
    """Trains a CompressAI model with rate + λ(distortion + α·identity); makes codecs ipr / mse / learned:DIR."""

    command = "ipr-bench train --lambda L --identity-weight α --recognizer facenet --out DIR"
    produces = "learned:DIR/last (ipr with α > 0, mse with α = 0)"
    requires = "torch + compressai; a differentiable recognizer for α > 0; a GPU makes it practical"

    def __init__(self, config: TrainConfig, out: Path | str) -> None:
        import torch

        from ipr_bench.bench.provenance import provenance
        from ipr_bench.core.errors import OptionError
        from ipr_bench.core.registry import create_recognizer
        from ipr_bench.learned.checkpoint import build_model
        from ipr_bench.training.losses import IdentityPreservingLoss

        if config.loop not in LOOPS:
            raise OptionError(f"training loop {config.loop!r} unknown; loops: {', '.join(LOOPS)}")
        if config.rate_lambdas:
            from ipr_bench.learned.checkpoint import VARIABLE_RATE as ARCHITECTURE

            shape_ok = len(config.args) == 3 and config.args[2] == len(config.rate_lambdas)
            if config.architecture != ARCHITECTURE or not shape_ok:
                raise OptionError(
                    f"{len(config.rate_lambdas)} rate λs need architecture {ARCHITECTURE} with args N, M, "
                    f"{len(config.rate_lambdas)}; got {config.architecture} {config.args}"
                )
            if list(config.rate_lambdas) != sorted(config.rate_lambdas):
                raise OptionError(f"rate λs {config.rate_lambdas}: give them lowest rate (smallest λ) first")
        if config.face_boost and (not config.rate_lambdas or config.loop != "resident"):
            raise OptionError("a face boost needs a variable-rate model (rate λs) and the resident loop")
        if config.face_background is not None:
            top = len(config.rate_lambdas) - 1
            if not config.rate_lambdas or config.loop != "resident" or config.face_boost:
                raise OptionError(
                    "a face background needs a variable-rate model (rate λs), the resident loop and no face boost"
                )
            if not 0 <= config.face_background <= top:
                raise OptionError(f"face background level {config.face_background}: levels are 0…{top}")
        from ipr_bench.training.precision import autocast_transforms, configure_threads, resolve_precision

        device_type = torch.device(config.device).type
        config = replace(config, precision=resolve_precision(config.precision, device_type, _warn))
        configure_threads(config.threads)
        self.config = config
        self.out = Path(out)
        self.base: dict[str, Any] | None = None  # what --init-from started the run from (ipr_bench.training.finetune)
        torch.manual_seed(config.seed)
        self.model = build_model(config.architecture, list(config.args)).to(config.device)
        if config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        if config.precision == "bf16":
            autocast_transforms(self.model, device_type)
        self.recognizers = [create_recognizer(r) for r in config.recognizers] if config.identity_weight else []
        fast = config.loop == "resident"
        self.criterion = IdentityPreservingLoss(
            config.lmbda,
            config.identity_weight,
            [r.differentiable().to(config.device) for r in self.recognizers],
            config.identity,  # type: ignore[arg-type]
            # bf16 recognizer: asked for, or (as before precision was a setting) the resident loop on a GPU
            bf16=config.precision == "bf16" or (fast and str(config.device).startswith("cuda")),
        )
        data = training_data(config)
        self.items, self.images, self.landmarks = data.train.items, data.train.images, data.train.landmarks
        self.validation, self.skipped, self.data_description = data.validation, data.skipped, data.description
        self.landmark_keys = data.landmark_keys
        self.resident = None
        if fast:
            from ipr_bench.training.resident import ResidentBatches

            self.resident = ResidentBatches(
                self.images,
                self.landmarks,
                self.recognizers,
                list(self.criterion.recognizers),
                config.crop,
                config.batch_size,
                config.seed,
                config.device,
            )
        # torch.compile wraps the module; the state dict, checkpoints and validation use the plain one
        self.forward = torch.compile(self.model) if config.compile else self.model
        self.fused = fast and str(config.device).startswith("cuda")  # one kernel for the whole Adam update
        main = [p for n, p in self.model.named_parameters() if not n.endswith(".quantiles")]
        aux = [p for n, p in self.model.named_parameters() if n.endswith(".quantiles")]
        self.optimizer = torch.optim.Adam(main, lr=config.lr, fused=self.fused or None)
        self.aux_optimizer = torch.optim.Adam(aux, lr=config.aux_lr)
        self.step = 0
        self.history: list[dict[str, float]] = []  # one validation record per validate_every steps
        # changes made to the weights outside training steps (step, what, why): saved with every checkpoint
        self.edits: list[dict[str, Any]] = []
        self.git_commit = provenance()["git_commit"]  # the code cannot change under a running trainer
        if not (self.out / "last" / STATE_FILE).is_file():  # --init-from; a saved run resumes its own weights
            self._initialise()

    # ----------------------------------------------------------------------------------------- data
    def batch(self, step: int) -> tuple[Any, list[Any]]:
        import torch

        from ipr_bench.training.training_data import Crop, crop_around_face, flip, shift

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
        targets = None
        if self.resident is not None:
            x, matrices, targets = self.resident.batch(self.step)
        else:
            x, matrices = self.batch(self.step)
        if self.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        self.optimizer.zero_grad()
        self.aux_optimizer.zero_grad()
        matrices = matrices if self.recognizers else None
        if self.config.rate_lambdas:
            from ipr_bench.learned.variable_rate import lambda_for

            g = torch.Generator().manual_seed(self.config.seed * 1_000_003 + self.step + LEVEL_SALT)
            lmbda_map = None  # a λ per pixel only where regions of a crop are coded at different levels' trade-offs
            if self.config.face_background is not None and self.resident is not None:
                level, lmbda, lmbda_map = self._roi_levels(g, x, self.resident.face_cells(self.step))
            else:
                level = torch.randint(len(self.config.rate_lambdas), (x.shape[0],), generator=g).float().to(x.device)
                lmbda = lambda_for(level, self.config.rate_lambdas)  # the image's base level sets its trade-off
                if self.config.face_boost and self.resident is not None:
                    level = self._level_map(level, self.resident.face_cells(self.step), x.shape[-2:])
            out = self.criterion(self.forward(x, level), x, matrices, targets=targets, lmbda=lmbda, lmbda_map=lmbda_map)
        else:
            out = self.criterion(self.forward(x), x, matrices, targets=targets)
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        aux = self.model.aux_loss()
        aux.backward()
        self.aux_optimizer.step()
        self.step += 1
        return {k: v.detach() for k, v in out.items()} | {"aux": aux.detach()}

    def _level_map(self, level: Any, cells: Any, size: Any) -> Any:
        """[B, 1, h, w] levels over y's grid: the base level, face_boost higher inside each face region."""
        from ipr_bench.learned.coding import CELL, level_map

        top = float(len(self.config.rate_lambdas) - 1)
        return level_map(level, cells, (size[0] // CELL, size[1] // CELL), self.config.face_boost, top)

    def _roi_levels(self, g: Any, x: Any, cells: Any) -> tuple[Any, Any, Any]:
        """ROI training (config.face_background): each crop's level map (the background level, its face region,
        ``cells`` [B, 4], at a random level at or above it), the face's λ per crop [B] and the λ of each pixel's
        level [B, 1, H, W]."""
        import torch

        from ipr_bench.learned.coding import CELL, level_map
        from ipr_bench.learned.variable_rate import lambda_for

        lambdas = self.config.rate_lambdas
        background = float(self.config.face_background)  # type: ignore[arg-type]
        choices = int(len(lambdas) - 1 - background) + 1  # whole levels from the background up
        face = background + torch.randint(choices, (x.shape[0],), generator=g).float().to(x.device)
        base = torch.full_like(face, background)
        grid = (x.shape[-2] // CELL, x.shape[-1] // CELL)
        level = level_map(base, cells.to(x.device), grid, face - base, len(lambdas) - 1)
        pixels = level.repeat_interleave(CELL, dim=-2).repeat_interleave(CELL, dim=-1)
        return level, lambda_for(face, lambdas), lambda_for(pixels, lambdas)

    def run(
        self,
        report: Callable[[int, dict[str, float], float], None] | None = None,
        max_seconds: float | None = None,
        report_every: int = 1,
    ) -> None:
        """Train to config.steps, or until ``max_seconds`` of wall time have passed (then validate and save: a
        lease of GPU time ends with a checkpoint that the next lease resumes exactly). ``report`` gets the step
        values every ``report_every`` steps (reading them waits for the GPU: report rarely in a lease) and each
        validation record. The session ends with a row in last/ledger.csv."""
        t0 = time.monotonic()
        first = self.step
        training = 0.0  # seconds in train steps alone (not validation, not checkpoints)
        while self.step < self.config.steps:
            if max_seconds is not None and time.monotonic() - t0 > max_seconds:
                if self.validation.images and (not self.history or self.history[-1]["step"] != self.step):
                    self.history.append(self.validate())
                self.save()
                break
            t_step = time.monotonic()
            logs = self.train_step()
            training += time.monotonic() - t_step
            last = self.step == self.config.steps
            if report and (self.step % report_every == 0 or last):
                values = {k: float(v) for k, v in logs.items()}
                report(self.step, values, (self.step - first) / max(time.monotonic() - t0, 1e-9))
            if self.validation.images and (self.step % self.config.validate_every == 0 or last):
                self.history.append(self.validate())
                if report:
                    report(self.step, {f"val_{k}": v for k, v in self.history[-1].items() if k != "step"}, 0.0)
            if self.step % self.config.checkpoint_every == 0 or last:
                self.save()
        if self.step > first:
            self.record_session(first, time.monotonic() - t0, training)
        elif not (self.out / "last" / STATE_FILE).is_file():
            self.save()  # --steps 0: a fresh run's initial state, to bundle for a GPU lease

    def record_session(self, first_step: int, seconds: float, training_seconds: float) -> Path:
        """Append this session's row to last/ledger.csv (rewritten whole and atomically)."""
        import csv
        import io
        import os
        from datetime import datetime

        import torch

        device = self.config.device
        if str(device).startswith("cuda") and torch.cuda.is_available():
            kind = torch.cuda.get_device_name(torch.device(device))
        else:
            kind = f"cpu ({os.cpu_count()} cores)"
        validation = self.history[-1] if self.history else {}
        row = {
            "date_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "device": kind,
            "seconds": f"{seconds:.1f}",
            "training_seconds": f"{training_seconds:.1f}",
            "step_from": first_step,
            "step_to": self.step,
            # from the train steps alone (on a GPU the last ones may still be queued: a slight overestimate)
            "images_per_s": f"{(self.step - first_step) * self.config.batch_size / max(training_seconds, 1e-9):.2f}",
            "loop": self.config.loop,
            "precision": self.config.precision + (" channels_last" if self.config.channels_last else ""),
            "threads": torch.get_num_threads(),
            "init_from": self.base_label(),
            "validation_step": int(validation.get("step", 0)) if validation else "",
            # every figure of the last validation (real bitstreams): bpp, psnr, cosine_<recognizer>, per level
            "validation": "; ".join(f"{k}={v:.4g}" for k, v in validation.items() if k not in ("step", "n_images")),
            "git_commit": self.git_commit,
        }
        path = self.out / "last" / LEDGER_FILE
        rows = list(csv.DictReader(io.StringIO(path.read_text()))) if path.is_file() else []
        atomic_write_csv(path, [*rows, row], list(row))
        return path

    # ---------------------------------------------------------------------------------- checkpoints
    def save(self) -> Path:
        from ipr_bench.training.run_state import save_state

        return save_state(self)

    def resume(self) -> bool:
        """Continue from OUT/last if it is there (same config); False when starting fresh."""
        from ipr_bench.training.run_state import resume_state

        return resume_state(self)

    def _initialise(self) -> None:
        """With --init-from: the base's weights (levels extended below if asked); the optimizer stays fresh."""
        if not self.config.init_from:
            return
        import torch

        from ipr_bench.learned.checkpoint import load_weights
        from ipr_bench.training.finetune import base_state, describe_base

        self.base = describe_base(self.config.init_from)
        state = base_state(self.config.init_from, self.config.architecture, self.config.args, self.config.rate_lambdas)
        load_weights(self.model, state)
        if self.config.channels_last:
            self.model.to(memory_format=torch.channels_last)

    def base_label(self) -> str:
        if not self.base:
            return ""
        return f"{self.base['source']} (sha256 {self.base['sha256'][:12]}, {self.base['steps']} steps)"


def continue_training(out: Path | str, steps: int, device: str, max_seconds: float | None = None) -> Trainer:
    """Resume OUT with its saved settings on ``device`` for up to ``max_seconds`` (a GPU lease), logging plainly:
    the entry point of scripts/device/device_train.sh, which has no CLI dependencies to spare."""
    # how a step runs follows the machine it continues on (bf16 where native: a lease's GPU; fp32 on a Zen 3 CPU)
    trainer = Trainer(saved_config(out, steps=steps, device=device, precision="auto"), out)
    trainer.resume()
    start = trainer.step

    def log(step: int, values: dict[str, float], rate: float) -> None:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in values.items())
        print(f"step {step}: {shown}" + (f" ({rate:.1f} steps/s)" if rate else ""), flush=True)

    print(f"{out}: from step {start}, {len(trainer.items)} training images, device {device}", flush=True)
    trainer.run(log, max_seconds, report_every=500)
    print(f"{out}: stopped at step {trainer.step}", flush=True)
    return trainer
