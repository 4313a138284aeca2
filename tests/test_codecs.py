"""Every codec round-trips; bytes are what they claim to be; a missing encoder is a clear error."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from ipr_bench.codecs.base import Codec
from ipr_bench.codecs.ffmpeg import ffmpeg_exe, raw_rgb_input_args
from ipr_bench.codecs.hevc import split_annexb, strip_user_data_sei
from ipr_bench.core.images import psnr
from ipr_bench.core.registry import CODECS, create_codec

ALL = ["jpeg", "webp", "avif", "heif", "jxl", "hevc", "vvc"]
HIGH_QUALITY = {"jpeg": 90, "webp": 90, "avif": 85, "heif": 85, "jxl": 85, "hevc": 18, "vvc": 22}
LOW_QUALITY = {"jpeg": 10, "webp": 5, "avif": 10, "heif": 10, "jxl": 10, "hevc": 45, "vvc": 50}


def test_all_builtin_codecs_are_registered() -> None:
    assert set(ALL) <= set(CODECS.names())


@pytest.mark.parametrize("name", ALL)
def test_round_trip_shape_and_quality(name: str, image: np.ndarray) -> None:
    codec: Codec = create_codec(name)
    assert codec.availability().ok, codec.availability().reason
    high = codec.encode(image, HIGH_QUALITY[name])
    low = codec.encode(image, LOW_QUALITY[name])
    decoded = codec.decode(high.payload)
    assert decoded.shape == image.shape and decoded.dtype == np.uint8
    assert psnr(image, decoded) > 30
    # the knob does what it says: lower quality → fewer bytes and lower PSNR
    assert len(low.payload) < len(high.payload)
    assert psnr(image, codec.decode(low.payload)) < psnr(image, decoded)


@pytest.mark.parametrize("name", ["hevc", "vvc", "jpeg"])
def test_odd_sizes_round_trip(name: str, image: np.ndarray) -> None:
    odd = np.ascontiguousarray(image[:63, :41])
    codec = create_codec(name)
    decoded = codec.decode(codec.encode(odd, HIGH_QUALITY[name]).payload)
    assert decoded.shape == odd.shape
    assert psnr(odd, decoded) > 28


def x265_alone(image: np.ndarray, crf: int) -> bytes:
    """What a user gets encoding this one image by hand with -x265-params info=0."""
    encoder = f"-frames:v 1 -pix_fmt yuv420p -c:v libx265 -preset medium -crf {crf} -x265-params log-level=error:info=0"
    command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *raw_rgb_input_args(image), *encoder.split()]
    return subprocess.run(
        [*command, "-f", "hevc", "pipe:1"], input=image.tobytes(), capture_output=True, check=True
    ).stdout


def test_hevc_payload_equals_info0_stream(image: np.ndarray) -> None:
    """The payload (settings SEI stripped from one default encode) is byte-identical to an info=0 encode."""
    encoded = create_codec("hevc").encode(image, 28)
    assert encoded.payload == x265_alone(image, 28)
    assert encoded.alt_bytes["with_sei"] > len(encoded.payload) + 1000  # x265's ~2 KB options string
    assert encoded.alt_bytes["mp4_with_sei"] > encoded.alt_bytes["with_sei"]


def test_batched_encodes_equal_encoding_each_image_alone() -> None:
    """Many images in one ffmpeg process still get one encoder and one stream each: identical bytes."""
    from conftest import smooth_image

    images = [smooth_image(s, 64 + 2 * s, 48 + 4 * s) for s in range(5)]
    codec = create_codec("hevc")
    batch = codec.encode_batch(images, 33)
    assert [e.payload for e in batch] == [x265_alone(im, 33) for im in images]
    decoded = codec.decode_batch([e.payload for e in batch])
    assert [d.shape for d in decoded] == [im.shape for im in images]
    assert all(np.array_equal(d, codec.decode(e.payload)) for d, e in zip(decoded, batch, strict=True))


@pytest.mark.parametrize("name", ["hevc", "vvc"])
def test_one_bad_image_in_a_batch_fails_alone(name: str, image: np.ndarray) -> None:
    codec = create_codec(name)
    empty = np.zeros((0, 0, 3), np.uint8)
    results = codec.encode_batch([image, empty, image], 30)
    assert isinstance(results[1], Exception)
    assert results[0].payload == results[2].payload == codec.encode(image, 30).payload
    decoded = codec.decode_batch([results[0].payload, b"\x00\x00\x01garbage", results[2].payload])
    assert isinstance(decoded[1], Exception) and decoded[0].shape == image.shape


def test_strip_sei_keeps_other_nal_units() -> None:
    vps = b"\x00\x00\x00\x01" + bytes([32 << 1, 1]) + b"\x0c\x01"
    sei = b"\x00\x00\x01" + bytes([39 << 1, 1]) + b"\x05\x10abc"
    other_sei = b"\x00\x00\x01" + bytes([39 << 1, 1]) + b"\x01\x02zz"  # not user data: kept
    slice_ = b"\x00\x00\x01" + bytes([19 << 1, 1]) + b"\xaf\x00\x01"[:2]
    stream = vps + sei + other_sei + slice_
    assert split_annexb(stream) == [vps, sei, other_sei, slice_]
    assert strip_user_data_sei(stream) == vps + other_sei + slice_


def test_hevc_444_option(image: np.ndarray) -> None:
    codec = create_codec("hevc", pix_fmt="yuv444p")
    decoded = codec.decode(codec.encode(image, 23).payload)
    assert decoded.shape == image.shape
    with pytest.raises(ValueError, match="pix_fmt"):
        create_codec("hevc", pix_fmt="yuv422p10")


def test_pillow_payload_is_the_whole_file(image: np.ndarray) -> None:
    payload = create_codec("jpeg").encode(image, 50).payload
    assert payload[:2] == b"\xff\xd8" and payload[-2:] == b"\xff\xd9"
    assert b"Exif" not in payload


def test_missing_encoder_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from ipr_bench.codecs import hevc, vvc

    monkeypatch.setattr(hevc, "has_encoder", lambda name: False)
    monkeypatch.setattr(vvc, "has_encoder", lambda name: False)
    for cls in (hevc.HevcCodec, vvc.VvcCodec):
        avail = cls.availability()
        assert not avail.ok and "imageio-ffmpeg" in avail.reason and "lib" in avail.reason


def test_config_changes_with_options() -> None:
    assert create_codec("hevc").config() != create_codec("hevc", preset="slow").config()
    assert create_codec("hevc").config() == create_codec("hevc").config()


def test_missing_pillow_plugin_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from ipr_bench.codecs.heif import HeifCodec
    from ipr_bench.codecs.jxl import JxlCodec

    monkeypatch.setattr(HeifCodec, "plugin", "pillow_heif_not_here")
    monkeypatch.setattr(JxlCodec, "plugin", "pillow_jxl_not_here")
    assert HeifCodec.availability().reason == "pillow-heif is not installed: pip install pillow-heif"
    assert JxlCodec.availability().reason == "pillow-jxl-plugin is not installed: pip install pillow-jxl-plugin"


def test_a_bad_image_alone_in_the_last_batch_is_returned_not_raised(image: np.ndarray) -> None:
    """17 images make two ffmpeg batches (16 + 1); the lone 17th failing must not take the chunk down."""
    codec = create_codec("hevc")
    empty = np.zeros((0, 0, 3), np.uint8)
    results = codec.encode_batch([image] * 16 + [empty], 38)
    assert isinstance(results[16], Exception) and all(r.payload for r in results[:16])
    decoded = codec.decode_batch([results[0].payload] * 16 + [b"\x00\x00\x01garbage"])
    assert isinstance(decoded[16], Exception) and decoded[0].shape == image.shape
