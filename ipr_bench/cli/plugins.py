"""What is installed and available here (`ipr-bench list`), and getting datasets (`ipr-bench data fetch`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


def _short_status(status: str, name: str = "") -> str:
    """The first clause of a status: 'no: deepface is not installed: pip install …' → 'no: deepface is not
    installed', 'give a model: onnx:PATH (…)' → 'give a model' (`ipr-bench list NAME` shows the whole text)."""
    head, sep, rest = status.partition(": ") if status.startswith("no: ") else ("", "", status)
    if name and rest.startswith(f"{name}: "):  # a dataset's error names the dataset first
        rest = rest[len(name) + 2 :]
    cuts = [rest.find(mark) for mark in (": ", "; ", " (", ". ")]
    cut = min((c for c in cuts if c > 0), default=len(rest))
    return head + sep + rest[:cut].rstrip(".")


def _sweep(name: str, cls: Any, status: str) -> tuple[Any, ...]:
    """A codec's default sweep: its class's, or, for a codec that runs here as named (``status`` "yes": the zoo's
    learned codecs), the instance's (a variable-rate checkpoint's levels are known only from its files)."""
    from ipr_bench.core.registry import create_codec

    if status != "yes":
        return tuple(cls.default_qualities)
    try:
        return tuple(create_codec(name).default_qualities)
    except Exception:  # listing never fails on one plugin: the class's sweep then
        return tuple(cls.default_qualities)


def _codec_line(name: str, cls: Any) -> tuple[str, ...]:
    status = _status(cls)  # once: a codec's availability check may start a subprocess
    return name, cls.knob, _short_sweep(_sweep(name, cls, status)), _short_status(status)


def _short_sweep(qualities: Any) -> str:
    values = [f"{q:g}" if isinstance(q, float) else str(q) for q in qualities]
    return ",".join(values) if len(values) <= 4 else f"{values[0]}…{values[-1]} ({len(values)})"


def _reflow(text: str) -> str:
    """A docstring's paragraphs as single lines (the terminal wraps them); list items and indented lines keep
    their own lines."""
    out: list[str] = []
    for line in text.splitlines():
        keep = not line.strip() or line.startswith((" ", "-", "*", "|")) or not out or not out[-1].strip()
        if keep:
            out.append(line)
        else:
            out[-1] = f"{out[-1].rstrip()} {line.strip()}"
    return "\n".join(out)


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    cut = text.find(". ")
    return text[: cut + 1] if cut > 0 else text


def _doc(obj: Any) -> str:
    """A plugin's own docstring (``__doc__`` is not inherited: never its protocol's), else its module's (a plugin
    module describes its plugin)."""
    import inspect
    import sys

    module = sys.modules.get(getattr(obj, "__module__", ""), None)
    return inspect.cleandoc(obj.__doc__ or getattr(module, "__doc__", None) or "")


@dataclass(frozen=True)
class _Section:
    """One kind of plugin in `ipr-bench list`: a compact row (one line) and the full details of one entry."""

    kind: str  # singular, for the details' heading
    title: str
    registry: Any
    columns: tuple[str, ...]  # compact columns; the last ones (``prose``) are cut with … to keep one line
    compact: Callable[[str, Any], tuple[str, ...]]
    details: Callable[[str, Any], list[tuple[str, str]]]
    prose: int = 1  # how many of the last columns are prose


