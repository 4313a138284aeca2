"""Where data lives on this machine: datasets and downloaded weights share one root."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

DATA_ENV = "IPR_BENCH_DATA"


def data_root() -> Path:
    """Where datasets live: $IPR_BENCH_DATA, else the user data dir (where `ipr-bench data fetch` writes)."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else Path(user_data_dir("ipr-bench")) / "data"
