"""The import contracts in pyproject's [tool.importlinter] (layers only point down, no cycles inside a package),
checked by import-linter over the package as it installs: codecs/ and recognizers/ are mapped into ipr_bench by
package-dir, which import-linter cannot follow, so the check runs on a copy laid out as installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def installed_layout(tmp: Path) -> Path:
    """The Python files of the package where a non-editable install puts them."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "zoo")
    for package, folder in sorted(mapping.items()):  # "ipr_bench" before its mapped subpackages
        shutil.copytree(ROOT / folder, tmp / Path(*package.split(".")), ignore=skip, dirs_exist_ok=True)
    return tmp


def test_import_contracts_are_kept(tmp_path: Path) -> None:
    layout = installed_layout(tmp_path)
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache", str(ROOT / "pyproject.toml")],
        cwd=layout,
        env={**os.environ, "PYTHONPATH": str(layout)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_layout_holds_every_module(tmp_path: Path) -> None:
    """The copy the contracts see has the plugins in it (a contract over a partial graph would pass vacuously)."""
    layout = installed_layout(tmp_path)
    for module in ("codecs/jpeg.py", "recognizers/base.py", "landmarkers/base.py", "bench/runner.py"):
        assert (layout / "ipr_bench" / module).is_file(), module
