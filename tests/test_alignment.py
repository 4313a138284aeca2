"""Landmarkers (dlib 5-point, MTCNN), alignment matrices, and the torch warp that training uses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ipr_bench.core.errors import UnavailableError
from ipr_bench.core.images import read_rgb
from ipr_bench.core.registry import LANDMARKERS, create_recognizer
from ipr_bench.face.alignment import alignment_matrix, box_margin_matrix, template_points, warp, warp_torch
from ipr_bench.face.landmarks import FaceLandmarks
from ipr_bench.face.spec import FaceSpec
from ipr_bench.landmarkers.base import detect_landmarks
from ipr_bench.landmarkers.mtcnn import MtcnnLandmarker

from conftest import HAS_LFW, SHARED_DATA, smooth_image

needs_lfw = pytest.mark.skipif(not HAS_LFW, reason="needs ../shared LFW")
needs_mtcnn = pytest.mark.skipif(not MtcnnLandmarker.availability().ok, reason="needs facenet-pytorch")


def lfw(name: str) -> np.ndarray:
    return read_rgb(SHARED_DATA / "lfw" / "lfw" / name.rsplit("_", 1)[0] / f"{name}.jpg")


def marks_at(points: np.ndarray, scheme: str = "five-point") -> FaceLandmarks:
    box = np.array([*points.min(0) - 20, *points.max(0) + 20])
    return FaceLandmarks(box, points, True, scheme)


FIVE = np.array([[30.0, 40.0], [58.0, 38.0], [45.0, 55.0], [33.0, 70.0], [57.0, 69.0]])


def test_landmarkers_are_registered() -> None:
    assert {"dlib5", "mtcnn"} <= set(LANDMARKERS.names())


def test_five_point_template_alignment_is_exact_for_a_similar_face() -> None:
    spec = FaceSpec(input_size=(112, 112), template="arcface", landmarker="mtcnn")
    # a face that is exactly the template rotated, scaled and shifted aligns back onto the template
    angle, scale = 0.2, 1.4
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = template_points("arcface", (112, 112))
    src = (dst - 56) @ rot.T + [120, 100]
    m = alignment_matrix(marks_at(src), spec, (250, 250, 3))
    assert np.allclose(src @ m[:, :2].T + m[:, 2], dst, atol=1e-9)


def test_dlib_points_use_only_the_eye_centres() -> None:
    corners = np.array([[60.0, 40.0], [50.0, 41.0], [20.0, 40.0], [30.0, 41.0], [40.0, 60.0]])
    marks = marks_at(corners, "dlib5")
    template = marks.template_points()
    assert np.allclose(template[:2], [[25.0, 40.5], [55.0, 40.5]]) and np.isnan(template[2:]).all()
    m = alignment_matrix(marks, FaceSpec(input_size=(112, 112)), (100, 100, 3))
    mapped = template[:2] @ m[:, :2].T + m[:, 2]
    assert np.allclose(mapped, template_points("arcface", (112, 112))[:2], atol=1e-9)


def test_box_margin_crop_matches_facenet_pytorch_extract_face() -> None:
    pytest.importorskip("facenet_pytorch")
    from facenet_pytorch.models.utils.detect_face import extract_face
    from PIL import Image

    image = smooth_image(3, 250, 250)
    box = np.array([80.3, 60.7, 171.2, 185.9])
    marks = FaceLandmarks(box, FIVE, True, "five-point")
    ours = warp(image, box_margin_matrix(marks, 32, (160, 160), image.shape), (160, 160))
    theirs = extract_face(Image.fromarray(image), box, image_size=160, margin=32).permute(1, 2, 0).numpy()
    # same crop and scale; only the two resamplers' rounding differs
    assert np.abs(ours.astype(float) - theirs).mean() < 1.5


@pytest.mark.parametrize("kind", ["template", "box"])
def test_torch_warp_equals_the_opencv_warp(kind: str) -> None:
    import torch

    image = smooth_image(1, 120, 100)
    spec = FaceSpec(input_size=(112, 96), template="sphereface", landmarker="mtcnn", box_margin=None)
    if kind == "box":
        spec = FaceSpec(input_size=(160, 160), landmarker="mtcnn", box_margin=20.0)
    m = alignment_matrix(marks_at(FIVE + [10, 15]), spec, image.shape)
    expected = warp(image, m, spec.input_size).astype(np.float32)
    x = torch.from_numpy(image.astype(np.float32)).permute(2, 0, 1)[None]
    got = warp_torch(x, torch.from_numpy(m)[None], spec.input_size)[0].permute(1, 2, 0).numpy()
    assert got.shape == expected.shape
    # OpenCV rounds to uint8 (≤ 0.5) and each source position to 1/32 px (≤ 1/64 px per axis, i.e. the image's
    # steepest step per pixel × 1/64 per axis); torch does neither. A bound from the image, not a magic number:
    # OpenCV 4.14 and 5.x differ by up to 1.05 on this image, within the bound.
    steepest = image.astype(float)
    bound = 0.5 + (np.abs(np.diff(steepest, axis=0)).max() + np.abs(np.diff(steepest, axis=1)).max()) / 64 + 0.01
    assert np.abs(got - expected).max() <= bound
    assert np.abs(got - expected).mean() < 0.5  # and on average not more than the uint8 rounding


@needs_lfw
@needs_mtcnn
def test_mtcnn_finds_the_five_template_points() -> None:
    image = lfw("Aaron_Peirsol_0001")
    marks = detect_landmarks(image, "mtcnn")
    assert marks.detected and marks.scheme == "five-point"
    left_eye, right_eye, nose, mouth_left, mouth_right = marks.points
    x1, y1, x2, y2 = marks.box
    assert (marks.points[:, 0] > x1).all() and (marks.points[:, 0] < x2).all()
    assert (marks.points[:, 1] > y1).all() and (marks.points[:, 1] < y2).all()
    assert left_eye[0] < nose[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    # both landmarkers agree on where the eyes are (within a few pixels on a 250 px image)
    assert np.abs(marks.eye_centres() - detect_landmarks(image, "dlib5").eye_centres()).max() < 6


@needs_mtcnn
def test_mtcnn_without_a_face_falls_back_to_the_centre_box() -> None:
    blank = np.full((250, 250, 3), 128, np.uint8)
    marks = detect_landmarks(blank, "mtcnn")
    assert not marks.detected and np.isfinite(marks.points).all()
    assert np.allclose(marks.box, [69, 69, 181, 181], atol=1)


def test_recognizer_alignment_options_are_checked() -> None:
    with pytest.raises(UnavailableError, match="unknown options \\['colour'\\]"):
        create_recognizer("facenet", colour=1)
    with pytest.raises(UnavailableError, match="needs landmarker=dlib5"):
        create_recognizer("dlib", landmarker="mtcnn")
    rec = create_recognizer("facenet", landmarker="mtcnn", box_margin=32)
    assert rec.spec.box_margin == 32.0 and rec.config()["landmarker"] == "mtcnn"
    assert create_recognizer("facenet").spec == type(rec).spec  # options change the instance, not the class


@pytest.mark.shared
@pytest.mark.parametrize("name", ["yunet", "scrfd"])
def test_onnx_landmarkers_agree_with_mtcnn_on_lfw(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from ipr_bench.core.images import read_rgb
    from ipr_bench.core.registry import LANDMARKERS
    from ipr_bench.landmarkers.base import detect_landmarks

    from conftest import HAS_LFW, SHARED_DATA

    cls = LANDMARKERS.get(name)[0]
    if not HAS_LFW or not cls.availability().ok:
        pytest.skip(f"needs LFW and the {name} weights in ../shared/weights")
    for path in ("Aaron_Peirsol/Aaron_Peirsol_0001.jpg", "Abel_Pacheco/Abel_Pacheco_0001.jpg"):
        image = read_rgb(SHARED_DATA / "lfw" / "lfw" / path)
        found, mtcnn = detect_landmarks(image, name), detect_landmarks(image, "mtcnn")
        assert found.detected and found.scheme == "five-point"
        assert np.linalg.norm(found.points - mtcnn.points, axis=1).mean() < 8  # pixels, on a ~100 px face
        assert found.points[0, 0] < found.points[1, 0] and found.points[3, 0] < found.points[4, 0]
    blank = detect_landmarks(np.full((120, 120, 3), 128, np.uint8), name)
    assert not blank.detected and np.isfinite(blank.points).all()
    folder = tmp_path / "weights"
    target = (
        folder
        / {"yunet": "yunet-2023mar/face_detection_yunet_2023mar.onnx", "scrfd": "scrfd-500m/scrfd_500m_bnkps.onnx"}[
            name
        ]
    )
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not the model")
    monkeypatch.setenv("IPR_BENCH_WEIGHTS", str(folder))
    assert "sha256" in cls.availability().reason
