"""The paired fine-tuning arms, trained round-robin on this machine's CPU cores (resumable, run it again to go on).

Three arms from one base (the shipped ``mse``, gained hyperprior 128/192, 10,327 steps), same data, seeds,
batches, λs and step counts; they differ only in the loss:

    mse-ft       α = 0                      (the control: continued MSE training)
    ipr-ft       α = 600, FaceNet           (the paper's identity-preserving loss)
    ipr-roi-ft   α = 600, FaceNet, face maps (the face region coded one level higher)

Each gets three levels below the base's lowest λ (0.00025, 0.0005, 0.0009; ipr_bench.training.finetune), so the learned
codecs reach the rates where face-ROI HEVC keeps parity. One process runs them in turn, ``--chunk`` steps each,
so at every moment their step counts differ by less than one chunk, and a comparison at a step is paired.
Every ``--validate-every`` steps each arm is validated on the held-out people (real bitstreams, every level);
checkpoints every ``--save-every`` steps and when the run ends: after ``--max-seconds`` (validated first), or at
SIGTERM / Ctrl-C (saved at once, not validated); each arm then gets its ledger row (runs/arms/NAME/last/ledger.csv).

    nice -n 10 python scripts/train_arms.py --max-seconds 7200      # in the background while working
    python scripts/train_arms.py --table                            # results/training/arms.md from the runs

Where the kernel groups processes by session (sched_autogroup_enabled = 1), nice orders processes only within one
session: a run started with setsid (or from another terminal) shares the cores with an evaluation as an equal
however nice it is. Give its group the niceness too (``echo 19 > /proc/PID/autogroup``): measured here, a
nice-19 run beside a nice-5 two-worker evaluation took 1.07 cores of 2 without it, 0.06 with it.
"""

from __future__ import annotations

import argparse
import json
import signal
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs" / "arms"
ARMS = ("mse-ft", "ipr-ft", "ipr-roi-ft")
# the ROI-training pilot (--arms ipr-roi-cont,ipr-roi-bg --runs runs/roi-pilot): both from the shipped ipr-roi's
# weights, one going on with the loss it was trained with (face maps one level up: the control), one trained as
# the ROI codecs code (face_background: the background at the lowest level, the face at a random level) with two
# levels added below for the background (the shipped lowest costs ≈ 0.065 bpp over a whole image, where
# hevc-roi's background at +51 QP costs almost nothing)
PILOT_ARMS = ("ipr-roi-cont", "ipr-roi-bg")
BACKGROUND_LAMBDAS = (0.0000625, 0.000125)  # one geometric step (×½) each, as the extension extrapolates gains
# what each arm ships as (codecs/zoo.py)
ZOO_ENTRY = {"mse-ft": "mse", "ipr-ft": "ipr", "ipr-roi-ft": "ipr-roi"} | dict.fromkeys(PILOT_ARMS, "ipr-roi")
BASE_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.013, 0.025)  # the shipped mse's
NEW_LAMBDAS = (0.00025, 0.0005, 0.0009)


def arm_configs() -> dict[str, object]:
    from ipr_bench.learned.checkpoint import VARIABLE_RATE
    from ipr_bench.training.config import TrainConfig
    from ipr_bench.training.precision import native_bf16

    lambdas = NEW_LAMBDAS + BASE_LAMBDAS
    common = TrainConfig(
        architecture=VARIABLE_RATE,
        args=(128, 192, len(lambdas)),
        lmbda=lambdas[-1],
        rate_lambdas=lambdas,
        recognizers=("facenet",),
        crop=192,
        batch_size=8,
        lr=1e-4,
        seed=0,
        steps=10**9,
        checkpoint_every=10**9,  # this script saves
        validate_every=10**9,  # and validates
        init_from="zoo:mse",
        # bf16 + channels_last where the CPU computes bf16 natively (Zen 4: 2.2× fp32), fp32 where it would be
        # emulated (Zen 3: bf16 at 0.09× of fp32); how a step runs is not a setting, so an arm may change machines
        precision="auto",
        channels_last=native_bf16("cpu"),
    )
    return {
        "mse-ft": replace(common, identity_weight=0.0),
        "ipr-ft": replace(common, identity_weight=600.0),
        "ipr-roi-ft": replace(common, identity_weight=600.0, face_boost=1.0),
        "ipr-roi-cont": replace(common, identity_weight=600.0, face_boost=1.0, init_from="zoo:ipr-roi"),
        "ipr-roi-bg": replace(
            common,
            args=(*common.args[:2], len(lambdas) + len(BACKGROUND_LAMBDAS)),
            rate_lambdas=BACKGROUND_LAMBDAS + lambdas,
            identity_weight=600.0,
            face_background=0.0,
            init_from="zoo:ipr-roi",
        ),
    }


