"""Where model weights are found: $IPR_BENCH_WEIGHTS, else <data root>/../weights, else the user data dir."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

from ipr_bench.datasets.base import data_root
from ipr_bench.errors import UnavailableError

WEIGHTS_ENV = "IPR_BENCH_WEIGHTS"


def weights_dir() -> Path:
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        return Path(env).expanduser()
    beside_data = data_root().parent / "weights"  # the ../shared/{data,weights} layout
    return beside_data if beside_data.is_dir() else Path(user_data_dir("ipr-bench")) / "weights"


def weight_file(relative: str, how_to_get: str) -> Path:
    path = weights_dir() / relative
    if not path.is_file():
        raise UnavailableError(
            f"weights not found: {path}. Set {WEIGHTS_ENV} to the folder holding {relative} ({how_to_get})"
        )
    return path
