"""The command line: listing, clear errors for unknown names and bad options, a real run, kill -9 and resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ipr_bench.cli import app
from ipr_bench.cli.app import parse_assignments, parse_folds

from conftest import HAS_LFW

runner = CliRunner()


def test_list_shows_every_plugin_and_availability() -> None:
    result = runner.invoke(app, ["list"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for name in (
        "jpeg",
        "webp",
        "avif",
        "heif",
        "jxl",
        "hevc",
        "vvc",
        "dlib",
        "arcface",
        "onnx",
        "lfw",
        "folder",
        "quick",
        "lfw-classical",
    ):
        assert name in result.output
    assert "available" in result.output
    # the whole reason is in the details (`list NAME`); cells are plain text: an extra's brackets are not eaten as
    # Rich markup
    result = runner.invoke(app, ["list", "deepface"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "[deepface]" in result.output


def test_list_is_one_line_per_plugin_at_80_columns_and_a_name_shows_the_details() -> None:
    from ipr_bench.core.registry import CODECS, RECOGNIZERS

    result = runner.invoke(app, ["list"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    for name in CODECS.names() + RECOGNIZERS.names():  # one row each, never a cell wrapped onto more lines
        rows = [line for line in lines if line.startswith(f"│ {name} ")]
        assert len(rows) == 1, (name, rows)
    assert "raw HEVC Annex-B" not in result.output  # what the bytes hold: in the details
    assert not any(line.startswith("│ ") and line.split("│")[1].strip() == "" for line in lines)  # no wrapped rows
    details = runner.invoke(app, ["list", "hevc"], env={"COLUMNS": "80"})
    assert details.exit_code == 0, details.output
    for fact in ("codec hevc", "knob", "crf", "18,23,28,33,38,43,48", "bytes counted", "raw HEVC Annex-B", "needs"):
        assert fact in details.output
    assert "HEVC intra through x265" in details.output  # the codec's own description
    assert "jpeg" not in details.output
    assert runner.invoke(app, ["list", "hevc*"], env={"COLUMNS": "80"}).output.count("│ hevc") == 3  # a glob: rows
    everything = runner.invoke(app, ["list", "--details"], env={"COLUMNS": "80"})
    assert "codec jpeg" in everything.output and "recognizer arcface" in everything.output
    assert runner.invoke(app, ["list", "nope"]).exit_code == 2


def test_unknown_codec_lists_known_ones() -> None:
    result = runner.invoke(app, ["run", "--codecs", "jpeg,nope"])
    assert result.exit_code == 2
    assert "unknown codec 'nope'" in result.output and "hevc" in result.output and "jpeg" in result.output


def test_unknown_recognizer_and_preset() -> None:
    result = runner.invoke(app, ["run", "--recognizers", "facenett"])
    assert result.exit_code == 2 and "unknown recognizer 'facenett'" in result.output and "dlib" in result.output
    result = runner.invoke(app, ["run", "--preset", "huge"])
    assert result.exit_code == 2 and "unknown preset" in result.output and "lfw-classical" in result.output


def test_option_parsers() -> None:
    assert parse_folds("1-3,7") == [1, 2, 3, 7]
    assert parse_assignments(["hevc=18,23", "jpeg=50;webp=80"], "q") == {"hevc": "18,23", "jpeg": "50", "webp": "80"}
    import typer

    with pytest.raises(typer.BadParameter, match="fold"):
        parse_folds("3-1")
    with pytest.raises(typer.BadParameter, match="NAME=VALUE"):
        parse_assignments(["hevc"], "--qualities")


def test_missing_weights_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPR_BENCH_WEIGHTS", str(tmp_path))
    result = runner.invoke(app, ["run", "--recognizers", "arcface", "--codecs", "jpeg"])
    assert result.exit_code == 2
    assert "w600k_mbf.onnx" in result.output and "IPR_BENCH_WEIGHTS" in result.output


def test_bad_fold_selection(tmp_path: Path, synthetic_folder: Path) -> None:
    result = runner.invoke(
        app,
        [
            "run",
            "--dataset",
            f"folder:{synthetic_folder}",
            "--codecs",
            "jpeg",
            "--recognizers",
            "dlib",
            "--folds",
            "11",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2 and "no fold(s) [11]" in result.output


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from ipr_bench.cli import main; main()", *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


@pytest.mark.skipif(not HAS_LFW, reason="needs LFW and the ArcFace weights (../shared)")
def test_kill_9_and_resume_equals_an_uninterrupted_run(lfw_mini: Path, tmp_path: Path) -> None:
    args = [
        "run",
        "--dataset",
        f"folder:{lfw_mini}",
        "--codecs",
        "jpeg,hevc",
        "--qualities",
        "jpeg=30,70",
        "--qualities",
        "hevc=28,38",
        "--recognizers",
        "arcface",
        "--workers",
        "2",
        "--chunk-size",
        "3",
        "--no-progress",
    ]
    clean = _cli([*args, "--out", str(tmp_path / "clean")], {"IPR_BENCH_CACHE": str(tmp_path / "c1")})
    assert clean.wait(timeout=600) == 0, clean.stderr.read().decode()

    cache2 = tmp_path / "c2"
    victim = _cli([*args, "--out", str(tmp_path / "killed")], {"IPR_BENCH_CACHE": str(cache2)})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(cache2.rglob("embedding/*/*.npz"))) < 12:
        time.sleep(0.05)
    os.killpg(victim.pid, signal.SIGKILL)  # the CLI and its workers, mid-run
    victim.wait()
    n_before = len(list(cache2.rglob("*.npz")))
    assert n_before > 0
    resumed = _cli([*args, "--out", str(tmp_path / "killed")], {"IPR_BENCH_CACHE": str(cache2)})
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read().decode()

    a = pd.read_csv(tmp_path / "clean" / "summary.csv")
    b = pd.read_csv(tmp_path / "killed" / "summary.csv")
    pd.testing.assert_frame_equal(a, b)
    for table in ("items", "pairs"):
        for f in sorted((tmp_path / "clean" / table).glob("*.parquet")):
            pd.testing.assert_frame_equal(pd.read_parquet(f), pd.read_parquet(tmp_path / "killed" / table / f.name))
    # kill -9 may leave a temp file behind; it is never a readable entry (entries are *.npz, renamed in whole)
    assert all(not p.name.endswith(".npz") for p in tmp_path.rglob("*.tmp"))


def _session_members(sid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # field 6 of stat (session id); zombies are already dead
            members.append(int(stat.parent.name))
    return members


@pytest.mark.skipif(not HAS_LFW or not Path("/proc/self/stat").exists(), reason="needs LFW and Linux /proc")
def test_workers_stop_when_the_run_is_killed(lfw_mini: Path, tmp_path: Path) -> None:
    args = ["run", "--dataset", f"folder:{lfw_mini}", "--codecs", "hevc", "--qualities", "hevc=23,28,33,38"]
    args += ["--recognizers", "arcface", "--workers", "2", "--chunk-size", "3", "--no-progress"]
    victim = _cli([*args, "--out", str(tmp_path / "out")], {"IPR_BENCH_CACHE": str(tmp_path / "cache")})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list((tmp_path / "cache").rglob("embedding/*/*.npz")):
        time.sleep(0.05)
    assert len(_session_members(victim.pid)) >= 3  # the CLI, the forkserver and its workers
    os.kill(victim.pid, signal.SIGKILL)  # only the main process: the pool gets no chance to shut down
    victim.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _session_members(victim.pid):
        time.sleep(0.2)
    assert _session_members(victim.pid) == []


def test_parse_value() -> None:
    from ipr_bench.cli.app import parse_value

    assert parse_value("112,112") == [112, 112]
    assert parse_value("[112, 96]") == [112, 96]
    assert parse_value("0.0078125") == 0.0078125
    assert parse_value("sphereface") == "sphereface"


@pytest.mark.skipif(not HAS_LFW, reason="needs LFW and the ArcFace weights (../shared)")
def test_onnx_model_described_on_the_command_line(lfw_mini: Path, tmp_path: Path) -> None:
    import shutil

    from conftest import SHARED_DATA

    model = tmp_path / "embedder.onnx"
    shutil.copy(SHARED_DATA.parent / "weights" / "arcface-mobilefacenet" / "w600k_mbf.onnx", model)
    args = [
        "run",
        "--dataset",
        f"folder:{lfw_mini}",
        "--codecs",
        "jpeg",
        "--qualities",
        "jpeg=50",
        "--recognizers",
        f"onnx:{model},arcface",
        "--recognizer-option",
        "onnx.input_size=112,112",
        "--recognizer-option",
        "onnx.scale=0.0078125",
        "--recognizer-option",
        "onnx.offset=-1",
        "--workers",
        "2",
        "--no-progress",
        "--out",
        str(tmp_path / "out"),
    ]
    proc = _cli(args, {"IPR_BENCH_CACHE": str(tmp_path / "c")})
    assert proc.wait(timeout=600) == 0, proc.stderr.read().decode()
    table = pd.read_csv(tmp_path / "out" / "summary.csv")
    table = table[table["protocol"] == "lfw10fold"]
    generic = table[table["recognizer"] == "onnx:embedder.onnx"].set_index("setting")
    arcface = table[table["recognizer"] == "arcface"].set_index("setting")
    assert len(generic) == 2  # the originals and jpeg@quality=50, same model → same numbers
    pd.testing.assert_series_equal(generic["accuracy"], arcface["accuracy"], atol=1e-9)
    bad = CliRunner().invoke(app, ["run", "--recognizers", "arcface", "--recognizer-option", "dlib.x=1"])
    assert bad.exit_code == 2 and "--recognizer-option dlib.x" in bad.output


def test_config_file_gives_defaults_and_the_command_line_wins(tmp_path: Path) -> None:
    config = tmp_path / "cluster.toml"
    config.write_text('[run]\nexecutor = "nonesuch"\nworkers = 1\n')
    result = runner.invoke(app, ["--config", str(config), "run", "--codecs", ""])
    assert result.exit_code == 2 and "--executor 'nonesuch': one of local, ray" in result.output
    result = runner.invoke(app, ["--config", str(config), "run", "--executor", "bogus2"])
    assert "'bogus2'" in result.output  # the command line wins over the file
    config.write_text("[run\n")
    result = runner.invoke(app, ["--config", str(config), "run"])
    assert result.exit_code == 2 and "cluster.toml" in result.output


def test_detect_crop_is_refused_for_lfw() -> None:
    result = runner.invoke(app, ["run", "--dataset", "lfw", "--detect-crop", "256", "--codecs", "jpeg"])
    assert result.exit_code == 2 and "--detect-crop is for in-the-wild photos" in result.output


def test_detect_crop_run_lists_the_photos_it_left_out(lfw_mini: Path, tmp_path: Path) -> None:
    import csv

    import numpy as np
    from PIL import Image

    person = sorted(p for p in lfw_mini.iterdir())[0]
    Image.fromarray(np.full((200, 200, 3), 90, np.uint8)).save(person / "blank.png")  # no face in it
    out = tmp_path / "store"
    result = runner.invoke(
        app,
        [
            "run",
            "--dataset",
            f"folder:{lfw_mini}",
            "--detect-crop",
            "112",
            "--codecs",
            "none",
            "--recognizers",
            "arcface",
            "--out",
            str(out),
            "--workers",
            "1",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "excluded.csv").read_text().splitlines()))
    assert {"item": f"{person.name}/blank.png", "reason": "no face"} in rows


def test_landmarks_option_reaches_every_recognizer_that_can_use_it() -> None:
    from ipr_bench.core.errors import UnknownNameError
    from ipr_bench.experiments.evaluate import with_landmarks

    options, notes = with_landmarks(["arcface", "dlib", "facenet"], {"facenet": {"landmarker": "mtcnn"}}, "yunet")
    assert options["arcface"] == {"landmarker": "yunet"}
    assert options["facenet"] == {"landmarker": "mtcnn"}  # an explicit NAME.landmarker option wins
    assert "dlib" not in options and len(notes) == 1 and "dlib" in notes[0] and "dlib5" in notes[0]
    assert with_landmarks(["dlib"], {}, "dlib5") == ({"dlib": {"landmarker": "dlib5"}}, [])
    with pytest.raises(UnknownNameError, match="known landmarkers"):
        with_landmarks(["arcface"], {}, "retinaface")


def test_evaluate_from_python_writes_what_the_command_writes(
    lfw_mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ipr_bench.evaluate`` is ``ipr-bench run`` without the shell: store, summary, provenance, run log."""
    import ipr_bench
    from ipr_bench.core.errors import OptionError

    monkeypatch.setenv("IPR_BENCH_CACHE", str(tmp_path / "cache"))
    logged: list[str] = []
    result = ipr_bench.evaluate(
        codecs=["jpeg"],
        qualities={"jpeg": [50]},
        recognizers=["arcface"],
        dataset=f"folder:{lfw_mini}",
        out=str(tmp_path / "store"),
        workers=1,
        progress=False,
        log=logged.append,
    )
    assert result.out == tmp_path / "store" and result.labels == ["original", "jpeg@quality=50"]
    assert set(result.table["setting"]) == {"original", "jpeg@quality=50"}
    # one chunk per fold (chunks never straddle folds; each fold has < 100 images) for the originals, then jpeg
    assert result.computed == result.labels and result.tasks == 2 * int(result.table["folds"].iloc[0])
    for name in ("summary.md", "provenance.json", "runs.jsonl"):
        assert (result.out / name).is_file(), name
    assert any("images" in line for line in logged)
    with pytest.raises(OptionError, match="unknown preset"):
        ipr_bench.evaluate("huge")


