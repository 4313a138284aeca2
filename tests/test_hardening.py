"""Hostile-but-fair inputs (issue 27): huge images, skipped files, pairs files without a header, symlinked roots."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ipr_bench.core.errors import DataError
from ipr_bench.core.images import read_rgb
from ipr_bench.datasets.folder import folder, scan_identities
from ipr_bench.datasets.lfw import lfw, parse_pairs

from conftest import HAS_LFW, smooth_image


def test_an_image_over_the_pixel_cap_is_refused_from_its_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 10000 × 10000 of one colour: a few hundred KB on disk, under Pillow's bomb limit, 300 MB once decoded
    path = tmp_path / "huge.png"
    Image.new("RGB", (10_000, 10_000), (90, 120, 150)).save(path, optimize=False)
    assert path.stat().st_size < 2_000_000
    with pytest.raises(
        DataError, match=r"huge\.png: 10000×10000 = 100\.0 Mpx is over the 40-Mpx input cap.*--max-pixels"
    ):
        read_rgb(path)
    monkeypatch.setenv("IPR_BENCH_MAX_PIXELS", "1000")
    small = tmp_path / "small.png"
    Image.fromarray(smooth_image(1, 40, 40)).save(small)
    with pytest.raises(DataError, match="over the 0.001-Mpx input cap"):
        read_rgb(small)
    monkeypatch.setenv("IPR_BENCH_MAX_PIXELS", "2000")
    assert read_rgb(small).shape == (40, 40, 3)


def test_a_folder_dataset_reads_gifs_and_lists_every_file_it_skips(synthetic_folder: Path) -> None:
    Image.fromarray(smooth_image(7)).save(synthetic_folder / "id0" / "animated.gif")
    (synthetic_folder / "id1" / "notes.txt").write_text("not an image")
    (synthetic_folder / "id2" / "raw").mkdir()
    (synthetic_folder / "README").write_text("a file at the root")
    identities, skipped = scan_identities(synthetic_folder)
    assert "animated.gif" in identities["id0"]
    assert read_rgb(synthetic_folder / "id0" / "animated.gif").shape[2] == 3
    assert set(skipped) == {"id1/notes.txt", "id2/raw/", "README"}
    assert ".txt is not an image suffix" in skipped["id1/notes.txt"]
    ds = folder(synthetic_folder)
    assert set(ds.excluded) >= set(skipped)  # what the run writes to excluded.csv and counts in its summary


@pytest.fixture
def lfw_root(tmp_path: Path) -> Path:
    base = tmp_path / "lfw"
    for person in ("Ann_A", "Bob_B", "Cid_C", "Dee_D"):
        (base / "lfw" / person).mkdir(parents=True)
        for i in range(1, 4):
            Image.new("RGB", (8, 8)).save(base / "lfw" / person / f"{person}_{i:04d}.jpg")
    return base


def fold_lines(person: str, other: str) -> str:
    return f"{person} 1 2\n{person} 2 3\n{person} 1 {other} 1\n{person} 2 {other} 2\n"


def test_a_pairs_file_without_header_gets_lfw_folds_from_its_layout_or_is_refused(lfw_root: Path) -> None:
    path = lfw_root / "pairs.txt"
    path.write_text(fold_lines("Ann_A", "Bob_B") + fold_lines("Cid_C", "Dee_D") + fold_lines("Bob_B", "Cid_C"))
    notes: list[str] = []
    pairs = parse_pairs(path, lfw_root / "lfw", notes=notes)
    assert [p.fold for p in pairs] == [1] * 4 + [2] * 4 + [3] * 4  # not one fold of 12 pairs
    assert notes == ["pairs.txt has no header: 3 fold(s) × 2 pairs of each kind from its layout"]
    headed = lfw_root / "headed.txt"
    headed.write_text("3 2\n" + path.read_text())
    assert parse_pairs(headed, lfw_root / "lfw") == pairs
    assert "no header: 3 fold(s)" in lfw(root=lfw_root).label  # the run's label says so
    # blocks of unequal size: no fold layout to read
    path.write_text("Ann_A 1 2\nAnn_A 2 3\nAnn_A 1 Bob_B 1\n")
    with pytest.raises(DataError, match=r"pairs.txt:1: no header line .* add the header"):
        parse_pairs(path, lfw_root / "lfw")


def test_a_data_root_of_file_symlinks_is_the_users_layout_not_an_escape(lfw_root: Path, tmp_path: Path) -> None:
    (lfw_root / "pairs.txt").write_text(
        "2 1\n" + fold_lines("Ann_A", "Bob_B")[:0] + "Ann_A 1 2\nAnn_A 1 Bob_B 1\nCid_C 1 2\nCid_C 1 Dee_D 1\n"
    )
    linked = tmp_path / "linked" / "lfw"
    shutil.copytree(lfw_root, linked, copy_function=lambda src, dst: Path(dst).symlink_to(Path(src).resolve()))
    assert (linked / "lfw" / "Ann_A" / "Ann_A_0001.jpg").is_symlink()
    ds = lfw(root=linked)
    assert len(ds.pairs) == 4 and np.array_equal(
        read_rgb(ds.items[0].path), read_rgb(lfw_root / "lfw" / ds.items[0].id)
    )
    (linked / "pairs.txt").unlink()
    (linked / "pairs.txt").write_text("1\n../lfw 1 2\nAnn_A 1 Bob_B 1\n")
    with pytest.raises(DataError, match=r"pairs.txt:2: '\.\./lfw' is not a plain name"):
        lfw(root=linked)


# ------------------------------------------------------------------------ the run's boundary (CLI and evaluate)


@pytest.fixture
def read_only_dir(tmp_path: Path):
    """A folder nobody can write, not even root: a read-only tmpfs, or /sys where mounting is not allowed."""
    import subprocess

    mount = tmp_path / "ro"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode == 0:
        yield mount
        subprocess.run(["umount", str(mount)], capture_output=True)
        return
    probe = Path("/sys/ipr-bench-write-check")
    try:
        probe.mkdir()
    except OSError:
        yield probe
        return
    probe.rmdir()
    pytest.skip("no unwritable folder to test with here (no mount, and /sys is writable)")


def run_cli(args: list[str]) -> object:
    from typer.testing import CliRunner

    from ipr_bench.cli import app

    return CliRunner().invoke(app, ["run", *args])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--qualities", "jpeg=abc"], "jpeg: quality 'abc' is not a number (quality range 0–100)"),
        (["--qualities", "jpeg=-5"], "jpeg: quality -5 is outside the quality range 0–100"),
        (["--qualities", "jpeg=500"], "jpeg: quality 500 is outside the quality range 0–100"),
        (["--qualities", "jpeg=2.5"], "jpeg: quality 2.5 must be a whole number"),
        (["--chunk-size", "0"], "--chunk-size 0: give 1 or more"),
        (["--workers", "-1"], "--workers -1: give 1 or more processes, or 0"),
        (["--max-pixels", "0"], "--max-pixels 0: give a positive number"),
    ],
)
def test_bad_options_are_one_error_line_with_the_fix(synthetic_folder: Path, tmp_path: Path, args, message) -> None:
    result = run_cli(
        ["--dataset", f"folder:{synthetic_folder}", "--codecs", "jpeg", "--out", str(tmp_path / "o"), *args]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_no_codecs_is_an_error_not_an_empty_run(synthetic_folder: Path) -> None:
    result = run_cli(["--dataset", f"folder:{synthetic_folder}", "--codecs", ""])
    assert result.exit_code == 2 and "no codecs given" in result.output


def test_store_and_cache_problems_are_named_before_any_work(
    synthetic_folder: Path, tmp_path: Path, read_only_dir: Path
) -> None:
    a_file = tmp_path / "store.txt"
    a_file.write_text("not a folder")
    base = ["--dataset", f"folder:{synthetic_folder}", "--codecs", "jpeg", "--recognizers", "dlib"]
    result = run_cli([*base, "--out", str(a_file)])
    assert result.exit_code == 2 and f"--out {a_file}: is a file, not a folder" in result.output
    result = run_cli([*base, "--out", str(read_only_dir / "store")])
    assert result.exit_code == 2 and "--out" in result.output and "cannot write there" in result.output
    result = run_cli([*base, "--out", str(tmp_path / "o"), "--cache", str(read_only_dir / "cache")])
    assert result.exit_code == 2 and "--cache" in result.output and "cannot write there" in result.output
    assert not (tmp_path / "o" / "items").exists()  # nothing ran


def test_own_pairs_file_over_a_folder_with_the_same_checks(lfw_root: Path, tmp_path: Path) -> None:
    from ipr_bench.datasets.folder import folder as folder_dataset

    pairs = tmp_path / "mine.txt"
    pairs.write_text(fold_lines("Ann_A", "Bob_B") + fold_lines("Cid_C", "Dee_D"))
    ds = folder_dataset(lfw_root / "lfw", pairs=str(pairs))
    assert {p.fold for p in ds.pairs} == {1, 2} and "pairs from mine.txt" in ds.label
    pairs.write_text("Ann_A 1 7\n")
    with pytest.raises(DataError, match=r"mine.txt:1: image Ann_A/Ann_A_0007.jpg not found"):
        folder_dataset(lfw_root / "lfw", pairs=str(pairs))
    result = run_cli(["--dataset", "celeba-wild", "--pairs", str(pairs), "--codecs", "jpeg"])
    assert result.exit_code == 2 and "--pairs is for pairs files (folder, lfw), not celeba-wild" in result.output


@pytest.mark.skipif(not HAS_LFW, reason="needs the recognizer weights (../shared)")
def test_ctrl_c_says_how_to_resume(synthetic_folder: Path, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    args = ["run", "--dataset", f"folder:{synthetic_folder}", "--codecs", "jpeg", "--recognizers", "dlib"]
    args += ["--out", str(tmp_path / "o"), "--workers", "1", "--chunk-size", "1", "--no-progress"]
    # Python turns SIGINT into KeyboardInterrupt only if it did not inherit SIGINT ignored, and a shell ignores
    # it for background jobs: a suite started with `&` would see the signal dropped. A terminal's Ctrl-C reaches
    # a process whose SIGINT is the default, so the child starts from that state whoever launched the suite.
    restore = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    proc = subprocess.Popen(
        [sys.executable, "-c", restore + "from ipr_bench.cli import main; main()", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=os.environ | {"IPR_BENCH_CACHE": str(tmp_path / "cache")},
    )
    time.sleep(8)  # into the run (data loaded, work started)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    text = err.decode()
    assert proc.returncode == 130, text[-2000:]
    assert "interrupted; finished work is kept. Resume with the same command: ipr-bench run" in text
    assert "Traceback" not in text