def train(args: argparse.Namespace) -> None:
    from ipr_bench.training.precision import configure_threads
    from ipr_bench.training.train import Trainer

    stop = {"now": False}

    def request_stop(signum: int, _frame: object) -> None:
        stop["now"] = True
        print(f"signal {signum}: finishing the current chunk, then saving every arm (no validation)", flush=True)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    chosen = args.arms.split(",") if args.arms else ARMS
    every = arm_configs()
    unknown = set(chosen) - set(every)
    if unknown:
        raise SystemExit(f"unknown arm(s) {', '.join(sorted(unknown))}; arms: {', '.join(every)}")
    configs = {k: v for k, v in every.items() if k in chosen}
    trainers = {}
    for name, config in configs.items():
        trainer = Trainer(replace(config, threads=args.threads, compile=args.compile), args.runs / name)
        resumed = trainer.resume()
        print(f"{name}: {'resumed at step ' + str(trainer.step) if resumed else 'from ' + trainer.base_label()}")
        trainers[name] = trainer
    if args.hold_hyper_below:
        hold_hyper(trainers, args.hold_hyper_below)
        return
    configure_threads(args.threads)
    t0 = time.monotonic()
    first = {n: t.step for n, t in trainers.items()}
    busy = dict.fromkeys(trainers, 0.0)

    def save_all(validate: bool) -> None:
        for name, trainer in trainers.items():
            if validate and (not trainer.history or trainer.history[-1]["step"] != trainer.step):
                tv = time.monotonic()
                trainer.history.append(trainer.validate())
                shown = {k: round(v, 4) for k, v in trainer.history[-1].items() if "@q" in k}
                print(f"{name} step {trainer.step} validation ({time.monotonic() - tv:.0f} s): {shown}", flush=True)
            trainer.save()

    def boundary(step: int, every: int) -> int:
        return step // every * every

    # where each arm starts from (the base, its new levels extrapolated): arms that code alike (no face maps) share
    # one step-0 record, computed once; with --no-first-validation an arm waits for its first boundary
    shared = next((t.history[0] for t in trainers.values() if t.history and t.history[0]["step"] == 0), None)
    for trainer in trainers.values():
        if not trainer.history and trainer.step == 0 and shared and not trainer.config.face_boost:
            trainer.history.append(dict(shared))
    if (args.first_validation and any(not t.history for t in trainers.values())) or args.validate_only:
        save_all(validate=True)
    if args.validate_only:
        return
    validated = boundary(min(first.values()), args.validate_every)
    saved = boundary(min(first.values()), args.save_every)
    while not stop["now"] and time.monotonic() - t0 < args.max_seconds:
        for name, trainer in trainers.items():
            ts = time.monotonic()
            for _ in range(args.chunk):
                logs = trainer.train_step()
            busy[name] += time.monotonic() - ts
        steps = min(t.step for t in trainers.values())
        elapsed = time.monotonic() - t0
        done = sum(t.step - first[n] for n, t in trainers.items())
        rate = done * next(iter(configs.values())).batch_size / max(sum(busy.values()), 1e-9)
        left = args.max_seconds - elapsed
        print(
            f"[arms] step {steps}: {done} steps this session in {elapsed / 60:.1f} min, {rate:.2f} images/s "
            f"while training; last loss {float(logs['loss']):.4g}; stops in {left / 60:.0f} min",
            flush=True,
        )
        if boundary(steps, args.validate_every) > validated:
            validated = saved = boundary(steps, args.validate_every)
            save_all(validate=True)
        elif boundary(steps, args.save_every) > saved:
            saved = boundary(steps, args.save_every)
            save_all(validate=False)
    # the end of the time asked for validates; a signal (the machine is wanted now) only saves
    save_all(validate=not stop["now"])
    for name, trainer in trainers.items():
        if trainer.step > first[name]:
            trainer.record_session(first[name], time.monotonic() - t0, busy[name])
    print(f"stopped: {', '.join(f'{n} at step {t.step}' for n, t in trainers.items())}", flush=True)


