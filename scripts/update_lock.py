"""Refresh requirements/lock.txt: the exact package set the test suite passed with (Python 3.11, linux x86_64).

Why ``pip freeze`` of a verified venv and not a resolver (pip-compile, uv pip compile): three packages
(requirements/no-deps.txt) declare stale pins — facenet-pytorch torch<2.3 and numpy<2, compressai numpy<2 —
that no resolver can satisfy together with torch 2.14 and numpy 2; they are installed with ``--no-deps``, and a
resolver would either refuse the set or need hand-written overrides that say the same thing. Freezing the venv
the suite passed in records what was tested, by construction, including those three.

What it does (each step printed):
  1. a fresh venv (``--venv DIR``, default a temporary one) installed *unlocked*: the torch pin, the no-deps
     packages, then ``-e '.[test,ray]'`` with pyproject's ranges (the newest versions the registry serves);
  2. ``pytest -q`` in it (skip with ``--no-test``: then the lock is unverified, and the header says so);
  3. ``pip freeze --exclude-editable`` → requirements/lock.txt, and what changed against the old lock;
  4. ``--check``: instead, build a venv *from* the lock and compare its freeze with the lock, line for line.

    python scripts/update_lock.py            # refresh (about 20 min: install + the suite)
    python scripts/update_lock.py --check    # a venv from the lock freezes to exactly the lock
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
NO_DEPS = ROOT / "requirements" / "no-deps.txt"
TORCH = ("torch==2.14.1", "torchvision==0.29.1")  # the build on the project machines' local disk


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, cwd=ROOT, **kwargs)  # type: ignore[call-overload]


def make_venv(path: Path) -> Path:
    run([sys.executable if sys.version_info[:2] == (3, 11) else "python3.11", "-m", "venv", str(path)])
    return path / "bin"


def freeze(bin_dir: Path) -> list[str]:
    out = subprocess.run(
        [str(bin_dir / "pip"), "freeze", "--exclude-editable"], check=True, capture_output=True, text=True
    ).stdout
    return sorted((line for line in out.splitlines() if line and not line.startswith("#")), key=str.lower)


def pins(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            out[name.strip().lower().replace("_", "-")] = version.strip()
    return out


def changes(old: dict[str, str], new: dict[str, str]) -> list[str]:
    lines = [f"+ {n}=={new[n]}" for n in sorted(new.keys() - old.keys())]
    lines += [f"- {n}=={old[n]}" for n in sorted(old.keys() - new.keys())]
    lines += [f"~ {n} {old[n]} → {new[n]}" for n in sorted(old.keys() & new.keys()) if old[n] != new[n]]
    return lines


def header(tested: bool | str) -> str:
    py = ".".join(map(str, sys.version_info[:3]))
    verified = "the test suite passed in this environment" if tested else "UNVERIFIED (made with --no-test)"
    verified = tested if isinstance(tested, str) else verified
    return (
        "# The exact package set of ipr-bench's environment (Python 3.11, linux x86_64): the README's two\n"
        "# commands install it with `pip install --no-deps -r requirements/lock.txt`. Generated, do not edit:\n"
        f"# python scripts/update_lock.py ({datetime.now(UTC):%Y-%m-%d}, made with Python {py}; {verified}).\n"
    )


def refresh(venv: Path, test: bool, reuse: bool = False, verified: str = "") -> None:
    bin_dir = venv / "bin" if reuse else make_venv(venv)
    pip = str(bin_dir / "pip")
    if not reuse:
        run([pip, "install", *TORCH])
        run([pip, "install", "--no-deps", "-r", str(NO_DEPS)])
        run([pip, "install", "-e", ".[test,ray]"])
    if test:  # as the README's test command runs it
        data = os.environ.get("IPR_BENCH_DATA") or str(ROOT.parent / "shared" / "data")
        run([str(bin_dir / "pytest"), "-q", "-p", "no:cacheprovider"], env=os.environ | {"IPR_BENCH_DATA": data})
    new = freeze(bin_dir)
    old = LOCK.read_text().splitlines() if LOCK.is_file() else []
    diff = changes(pins(old), pins(new))
    LOCK.parent.mkdir(exist_ok=True)
    tmp = LOCK.with_suffix(".tmp")
    tmp.write_text(header(verified or test) + "\n".join(new) + "\n")
    tmp.replace(LOCK)
    print(f"{LOCK.relative_to(ROOT)}: {len(new)} packages; {len(diff)} changed", *diff, sep="\n")


def check(venv: Path) -> int:
    bin_dir = make_venv(venv)
    run([str(bin_dir / "pip"), "install", "--no-deps", "-r", str(LOCK)])
    run([str(bin_dir / "pip"), "install", "--no-deps", "-e", "."])
    locked = [line for line in LOCK.read_text().splitlines() if line and not line.startswith("#")]
    got = freeze(bin_dir)
    diff = changes(pins(locked), pins(got))
    summary = f"a venv from {LOCK.relative_to(ROOT)}: {len(got)} packages, {len(diff)} differ from the lock"
    print(summary, *diff, sep="\n")
    return 1 if diff or len(got) != len(locked) else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--venv", type=Path, help="build the venv here (default: a temporary directory)")
    parser.add_argument("--no-test", action="store_true", help="do not run the suite before freezing")
    parser.add_argument("--check", action="store_true", help="build from the lock and compare its freeze")
    parser.add_argument("--reuse", action="store_true", help="--venv is already installed: test and freeze it")
    parser.add_argument("--verified", default="", help="with --no-test: how the suite was verified (the header says)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ipr-lock-") as tmp:
        venv = args.venv or Path(tmp) / "venv"
        if args.check:
            raise SystemExit(check(venv))
        if args.reuse and not args.venv:
            parser.error("--reuse needs --venv")
        refresh(venv, test=not args.no_test, reuse=args.reuse, verified=args.verified)


if __name__ == "__main__":
    main()
