"""Training crops keep each face's alignment: landmarks move with the crop and mirror with the flip."""

from __future__ import annotations

import numpy as np
import pytest

from ipr_bench.core.images import read_rgb
from ipr_bench.core.registry import create_recognizer
from ipr_bench.face.landmarks import FaceLandmarks
from ipr_bench.landmarkers.base import detect_landmarks
from ipr_bench.training.training_data import crop_around_face, flip

from conftest import HAS_LFW, SHARED_DATA


def test_flip_twice_is_the_identity_and_keeps_left_on_the_left() -> None:
    from ipr_bench.training.training_data import Crop

    points = np.array([[30.0, 40.0], [60.0, 41.0], [45.0, 55.0], [35.0, 70.0], [58.0, 69.0]])
    crop = Crop(
        np.zeros((100, 100, 3), np.uint8), FaceLandmarks(np.array([20.0, 25, 75, 85]), points, True, "five-point")
    )
    once = flip(crop)
    assert once.landmarks.points[0, 0] < once.landmarks.points[1, 0]  # the image-left eye is still first
    assert once.landmarks.box[0] < once.landmarks.box[2]
    twice = flip(once)
    assert np.allclose(twice.landmarks.points, points) and np.allclose(twice.landmarks.box, crop.landmarks.box)


@pytest.mark.skipif(not HAS_LFW, reason="needs ../shared LFW")
def test_crops_and_flips_align_to_the_same_face() -> None:
    image = read_rgb(SHARED_DATA / "lfw" / "lfw" / "Aaron_Peirsol" / "Aaron_Peirsol_0001.jpg")
    rec = create_recognizer("arcface")
    marks = detect_landmarks(image, rec.spec.landmarker)
    reference = rec.align(image, marks)
    crop = crop_around_face(image, marks, 192, np.random.default_rng(0))
    assert crop.image.shape == (192, 192, 3)
    # a crop is a translation: the aligned face is the same pixels
    assert np.abs(rec.align(crop.image, crop.landmarks).astype(int) - reference).max() <= 1
    mirrored = flip(crop)
    emb = rec.embed(np.stack([reference, rec.align(mirrored.image, mirrored.landmarks)]))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    assert emb[0] @ emb[1] > 0.9  # the mirrored face, aligned by its mirrored points, is the same person
    small = crop_around_face(image[:150, :150], marks, 192, np.random.default_rng(1))
    assert small.image.shape == (192, 192, 3)  # smaller images are edge-padded


def test_reframe_scales_the_face_to_lfw_width_and_centres_it() -> None:
    from ipr_bench.training.training_data import LFW_FACE_WIDTH, LFW_SIZE, reframe

    image = np.zeros((600, 800, 3), np.uint8)
    image[300:302, 500:502] = 255  # a bright dot at the left eye
    points = np.array([[501.0, 301.0], [560.0, 301.0], [530.0, 340.0], [505.0, 370.0], [555.0, 370.0]])
    marks = FaceLandmarks(np.array([470.0, 260, 650, 420]), points, True, "five-point")  # a 180 px wide face
    crop = reframe(image, marks)
    assert crop is not None and crop.image.shape == (LFW_SIZE, LFW_SIZE, 3)
    box = crop.landmarks.box
    assert box[2] - box[0] == pytest.approx(LFW_FACE_WIDTH, abs=1)
    assert (box[0] + box[2]) / 2 == pytest.approx(LFW_SIZE / 2, abs=1)
    x, y = crop.landmarks.points[0]
    assert crop.image[round(y) - 1 : round(y) + 2, round(x) - 1 : round(x) + 2].max() > 50  # the dot moved with it
    tiny = FaceLandmarks(np.array([470.0, 260, 520, 310]), points, True, "five-point")  # 50 px: ×1.9 upsampling
    assert reframe(image, tiny) is None


def test_celeba_wild_split_is_by_identity_seeded_and_stable(tmp_path) -> None:
    from ipr_bench.core.errors import DataError
    from ipr_bench.datasets.celeba_wild import read_items, split_identities

    ids = {str(i) for i in range(7000, 7100)}
    train, test = split_identities(ids)
    assert not train & test and train | test == ids and 35 <= len(test) <= 65
    assert split_identities(ids) == (train, test)
    assert split_identities(ids, seed=1) != (train, test)
    fewer_train, fewer_test = split_identities(ids - {"7000"})
    assert fewer_test == test - {"7000"} and fewer_train == train - {"7000"}  # others never change sides
    (tmp_path / "identities.csv").write_text("file,identity\n7001/a.jpg,7001\n../x.jpg,7002\n")
    with pytest.raises(DataError, match="identities.csv:3"):
        read_items(tmp_path)
    (tmp_path / "identities.csv").write_text("name,who\n")
    with pytest.raises(DataError, match="identities.csv:1: header lacks column"):
        read_items(tmp_path)
