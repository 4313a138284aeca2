"""The ``ipr-bench`` command line."""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ipr_bench.errors import IprBenchError

app = typer.Typer(add_completion=False, no_args_is_help=False, help=__doc__)
data_app = typer.Typer(help="Get datasets.")
app.add_typer(data_app, name="data")


@app.callback()
def _global_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            help="TOML file whose [run] / [report] / … tables give defaults for that command's options, e.g. "
            '[run] executor = "ray", ray_address = "auto", workers = 8 (command-line options still win).'
        ),
    ] = None,
) -> None:
    if config is None:
        return
    import tomllib

    try:
        table = tomllib.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        _fail(f"--config {config}: no such file")
    except tomllib.TOMLDecodeError as exc:
        _fail(f"--config {config}: {exc}")
    # click applies default_map[command][option] as that option's default
    ctx.default_map = {
        command: {k.replace("-", "_"): v for k, v in options.items()} for command, options in table.items()
    }


def parse_folds(text: str) -> list[int]:
    """'1-10', '1,3,5' or '2-3,7' → sorted fold numbers."""
    folds: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if lo > hi:
                    raise ValueError
                folds.update(range(lo, hi + 1))
            else:
                folds.add(int(part))
        except ValueError:
            raise typer.BadParameter(f"folds: {part!r} is not a fold number or range like 1-10") from None
    return sorted(folds)


def parse_assignments(values: list[str], what: str) -> dict[str, str]:
    """['hevc=18,23', 'jpeg=50'] (also ';'-separated) → {'hevc': '18,23', 'jpeg': '50'}."""
    out = {}
    for value in values:
        for part in filter(None, (p.strip() for p in value.split(";"))):
            key, sep, rest = part.partition("=")
            if not sep or not key or not rest:
                raise typer.BadParameter(f"{what}: expected NAME=VALUE, got {part!r}")
            out[key.strip()] = rest.strip()
    return out


def parse_value(text: str) -> Any:
    """An option value: JSON where it parses (numbers, lists, true), a comma list of such, else the string."""
    import json

    def one(part: str) -> Any:
        try:
            return json.loads(part)
        except json.JSONDecodeError:
            return part

    return [one(p.strip()) for p in text.split(",")] if "," in text and not text.startswith("[") else one(text)


