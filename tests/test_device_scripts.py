"""The GPU-lease luggage: files split into parts on the device come back whole."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_parts_split_like_the_device_script_join_back_byte_exact(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from device_unpack import join_parts

    source = tmp_path / "out" / "run-a" / "last"
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
    written = join_parts(tmp_path / "out", tmp_path / "home")
    assert (tmp_path / "home" / "run-a" / "last" / "optimizer.safetensors").read_bytes() == blob
    assert written[-1].name == "train_state.json"  # the state last: never newer than the weights it describes
    assert len(list(source.glob("optimizer.safetensors.part*"))) == 3
