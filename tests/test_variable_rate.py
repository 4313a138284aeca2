"""One model for all rates: gain units per level, interpolated between levels, as a spatial map too; its
real bitstream decodes to what the model computes; the codec plugin serves its levels as qualities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")


def model(levels: int = 4):
    from ipr_bench.learned.checkpoint import build_model

    torch.manual_seed(0)
    return build_model("gained-hyperprior", [16, 24, levels])


def bits(out: dict) -> float:
    return float(sum(-torch.log2(v).sum() for v in out["likelihoods"].values()))


def test_levels_order_the_rate_and_interpolate_geometrically() -> None:
    net = model().eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        rates = [bits(net(x, level)) for level in (0, 1, 2, 3)]
    # a higher level quantises finer: more bits (even untrained, whose latents are small)
    assert rates == sorted(rates) and rates[0] < 0.95 * rates[-1]
    level = torch.tensor([1.0, 1.5])
    g = net._interpolate(net.gain, level)[:, :, 0, 0]
    assert torch.allclose(g[0], net.gain[1])
    assert torch.allclose(g[1], (net.gain[1] * net.gain[2]).sqrt())  # halfway: the geometric mean


def test_a_uniform_map_is_the_scalar_level_and_a_face_map_spends_bits_on_the_face() -> None:
    net = model().eval()
    x = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        scalar = net(x, 1.0)
        uniform = net(x, torch.full((1, 1, 8, 8), 1.0))
        assert torch.allclose(scalar["x_hat"], uniform["x_hat"], atol=1e-6)
        face = torch.full((1, 1, 8, 8), 0.0)
        face[..., 2:6, 2:6] = 3.0  # the middle quarter of the latent grid at the top level
        mapped = net(x, face)
    y_bits = -torch.log2(mapped["likelihoods"]["y"]).sum(dim=1)[0]  # per latent position
    inside, outside = y_bits[2:6, 2:6].mean(), torch.cat([y_bits[:2].flatten(), y_bits[6:].flatten()]).mean()
    assert inside > 2 * outside


def test_the_bitstream_decodes_to_the_models_reconstruction_at_every_level() -> None:
    from ipr_bench.learned.bitstream import peek_rate_point
    from ipr_bench.learned.coding import compress_images, decompress_payload, level_rate_point

    net = model()
    net.update(force=True)
    net.eval()
    image = (np.random.default_rng(0).random((70, 90, 3)) * 255).astype(np.uint8)
    sizes = []
    for level in (0.0, 1.25, 3.0):
        point = level_rate_point(level, 4)
        payload = compress_images(net, [image], point)[0]
        assert peek_rate_point(payload) == 1 + 4 * level
        decoded = decompress_payload(net, payload)
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
        with torch.no_grad():
            padded = torch.nn.functional.pad(x, (0, 128 - 90, 0, 128 - 70), mode="replicate")
            expected = net(padded, level)["x_hat"][0, :, :70, :90].clamp(0, 1).mul(255).round()
        assert np.abs(decoded.astype(int) - expected.permute(1, 2, 0).numpy().astype(int)).max() <= 1
        sizes.append(len(payload))
    assert sizes == sorted(sizes)
    with pytest.raises(ValueError, match="quarter|steps of"):
        level_rate_point(1.3, 4)


def test_the_learned_codec_serves_a_variable_rate_checkpoint_as_qualities(tmp_path: Path) -> None:
    from ipr_bench.core.errors import UnavailableError
    from ipr_bench.core.registry import create_codec
    from ipr_bench.learned.checkpoint import save_checkpoint

    meta = {"architecture": "gained-hyperprior", "args": [16, 24, 4], "levels": 4, "lambdas": [1e-3, 3e-3, 1e-2, 3e-2]}
    net = model()
    with torch.no_grad():  # an untrained model's latents are tiny: scale them as training would, to see the rates
        net.gain.mul_(32)
        net.inverse_gain.div_(32)
    save_checkpoint(net, tmp_path / "vr", meta | {"lambda": 3e-2})
    codec = create_codec(f"learned:{tmp_path / 'vr'}", device="cpu")
    assert codec.default_qualities == (1, 2, 3, 4)
    image = (np.random.default_rng(1).random((64, 80, 3)) * 255).astype(np.uint8)
    sizes = {}
    for quality in (1, 2.5, 4):
        encoded = codec.encode(image, quality)
        assert codec.encode_batch([image], quality)[0].payload == encoded.payload
        assert codec.decode(encoded.payload).shape == image.shape
        sizes[quality] = len(encoded.payload)
    assert sizes[1] <= sizes[2.5] <= sizes[4] and sizes[1] < sizes[4]
    with pytest.raises(UnavailableError, match="quarter steps"):
        codec.encode(image, 1.1)
    assert codec.config()["checkpoints"][0]["lambdas"] == meta["lambdas"]


def test_a_face_map_codec_sends_its_region_and_spends_more_on_faces(tmp_path: Path) -> None:
    from ipr_bench.core.registry import create_codec
    from ipr_bench.face.landmarks import FaceLandmarks
    from ipr_bench.learned.bitstream import pack, payload_region, unpack
    from ipr_bench.learned.checkpoint import save_checkpoint

    # the format: version 1 carries no region, version 2 carries it in 8 bytes
    plain, boxed = pack(3, 70, 90, [b"ab", b"c"]), pack(3, 70, 90, [b"ab", b"c"], (1, 2, 4, 5))
    assert payload_region(plain) is None and payload_region(boxed) == (1, 2, 4, 5)
    assert len(boxed) == len(plain) + 8 and unpack(boxed, 2) == unpack(plain, 2) == (70, 90, [b"ab", b"c"])

    net = model()
    with torch.no_grad():
        net.gain.mul_(32)
        net.inverse_gain.div_(32)
    meta = {"architecture": "gained-hyperprior", "args": [16, 24, 4], "levels": 4, "face_boost": 2.0}
    save_checkpoint(net, tmp_path / "fm", meta | {"lambda": 0.03, "face_landmarker": "mtcnn"})
    codec = create_codec(f"learned:{tmp_path / 'fm'}", device="cpu")
    assert codec.face_aware and codec.landmarker == "mtcnn"
    image = (np.random.default_rng(2).random((128, 128, 3)) * 255).astype(np.uint8)
    face = FaceLandmarks(np.array([40.0, 40, 88, 96]), np.zeros((5, 2)), True, "five-point")
    with_face, without = codec.encode_batch([image, image], 1, faces=[face, None])
    assert payload_region(with_face.payload) == (1, 1, 7, 7)  # box grown by 25%: 28…100 × 26…110 px
    assert payload_region(without.payload) is None
    assert with_face.info["roi_applied"] == 1.0 and without.info["roi_applied"] == 0.0
    assert with_face.info["face_fraction"] == (6 * 16) ** 2 / 128**2  # the cells coded higher: 6 × 6 of 16 px
    assert len(with_face.payload) > len(without.payload) + 8  # the face coded two levels higher
    assert codec.decode(with_face.payload).shape == image.shape
    assert codec.encode(image, 1, face=face).payload == with_face.payload


def test_any_variable_rate_model_codes_the_background_low_with_the_map_in_its_payload(tmp_path: Path) -> None:
    from ipr_bench.core.errors import OptionError
    from ipr_bench.core.registry import create_codec
    from ipr_bench.face.landmarks import FaceLandmarks
    from ipr_bench.learned.bitstream import MAP_VERSION, pack, payload_face_point, payload_region, peek_rate_point
    from ipr_bench.learned.checkpoint import save_checkpoint

    # version 3: the face region's rate point (1 byte) before the region
    mapped = pack(1, 70, 90, [b"ab", b"c"], (1, 2, 4, 5), face_point=9)
    assert mapped[0] == MAP_VERSION and payload_face_point(mapped) == 9 and payload_region(mapped) == (1, 2, 4, 5)
    assert len(mapped) == len(pack(1, 70, 90, [b"ab", b"c"])) + 9

    net = model()
    with torch.no_grad():
        net.gain.mul_(32)
        net.inverse_gain.div_(32)
    save_checkpoint(net, tmp_path / "vr", {"architecture": "gained-hyperprior", "args": [16, 24, 4], "levels": 4})
    plain = create_codec(f"learned:{tmp_path / 'vr'}", device="cpu")
    roi = create_codec(f"learned:{tmp_path / 'vr'}", device="cpu", background=1)
    assert roi.face_aware and roi.landmarker == "mtcnn" and not plain.face_aware
    image = (np.random.default_rng(3).random((128, 128, 3)) * 255).astype(np.uint8)
    face = FaceLandmarks(np.array([40.0, 40, 88, 96]), np.zeros((5, 2)), True, "five-point")
    coded, no_face = roi.encode_batch([image, image], 4, faces=[face, None])
    assert peek_rate_point(coded.payload) == 1 and payload_face_point(coded.payload) == 13  # q1 around, q4 inside
    assert payload_region(coded.payload) == (1, 1, 7, 7) and coded.info["roi_applied"] == 1.0
    assert no_face.payload == plain.encode(image, 4).payload  # without a face: the quality everywhere
    top, bottom = len(plain.encode(image, 4).payload), len(plain.encode(image, 1).payload)
    assert bottom < len(coded.payload) < top
    # the decoder needs nothing but the payload: a codec built without the option decodes it the same
    decoded = roi.decode(coded.payload)
    assert np.array_equal(plain.decode(coded.payload), decoded)
    assert np.array_equal(roi.decode_batch([coded.payload, no_face.payload])[0], decoded)
    at_top, at_bottom = plain.decode(plain.encode(image, 4).payload), plain.decode(plain.encode(image, 1).payload)
    inner = (slice(32, 96), slice(32, 96))  # inside the coded region, away from its edge
    assert (
        np.abs(decoded[inner].astype(int) - at_top[inner]).mean()
        < np.abs(decoded[inner].astype(int) - at_bottom[inner]).mean()
    )
    assert roi.encode(image, 1, face=face).payload == plain.encode(image, 1).payload  # at the background: no map
    with pytest.raises(OptionError, match="quality 9"):
        create_codec(f"learned:{tmp_path / 'vr'}", device="cpu", background=9)
    meta = {"architecture": "gained-hyperprior", "args": [16, 24, 4], "levels": 4, "face_boost": 1.0}
    save_checkpoint(net, tmp_path / "fm", meta | {"lambda": 0.03, "face_landmarker": "mtcnn"})
    boosted = create_codec(f"learned:{tmp_path / 'fm'}", device="cpu")  # a face-map model: the face 1 level up
    assert payload_face_point(boosted.encode(image, 2, face=face).payload) == 9
    replaced = create_codec(f"learned:{tmp_path / 'fm'}", device="cpu", background=1)  # the background replaces it
    assert payload_face_point(replaced.encode(image, 2, face=face).payload) == 5


def test_coding_scales_are_float64_and_survive_float32_noise_in_the_synthesis_path() -> None:
    """The CDF choice comes from float64 scales, recomputed identically; input noise of float32's size (what another
    device or batch size adds before the hyper-synthesis) moves only the rare index whose scale sits at a table
    boundary (the GPU-to-CPU failure this guards against flipped enough to lose 20 dB: bench_codec.py)."""
    net = model()
    net.update(force=True)
    net.eval()
    z_hat = torch.randint(-3, 4, (4, 16, 8, 8)).float()
    level = torch.full((4,), 1.5)
    with torch.no_grad():
        scales = net.coding_scales(z_hat, level)
        assert scales.dtype == torch.float64
        nudged = net.coding_scales(z_hat * (1 + 1e-7), level)
        indexes = net.gaussian_conditional.build_indexes(scales)
        changed = (net.gaussian_conditional.build_indexes(nudged) != indexes).float().mean().item()
    assert changed < 1e-3
    assert torch.equal(net.gaussian_conditional.build_indexes(net.coding_scales(z_hat, level)), indexes)
