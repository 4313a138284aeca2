"""`ipr-bench reproduce`: the README's results section is generated from the committed stores, never typed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ipr_bench.experiments.reproduce import BEGIN, END, EXPERIMENTS, readme_section, reproduce, store_section

ROOT = Path(__file__).resolve().parents[1]


def test_committed_readme_equals_what_the_committed_stores_generate() -> None:
    text = (ROOT / "README.md").read_text()
    committed = BEGIN + text.split(BEGIN, 1)[1].split(END, 1)[0] + END
    assert committed == readme_section(ROOT), "run `ipr-bench reproduce --readme-only` and commit README.md"


def synthetic_summary() -> dict:
    curves = [
        {
            "codec": "original",
            "recognizer": "r",
            "knob": None,
            "quality": None,
            "bpp": 9.0,
            "accuracy": 99.0,
            "std": 0.1,
        }
    ]
    for codec, knob, points in (
        ("hevc", "crf", [(23, 0.4, 98.9), (33, 0.2, 97.0)]),
        ("jpeg", "quality", [(50, 0.8, 98.95), (10, 0.3, 95.0)]),
    ):
        curves += [
            {"codec": codec, "recognizer": "r", "knob": knob, "quality": q, "bpp": b, "accuracy": a, "std": 0.2}
            for q, b, a in points
        ]
    return {
        "dataset": "toy set",
        "epsilon": 0.5,
        "anchor": {"codec": "hevc", "quality": 23, "bpp": 0.4},
        "reference": [{"recognizer": "r", "accuracy": 99.0, "std": 0.1}],
        "curves": curves,
        "bd_rate": [
            {"codec": "jpeg", "recognizer": "r", "metric": "accuracy", "bd_rate_percent": None, "overlap": 0.1}
        ],
        "parity": [
            {"codec": "hevc", "recognizer": "r", "ref": "original", "bpp": 0.35, "ratio": 1.0, "reached": True},
            {"codec": "jpeg", "recognizer": "r", "ref": "original", "bpp": 0.7, "ratio": 2.0, "reached": True},
            {"codec": "hevc", "recognizer": "r", "ref": "anchor", "bpp": 0.4, "ratio": 1.0, "reached": True},
        ],
    }


def test_store_section_shows_every_setting_sorted_by_rate(tmp_path: Path) -> None:
    experiment = EXPERIMENTS.get("lfw-classical")[0]
    store = tmp_path / experiment.store
    store.mkdir(parents=True)
    (store / "summary.json").write_text(json.dumps(synthetic_summary()))
    text = "\n".join(store_section(tmp_path, experiment))
    assert "| hevc | originals | crf 33 | crf 23 |" in text  # cheapest first
    assert "| r | 99.00 ± 0.10 | 97.00 ± 0.20 | 98.90 ± 0.20 |" in text
    assert "| jpeg | r | 0.700 | 200% | n/a (overlap 10%) |" in text
    assert store_section(tmp_path, EXPERIMENTS.get("lfw-roi-learned")[0]) == []  # no store yet: nothing claimed


def test_store_section_marks_a_ratio_from_a_bounded_parity(tmp_path: Path) -> None:
    """A parity found at a curve's lowest measured rate is an upper bound: so is every ratio made from it."""
    experiment = EXPERIMENTS.get("lfw-classical")[0]
    store = tmp_path / experiment.store
    store.mkdir(parents=True)
    summary = synthetic_summary()
    low = "at or below the lowest measured rate"
    summary["parity"][1] |= {"bpp": 0.3, "ratio": 0.3 / 0.35, "status": low}
    summary["parity"].append(
        {"codec": "jpeg", "recognizer": "r", "ref": "anchor", "bpp": 0.3, "ratio": 0.75, "reached": True, "status": low}
    )
    (store / "summary.json").write_text(json.dumps(summary))
    text = "\n".join(store_section(tmp_path, experiment))
    assert "| jpeg | r | ≤ 0.300 | ≤ 86% | n/a (overlap 10%) |" in text
    assert "jpeg: r ≤ 75%." in text  # the paper's statistic, bounded too
    assert "hevc: r 100%;" in text


def test_store_section_shows_the_experiments_pictures_once_they_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ipr_bench.render.readme as readme

    experiment = EXPERIMENTS.get("lfw-ipr")[0]
    store = tmp_path / experiment.store
    store.mkdir(parents=True)
    (store / "summary.json").write_text(json.dumps(synthetic_summary()))
    assert "![gallery_whole_matched]" not in "\n".join(store_section(tmp_path, experiment))
    (store / "figures").mkdir()
    for stem in experiment.readme_figures:
        (store / "figures" / f"{stem}.png").write_bytes(b"\x89PNG")
    assert "![gallery_whole_matched]" not in "\n".join(store_section(tmp_path, experiment))  # no sources: not shown
    monkeypatch.setattr(readme.ResultStore, "is_current", lambda self, picture: picture.is_file())
    text = "\n".join(store_section(tmp_path, experiment))
    assert f"![gallery_whole_matched]({experiment.store}/figures/gallery_whole_matched.png)" in text
    assert f"![bits_ipr]({experiment.store}/figures/bits_ipr.png)" in text and "`ipr-bench bits`" in text


def test_readme_only_rewrites_just_the_section(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "results" / "lfw-classical", tmp_path / "results" / "lfw-classical")
    (tmp_path / "README.md").write_text(f"intro\n{BEGIN}\nstale 12.34\n{END}\noutro\n")
    reproduce(tmp_path, readme_only=True, echo=lambda s: None)
    text = (tmp_path / "README.md").read_text()
    assert text.startswith("intro\n") and text.endswith(f"{END}\noutro\n") and "stale" not in text
    assert "### LFW View 2: classical codecs" in text


