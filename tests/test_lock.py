"""requirements/lock.txt is a complete, exact environment that satisfies pyproject's ranges: what a fresh machine
installs (README, .ci/run) is what the ranges promise, and nothing floats."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def pinned(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{path.name}:{n}: {line!r} is not an exact pin"
        name = canonicalize_name(req.name)
        assert name not in pins, f"{path.name}:{n}: {req.name} pinned twice"
        pins[name] = specs[0].version
    return pins


def test_the_lock_pins_every_requirement_within_its_range() -> None:
    lock = pinned(ROOT / "requirements" / "lock.txt")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [
        *project["dependencies"],
        *project["optional-dependencies"]["test"],
        *project["optional-dependencies"]["ray"],
    ]
    for text in wanted:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in lock, f"{req.name} (pyproject) is missing from the lock: python scripts/update_lock.py"
        assert req.specifier.contains(lock[name], prereleases=True), f"lock has {name}=={lock[name]}, pyproject {req}"


def test_the_no_deps_packages_are_locked_at_their_versions() -> None:
    lock = pinned(ROOT / "requirements" / "lock.txt")
    for name, version in pinned(ROOT / "requirements" / "no-deps.txt").items():
        assert lock.get(name) == version, f"{name}: no-deps.txt says {version}, the lock {lock.get(name)}"
    assert "ipr-bench" not in lock  # the project itself is installed from the checkout


def test_both_readme_commands_install_the_lock() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = [b.split("```", 1)[0].strip() for b in readme.split("```bash\n")[1:3]]
    for command in blocks:
        assert "pip install --no-deps -r requirements/lock.txt" in command
        assert "pip install -e" not in command  # an unlocked resolve would float the versions again
