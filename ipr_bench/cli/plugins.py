"""What is installed and available here (`ipr-bench list`), and getting datasets (`ipr-bench data fetch`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ipr_bench.cli.app import _fail, app, data_app
from ipr_bench.core.errors import IprBenchError


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

    from ipr_bench.core.registry import CODECS, DATASETS, LANDMARKERS, PRODUCERS, RECOGNIZERS
    from ipr_bench.experiments.presets import PRESETS

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
    from ipr_bench.bench.executors import EXECUTORS

    table = Table(title="executors (ipr-bench run --executor NAME)")
    for col in ("name", "what", "available here"):
        table.add_column(col)
    for name, executor in EXECUTORS.items():
        avail = executor.availability()
        table.add_row(name, executor.what, "yes" if avail.ok else escape(f"no: {avail.reason}"))
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

    from ipr_bench.core.paths import data_root
    from ipr_bench.datasets.fetch import fetch_dataset, recipe

    try:
        remotes = recipe(name).remotes
    except IprBenchError as exc:
        _fail(str(exc))
    if base_url:
        remotes = tuple(replace(r, urls=(f"{base_url.rstrip('/')}/{r.filename}",)) for r in remotes)
    try:
        fetch_dataset(name, dest or data_root(), lambda m: typer.echo(m, err=True), remotes)
    except IprBenchError as exc:
        _fail(str(exc))
