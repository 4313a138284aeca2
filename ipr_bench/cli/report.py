"""Commands that read a results store: report, bdrate, plot, gallery, bits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ipr_bench.cli.app import _fail, app, split_names
from ipr_bench.core.errors import IprBenchError


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

    from ipr_bench.render.report import build_report

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

    from ipr_bench.analysis.analyse import analyse

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
    from ipr_bench.analysis.analyse import analyse
    from ipr_bench.render.figures import METRICS, figure

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
    from ipr_bench.render.gallery import build_gallery

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
    from ipr_bench.analysis.bitmaps import where_bits_go
    from ipr_bench.core.progress import Progress

    try:
        with Progress() as progress:
            written = where_bits_go(results, dataset, images, seed, device, progress)
    except IprBenchError as exc:
        _fail(str(exc))
    for path in written:
        typer.echo(str(path))


@app.command("export")
def export_command(
    results: Annotated[Path, typer.Option(help="A results store (ipr-bench run --out).")],
    fmt: Annotated[str, typer.Option("--format", help="compressai-json: CompressAI's results JSON, one per codec.")],
    out: Annotated[Path | None, typer.Option(help="Folder for the files (default: STORE/export/FORMAT).")] = None,
) -> None:
    """Write a store's rate curves in another tool's format (compressai-json: for compressai.utils.plot)."""
    from ipr_bench.render.export import export

    target = out or results / "export" / fmt
    try:
        written = export(results, fmt, target)
    except IprBenchError as exc:
        _fail(str(exc))
    typer.echo(
        f"wrote {len(written)} files to {target} (e.g. python -m compressai.utils.plot --results-file {target}/*.json)"
    )
