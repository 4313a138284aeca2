"""The ``ipr-bench`` command line: ``app`` (cli/app.py) with its commands, one module per group of commands."""

from __future__ import annotations

import importlib
import sys

import typer

from ipr_bench.cli.app import app
from ipr_bench.core.errors import IprBenchError

# importing a module registers its commands on ``app``; `ipr-bench --help` lists them in this order
for _module in ("run", "report", "train", "plugins"):
    importlib.import_module(f"ipr_bench.cli.{_module}")

__all__ = ["app", "main"]


def main() -> None:
    try:
        app()
    except IprBenchError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
