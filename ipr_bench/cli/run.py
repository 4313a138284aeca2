"""`ipr-bench run` (a thin wrapper of ipr_bench.evaluate) and `ipr-bench summarize`."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ipr_bench.cli.app import _fail, app, parse_assignments, parse_folds, parse_value, split_names
from ipr_bench.core.errors import IprBenchError


@app.command()
def run(
    preset: Annotated[
        str | None,
        typer.Option(help="Named configuration (see `ipr-bench list`; default quick); options below override it."),
    ] = None,
    codecs: Annotated[
        str | None, typer.Option(help="Comma-separated codecs, e.g. jpeg,hevc,vvc; none: the originals alone.")
    ] = None,
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
    max_pixels: Annotated[
        int | None,
        typer.Option(help="Refuse input images above this many pixels, from their header (default 40000000)."),
    ] = None,
    pairs: Annotated[
        Path | None,
        typer.Option(
            help="Your own pairs file in LFW's format, over the dataset's images (lfw, or folder:ROOT "
            "laid out ROOT/Name/Name_NNNN.jpg)."
        ),
    ] = None,
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
    from ipr_bench.experiments.evaluate import evaluate

    rec_options: dict[str, dict[str, Any]] = {}
    for key, value in parse_assignments(recognizer_option or [], "--recognizer-option").items():
        name, dot, field = key.partition(".")
        if not dot:
            _fail(f"--recognizer-option {key}: expected NAME.OPTION")
        rec_options.setdefault(name, {})[field] = parse_value(value)
    codec_options: dict[str, dict[str, Any]] = {}
    for key, value in parse_assignments(codec_option or [], "--codec-option").items():
        name, _, field = key.partition(".")
        codec_options.setdefault(name, {})[field] = value
    try:
        result = evaluate(
            preset,
            codecs=split_names(codecs) if codecs is not None else None,
            recognizers=split_names(recognizers) if recognizers is not None else None,
            dataset=dataset,
            detect_crop=detect_crop,
            pairs=pairs,
            qualities={k: split_names(v) for k, v in parse_assignments(qualities or [], "--qualities").items()},
            codec_options=codec_options,
            recognizer_options=rec_options,
            landmarks=landmarks,
            folds=parse_folds(folds) if folds else None,
            workers=workers,
            out=out,
            cache=cache,
            align_on=align_on,
            chunk_size=chunk_size,
            max_pixels=max_pixels,
            threshold_protocol=threshold_protocol,
            progress=progress,
            executor=executor,
            ray_address=ray_address,
            ray_cache_mode=ray_cache_mode,
            command="ipr-bench " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
            log=lambda message: typer.echo(message, err=True),
        )
    except IprBenchError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        # every finished unit of work is in the store and the cache: the same command goes on from there
        again = "ipr-bench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        typer.secho(f"\ninterrupted; finished work is kept. Resume with the same command: {again}", err=True)
        raise typer.Exit(130) from None
    _print_table(result.table, result.out)
    typer.echo(
        f"\n{len(result.labels)} settings in {result.elapsed_s:.1f} s; table: {result.out / 'summary.md'}", err=True
    )
    typer.echo(result.report, err=True)


def _print_table(table: Any, store: Path | None = None, console: Any = None) -> None:
    """The run's table at a glance: one row per setting, its bpp and each recognizer's accuracy (LFW protocol);
    split into several tables, never truncated headers, where the recognizers do not fit the terminal's width.
    The whole table (± std, TAR, the originals' thresholds, cosines, …) is in summary.md and report.md."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    rows = table[table["protocol"] == "lfw10fold"]
    if rows.empty:
        return
    accuracy = dict(zip(zip(rows["setting"], rows["recognizer"], strict=True), rows["accuracy"], strict=True))
    settings = rows.groupby("setting", sort=False).agg(codec=("codec", "first"), bpp=("bpp", "first")).reset_index()
    settings = settings.assign(coded=settings["codec"] != "original").sort_values(["coded", "codec", "bpp"])
    recognizers = sorted(rows["recognizer"].unique())

    def build(group: list[str], title: str) -> Any:
        t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)
        t.add_column("setting", no_wrap=True)
        t.add_column("bpp", justify="right", no_wrap=True)
        for rec in group:
            t.add_column(rec, justify="right", no_wrap=True)
        for _, r in settings.iterrows():
            values = [accuracy.get((r["setting"], rec), float("nan")) for rec in group]
            t.add_row(r["setting"], f"{r['bpp']:.4f}", *("—" if v != v else f"{v:.2f}" for v in values))
        return t

    # as many recognizers a table as the terminal's width holds (at least one)
    unbounded = console.options.update_width(10**6)  # the width the table wants, not the terminal's
    groups: list[list[str]] = []
    for rec in recognizers:
        if groups and console.measure(build([*groups[-1], rec], ""), options=unbounded).maximum <= console.width:
            groups[-1].append(rec)
        else:
            groups.append([rec])
    for k, group in enumerate(groups, start=1):
        part = f" ({k}/{len(groups)})" if len(groups) > 1 else ""
        console.print(build(group, f"accuracy % (LFW protocol){part}"))
    where = f"{store / 'summary.md'} (and report.md)" if store is not None else "summary.md (and report.md)"
    console.print(f"± std, TAR, originals' thresholds, cos: {where}", markup=False, highlight=False)


@app.command("summarize")
def summarize_store(
    out: Annotated[Path, typer.Argument(help="A results store folder, e.g. results/lfw-classical.")],
) -> None:
    """Recompute summary.md / summary.csv from a results store alone (no cache, no encoding)."""
    from ipr_bench.analysis.summary import write_report
    from ipr_bench.store.results import ResultStore

    store = ResultStore(out)
    labels = store.labels()
    if not labels:
        _fail(f"no results store at {out} (expected {out}/items/*.parquet)")
    command = "ipr-bench summarize " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    table = write_report(store, labels, None, command)
    _print_table(table, out)
