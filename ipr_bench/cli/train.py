"""Commands that make codecs or regenerate the committed results: reproduce, ship, train."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ipr_bench.cli.app import _fail, app, split_names
from ipr_bench.core.errors import IprBenchError


@app.command("reproduce")
def reproduce_command(
    only: Annotated[
        str | None,
        typer.Option(help="Comma-separated experiments (default: all; see ipr_bench/experiments/reproduce.py)."),
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes for each run (default: CPU count).")] = 0,
    readme_only: Annotated[
        bool, typer.Option(help="Only regenerate the README's results section from the committed stores.")
    ] = False,
    train: Annotated[
        bool,
        typer.Option(
            help="Train and ship the learned codecs (mse, ipr, ipr-roi) the experiments need and the zoo lacks (GPU: "
            "hours; resumable). Shipped checkpoints are never retrained."
        ),
    ] = False,
) -> None:
    """Run every committed experiment (resumable: committed settings are reused), rebuild the reports, and
    regenerate the README's results section from them."""
    from ipr_bench.experiments.reproduce import reproduce

    root = Path.cwd()
    if not (root / "README.md").is_file() or not (root / "results").is_dir():
        _fail("run `ipr-bench reproduce` from the repository root (it needs README.md and results/)")
    chosen = split_names(only) if only else None
    skipped = reproduce(root, chosen, workers, readme_only, echo=typer.echo, train=train)
    for line in skipped:
        typer.secho(f"skipped {line}", fg="yellow", err=True)
    typer.echo("README results section regenerated from results/*/summary.json", err=True)


@app.command("ship")
def ship_command(
    run_dir: Annotated[Path, typer.Argument(help="A training run (its last/ checkpoint is shipped) or a checkpoint.")],
    name: Annotated[str, typer.Option("--as", help="The zoo entry it becomes: ipr, ipr-roi or mse.")],
    full_precision: Annotated[bool, typer.Option(help="Ship fp32 weights (default: fp16 convolutions).")] = False,
) -> None:
    """Make a trained run a shipped zoo codec (copied into the package's zoo, replacing the old one)."""
    from ipr_bench.codecs.zoo import ship

    try:
        target = ship(run_dir, name, half=not full_precision)
    except IprBenchError as exc:
        _fail(str(exc))
    typer.echo(f"{name} now ships {target} (commit it to ship it with the package)")