def test_learned_experiments_are_skipped_with_the_fix_or_trained_first_with_train(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ipr_bench.experiments.reproduce as rep

    (tmp_path / "README.md").write_text(f"{BEGIN}\n{END}\n")
    ran: list[tuple[str, ...]] = []
    shipped: set[str] = set()

    def fake_run(root: Path, command: tuple[str, ...], workers: int = 0) -> None:
        ran.append(command)
        if command[0] == "ship":
            shipped.add(command[-1])

    monkeypatch.setattr(rep, "run_command", fake_run)
    monkeypatch.setattr(rep, "missing_codecs", lambda e: [f"{c} (no zoo)" for c in e.needs_codecs if c not in shipped])
    skipped = reproduce(tmp_path, only=["lfw-ipr"], echo=lambda s: None)
    assert ran == [] and skipped == [
        "lfw-ipr: needs ipr (no zoo), mse (no zoo), ipr-roi (no zoo), mse-roi (no zoo); "
        "`ipr-bench reproduce --train` makes the zoo codecs"
    ]
    shipped.add("mse-roi")  # the mse model coded ROI-style: available once mse is (no checkpoint of its own)
    assert reproduce(tmp_path, only=["lfw-ipr"], echo=lambda s: None, train=True) == []
    trained = [c for c in ran if c[0] in ("train", "ship")]
    # one MSE base, then each arm fine-tuned from it (with levels added below) and shipped; the base's command is
    # repeated per recipe and resumes a finished run (nothing to do)
    assert [c[0] for c in trained] == ["train", "train", "ship"] * 3
    assert [c[-1] for c in trained if c[0] == "ship"] == ["mse", "ipr", "ipr-roi"]  # the base before the arms
    base, arms = trained[0], [trained[i] for i in (1, 4, 7)]
    assert {trained[i] for i in (0, 3, 6)} == {base} and base[base.index("--out") + 1] == "runs/zoo/mse-base"

    def option(command: tuple[str, ...], name: str) -> str:
        return command[command.index(name) + 1]

    assert [option(a, "--identity-weight") for a in arms] == ["0", "600", "600"]
    assert ["--face-boost" in a for a in arms] == [False, False, True] and all("--device" in a for a in arms)
    assert {option(a, "--init-from") for a in arms} == {"runs/zoo/mse-base"}
    # the arms keep the base's λs on top and add levels below it
    assert all(option(a, "--lambdas").endswith(option(base, "--lambdas")) for a in arms)
    assert ran[len(trained)] == ("run", "--preset", "lfw-ipr")  # the experiment runs once its codecs exist
    assert ran[-1] == ("report", "--results", "results/lfw-ipr")
    ran.clear()
    reproduce(tmp_path, only=["lfw-ipr"], echo=lambda s: None, train=True)
    assert not [c for c in ran if c[0] in ("train", "ship")]  # shipped checkpoints are never retrained


def test_every_experiment_run_becomes_evaluate_arguments(tmp_path: Path) -> None:
    """reproduce runs each experiment's `run` in-process: every one must map onto ``evaluate``'s arguments."""
    from ipr_bench.experiments.presets import PRESETS
    from ipr_bench.experiments.reproduce import EXPERIMENTS, run_arguments

    runs = [c for _, e in EXPERIMENTS.items() for c in e.commands if c[0] == "run"]
    assert runs
    for command in runs:
        kwargs = run_arguments(tmp_path, command)
        assert kwargs["out"].is_relative_to(tmp_path) and kwargs.get("preset", "quick") in PRESETS.names()
    kwargs = run_arguments(tmp_path, ("run", "--dataset", "lfw", "--codecs", "none", "--out", "x"))
    assert kwargs == {"dataset": "lfw", "codecs": ["none"], "out": tmp_path / "x"}


def test_the_readme_shows_the_training_arms_from_their_committed_table(tmp_path: Path) -> None:
    from ipr_bench.render.readme import training_section

    assert training_section(tmp_path) == []  # no arms table yet: nothing claimed
    delta = {"value": -12.5, "overlap": 0.8, "reason": ""}
    none = {"value": float("nan"), "overlap": 0.1, "reason": "overlap 10% < 25% of the quality range"}
    arms = {
        "arms": {
            "mse-ft": {"step": 900, "training_hours": 1.5, "history": [{"step": 0}, {"step": 900}]},
            "ipr-ft": {"step": 900, "training_hours": 2.25, "history": [{"step": 0}, {"step": 900}]},
        },
        "paired": {"step": 900, "vs_mse_ft": {"ipr-ft": {"bd_rate_at_equal_cosine": delta, "bd_cosine": none,
                                                          "bd_psnr": {**delta, "value": -0.4}}}},
        "ship": {"ipr-ft": {"replaces": "ipr", "ship": True, "why": "better than the shipped ipr: +0.02",
                            "at_step": 900}},
    }  # fmt: skip
    folder = tmp_path / "results" / "training"
    folder.mkdir(parents=True)
    (folder / "arms.json").write_text(json.dumps(arms))
    (folder / "ledger.csv").write_text("run,training_seconds\na,3600\nb,1800\n")
    text = "\n".join(training_section(tmp_path, made_by="python scripts/train_arms.py --table"))
    assert "| ipr-ft | 900 | 2.25 | step 900 |" in text
    assert "| ipr-ft | -12.5% | n/a (overlap 10%) | -0.40 dB |" in text
    assert "`ipr-ft` at step 900 vs the shipped `ipr`: better than the shipped ipr: +0.02." in text
    assert "2 rows, 1.5 training hours in all" in text
