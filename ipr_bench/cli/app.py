"""The ``ipr-bench`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

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


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(2)