@app.command("train")
def train_command(
    out: Annotated[Path, typer.Option(help="Run directory; an existing one is resumed (same settings).")],
    lmbda: Annotated[float, typer.Option("--lambda", help="λ: weight of distortion against rate.")] = 0.0067,
    lambdas: Annotated[
        str,
        typer.Option(
            help="Comma-separated λs, lowest rate first: ONE variable-rate model for all of them "
            "(gained-hyperprior, N,M from --channels; qualities 1…K); replaces --lambda and --architecture."
        ),
    ] = "",
    face_boost: Annotated[
        float,
        typer.Option(
            help="With --lambdas: code the face region (box + 25%) this many levels higher than the background; "
            "the region travels in the payload (9 bytes)."
        ),
    ] = 0.0,
    face_background: Annotated[
        float | None,
        typer.Option(
            help="With --lambdas, instead of --face-boost: train as the ROI codecs code, the background at this "
            "level (0 = the lowest) and the face region at a random level at or above it, each region's "
            "distortion at its own level's λ; the checkpoint then codes so (quality = the face's level)."
        ),
    ] = None,
    identity_weight: Annotated[float, typer.Option(help="α: weight of the identity term (0 = MSE baseline).")] = 0.0,
    recognizer: Annotated[str, typer.Option(help="Comma-separated frozen recognizers for the identity term.")] = (
        "facenet"
    ),
    architecture: Annotated[str, typer.Option(help="CompressAI architecture.")] = "bmshj2018-hyperprior",
    channels: Annotated[str, typer.Option(help="The architecture's N,M.")] = "128,192",
    steps: Annotated[int, typer.Option(help="Total steps (a resumed run continues to this).")] = 1000,
    batch_size: Annotated[int, typer.Option(help="Images per step.")] = 8,
    crop: Annotated[int, typer.Option(help="Training crop size (a multiple of 64).")] = 192,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = 1e-4,
    seed: Annotated[int, typer.Option(help="Seed of initialisation, batches and quantisation noise.")] = 0,
    checkpoint_every: Annotated[int, typer.Option(help="Steps between checkpoints.")] = 250,
    validate_every: Annotated[
        int, typer.Option(help="Steps between validations (real bpp, PSNR, identity cosine on held-out people).")
    ] = 500,
    data: Annotated[str, typer.Option(help="Comma-separated training sources: lfw, celeba-wild.")] = "lfw",
    continue_run: Annotated[
        bool,
        typer.Option("--continue", help="Take every setting from OUT's saved state (only --steps/--device apply)."),
    ] = False,
    max_seconds: Annotated[
        float | None, typer.Option(help="Stop (validated and saved) after this much wall time: one GPU lease.")
    ] = None,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    loop: Annotated[
        str,
        typer.Option(help="resident (data and the originals' embeddings kept on the device) or naive (the reference)."),
    ] = "resident",
    compile_model: Annotated[
        bool, typer.Option("--compile", help="torch.compile the codec's training forward (GPU; slow to start).")
    ] = False,
    precision: Annotated[
        str,
        typer.Option(
            help="fp32, bf16 (autocast of the codec's transforms and the recognizer; entropy models, likelihoods "
            "and the rate term stay fp32: ~2.5× faster on a CPU with avx512_bf16, ~10× slower where emulated), "
            "or auto (bf16 where the hardware has it)."
        ),
    ] = "fp32",
    channels_last: Annotated[bool, typer.Option(help="channels_last memory layout (faster convolutions on CPU).")] = (
        False
    ),
    threads: Annotated[int | None, typer.Option(help="torch intra-op threads (default: torch's choice).")] = None,
    init_from: Annotated[
        str | None,
        typer.Option(
            help="Start from these weights (fresh optimizer): zoo:ipr, zoo:mse or a run directory. Without "
            "--lambdas/--channels the base's are used; --lambdas NEW…,BASE_λs adds levels below the base's lowest."
        ),
    ] = None,
) -> None:
    """Train a learned face codec with the identity-preserving loss; resumable; writes OUT/last (learned:OUT/last)
    and a row per session in OUT/last/ledger.csv."""
    from ipr_bench.core.progress import Progress
    from ipr_bench.training.config import TrainConfig
    from ipr_bench.training.train import Trainer

    if crop % 64:
        _fail(f"--crop {crop}: must be a multiple of 64 (the models' stride)")
    if continue_run:
        from ipr_bench.training.config import saved_config

        try:
            config = saved_config(
                out,
                steps=steps,
                device=device,
                compile=compile_model,
                precision=precision,
                channels_last=channels_last,
                threads=threads,
            )
        except IprBenchError as exc:
            _fail(str(exc))
        lmbda, identity_weight = config.lmbda, config.identity_weight
    else:
        args = tuple(int(c) for c in split_names(channels))
        try:
            rate_lambdas = tuple(float(v) for v in split_names(lambdas)) if lambdas else ()
        except ValueError:
            _fail(f"--lambdas {lambdas!r}: give numbers separated by commas, lowest rate first, e.g. 0.002,0.0067,0.02")
        if init_from:
            from ipr_bench.training.finetune import describe_base

            try:
                base = describe_base(init_from)
            except IprBenchError as exc:
                _fail(str(exc))
            architecture = base["architecture"]
            rate_lambdas = rate_lambdas or tuple(base["lambdas"] or ())
            args = tuple(base["args"][:2]) if channels == "128,192" else args
            if not rate_lambdas:
                args, lmbda = tuple(base["args"]), float(base.get("lambda") or lmbda)
        if rate_lambdas:
            from ipr_bench.learned.checkpoint import VARIABLE_RATE as ARCHITECTURE

            architecture, args, lmbda = ARCHITECTURE, (*args[:2], len(rate_lambdas)), rate_lambdas[-1]
        config = TrainConfig(
            architecture=architecture,
            args=args,
            lmbda=lmbda,
            rate_lambdas=rate_lambdas,
            face_boost=face_boost,
            face_background=face_background,
            identity_weight=identity_weight,
            recognizers=tuple(split_names(recognizer)),
            crop=crop,
            batch_size=batch_size,
            lr=lr,
            steps=steps,
            seed=seed,
            checkpoint_every=checkpoint_every,
            validate_every=validate_every,
            data=tuple(split_names(data)),
            device=device,
            loop=loop,
            compile=compile_model,
            precision=precision,
            channels_last=channels_last,
            threads=threads,
            init_from=init_from,
        )
    try:
        trainer = Trainer(config, out)
        resumed = trainer.resume()
    except IprBenchError as exc:
        _fail(str(exc))
    started = f"from {trainer.base_label()}" if trainer.base and not resumed else ""
    typer.echo(
        f"{'resuming at step ' + str(trainer.step) if resumed else 'starting ' + started}: "
        f"{len(trainer.items)} training images "
        f"({', '.join(config.data)}; people in no LFW View 2 pair), {len(trainer.validation.items)} held out for "
        f"validation, {len(trainer.skipped)} skipped; λ={lmbda}, α={identity_weight}, recognizers {config.recognizers}",
        err=True,
    )
    with Progress() as progress:
        bar = progress.stage(f"train from step {trainer.step}", max(steps - trainer.step, 0), unit="steps")
        shown = [trainer.step]

        def report(step: int, logs: dict[str, float], rate: float) -> None:
            if any(k.startswith("val_") for k in logs):  # a validation record, not a step
                values = ", ".join(f"{k[4:]} {v:.4g}" for k, v in logs.items())
                typer.echo(f"step {step}/{steps} validation (real bitstreams): {values}", err=True)
                return
            bar.advance(step - shown[0])
            shown[0] = step
            if step % config.checkpoint_every == 0 or step == steps:
                values = ", ".join(f"{k} {v:.4g}" for k, v in logs.items())
                typer.echo(
                    f"step {step}/{steps}: {values} (estimated bpp, from likelihoods); {rate:.2f} steps/s", err=True
                )

        # reading a step's values waits for the GPU: there, look every 25 steps
        trainer.run(report, max_seconds, report_every=25 if device.startswith("cuda") else 1)
        bar.close()
    typer.echo(f"checkpoint: {out / 'last'} (use it as --codecs learned:{out / 'last'})", err=True)
