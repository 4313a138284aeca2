"""What produced a result: package versions, native builds, the git commit, the machine, the time."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

COMMIT_ENV = "IPR_BENCH_COMMIT"


def provenance() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    packages = {}
    for pkg in (
        "ipr-bench",
        "numpy",
        "pillow",
        "pillow-heif",
        "pillow-jxl-plugin",
        "imageio-ffmpeg",
        "onnxruntime",
        "dlib-bin",
        "dlib",
        "opencv-python-headless",
        "torch",
        "pytorch-msssim",
        "pandas",
        "pyarrow",
    ):
        with contextlib.suppress(PackageNotFoundError):
            packages[pkg] = version(pkg)
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=here, timeout=10)
        commit = commit.stdout.strip()
        # the code, not the results a run is writing: uncommitted changes to it make the commit a partial answer
        code = ["ipr_bench", "codecs", "recognizers", "pyproject.toml"]
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", *code],
            capture_output=True,
            text=True,
            cwd=here.parent,
            timeout=10,
        )
        if commit and status.stdout.strip():
            commit += "-dirty"
    except (OSError, subprocess.SubprocessError):
        commit = ""
    # a copy of the code without its .git (a lent GPU machine) is told its commit by whoever sent it
    commit = commit or os.environ.get(COMMIT_ENV, "")
    try:
        import dlib

        builds = {"dlib": {"version": dlib.__version__, "blas": bool(dlib.DLIB_USE_BLAS), "file": dlib.__file__}}
    except ImportError:
        builds = {}
    return {
        "git_commit": commit or "unknown",
        "builds": builds,
        "packages": packages,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