def split_names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def with_landmarks(
    rec_specs: list[str], rec_options: dict[str, dict[str, Any]], landmarks: str
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """``--landmarks``: every recognizer that can align with ``landmarks`` gets ``landmarker=landmarks`` (an
    explicit ``NAME.landmarker`` option wins); the others keep their own, with a note saying why."""
    from ipr_bench.errors import UnavailableError
    from ipr_bench.registry import LANDMARKERS, create_recognizer

    LANDMARKERS.get(landmarks)  # an unknown name gets the list of what exists
    out, notes = {name: dict(opts) for name, opts in rec_options.items()}, []
    for spec in rec_specs:
        name = spec.split(":")[0]
        options = {"landmarker": landmarks, **out.get(name, {})}
        try:
            create_recognizer(spec, **options)
        except UnavailableError as exc:
            notes.append(f"--landmarks {landmarks} not applied to {name}: {exc}")
            continue
        out[name] = options
    return out, notes


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(2)


@app.command()
def run(
    preset: Annotated[
        str | None,
        typer.Option(help="Named configuration (see `ipr-bench list`; default quick); options below override it."),
    ] = None,
    codecs: Annotated[str | None, typer.Option(help="Comma-separated codecs, e.g. jpeg,hevc,vvc.")] = None,
    recognizers: Annotated[
        str | None, typer.Option(help="Comma-separated recognizers, e.g. dlib,arcface,onnx:PATH.")
    ] = None,
    dataset: Annotated[str | None, typer.Option(help="lfw, lfw:view1-test, celeba-wild, folder:/path/to/root.")] = None,
    detect_crop: Annotated[
        int | None,
        typer.Option(
            help="In-the-wild photos (folder, celeba-wild): detect the face and crop a SIZE² CelebA-HQ-framed "
            "square first (celeba-wild: 512 by default)."
        ),
    ] = None,
    qualities: Annotated[
        list[str] | None, typer.Option(help="Per-codec sweep, e.g. hevc=18,23,28 (repeatable).")
    ] = None,
    codec_option: Annotated[
        list[str] | None, typer.Option(help="Codec option, e.g. hevc.pix_fmt=yuv444p (repeatable).")
    ] = None,
    recognizer_option: Annotated[
        list[str] | None,
        typer.Option(help="Recognizer option, e.g. onnx.input_size=112,112 or onnx.template=sphereface (repeatable)."),
    ] = None,
    landmarks: Annotated[
        str | None,
        typer.Option(
            help="Landmark source every recognizer aligns with: mtcnn, dlib5, scrfd or yunet (default: each "
            "recognizer's own; dlib's recognizer always keeps dlib5, its face chips need its own points)."
        ),
    ] = None,
    folds: Annotated[
        str | None, typer.Option(help="Folds to evaluate, e.g. 1-10 or 1,2 (default: the preset's).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (default: CPU count).")] = 0,
    out: Annotated[Path | None, typer.Option(help="Results store folder.")] = None,
    cache: Annotated[
        str | None,
        typer.Option(help="Cache folder or fsspec URL (default $IPR_BENCH_CACHE or the user cache dir)."),
    ] = None,
    align_on: Annotated[
        str, typer.Option(help="original: landmarks of the original for every version; decoded: re-detect.")
    ] = "original",
    chunk_size: Annotated[int, typer.Option(help="Items per unit of work.")] = 100,
    threshold_protocol: Annotated[
        str, typer.Option(help="Protocol of the report written after the run: lfw10fold or fixed-original.")
    ] = "lfw10fold",
    progress: Annotated[bool, typer.Option(help="Show progress.")] = True,
    executor: Annotated[
        str, typer.Option(help="Where chunks run: local (worker processes here) or ray (needs ipr-bench[ray]).")
    ] = "local",
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster: auto (the running one), HOST:PORT, or none to start one here.")
    ] = None,
    ray_cache_mode: Annotated[
        str,
        typer.Option(
            help="shared: nodes use --cache directly (a shared path or fsspec URL); object-store: entries travel "
            "with the tasks."
        ),
    ] = "shared",
) -> None:
    """Cross codecs × qualities × recognizers over a dataset and write the rate–accuracy table."""
    from ipr_bench.cache import Cache, atomic_write_bytes
    from ipr_bench.presets import PRESETS
    from ipr_bench.progress import Progress
    from ipr_bench.registry import CODECS, create_codec, create_dataset, create_recognizer
    from ipr_bench.runner import Runner, RunSpec
    from ipr_bench.store import ResultStore
    from ipr_bench.summary import append_run_log, write_provenance, write_report

    # the quick preset's sweeps are defaults for its own codecs; codecs named on the command line without
    # --preset get their own default sweep
    explicit_preset = preset is not None
    preset = preset or "quick"
    if preset not in PRESETS:
        _fail(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
    from ipr_bench.executors import EXECUTORS, RAY_FIX, ray_available

    if executor not in EXECUTORS:
        _fail(f"--executor {executor!r}: one of {', '.join(EXECUTORS)}")
    if executor == "ray" and not ray_available():
        _fail(f"--executor ray needs Ray, which is not installed: {RAY_FIX}")
    if align_on not in ("original", "decoded"):
        _fail(f"--align-on must be 'original' or 'decoded', not {align_on!r}")
    p = PRESETS[preset]
    codec_names = split_names(codecs) if codecs is not None else list(p.codecs)
    from ipr_bench.metrics import PROTOCOLS

    if threshold_protocol not in PROTOCOLS:
        _fail(f"--threshold-protocol {threshold_protocol!r}: one of {', '.join(PROTOCOLS)}")
    rec_specs = split_names(recognizers) if recognizers is not None else list(p.recognizers)
    if not rec_specs:
        _fail("no recognizers given")
    sweep_text = parse_assignments(qualities or [], "--qualities")
    options_text = parse_assignments(codec_option or [], "--codec-option")
    try:
        for key in list(sweep_text) + [k.split(".")[0] for k in options_text]:
            if key not in codec_names:
                CODECS.get(key)  # unknown names get the list of what exists
                _fail(f"--qualities/--codec-option name {key!r}, which is not among --codecs {','.join(codec_names)}")
        codec_objs: dict[str, Any] = {}
        sweeps: dict[str, list] = {}
        for name in codec_names:
            opts = {k.split(".", 1)[1]: v for k, v in options_text.items() if k.split(".", 1)[0] == name}
            codec = create_codec(name, **opts)
            avail = codec.availability()
            if not avail.ok:
                _fail(f"codec {name} is not available here: {avail.reason}")
            codec_objs[name] = codec
            if name in sweep_text:
                sweeps[name] = [codec.parse_quality(q) for q in split_names(sweep_text[name])]
            elif name in p.qualities and (explicit_preset or codecs is None):
                sweeps[name] = [codec.parse_quality(str(q)) for q in p.qualities[name]]
            else:
                sweeps[name] = list(codec.default_qualities)
        rec_options_text = parse_assignments(recognizer_option or [], "--recognizer-option")
        rec_options: dict[str, dict[str, Any]] = {}
        for key, value in rec_options_text.items():
            name, dot, field = key.partition(".")
            if not dot or name not in [s.split(":")[0] for s in rec_specs]:
                _fail(f"--recognizer-option {key}: expected NAME.OPTION with NAME among --recognizers {rec_specs}")
            rec_options.setdefault(name, {})[field] = parse_value(value)
        if landmarks:
            rec_options, notes = with_landmarks(rec_specs, rec_options, landmarks)
            for note in notes:
                typer.secho(f"note: {note}", err=True)
        rec_objs = {}
        for spec in rec_specs:
            rec = create_recognizer(spec, **rec_options.get(spec.split(":")[0], {}))
            avail = rec.availability()
            if not avail.ok:
                _fail(f"recognizer {spec} is not available here: {avail.reason}")
            rec_objs[spec] = rec
        ds_spec = dataset or p.dataset
        name, _, arg = ds_spec.partition(":")
        if detect_crop and name not in ("folder", "celeba-wild"):
            _fail(f"--detect-crop is for in-the-wild photos (folder, celeba-wild), not {name}")
        crop = detect_crop or (p.detect_crop if not dataset else None)
        ds_options = {"detect_crop": crop} if crop else {}
        ds = create_dataset("lfw", view=arg) if name == "lfw" and arg else create_dataset(ds_spec, **ds_options)
        fold_list = parse_folds(folds) if folds else (list(p.folds) if p.folds and not dataset else None)
        if fold_list:
            ds = ds.select_folds(fold_list)
        if ds.excluded:
            from collections import Counter

            reasons = Counter(reason.split(" (", 1)[0] for reason in ds.excluded.values())
            shown = "; ".join(f"{n} × {r}" for r, n in reasons.most_common(4))
            typer.secho(
                f"{ds.name}: {len(ds.excluded)} entries left out ({shown}); all listed in excluded.csv", err=True
            )
        if len(ds.folds) < 2:
            typer.secho("note: one fold only: thresholds are chosen on that same fold (optimistic)", err=True)
        out_dir = out or Path(p.out if not (codecs or recognizers or dataset or folds) else f"runs/{ds.name}")
        spec = RunSpec(
            dataset=ds,
            codecs=codec_objs,
            qualities=sweeps,
            recognizers=rec_objs,
            recognizer_options={s: rec_options.get(s.split(":")[0], {}) for s in rec_specs},
            out=out_dir,
            cache=Cache(cache),
            align_on=align_on,  # type: ignore[arg-type]
            workers=workers or os.cpu_count() or 1,
            chunk_size=chunk_size,
            executor=executor,
            executor_options={"address": ray_address, "cache_mode": ray_cache_mode} if executor == "ray" else {},
        )
        n_settings = 1 + sum(len(v) for v in sweeps.values())
        typer.echo(
            f"{ds.label}: {len(ds.items)} images, {len(ds.pairs)} pairs; {n_settings} settings × "
            f"{len(rec_objs)} recognizers; store {out_dir}, cache {spec.cache.location}",
            err=True,
        )
        if preset == "quick" and not (codecs or recognizers or dataset or folds or qualities):
            typer.echo(f"preset quick: {p.description}", err=True)
        t0 = time.monotonic()
        with Progress() as bar:
            runner = Runner(spec, bar if progress else None)
            labels = runner.run()
        elapsed = time.monotonic() - t0
        command = "ipr-bench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        # the store's summary covers everything in it (earlier runs' settings and recognizers too); the table
        # printed below is this run's part
        store = ResultStore(out_dir)
        table = write_report(store, store.labels(), None, command)
        table = table[table["setting"].isin(labels) & table["recognizer"].isin([r.name for r in rec_objs.values()])]
        prov = {
            **runner.provenance,
            "command": command,
            "elapsed_s": round(elapsed, 1),
            "codecs": {n: c.config() for n, c in codec_objs.items()},
            "qualities": sweeps,
            "recognizers": {s: r.config() for s, r in rec_objs.items()},
            "dataset": ds.label,
            "dataset_fingerprint": runner.dataset_fp,
        }
        if ds.excluded:  # photos the dataset left out (e.g. no clear face to crop), each with its reason
            prov["excluded_items"] = len(ds.excluded)
            import csv
            import io

            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            writer.writerows([("item", "reason"), *sorted(ds.excluded.items())])
            atomic_write_bytes(out_dir / "excluded.csv", buf.getvalue().encode())
        write_provenance(out_dir, prov)
        append_run_log(
            out_dir,
            {
                "command": command,
                "time": prov["time"],
                "git_commit": prov["git_commit"],
                "elapsed_s": round(elapsed, 1),
                "settings": labels,
                "computed": runner.computed,
            },
        )
    except IprBenchError as exc:
        _fail(str(exc))
    _print_table(table)
    typer.echo(f"\n{len(labels)} settings in {elapsed:.1f} s; table: {out_dir / 'summary.md'}", err=True)
    _report_after_run(out_dir, threshold_protocol)


def _report_after_run(out_dir: Path, protocol: str, anchor: str = "hevc:23") -> None:
    from ipr_bench.report import build_report

    try:
        build_report(out_dir, anchor=anchor, protocol=protocol)
    except IprBenchError as exc:
        typer.echo(f"no report: {exc} (ipr-bench report --results {out_dir} --anchor CODEC:QUALITY)", err=True)
        return
    typer.echo(f"report: {out_dir / 'report.md'} and report.html (curves, BD-rate, parity)", err=True)


def _print_table(table: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="rate–accuracy")
    for col in ("recognizer", "setting", "bpp", "PSNR", "accuracy %", "TAR@1e-3 %", "acc. % (orig. thr.)", "cos"):
        t.add_column(col, no_wrap=True)
    fixed = table[table["protocol"] == "fixed-original"].set_index(["setting", "recognizer"])["accuracy"]
    for _, r in table[table["protocol"] == "lfw10fold"].sort_values(["recognizer", "codec", "bpp"]).iterrows():
        t.add_row(
            r["recognizer"],
            r["setting"],
            f"{r['bpp']:.4f}",
            f"{r['psnr']:.2f}" if r["psnr"] == r["psnr"] else "—",
            f"{r['accuracy']:.2f} ± {r['accuracy_std']:.2f}",
            f"{r['tar_at_far']:.2f}",
            f"{fixed.get((r['setting'], r['recognizer']), float('nan')):.2f}",
            f"{r['cos_to_original']:.4f}",
        )
    Console().print(t)


@app.command("summarize")
def summarize_store(
    out: Annotated[Path, typer.Argument(help="A results store folder, e.g. results/lfw-classical.")],
) -> None:
    """Recompute summary.md / summary.csv from a results store alone (no cache, no encoding)."""
    from ipr_bench.store import ResultStore
    from ipr_bench.summary import write_report

    store = ResultStore(out)
    labels = store.labels()
    if not labels:
        _fail(f"no results store at {out} (expected {out}/items/*.parquet)")
    command = "ipr-bench summarize " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    table = write_report(store, labels, None, command)
    _print_table(table)


@app.command("report")
def report_command(
    results: Annotated[Path, typer.Option(help="A results store folder.")] = Path("runs/quick"),
    anchor: Annotated[str, typer.Option(help="Anchor operating point CODEC:QUALITY.")] = "hevc:23",
    epsilon: Annotated[float, typer.Option(help="Parity tolerance in accuracy percentage points.")] = 0.5,
    out: Annotated[Path | None, typer.Option(help="Where to write (default: the results folder).")] = None,
    threshold_protocol: Annotated[
        str, typer.Option(help="lfw10fold (per-setting thresholds) or fixed-original (the originals' thresholds).")
    ] = "lfw10fold",
) -> None:
    """report.md, a self-contained report.html, figures and summary.json: curves, BD-rate, parity, robustness."""
    from rich.console import Console
    from rich.table import Table

    from ipr_bench.report import build_report

    try:
        analysis = build_report(results, out, anchor, epsilon, threshold_protocol)
    except IprBenchError as exc:
        _fail(str(exc))
    t = Table(title=f"parity (ε = {epsilon:g} pp), anchor {anchor}, {threshold_protocol} thresholds")
    for col in ("recognizer", "codec", "reference", "parity bpp", "ratio", "how"):
        t.add_column(col)
    for p in analysis.parities():
        ratio = f"{p['ratio']:.1%}" if p["ratio"] is not None else "—"
        bpp = f"{p['bpp']:.4f}" if p["bpp"] is not None else "—"
        t.add_row(p["recognizer"], p["codec"], p["ref"], bpp, ratio, p["status"])
    Console().print(t)
    typer.echo(f"report: {(out or results) / 'report.md'}, report.html, summary.json, figures/", err=True)


@app.command("bdrate")
def bdrate_command(
    results: Annotated[Path, typer.Option(help="A results store folder.")] = Path("runs/quick"),
    anchor: Annotated[str, typer.Option(help="Anchor codec (CODEC or CODEC:QUALITY).")] = "hevc:23",
    metric: Annotated[str, typer.Option(help="accuracy or psnr.")] = "accuracy",
    format: Annotated[str, typer.Option("--format", help="md or csv.")] = "md",
    threshold_protocol: Annotated[
        str, typer.Option(help="lfw10fold (per-setting thresholds) or fixed-original (the originals' thresholds).")
    ] = "lfw10fold",
) -> None:
    """BD-rate of every codec against the anchor codec, as Markdown or CSV on stdout."""
    import pandas as pd

    from ipr_bench.report import analyse

    if ":" not in anchor:
        anchor += ":0"  # BD-rate needs only the codec
    try:
        rows = [r for r in analyse(results, anchor, protocol=threshold_protocol).bd_rates() if r["metric"] == metric]
    except IprBenchError as exc:
        _fail(str(exc))
    table = pd.DataFrame(rows)
    if format == "csv":
        typer.echo(table.to_csv(index=False, float_format="%.4f"), nl=False)
    else:
        typer.echo("| codec | recognizer | BD-rate % | overlap | note |\n|---|---|---|---|---|")
        for _, r in table.iterrows():
            v = "—" if pd.isna(r["bd_rate_percent"]) else f"{r['bd_rate_percent']:+.2f}"
            typer.echo(f"| {r['codec']} | {r['recognizer']} | {v} | {r['overlap']:.0%} | {r['reason']} |")


@app.command("plot")
def plot_command(
    results: Annotated[Path, typer.Option(help="A results store folder.")] = Path("runs/quick"),
    metric: Annotated[str, typer.Option(help="accuracy, tar, cos or psnr.")] = "accuracy",
    out: Annotated[Path, typer.Option(help="Figure file (.png, .svg or .pdf).")] = Path("rate_accuracy.png"),
    linear_bpp: Annotated[bool, typer.Option(help="Linear instead of log bpp axis.")] = False,
    threshold_protocol: Annotated[
        str, typer.Option(help="lfw10fold (per-setting thresholds) or fixed-original (the originals' thresholds).")
    ] = "lfw10fold",
) -> None:
    """One rate–metric figure (a panel per recognizer) from a results store."""
    from ipr_bench.report import METRICS, analyse, figure

    if metric not in METRICS:
        _fail(f"--metric {metric!r}: one of {', '.join(METRICS)}")
    try:
        analysis = analyse(results, "none:0", protocol=threshold_protocol)
    except IprBenchError as exc:
        _fail(str(exc))
    fig = figure(analysis, metric, log_bpp=not linear_bpp)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    typer.echo(str(out), err=True)


@app.command("gallery")
def gallery_command(
    results: Annotated[Path, typer.Option(help="Results store (with originals).")],
    dataset: Annotated[str, typer.Option(help="The dataset the store was computed on (for the images).")] = "lfw",
    targets: Annotated[str, typer.Option(help="Target bpp values, comma-separated.")] = "0.10,0.17,0.27,0.44",
    seed: Annotated[int, typer.Option(help="Seed of the pair draw.")] = 0,
    view: Annotated[
        str, typer.Option(help="face: enlarged face crops; whole: whole images, face region outlined.")
    ] = "face",
) -> None:
    """Face crops (or whole images) of a matched and a mismatched pair for each codec near a few target rates,
    with each image's cosine to the original and each recognizer's decision (figures/gallery_*.png; report.md
    shows them)."""
    from ipr_bench.gallery import build_gallery

    try:
        rates = tuple(float(t) for t in split_names(targets))
    except ValueError:
        _fail(f"--targets {targets!r}: expected bpp values such as 0.10,0.17,0.27,0.44")
    try:
        written = build_gallery(results, dataset, rates, seed, view)
    except IprBenchError as exc:
        _fail(str(exc))
    for path in written:
        typer.echo(str(path))


@app.command("bits")
def bits_command(
    results: Annotated[Path, typer.Option(help="Results store with learned codecs (ipr, mse, learned:DIR).")],
    dataset: Annotated[str, typer.Option(help="The dataset the store was computed on (for the images).")] = "lfw",
    images: Annotated[int, typer.Option(help="Images drawn (seeded) from the store's.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the image draw.")] = 0,
    device: Annotated[str | None, typer.Option(help="cpu or cuda (default: the GPU when there is one).")] = None,
) -> None:
    """Where each learned codec spends its bits: the share inside the face region per setting (bits_inside.csv)
    and the mean bit density in aligned face coordinates (figures/bits_*.png); report.md shows both."""
    from ipr_bench.bitmaps import where_bits_go
    from ipr_bench.progress import Progress

    try:
        with Progress() as progress:
            written = where_bits_go(results, dataset, images, seed, device, progress)
    except IprBenchError as exc:
        _fail(str(exc))
    for path in written:
        typer.echo(str(path))


@app.command("reproduce")
def reproduce_command(
    only: Annotated[
        str | None, typer.Option(help="Comma-separated experiments (default: all; see ipr_bench/reproduce.py).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes for each run (default: CPU count).")] = 0,
    readme_only: Annotated[
        bool, typer.Option(help="Only regenerate the README's results section from the committed stores.")
    ] = False,
    train: Annotated[
        bool,
        typer.Option(
            help="Train and ship the learned codecs (ipr, mse) the experiments need and the zoo lacks (GPU: hours; "
            "resumable). Shipped checkpoints are never retrained."
        ),
    ] = False,
) -> None:
    """Run every committed experiment (resumable: committed settings are reused), rebuild the reports, and
    regenerate the README's results section from them."""
    from ipr_bench.reproduce import reproduce

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
    name: Annotated[str, typer.Option("--as", help="The zoo codec it becomes: ipr or mse.")],
) -> None:
    """Make a trained run the shipped ipr or mse codec (copied into the package's zoo, replacing the old one)."""
    from ipr_bench.codecs.zoo import ship

    try:
        target = ship(run_dir, name)
    except IprBenchError as exc:
        _fail(str(exc))
    typer.echo(f"{name} now ships {target} (commit it to ship it with the package)")