def hold_hyper(trainers: dict, level: int) -> None:
    """A one-off repair, recorded in each arm's edits: the levels below the base's were extended with extrapolated
    hyper-latent gains, which made z cost up to 0.046 bpp (ipr_bench.training.finetune); hold them at the base's
    lowest level's, as a new extension now starts. Applied to every arm at the same step, so they stay paired."""
    from ipr_bench.training.finetune import hold_hyper_gains_below

    what = f"hyper-latent gains of levels q1–q{level} set to q{level + 1}'s (the base's lowest)"
    steps = {t.step for t in trainers.values()}
    if len(steps) != 1:
        raise SystemExit(f"the arms are at steps {sorted(steps)}: a repair must hit them all at one step")
    for name, trainer in trainers.items():
        if any(e.get("edit") == what for e in trainer.edits):
            raise SystemExit(f"{name}: already repaired ({what})")
        hold_hyper_gains_below(trainer.model, level)
        trainer.edits.append(
            {"step": trainer.step, "edit": what, "why": "extrapolated hyper gains made z cost up to 0.046 bpp"}
        )
        trainer.save()
        print(f"{name} at step {trainer.step}: {what}", flush=True)


def _fmt(delta: dict, digits: int, unit: str = "") -> str:
    if delta["reason"]:
        return f"n/a ({delta['reason']})"
    return f"{delta['value']:+.{digits}f}{unit} (overlap {delta['overlap']:.0%})"


