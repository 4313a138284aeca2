"""The GPU-lease luggage: files split into parts on the device come back whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_parts_split_like_the_device_script_join_back_byte_exact(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts" / "device"))
    from device_unpack import join_parts

    source = tmp_path / "out" / "run-a"
    source.mkdir(parents=True)
    blob = bytes(range(256)) * 5000  # 1.28 MB: three parts of 500 kB
    (tmp_path / "optimizer.safetensors").write_bytes(blob)
    subprocess.run(
        [
            "split",
            "-b",
            "500K",
            "-d",
            "-a",
            "2",
            str(tmp_path / "optimizer.safetensors"),
            str(source / "optimizer.safetensors.part"),
        ],
        check=True,
    )
    (source / "train_state.json.part00").write_text('{"step": 3}')
    written = join_parts([tmp_path / "out"], tmp_path / "home")
    assert (tmp_path / "home" / "run-a" / "last" / "optimizer.safetensors").read_bytes() == blob
    assert written[-1].name == "train_state.json"  # the state last: never newer than the weights it describes
    assert len(list(source.glob("optimizer.safetensors.part*"))) == 3


def test_loads_travel_in_pieces_arrive_checked_and_come_back_in_batches(tmp_path: Path) -> None:
    """A bundle larger than one call splits into loads; the machine joins them only when all are there and
    intact; results go back in batches of at most 8 files, one folder deep, and join at home."""
    import json
    import os

    import pytest

    sys.path.insert(0, str(ROOT / "scripts" / "device"))
    from device_loads import FILES_PER_BATCH, INDEX, MANIFEST, assemble, pack, send
    from device_unpack import join_parts

    bundle = tmp_path / "here" / ".devcarry"
    (bundle / "runs" / "ipr-q1" / "last").mkdir(parents=True)
    (bundle / "wheels").mkdir()
    state = os.urandom(3 * 2**20)  # incompressible, like weights
    (bundle / "runs" / "ipr-q1" / "last" / "optimizer.safetensors").write_bytes(state)
    (bundle / "wheels" / "a.whl").write_bytes(b"wheel")
    loads = pack(bundle, tmp_path / "here" / ".devloads", budget=2**20 + 2**19)
    assert [f.name for f in loads] == ["00", "01", "02"] and (loads[-1] / MANIFEST).is_file()

    there = tmp_path / "there"  # the device's copy: loads arrive one call at a time
    with pytest.raises(SystemExit, match="no MANIFEST.json"):
        (there / ".devloads").mkdir(parents=True)
        assemble(there / ".devloads", there)
    for folder in loads[1:]:
        shutil_copytree(folder, there / ".devloads" / folder.name)
    with pytest.raises(SystemExit, match="loads 00 missing"):
        assemble(there / ".devloads", there)
    shutil_copytree(loads[0], there / ".devloads" / "00")
    assemble(there / ".devloads", there)
    assert (there / ".devcarry" / "runs" / "ipr-q1" / "last" / "optimizer.safetensors").read_bytes() == state
    # a load left from another bundle is caught, not unpacked
    part = there / ".devloads" / "01" / "bundle.tar.01"
    part.write_bytes(part.read_bytes()[:-1] + b"x")
    with pytest.raises(SystemExit, match="do not match"):
        assemble(there / ".devloads", there)

    back = there / ".devreturn"  # what device_train.sh leaves: parts per run, and logs
    (back / "logs").mkdir(parents=True)
    (back / "logs" / "ipr-q1.log").write_text("step 500\n")
    (back / "ipr-q1").mkdir()
    chunks = [state[i : i + 300_000] for i in range(0, len(state), 300_000)]  # 11 parts
    for k, chunk in enumerate(chunks):
        (back / "ipr-q1" / f"optimizer.safetensors.part{k:02d}").write_bytes(chunk)
    (back / "ipr-q1" / "train_state.json.part00").write_text(json.dumps({"step": 9}))
    returned = []
    for k in range(2):
        out = tmp_path / f"files_at_{k}"
        send(back, out, k)
        files = [p for p in out.rglob("*") if p.is_file()]
        assert len(files) <= FILES_PER_BATCH + 1 and all(len(p.relative_to(out).parts) <= 2 for p in files)
        returned.append(out)
    assert "batch 0 of 2" in (returned[0] / INDEX).read_text() and "next:" in (returned[0] / INDEX).read_text()
    with pytest.raises(SystemExit, match="does not exist"):
        send(back, tmp_path / "none", 2)
    join_parts(returned, tmp_path / "home")
    assert (tmp_path / "home" / "ipr-q1" / "last" / "optimizer.safetensors").read_bytes() == state
    assert json.loads((tmp_path / "home" / "ipr-q1" / "last" / "train_state.json").read_text()) == {"step": 9}


def shutil_copytree(src: Path, dst: Path) -> None:
    import shutil

    shutil.copytree(src, dst)


def test_codec_check_counts_identical_reconstructions_across_processes(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("compressai")
    import numpy as np
    from PIL import Image

    from ipr_bench.learned.checkpoint import build_model, save_checkpoint

    data = tmp_path / "data" / "lfw" / "Someone"
    data.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(3):  # two 250×250 faces-to-be and one of another size, which the check skips
        side = 250 if k < 2 else 120
        Image.fromarray(rng.integers(0, 255, (side, side, 3), np.uint8)).save(data / f"Someone_{k:04d}.jpg")
    torch.manual_seed(0)
    model = build_model("gained-hyperprior", [16, 24, 2])
    meta = {"architecture": "gained-hyperprior", "args": [16, 24, 2], "levels": 2, "steps": 7}
    save_checkpoint(model, tmp_path / "tiny", meta)
    script = str(ROOT / "scripts" / "device" / "device_codec_check.py")
    env = {**os.environ, "IPR_BENCH_DATA": str(tmp_path / "data")}
    check = tmp_path / "check.json"
    for argv in (
        ["encode", str(tmp_path / "tiny"), "--device", "cpu", "--n", "2", "--loop-n", "1", "--out", str(check)],
        ["decode", str(check), "--device", "cpu"],  # a fresh process, as on the lease
    ):
        subprocess.run([sys.executable, script, *argv], check=True, env=env, capture_output=True)
    report = json.loads(check.read_text())
    assert report["images"] == ["lfw/Someone/Someone_0000.jpg", "lfw/Someone/Someone_0001.jpg"]
    assert set(report["levels"]) == {"1", "2"} and all(len(v["payloads"]) == 2 for v in report["levels"].values())
    assert all(v["images_per_s"]["encode_batched"] > 0 for v in report["levels"].values())
    (counts,) = report["decoders"].values()
    assert counts == {"1": {"identical": 2, "of": 2}, "2": {"identical": 2, "of": 2}}
    # another checkpoint is refused, not silently compared
    save_checkpoint(build_model("gained-hyperprior", [16, 24, 2]), tmp_path / "other", meta)
    result = subprocess.run(
        [sys.executable, script, "decode", str(check), "--model", str(tmp_path / "other")], env=env, capture_output=True
    )
    assert result.returncode != 0 and b"weights differ" in result.stderr
