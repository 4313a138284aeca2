"""Where model weights are found: $IPR_BENCH_WEIGHTS, else <data root>/../weights, else the user data dir."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from platformdirs import user_data_dir

from ipr_bench.core.cache import file_sha256
from ipr_bench.core.errors import UnavailableError
from ipr_bench.core.paths import data_root

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


def checked_weight_file(relative: str, how_to_get: str, sha256: str, what: str) -> Path:
    """``weight_file`` whose sha256 must be the published one (a truncated download or another release of the
    same name would silently change every number)."""
    return checked_file(weight_file(relative, how_to_get), sha256, what, how_to_get)


def checked_file(path: Path, sha256: str, what: str, how_to_get: str = "") -> Path:
    """``path``, if it exists and has the published sha256; else UnavailableError saying which."""
    if not path.is_file():
        raise UnavailableError(f"{path} not found ({what}{'; ' + how_to_get if how_to_get else ''})")
    stat = path.stat()
    digest = _sha256(str(path), stat.st_size, stat.st_mtime_ns)
    if digest != sha256:
        hint = f"; {how_to_get}" if how_to_get else ""
        raise UnavailableError(f"{path}: sha256 {digest[:12]}… is not {what} ({sha256[:12]}…){hint}")
    return path


@functools.cache
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """Memoised on the file's identity: models ask for their weights often."""
    return file_sha256(path)