def table(runs: Path, out: Path) -> None:
    """results/training/arms.json and arms.md: per arm its last validation at each level; the arms compared at
    the last step they were all validated at (against mse-ft, the paired control, and against their common base);
    each arm against the codec it would replace in the zoo (ipr_bench.training.evidence)."""
    import csv

    from ipr_bench.codecs.zoo import shipped
    from ipr_bench.core.cache import atomic_write_bytes
    from ipr_bench.learned.checkpoint import read_meta
    from ipr_bench.training.evidence import compare, ship_verdict

    arms: dict[str, dict] = {}
    for name in ARMS:
        path = runs / name / "last" / "train_state.json"
        if not path.is_file():
            continue
        state = json.loads(path.read_text())
        ledger = runs / name / "last" / "ledger.csv"
        rows = list(csv.DictReader(ledger.open())) if ledger.is_file() else []
        arms[name] = {
            "step": state["step"],
            "training_hours": round(sum(float(r["training_seconds"] or 0) for r in rows) / 3600, 3),
            "history": state.get("history") or [],
        }
    # paired: the last step every arm was validated at, each arm against mse-ft and against the base (step 0)
    common = set.intersection(*({int(h["step"]) for h in a["history"]} for a in arms.values())) if arms else set()
    paired: dict[str, object] = {}
    if common and max(common) > 0 and "mse-ft" in arms:
        at = max(common)
        record = {n: next(h for h in a["history"] if int(h["step"]) == at) for n, a in arms.items()}
        base = next((h for a in arms.values() for h in a["history"] if int(h["step"]) == 0), None)
        paired = {"step": at, "vs_mse_ft": {}, "vs_base": {}}
        for name, rec in record.items():
            if name != "mse-ft":
                paired["vs_mse_ft"][name] = compare(record["mse-ft"], rec).as_dict()  # type: ignore[index]
            if base is not None:
                paired["vs_base"][name] = compare(base, rec).as_dict()  # type: ignore[index]
    verdicts = {}
    for name, arm in arms.items():
        zoo_name = ZOO_ENTRY[name]
        # the first ipr-roi to ship must beat what the zoo had for identity: the shipped ipr
        reference = zoo_name if shipped(zoo_name) or zoo_name != "ipr-roi" else "ipr"
        root = shipped(reference)
        zoo_meta = read_meta(next(root.glob("*/"))) if root else {}
        if arm["history"] and zoo_meta.get("validation"):
            ok, why = ship_verdict(reference, zoo_meta["validation"], arm["history"][-1])
            verdicts[name] = {"replaces": zoo_name, "ship": ok, "why": why, "at_step": int(arm["history"][-1]["step"])}
    data = {"arms": arms, "paired": paired, "ship": verdicts}
    atomic_write_bytes(out.with_suffix(".json"), (json.dumps(data, indent=1) + "\n").encode())

    lines = [
        "# Paired fine-tuning arms (scripts/train_arms.py)",
        "",
        "Generated by `python scripts/train_arms.py --table` from each run's saved state (also as arms.json).",
        "Validation: the 78 held-out LFW training-pool images (real bitstreams; bpp = 8 × payload bytes / pixels;",
        "FaceNet cosine between the original's and the decoded image's embeddings). Bjøntegaard deltas over the",
        "validation levels (ipr_bench.training.evidence), n/a where the curves share < 25% of their range.",
        "",
    ]
    if paired:
        lines += [f"## Paired at step {paired['step']}", ""]
        lines += ["| arm | against | BD-rate at equal FaceNet cos | FaceNet cos at equal bpp | PSNR at equal bpp |"]
        lines += ["|---|---|---|---|---|"]
        for against, key in (("mse-ft (same steps)", "vs_mse_ft"), ("the base (step 0)", "vs_base")):
            for name, d in paired[key].items():  # type: ignore[attr-defined]
                lines.append(
                    f"| {name} | {against} | {_fmt(d['bd_rate_at_equal_cosine'], 1, '%')} | "
                    f"{_fmt(d['bd_cosine'], 4)} | {_fmt(d['bd_psnr'], 2, ' dB')} |"
                )
        lines.append("")
    if verdicts:
        lines += ["## Against the shipped codecs (ship by evidence)", ""]
        lines += ["| arm | would replace | at step | verdict |", "|---|---|---|---|"]
        for name, v in verdicts.items():
            lines.append(
                f"| {name} | {v['replaces']} | {v['at_step']} | {'ship' if v['ship'] else 'keep'}: {v['why']} |"
            )
        lines.append("")
    for name, arm in arms.items():
        lines += [f"## {name}: step {arm['step']}, {arm['training_hours']:.2f} h of training time", ""]
        if not arm["history"]:
            lines += ["(not validated yet)", ""]
            continue
        last = arm["history"][-1]
        at = int(last["step"])
        what = "the base, its new levels extrapolated" if at == 0 else f"{at} fine-tuning steps"
        lines += [f"Last validation at step {at} ({what}):", ""]
        lines += ["| level | bpp | PSNR | FaceNet cos |", "|---|---|---|---|"]
        for q in sorted({int(k.split("@q")[1]) for k in last if "@q" in k}):
            cos = last.get(f"cosine_facenet@q{q}")
            lines.append(
                f"| q{q} | {last[f'bpp@q{q}']:.4f} | {last[f'psnr@q{q}']:.2f} | {'' if cos is None else f'{cos:.4f}'} |"
            )
        lines.append("")
    atomic_write_bytes(out, ("\n".join(lines) + "\n").encode())
    print(f"wrote {out} and {out.with_suffix('.json').name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--chunk", type=int, default=25, help="steps per arm per turn")
    parser.add_argument("--validate-every", type=int, default=1000)
    parser.add_argument("--save-every", type=int, default=250)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile each arm's training forward (Zen 3 fp32: +18%% MSE, +5%% FaceNet; bench_train.md)",
    )
    parser.add_argument(
        "--first-validation",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="validate an arm at step 0 before training it (the base's figures)",
    )
    parser.add_argument(
        "--hold-hyper-below",
        type=int,
        default=0,
        metavar="N",
        help="one-off repair: give levels q1…qN q(N+1)'s hyper-latent gains, save, and stop (see hold_hyper)",
    )
    parser.add_argument(
        "--validate-only", action="store_true", help="validate each arm at its current step (if not yet), save, stop"
    )
    parser.add_argument(
        "--arms", default="", help=f"comma-separated (default: {','.join(ARMS)}; the pilot: {','.join(PILOT_ARMS)})"
    )
    parser.add_argument("--runs", type=Path, default=RUNS)
    parser.add_argument("--table", action="store_true", help="only write results/training/arms.md")
    args = parser.parse_args()
    if args.table:
        table(args.runs, ROOT / "results" / "training" / "arms.md")
        return
    train(args)


if __name__ == "__main__":
    main()
