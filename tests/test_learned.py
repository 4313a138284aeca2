"""Learned codecs: the bitstream format, checkpoints without pickle, and bit-exact decoding in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ipr_bench.core.errors import DataError, UnavailableError
from ipr_bench.learned.bitstream import pack, peek_rate_point, unpack

from conftest import smooth_image

compressai = pytest.importorskip("compressai")


def test_header_round_trip_and_damage_is_named() -> None:
    strings = [b"\x01" * 300, b"z" * 5]
    payload = pack(3, 250, 251, strings)
    assert len(payload) == 6 + (2 + 300) + (1 + 5)  # header, then LEB128 lengths (300 needs 2 bytes) and strings
    assert peek_rate_point(payload) == 3 and unpack(payload, 2) == (250, 251, strings)
    with pytest.raises(DataError, match="truncated: string 1 needs 300 bytes"):
        unpack(payload[:100], 2)
    with pytest.raises(DataError, match="shorter than its 6-byte header"):
        unpack(payload[:4], 2)
    with pytest.raises(DataError, match="format version 9"):
        unpack(b"\x09" + payload[1:], 2)
    with pytest.raises(DataError, match="2 bytes after its last string"):
        unpack(payload + b"xx", 2)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two rate points of an untrained (randomly initialised, seeded) small hyperprior."""
    import torch

    from ipr_bench.learned.checkpoint import build_model, save_checkpoint

    root = tmp_path_factory.mktemp("ckpt")
    for k, lam in enumerate((0.01, 0.001)):
        torch.manual_seed(k)
        model = build_model("bmshj2018-hyperprior", [32, 48])
        save_checkpoint(
            model, root / f"lambda{lam}", {"architecture": "bmshj2018-hyperprior", "args": [32, 48], "lambda": lam}
        )
    return root


def test_checkpoints_load_without_pickle_and_sort_by_lambda(checkpoint: Path) -> None:
    from ipr_bench.learned.checkpoint import checkpoint_dirs, load_checkpoint

    dirs = checkpoint_dirs(checkpoint)
    assert [d.name for d in dirs] == ["lambda0.001", "lambda0.01"]
    model, meta = load_checkpoint(dirs[0])
    assert meta["lambda"] == 0.001 and not model.training
    assert (dirs[0] / "model.safetensors").read_bytes()[:8] != b"\x80\x04\x95"  # not a pickle
    (checkpoint / "broken").mkdir()
    (checkpoint / "broken" / "meta.json").write_text('{"architecture": "x",\n oops}')
    with pytest.raises(UnavailableError, match="broken/meta.json:2: invalid JSON"):
        checkpoint_dirs(checkpoint)
    (checkpoint / "broken" / "meta.json").unlink()
    (checkpoint / "broken").rmdir()


@pytest.mark.parametrize("shape", [(250, 250), (37, 53)])
def test_bitstream_decodes_bit_exactly_in_a_fresh_process(
    checkpoint: Path, tmp_path: Path, shape: tuple[int, int]
) -> None:
    from ipr_bench.core.registry import create_codec

    codec = create_codec(f"learned:{checkpoint}", device="cpu")
    assert codec.default_qualities == (1, 2)
    images = [smooth_image(s, *shape) for s in range(3)]
    encoded = codec.encode_batch(images, 2)
    single = codec.encode(images[1], 2)
    assert encoded[1].payload == single.payload  # batching does not change the bytes
    here = [codec.decode(e.payload) for e in encoded]
    assert all(d.shape == (*shape, 3) and d.dtype == np.uint8 for d in here)
    for k, e in enumerate(encoded):
        (tmp_path / f"{k}.bin").write_bytes(e.payload)
    script = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from ipr_bench.core.registry import create_codec\n"
        f"codec = create_codec('learned:{checkpoint}', device='cpu')\n"
        f"out = Path(r'{tmp_path}')\n"
        f"for k in range({len(encoded)}):\n"
        "    np.save(out / f'{k}.npy', codec.decode((out / f'{k}.bin').read_bytes()))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    for k, d in enumerate(here):
        assert np.array_equal(np.load(tmp_path / f"{k}.npy"), d)
    config = codec.config()
    assert [c["lambda"] for c in config["checkpoints"]] == [0.001, 0.01] and config["version"].startswith("compressai")
    assert json.dumps(config)  # cache keys and provenance need it as JSON


def test_fast_scale_indexes_equal_compressais() -> None:
    """The one-pass index build gives CompressAI's integers, also for scales exactly on a table entry and outside
    the table (the bitstreams must not change)."""
    import torch
    from compressai.entropy_models import GaussianConditional
    from compressai.models.google import get_scale_table

    from ipr_bench.learned.checkpoint import build_model, fast_build_indexes

    conditional = build_model("bmshj2018-hyperprior", [32, 48]).gaussian_conditional
    conditional.update_scale_table(get_scale_table())
    table = conditional.scale_table
    scales = torch.cat([torch.rand(2000) * 400, table, table * (1 + 1e-7), table * (1 - 1e-7), torch.zeros(3)])
    scales = scales[torch.randperm(len(scales))].reshape(1, 1, -1, 1)
    expected = GaussianConditional.build_indexes(conditional, scales)
    got = fast_build_indexes(conditional, scales)
    assert got.dtype == expected.dtype and torch.equal(got, expected)


def test_batched_decode_equals_one_at_a_time(checkpoint: Path) -> None:
    """decode_batch (one CompressAI call per size and rate point) gives each payload's own decode, keeps the
    order across mixed sizes and rate points, and returns a damaged payload's error in its slot."""
    from ipr_bench.core.registry import create_codec

    codec = create_codec(f"learned:{checkpoint}", device="cpu")
    images = [smooth_image(s, 64, 80) for s in range(3)] + [smooth_image(9, 40, 40)]
    payloads = [e.payload for e in codec.encode_batch(images, 2)] + [codec.encode(images[0], 1).payload]
    payloads.insert(2, payloads[1][:-3])  # truncated
    decoded = codec.decode_batch(payloads)
    assert isinstance(decoded[2], DataError)
    for payload, image in zip(payloads, decoded, strict=True):
        if payload is not payloads[2]:
            assert np.array_equal(image, codec.decode(payload))
