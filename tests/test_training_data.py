"""Training crops keep each face's alignment: landmarks move with the crop and mirror with the flip."""

from __future__ import annotations

import numpy as np
import pytest

from ipr_bench.images import read_rgb
from ipr_bench.landmarks import FaceLandmarks, detect_landmarks
from ipr_bench.registry import create_recognizer
from ipr_bench.training_data import crop_around_face, flip

from conftest import HAS_LFW, SHARED_DATA


def test_flip_twice_is_the_identity_and_keeps_left_on_the_left() -> None:
    from ipr_bench.training_data import Crop

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
