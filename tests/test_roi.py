"""Region-of-interest baselines: the face region, hevc-roi and hevc-blur, their fallback, the runner plumbing
and the View-1-only tuning."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from ipr_bench.bench.runner import Runner, RunSpec
from ipr_bench.core.cache import Cache
from ipr_bench.core.images import psnr
from ipr_bench.core.registry import LANDMARKERS, create_codec, create_dataset, create_recognizer
from ipr_bench.face.landmarks import FaceLandmarks
from ipr_bench.face.roi import face_region, soft_mask
from ipr_bench.landmarkers.base import Landmarker
from ipr_bench.store.results import ResultStore

from conftest import smooth_image

ROOT = Path(__file__).resolve().parents[1]


def face(box: tuple[float, float, float, float], detected: bool = True) -> FaceLandmarks:
    return FaceLandmarks(np.array(box, float), np.zeros((5, 2)), detected, "five-point")


def region_psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    return psnr(a[mask].reshape(-1, 1, 3), b[mask].reshape(-1, 1, 3))


def test_face_region_grows_by_the_margin_and_clips_to_the_image() -> None:
    r = face_region(face((40, 50, 80, 100)), (200, 160, 3), margin=0.25)
    assert (r.left, r.top, r.right, r.bottom) == (30, 37, 90, 113)
    # a box crossing the left and bottom borders is clipped, not shifted
    r = face_region(face((-20, 150, 30, 230)), (200, 160, 3), margin=0.1)
    assert (r.left, r.top, r.right, r.bottom) == (0, 142, 35, 200)
    assert r.fraction_of((200, 160)) == pytest.approx(35 * 58 / (200 * 160))


def test_no_region_without_a_detected_face_or_inside_the_image() -> None:
    assert face_region(None, (100, 100, 3)) is None
    assert face_region(face((10, 10, 50, 50), detected=False), (100, 100, 3)) is None  # central-box guess
    assert face_region(face((150, 150, 190, 190)), (100, 100, 3), margin=0.1) is None  # wholly outside


def test_soft_mask_is_one_on_the_region_and_decays_outside() -> None:
    r = face_region(face((20, 20, 40, 40)), (64, 64, 3), margin=0)
    m = soft_mask((64, 64), r, feather=4)
    assert np.all(m[r.mask((64, 64))] == 1)
    assert m[30, r.right] == pytest.approx(np.exp(-1 / 32))  # one pixel out
    assert m[30, 63] < 1e-6 and m[0, 0] < 1e-6
    assert np.array_equal(soft_mask((64, 64), r, 0) == 1, r.mask((64, 64)))


@pytest.fixture
def textured() -> tuple[np.ndarray, FaceLandmarks]:
    image = smooth_image(3, 160, 160)
    return image, face((56, 48, 104, 112))


def test_hevc_roi_moves_bits_from_background_to_face(textured: tuple[np.ndarray, FaceLandmarks]) -> None:
    """At a comparable size, the ROI stream has the better face and the worse background."""
    image, f = textured
    mask = face_region(f, image.shape).mask(image.shape)
    plain, roi = create_codec("hevc"), create_codec("hevc-roi", background_qp=20)
    target = len(plain.encode(image, 33).payload)
    sizes = {crf: len(roi.encode(image, crf, face=f).payload) for crf in range(18, 34)}
    crf = min(sizes, key=lambda c: abs(sizes[c] - target))
    assert abs(sizes[crf] - target) / target < 0.15
    a, b = plain.decode(plain.encode(image, 33).payload), roi.decode(roi.encode(image, crf, face=f).payload)
    assert region_psnr(image, b, mask) > region_psnr(image, a, mask) + 0.5
    assert region_psnr(image, b, ~mask) < region_psnr(image, a, ~mask) - 0.5


def test_hevc_roi_at_zero_offsets_is_plain_hevc(textured: tuple[np.ndarray, FaceLandmarks]) -> None:
    image, f = textured
    encoded = create_codec("hevc-roi", background_qp=0).encode(image, 28, face=f)
    assert encoded.payload == create_codec("hevc").encode(image, 28).payload
    assert encoded.info["roi_applied"] == 1


def test_boxes_touching_or_crossing_borders_encode(textured: tuple[np.ndarray, FaceLandmarks]) -> None:
    image, _ = textured
    codec = create_codec("hevc-roi", background_qp=20)
    plain = len(create_codec("hevc").encode(image, 28).payload)
    for box in [(0, 0, 60, 60), (120, 110, 200, 190), (-30, 40, 50, 120), (0, 0, 160, 160)]:
        encoded = codec.encode(image, 28, face=face(box))
        assert encoded.info["roi_applied"] == 1
        assert codec.decode(encoded.payload).shape == image.shape
        if box != (0, 0, 160, 160):  # a whole-frame face leaves no background to save on
            assert len(encoded.payload) < plain


@pytest.mark.parametrize("spec", ["hevc-roi", "hevc-blur"])
def test_missing_landmarks_fall_back_to_plain_hevc(spec: str, textured: tuple[np.ndarray, FaceLandmarks]) -> None:
    image, f = textured
    plain = create_codec("hevc").encode(image, 28).payload
    codec = create_codec(spec)
    results = codec.encode_batch([image, image, image], 28, [None, face((1, 1, 9, 9), detected=False), f])
    for r in results[:2]:
        assert r.payload == plain and r.info["roi_applied"] == 0
    assert results[2].info["roi_applied"] == 1 and len(results[2].payload) < len(plain)


def test_hevc_blur_keeps_the_face_and_smooths_the_background(textured: tuple[np.ndarray, FaceLandmarks]) -> None:
    from ipr_bench.codecs.hevc_blur import blur_background

    image, f = textured
    filtered, info = blur_background(image, f, sigma=4, feather=8, margin=0.25)
    mask = face_region(f, image.shape).mask(image.shape)
    assert np.array_equal(filtered[mask], image[mask]) and info["roi_applied"] == 1
    assert (
        np.abs(np.diff(filtered[~mask].astype(int), axis=0)).mean()
        < np.abs(np.diff(image[~mask].astype(int), axis=0)).mean()
    )


def test_libvvenc_ignores_roi_side_data() -> None:
    """Why there is no vvc-roi: ffmpeg's libvvenc wrapper never reads AV_FRAME_DATA_REGIONS_OF_INTEREST, so a
    whole-frame +51 QP offset (which shrinks the x265 stream) leaves the VVC bytes unchanged."""
    from ipr_bench.codecs.ffmpeg import encode_each
    from ipr_bench.codecs.hevc import strip_user_data_sei

    image = smooth_image(4, 96, 96)
    roi = ["-vf", "addroi=x=0:y=0:w=iw:h=ih:qoffset=1"]
    vvc = ["-c:v", "libvvenc", "-preset", "faster", "-qp", "37"]
    hevc = ["-pix_fmt", "yuv420p", "-c:v", "libx265", "-crf", "28", "-x265-params", "log-level=error"]
    (v_plain, _), (v_roi, _) = encode_each([image, image], [vvc, roi + vvc], "vvc", False, "vvc")
    (h_plain, _), (h_roi, _) = encode_each([image, image], [hevc, roi + hevc], "hevc", False, "hevc")
    assert v_plain == v_roi
    h_plain, h_roi = strip_user_data_sei(h_plain), strip_user_data_sei(h_roi)
    assert len(h_roi) < 0.5 * len(h_plain)  # the same filter does reach x265


class FixedLandmarker(Landmarker):
    """Unit-test stand-in: a face box in the middle of every image, detected only where the top-left pixel's red
    value is odd (elsewhere it stands for the central-box guess), so a run meets both kinds."""

    name = "test-fixed"
    scheme = "five-point"
    requires = "nothing"

    def detect(self, images: list[np.ndarray]) -> list[FaceLandmarks]:
        out = []
        for im in images:
            h, w = im.shape[:2]
            out.append(face((w * 0.3, h * 0.3, w * 0.7, h * 0.7), detected=bool(im[0, 0, 0] % 2)))
        return out

    def identity(self) -> list:
        return ["test-fixed", 1]


if "test-fixed" not in LANDMARKERS.names():
    LANDMARKERS.register("test-fixed")(FixedLandmarker)


def test_runner_gives_face_aware_codecs_the_originals_landmarks(synthetic_folder: Path, tmp_path: Path) -> None:
    import test_runner  # noqa: F401  (registers the test-pixels recognizer)

    spec = RunSpec(
        dataset=create_dataset("folder", root=synthetic_folder, n_folds=2, pairs_per_fold=4, seed=0),
        codecs={"hevc-roi:20": create_codec("hevc-roi:20", landmarker="test-fixed")},
        qualities={"hevc-roi:20": [28]},
        recognizers={"test-pixels": create_recognizer("test-pixels")},
        out=tmp_path / "out",
        cache=Cache(tmp_path / "cache"),
        workers=1,
        chunk_size=5,
    )
    runner = Runner(spec)
    assert "test-fixed" in runner.landmarker_names
    runner.run()
    items, _, meta = ResultStore(spec.out).read_setting("hevc-roi:20@crf=28")
    assert meta["codec_config"]["landmarks"] == ["test-fixed", 1]
    codec = create_codec("hevc-roi:20")
    marks = FixedLandmarker().detect([_read(spec, i) for i in spec.dataset.items])
    expected = [codec.encode(_read(spec, i), 28, face=m) for i, m in zip(spec.dataset.items, marks, strict=True)]
    assert list(items["n_bytes"]) == [len(e.payload) for e in expected]
    assert list(items["codec_roi_applied"]) == [e.info["roi_applied"] for e in expected]
    assert 0 < items["codec_roi_applied"].sum() < len(items)  # both kinds present: the fallback is recorded


def _read(spec: RunSpec, item) -> np.ndarray:
    from ipr_bench.core.images import read_rgb

    return read_rgb(item.path)


def load_tuner():
    spec = importlib.util.spec_from_file_location("tune_roi", ROOT / "scripts" / "tune_roi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tuning_refuses_view2_and_picks_the_lowest_bd_rate() -> None:
    tuner = load_tuner()
    with pytest.raises(SystemExit, match="View 1"):
        tuner.check_view1({"dataset": "lfw", "dataset_label": "LFW (deep-funneled) View 2"})
    tuner.check_view1({"dataset": "lfw-view1-test", "dataset_label": "LFW (deep-funneled) View 1 DevTest"})
    scores = {
        "hevc-roi:12": -10.0,
        "hevc-roi:24": -25.0,
        "hevc-roi:51": None,
        "hevc-blur:2": -5.0,
        "hevc-blur:6": float("nan"),
    }
    assert tuner.choose(scores, "hevc-roi") == "hevc-roi:24"
    assert tuner.choose(scores, "hevc-blur") == "hevc-blur:2"  # not computable ranks last
    with pytest.raises(SystemExit):
        tuner.choose(scores, "vvc-roi")


def test_codec_defaults_are_the_recorded_view1_choice() -> None:
    record = ROOT / "results" / "lfw-roi" / "tuning.json"
    if not record.is_file():
        pytest.skip("no View 1 tuning recorded yet")
    chosen = json.loads(record.read_text())["chosen"]
    assert create_codec("hevc-roi").options["background_qp"] == int(chosen["hevc-roi"]["argument"])
    assert create_codec("hevc-blur").options["sigma"] == float(chosen["hevc-blur"]["argument"])
