"""Bit maps of learned codecs: the per-pixel information content sums to the true bit count and sits where the
entropy model put it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ipr_bench.analysis.bitmaps import face_density, split_by_region
from ipr_bench.face.roi import FaceRegion
from ipr_bench.learned.bits import latent_bits, pixel_bits


def test_map_of_a_synthetic_codec_sums_to_its_true_bit_count() -> None:
    rng = np.random.default_rng(0)
    likelihoods = {
        "y": torch.tensor(rng.uniform(0.01, 1.0, (2, 8, 4, 8))),  # stride 16 on a 64 × 128 input
        "z": torch.tensor(rng.uniform(0.01, 1.0, (2, 5, 1, 2))),  # stride 64
    }
    maps = pixel_bits(likelihoods, (64, 128))
    true_bits = sum(-np.log2(p.numpy()).sum(axis=(1, 2, 3)) for p in likelihoods.values())
    assert maps.shape == (2, 64, 128)
    assert np.allclose(maps.sum(axis=(1, 2)), true_bits)
    y_bits = -np.log2(likelihoods["y"].numpy()).sum(axis=(1, 2, 3))
    assert np.allclose(latent_bits(likelihoods)["y"].sum(axis=(1, 2)), y_bits)
    with pytest.raises(ValueError, match="does not tile"):
        pixel_bits({"z": torch.tensor(rng.uniform(0.01, 1.0, (1, 5, 1, 1)))}, (64, 96))


def test_bits_stay_in_their_block_and_split_by_the_face_region() -> None:
    y = np.ones((1, 1, 4, 4))
    y[0, 0, 1, 2] = 0.25  # 2 bits in the block rows 16–31, columns 32–47; every other position p = 1 (0 bits)
    bits = pixel_bits({"y": y}, (64, 64))[0]
    assert bits.sum() == pytest.approx(2.0)
    assert bits[16:32, 32:48].sum() == pytest.approx(2.0) and bits[16:32, 32:48].std() == 0
    inside, outside = split_by_region(bits, FaceRegion(30, 10, 50, 40))
    assert inside == pytest.approx(2.0 * (16 * 16) / 256) and outside == pytest.approx(0.0)
    half_in, half_out = split_by_region(bits, FaceRegion(40, 0, 64, 64))
    assert half_in == pytest.approx(1.0) and half_out == pytest.approx(1.0)


def test_face_density_is_the_map_seen_through_the_alignment() -> None:
    bits = np.zeros((64, 64))
    bits[20:30, 20:30] = 1.5
    shift = np.array([[1.0, 0, -10], [0, 1.0, -10]])  # image → face: move up-left by 10 px
    density = face_density(bits, shift, (48, 48))
    assert density[15, 15] == pytest.approx(1.5) and density[2, 2] == 0
    outside = face_density(bits, np.array([[1.0, 0, 30], [0, 1.0, 30]]), (48, 48))
    assert np.isnan(outside[5, 5])  # face pixels outside the image are unknown, not zero


def _tiny_codec(root: Path) -> Any:
    from ipr_bench.core.registry import create_codec
    from ipr_bench.learned.checkpoint import build_model, save_checkpoint

    torch.manual_seed(0)
    model = build_model("bmshj2018-hyperprior", [16, 24])
    save_checkpoint(model, root, {"architecture": "bmshj2018-hyperprior", "args": [16, 24], "lambda": 0.01})
    return create_codec(f"learned:{root}", device="cpu")


def test_a_learned_codecs_bit_map_is_what_its_payload_carries(tmp_path: Path) -> None:
    """The map of the real model sums to the entropy-coded strings' size, up to the range coder's overhead."""
    from ipr_bench.learned.bitstream import unpack

    pytest.importorskip("compressai")
    codec = _tiny_codec(tmp_path / "ck")
    yy, xx = np.mgrid[0:250, 0:250]
    image = np.stack([128 + 60 * np.sin(xx / 7), 128 + 60 * np.cos(yy / 9), 0.8 * xx], -1)
    image = np.clip(image + np.random.default_rng(0).normal(0, 8, image.shape), 0, 255).astype(np.uint8)
    bits = codec.bit_map(image, 1)
    assert bits.shape == (256, 256) and (bits >= 0).all()  # the padded input, 16-px blocks of y, 64 of z
    strings = unpack(codec.encode(image, 1).payload, 2)[2]
    coded_bytes = sum(len(s) for s in strings)
    assert abs(bits.sum() / 8 - coded_bytes) <= 0.1 * coded_bytes + 16


@pytest.mark.shared
def test_where_bits_go_measures_each_learned_setting_and_lands_in_the_report(
    lfw_mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace

    import pandas as pd
    import test_runner  # noqa: F401  (registers the unit-test recognizers)

    from ipr_bench.analysis.bitmaps import where_bits_go
    from ipr_bench.bench.runner import Runner, RunSpec
    from ipr_bench.core.cache import Cache
    from ipr_bench.core.errors import IprBenchError
    from ipr_bench.core.registry import create_codec, create_dataset, create_recognizer
    from ipr_bench.render.report import build_report
    from ipr_bench.store.results import ResultStore

    pytest.importorskip("compressai")
    root = tmp_path / "ck"
    _tiny_codec(root)
    spec = RunSpec(
        dataset=create_dataset("folder", root=lfw_mini, n_folds=2, pairs_per_fold=6, seed=0),
        codecs={"hevc": create_codec("hevc"), f"learned:{root}": create_codec(f"learned:{root}", device="cpu")},
        qualities={"hevc": [23, 38], f"learned:{root}": [1]},
        recognizers={"test-pixels": create_recognizer("test-pixels")},
        out=tmp_path / "store",
        cache=Cache(tmp_path / "cache"),
        workers=1,
    )
    Runner(spec).run()
    written = where_bits_go(spec.out, dataset=f"folder:{lfw_mini}", n_images=5, seed=1, device="cpu")
    table = pd.read_csv(written[0])
    assert list(table["codec"]) == [f"learned:{root}"]  # x265 has no entropy model to read
    row = table.iloc[0]
    assert row["images"] == 5 and 0 < row["face_area_share"] < 1 and 0 < row["bits_inside_face_share"] < 1
    assert row["concentration"] == pytest.approx(row["bits_inside_face_share"] / row["face_area_share"])
    assert row["bpp_payload"] > row["bpp_entropy_model"] > 0  # the payload adds header and coder overhead
    assert written[1].name.startswith("bits_learned") and written[1].stat().st_size > 1000
    again = where_bits_go(spec.out, dataset=f"folder:{lfw_mini}", n_images=5, seed=1, device="cpu")
    pd.testing.assert_frame_equal(pd.read_csv(again[0]), table)  # the seeded draw is deterministic
    assert row["images_failed"] == 0
    from ipr_bench.codecs.learned import LearnedCodec

    real, calls = LearnedCodec.bit_map, []

    def flaky(self: Any, image: np.ndarray, quality: float, face: Any = None) -> np.ndarray:
        calls.append(image.shape)
        if len(calls) == 2:
            raise RuntimeError("this image cannot be coded")
        return real(self, image, quality, face)

    monkeypatch.setattr(LearnedCodec, "bit_map", flaky)
    flaky_row = pd.read_csv(where_bits_go(spec.out, dataset=f"folder:{lfw_mini}", n_images=5, seed=1)[0]).iloc[0]
    assert flaky_row["images"] == 4 and flaky_row["images_failed"] == 1  # one bad image is counted, not fatal
    monkeypatch.undo()
    build_report(spec.out, anchor="hevc:23")
    report = (spec.out / "report.md").read_text()
    assert "## Where the bits go (`ipr-bench bits`)" in report and f"figures/{written[1].stem}.png" in report
    # the codec replaced since (another fingerprint in its setting's meta): its rows and map are not shown as its
    stale = pd.read_csv(spec.out / "bits_inside.csv").assign(fingerprint="0123456789abcdef")
    stale.to_csv(spec.out / "bits_inside.csv", index=False)
    sources = written[1].with_suffix(".sources.json")
    assert ResultStore(spec.out).is_current(written[1])  # its sources: the learned setting, as stored now
    sources.write_text(json.dumps(dict.fromkeys(json.loads(sources.read_text()), "0123456789abcdef")))
    build_report(spec.out, anchor="hevc:23")
    report = (spec.out / "report.md").read_text()
    assert "1 row(s) of bits_inside.csv left out" in report and f"figures/{written[1].stem}.png" not in report
    assert f"{written[1].stem}.png left out" in capsys.readouterr().err  # and the user is told which, and why
    with pytest.raises(IprBenchError, match="no learned codec in the store"):
        only_hevc = tmp_path / "hevc-only"
        Runner(replace(spec, codecs={"hevc": spec.codecs["hevc"]}, out=only_hevc)).run()
        where_bits_go(only_hevc, dataset=f"folder:{lfw_mini}")


def test_heat_maps_are_a_grid_a_laptop_shows_whole(tmp_path: Path) -> None:
    from PIL import Image

    from ipr_bench.analysis.bitmaps import _heat_map_figure

    row = {"setting": "ipr@quality=1", "bpp_payload": 0.2, "bits_inside_face_share": 0.5, "face_area_share": 0.4}
    density = np.random.default_rng(0).random((40, 40))
    for levels, most_per_row in ((5, 3), (8, 4), (1, 1)):
        path = _heat_map_figure(tmp_path / f"bits_{levels}.png", "ipr", [(row, density)] * levels)
        width, height = Image.open(path).size
        assert width <= max(2.6 * most_per_row + 1.2, 5.0) * 110 + 2 and width < 1300  # never a 1×K strip
        assert height > 300 * (-(-levels // most_per_row))  # the rows that hold the levels