def test_run_table_headers_are_whole_at_80_columns() -> None:
    import io

    from rich.console import Console

    from ipr_bench.cli.run import _print_table

    recs = ["arcface", "dlib", "facenet", "faceplugin", "mobilefacenet192"]
    settings = [("original", "original", 1.12), ("hevc", "hevc@crf=38", 0.108), ("hevc-roi", "hevc-roi@crf=23", 0.249)]
    table = pd.DataFrame(
        [
            {"setting": s, "codec": c, "bpp": b, "recognizer": r, "protocol": p, "accuracy": 97.5 + k / 10}
            for c, s, b in settings
            for k, r in enumerate(recs)
            for p in ("lfw10fold", "fixed-original")
        ]
    )
    for width in (80, 50):
        console = Console(width=width, file=io.StringIO(), record=True)
        _print_table(table, Path("runs/mine"), console)
        text = console.export_text()
        lines = text.splitlines()
        assert max(len(line) for line in lines) <= width and "…" not in text
        headers = [line.split() for line in lines if line.split()[:2] == ["setting", "bpp"]]
        assert sorted(h for header in headers for h in header[2:]) == recs  # every recognizer, whole, once
        assert (len(headers) == 1) == (width == 80)  # split, not truncated, where they do not fit
        rows = [line.split() for line in lines if line.split() and line.split()[0] == "hevc-roi@crf=23"]
        assert [row[1] for row in rows] == ["0.2490"] * len(headers)
        assert "runs/mine/summary.md" in text  # where the whole table is