@app.command("export")
def export_command(
    results: Annotated[Path, typer.Option(help="A results store (ipr-bench run --out).")],
    fmt: Annotated[str, typer.Option("--format", help="compressai-json: CompressAI's results JSON, one per codec.")],
    out: Annotated[Path | None, typer.Option(help="Folder for the files (default: STORE/export/FORMAT).")] = None,
) -> None:
    """Write a store's rate curves in another tool's format (compressai-json: for compressai.utils.plot)."""
    from ipr_bench.export import export

    target = out or results / "export" / fmt
    try:
        written = export(results, fmt, target)
    except IprBenchError as exc:
        _fail(str(exc))
    typer.echo(
        f"wrote {len(written)} files to {target} (e.g. python -m compressai.utils.plot --results-file {target}/*.json)"
    )


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
            "the region travels in the payload (8 bytes)."
        ),
    ] = 0.0,
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
            help="fp32, or bf16: autocast of the codec's transforms and the recognizer (entropy models, "
            "likelihoods and the rate term stay fp32); ~2.5× faster on a CPU with avx512_bf16."
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
    from ipr_bench.progress import Progress
    from ipr_bench.train import TrainConfig, Trainer

    if crop % 64:
        _fail(f"--crop {crop}: must be a multiple of 64 (the models' stride)")
    if continue_run:
        from ipr_bench.train import saved_config

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
            from ipr_bench.finetune import describe_base

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
            from ipr_bench.learned import VARIABLE_RATE as ARCHITECTURE

            architecture, args, lmbda = ARCHITECTURE, (*args[:2], len(rate_lambdas)), rate_lambdas[-1]
        config = TrainConfig(
            architecture=architecture,
            args=args,
            lmbda=lmbda,
            rate_lambdas=rate_lambdas,
            face_boost=face_boost,
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


def _status(plugin: Any) -> str:
    """'yes', 'no: why', or 'give …' for a plugin class that runs here once the user names its argument."""
    avail = plugin.availability()
    if not avail.ok:
        return f"no: {avail.reason}"
    hint = plugin.needs_argument() if hasattr(plugin, "needs_argument") else None
    return f"give {hint}" if hint else "yes"


@app.command("list")
def list_plugins(pattern: Annotated[str, typer.Argument(help="Glob on names.")] = "*") -> None:
    """Every codec, recognizer, landmarker, dataset, producer and preset: what it needs, whether it runs here."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from ipr_bench.presets import PRESETS
    from ipr_bench.registry import CODECS, DATASETS, LANDMARKERS, PRODUCERS, RECOGNIZERS

    def codec_row(name: str, cls: Any) -> tuple[str, ...]:
        sweep = ",".join(map(str, cls.default_qualities))
        return name, cls.knob, sweep, cls.payload_contains, cls.requires, _status(cls)

    def recognizer_row(name: str, cls: Any) -> tuple[str, ...]:
        trainable = "yes (torch module)" if cls.has_torch_module else "no: evaluation-only"
        return name, cls.requires, trainable, _status(cls)

    def landmarker_row(name: str, cls: Any) -> tuple[str, ...]:
        points = "eye corners + nose base" if cls.scheme == "dlib5" else "eye centres, nose tip, mouth corners"
        return name, points, cls.requires, _status(cls)

    def dataset_row(name: str, factory: Any) -> tuple[str, ...]:
        doc = (factory.__doc__ or "").strip().splitlines()
        try:
            if name == "folder":
                status = "give a root: folder:/path"
            elif name == "celeba-wild":  # building it crops every photo: count them instead
                from ipr_bench.datasets.celeba_wild import read_items

                status = f"yes: {len(read_items())} photos (face crops are made and cached on first use)"
            else:
                status = "yes: " + factory().label
        except IprBenchError as exc:
            status = f"no: {exc}"
        return name, doc[0] if doc else "", status

    def producer_row(name: str, cls: Any) -> tuple[str, ...]:
        return name, cls.command, cls.produces, cls.requires

    sections = [
        ("codecs", ("name", "knob", "default sweep", "bytes counted", "needs", "available"), CODECS, codec_row),
        ("recognizers", ("name", "needs", "training losses", "available"), RECOGNIZERS, recognizer_row),
        (
            "landmarkers (FaceSpec.landmarker, e.g. --recognizer-option arcface.landmarker=mtcnn)",
            ("name", "points", "needs", "available"),
            LANDMARKERS,
            landmarker_row,
        ),
        ("datasets", ("name", "what", "available"), DATASETS, dataset_row),
        ("producers (make codecs)", ("name", "command", "produces", "needs"), PRODUCERS, producer_row),
    ]
    console = Console()
    for title, columns, registry, row in sections:
        table = Table(title=title)
        for col in columns:
            table.add_column(col)
        for name in registry.names(pattern):
            # plain text: an install hint such as pip install -e '.[deepface]' is not Rich markup
            table.add_row(*(escape(str(cell)) for cell in row(name, registry.get(name)[0])))
        console.print(table)
    table = Table(title="presets (ipr-bench run --preset NAME)")
    table.add_column("name")
    table.add_column("what")
    for name, p in PRESETS.items():
        table.add_row(name, escape(p.description))
    console.print(table)
    from ipr_bench.executors import RAY_FIX, ray_available

    table = Table(title="executors (ipr-bench run --executor NAME)")
    for col in ("name", "what", "available here"):
        table.add_column(col)
    table.add_row("local", "worker processes on this machine (--workers N); the default", "yes")
    table.add_row(
        "ray",
        "the same chunk tasks on a Ray cluster (--ray-address auto|HOST:PORT, --ray-cache-mode shared|object-store)",
        "yes" if ray_available() else escape(f"no: {RAY_FIX}"),
    )
    console.print(table)


@data_app.command("fetch")
def data_fetch(
    name: Annotated[str, typer.Argument(help="Dataset to download (lfw).")],
    dest: Annotated[Path | None, typer.Option(help="Data root (default $IPR_BENCH_DATA or the user data dir).")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Fetch the same files from this base URL instead (a mirror).")
    ] = None,
) -> None:
    """Download a dataset from its official address (SHA-256 checked, resumable)."""
    from dataclasses import replace

    from ipr_bench.datasets.base import data_root
    from ipr_bench.fetch import DATASETS, fetch_dataset

    if name not in DATASETS:
        _fail(f"no download recipe for {name!r}; known: {', '.join(DATASETS)}")
    remotes = DATASETS[name]
    if base_url:
        remotes = tuple(replace(r, urls=(f"{base_url.rstrip('/')}/{r.filename}",)) for r in remotes)
    try:
        fetch_dataset(name, dest or data_root(), lambda m: typer.echo(m, err=True), remotes)
    except IprBenchError as exc:
        _fail(str(exc))


def main() -> None:
    try:
        app()
    except IprBenchError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