def _sections() -> list[_Section]:
    from ipr_bench.bench.executors import EXECUTORS
    from ipr_bench.core.registry import CODECS, DATASETS, LANDMARKERS, PRODUCERS, RECOGNIZERS
    from ipr_bench.experiments.presets import PRESETS

    def codec(name: str, cls: Any) -> list[tuple[str, str]]:
        status = _status(cls)
        return [
            ("knob", cls.knob),
            ("default sweep", ",".join(map(str, _sweep(name, cls, status)))),
            ("bytes counted", cls.payload_contains),
            ("needs", cls.requires),
            ("available", status),
        ]

    def recognizer(name: str, cls: Any) -> list[tuple[str, str]]:
        trainable = "yes (torch module)" if cls.has_torch_module else "no: evaluation-only"
        return [("needs", cls.requires), ("training losses", trainable), ("available", _status(cls))]

    def points(cls: Any) -> str:
        return "eye corners + nose base" if cls.scheme == "dlib5" else "eye centres, nose tip, mouth corners"

    def landmarker(name: str, cls: Any) -> list[tuple[str, str]]:
        return [("points", points(cls)), ("needs", cls.requires), ("available", _status(cls))]

    def dataset_status(name: str, factory: Any) -> str:
        try:
            if name == "folder":
                return "give a root: folder:/path"
            if name == "celeba-wild":  # building it crops every photo: count them instead
                from ipr_bench.datasets.celeba_wild import read_items

                return f"yes: {len(read_items())} photos (face crops are made and cached on first use)"
            return "yes: " + factory().label
        except IprBenchError as exc:
            return f"no: {exc}"

    def producer(name: str, cls: Any) -> list[tuple[str, str]]:
        return [("command", cls.command), ("produces", cls.produces), ("needs", cls.requires)]

    def preset(name: str, p: Any) -> list[tuple[str, str]]:
        sweeps = "; ".join(f"{c}={','.join(f'{q:g}' for q in qs)}" for c, qs in p.qualities.items())
        return [
            ("what", p.description),
            ("dataset", p.dataset + (f" (face crops of {p.detect_crop} px)" if p.detect_crop else "")),
            ("codecs", ", ".join(p.codecs) or "none (the originals alone)"),
            ("qualities", sweeps or "each codec's default sweep"),
            ("recognizers", ", ".join(p.recognizers)),
            ("folds", ", ".join(map(str, p.folds)) if p.folds else "all"),
            ("out", p.out),
        ]

    def executor(name: str, cls: Any) -> list[tuple[str, str]]:
        avail = cls.availability()
        return [("what", cls.what), ("available here", "yes" if avail.ok else f"no: {avail.reason}")]

    return [
        _Section(
            "codec",
            "codecs",
            CODECS,
            ("name", "knob", "default sweep", "available"),
            _codec_line,
            codec,
        ),
        _Section(
            "recognizer",
            "recognizers",
            RECOGNIZERS,
            ("name", "trainable", "available"),
            lambda n, c: (n, "yes" if c.has_torch_module else "no", _short_status(_status(c))),
            recognizer,
        ),
        _Section(
            "landmarker",
            "landmarkers (--landmarks NAME)",
            LANDMARKERS,
            ("name", "points", "available"),
            lambda n, c: (n, "5: " + points(c), _short_status(_status(c))),
            landmarker,
        ),
        _Section(
            "dataset",
            "datasets (--dataset NAME)",
            DATASETS,
            ("name", "available", "what"),
            lambda n, f: (n, _short_status(dataset_status(n, f), n), _first_sentence(_doc(f))),
            lambda n, f: [("what", _doc(f)), ("available", dataset_status(n, f))],
            prose=2,
        ),
        _Section(
            "producer",
            "producers (make codecs)",
            PRODUCERS,
            ("name", "produces", "command"),
            lambda n, c: (n, _first_sentence(c.produces), c.command),
            producer,
            prose=2,
        ),
        _Section(
            "preset",
            "presets (ipr-bench run --preset NAME)",
            PRESETS,
            ("name", "what"),
            lambda n, p: (n, _first_sentence(p.description)),
            preset,
        ),
        _Section(
            "executor",
            "executors (ipr-bench run --executor NAME)",
            EXECUTORS,
            ("name", "available", "what"),
            lambda n, c: (n, "yes" if c.availability().ok else _short_status(f"no: {c.availability().reason}"), c.what),
            executor,
        ),
    ]


@app.command("list")
def list_plugins(
    pattern: Annotated[
        str, typer.Argument(help="Glob on names; a name (or a glob matching one name) shows that one in full.")
    ] = "*",
    details: Annotated[
        bool, typer.Option("--details", "-l", help="Everything in full: needs, bytes counted, reasons, descriptions.")
    ] = False,
) -> None:
    """Every codec, recognizer, landmarker, dataset, producer, preset and executor, one line each: whether it runs
    here. `ipr-bench list NAME` (or --details) shows what it needs, what its bytes count and its description."""
    from rich.console import Console

    sections = [(section, section.registry.names(pattern)) for section in _sections()]
    if not any(names for _, names in sections):
        _fail(f"nothing is named {pattern!r} (ipr-bench list shows every name)")
    matched = {name for _, names in sections for name in names}
    console = Console()
    if details or len(matched) == 1:
        for section, names in sections:
            for name in names:
                _print_details(console, section, name)
        return
    for section, names in sections:
        if names:
            _print_compact(console, section, names)
    console.print("[dim]ipr-bench list NAME: one in full (needs, bytes counted, reasons); --details: all[/dim]")


def _print_compact(console: Any, section: _Section, names: list[str]) -> None:
    """One line per entry: the prose columns are cut with … (never wrapped) to fit the terminal."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=section.title, title_justify="left")
    first_prose = len(section.columns) - section.prose
    for k, col in enumerate(section.columns):
        # the short columns never shrink; the prose ones give way first (rich shrinks only wrapping columns)
        table.add_column(col, no_wrap=k < first_prose)
    for name in names:
        row = section.compact(name, section.registry.get(name)[0])
        # Text, not markup: an install hint such as pip install -e '.[deepface]' keeps its brackets
        table.add_row(*(Text(str(c), no_wrap=True, overflow="ellipsis") for c in row))
    console.print(table)


def _print_details(console: Any, section: _Section, name: str) -> None:
    from rich.rule import Rule
    from rich.table import Table
    from rich.text import Text

    entry = section.registry.get(name)[0]
    console.print(Rule(Text(f"{section.kind} {name}", style="bold"), align="left"))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column()
    for key, value in section.details(name, entry):
        if value:
            grid.add_row(key, Text(_reflow(str(value))))
    doc = _doc(entry) if section.kind not in ("dataset", "preset") else ""
    if doc:
        grid.add_row("about", Text(_reflow(doc)))
    console.print(grid)
    console.print()


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
