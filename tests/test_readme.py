"""CI must run the README's test command, not a different one."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = [b.split("```", 1)[0].strip() for b in readme.split("```bash\n")[1:]]
    test_command = next(b for b in blocks if b.endswith("pytest -q"))
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()
