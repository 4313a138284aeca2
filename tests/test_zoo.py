"""The shipped-codec names: ``ipr`` / ``mse`` take any checkpoint directory, and say how to get one when this
version ships none."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("compressai")


def test_zoo_codecs_load_a_directory_or_explain_what_is_missing(tmp_path: Path) -> None:
    import torch

    from ipr_bench.core.errors import UnavailableError
    from ipr_bench.core.registry import CODECS, create_codec
    from ipr_bench.learned.checkpoint import build_model, save_checkpoint

    codecs = importlib_codecs()
    for name in ("ipr", "mse"):
        if codecs.shipped(name) is None:
            with pytest.raises(UnavailableError, match=f"ships no {name} checkpoints.*{name}:DIR"):
                create_codec(name)
            assert f"{name}:DIR" in CODECS.get(name)[0].needs_argument()
    torch.manual_seed(0)
    model = build_model("bmshj2018-hyperprior", [16, 24])
    meta = {"architecture": "bmshj2018-hyperprior", "args": [16, 24]}
    save_checkpoint(model, tmp_path / "q2", meta | {"lambda": 0.01})
    save_checkpoint(model, tmp_path / "q1" / "last", meta | {"lambda": 0.001})  # as `ipr-bench train --out DIR/q1`
    codec = create_codec(f"ipr:{tmp_path}", device="cpu")
    assert codec.default_qualities == (1, 2) and codec.config()["codec"] == "ipr"
    assert [c["lambda"] for c in codec.config()["checkpoints"]] == [0.001, 0.01]


def test_the_roi_zoo_codecs_code_the_background_at_level_one() -> None:
    from ipr_bench.core.registry import create_codec

    codecs = importlib_codecs()
    for name, entry in (("ipr-roi", "ipr-roi"), ("mse-roi", "mse")):
        if codecs.shipped(entry) is None:
            continue
        codec = create_codec(name, device="cpu")
        assert codec.face_aware and codec.landmarker == "mtcnn" and codec.background == 1.0
        assert codec.root == codecs.shipped(entry)
        assert codec._points(1) == (1, None) and codec._points(5) == (1, 17)  # face at q5 over q1; q1 is no map
        assert codec.config()["background"] == 1  # in the cache key


def importlib_codecs():  # the module, not a codec: where the shipped checkpoints are looked up
    import importlib

    return importlib.import_module("ipr_bench.codecs.zoo")


def test_ship_swaps_a_trained_run_into_the_zoo_and_refuses_the_wrong_loss(tmp_path: Path) -> None:
    import torch

    from ipr_bench.core.errors import OptionError, UnavailableError
    from ipr_bench.learned.checkpoint import build_model, save_checkpoint

    zoo_module = importlib_codecs()
    torch.manual_seed(0)
    model = build_model("bmshj2018-hyperprior", [16, 24])
    meta = {"architecture": "bmshj2018-hyperprior", "args": [16, 24], "lambda": 0.01}
    save_checkpoint(model, tmp_path / "runs" / "ipr-a" / "last", meta | {"identity_weight": 600.0})
    save_checkpoint(model, tmp_path / "runs" / "ipr-b" / "last", meta | {"identity_weight": 300.0})
    (tmp_path / "runs" / "ipr-a" / "last" / "optimizer.safetensors").write_bytes(b"resume state")
    zoo = tmp_path / "zoo"
    zoo.mkdir()

    shipped = zoo_module.ship(tmp_path / "runs" / "ipr-a", "ipr", zoo)
    assert shipped == zoo / "ipr" / "ipr-a"
    assert sorted(p.name for p in shipped.iterdir()) == ["meta.json", "model.safetensors"]  # no optimizer
    assert create_ipr(zoo).config()["checkpoints"][0]["name"] == "ipr-a"  # the shipped copy loads as the codec
    zoo_module.ship(tmp_path / "runs" / "ipr-b", "ipr", zoo)  # replaces the old entry as a whole
    assert [p.name for p in (zoo / "ipr").iterdir()] == ["ipr-b"] and sorted(p.name for p in zoo.iterdir()) == ["ipr"]
    with pytest.raises(OptionError, match="identity weight 600; ipr needs > 0, mse needs 0"):
        zoo_module.ship(tmp_path / "runs" / "ipr-a", "mse", zoo)
    with pytest.raises(UnavailableError, match="no meta.json"):
        zoo_module.ship(tmp_path / "runs", "ipr", zoo)
    assert [p.name for p in (zoo / "ipr").iterdir()] == ["ipr-b"]  # refusals leave the zoo as it was


def test_shipped_weights_are_half_precision_where_large_and_code_as_the_full_ones(tmp_path: Path) -> None:
    import numpy as np
    import torch
    from safetensors.torch import load_file

    from ipr_bench.core.registry import create_codec
    from ipr_bench.learned.checkpoint import build_model, save_checkpoint

    zoo_module = importlib_codecs()
    torch.manual_seed(0)
    model = build_model("gained-hyperprior", [16, 24, 3])
    meta = {"architecture": "gained-hyperprior", "args": [16, 24, 3], "levels": 3, "identity_weight": 0.0}
    save_checkpoint(model, tmp_path / "runs" / "m" / "last", meta)
    (tmp_path / "zoo").mkdir()
    shipped = zoo_module.ship(tmp_path / "runs" / "m", "mse", tmp_path / "zoo")
    full, half = (
        load_file(str(tmp_path / "runs/m/last/model.safetensors")),
        load_file(str(shipped / "model.safetensors")),
    )
    assert full.keys() == half.keys()
    for name, value in half.items():
        large = full[name].is_floating_point() and full[name].numel() >= zoo_module.HALF_MIN_ELEMENTS
        assert value.dtype == (torch.float16 if large else full[name].dtype), name
    assert any(v.dtype == torch.float16 for v in half.values())
    image = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    outs = [create_codec(f"learned:{d}", device="cpu") for d in (tmp_path / "runs/m/last", shipped)]
    decoded = [c.decode(c.encode(image, 3).payload).astype(float) for c in outs]
    assert np.abs(decoded[0] - decoded[1]).mean() < 0.5  # grey levels: fp16 convolutions change next to nothing


def create_ipr(zoo: Path):
    from ipr_bench.core.registry import create_codec

    return create_codec(f"ipr:{zoo / 'ipr'}", device="cpu")
