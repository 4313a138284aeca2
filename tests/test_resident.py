"""The fast training loop's batches equal what the naive loop computes for the same crop: the pixels, the
alignment matrices (the image's matrix with the crop offset folded in) and the originals' embeddings."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


class TemplateRecognizer:
    """A stand-in with the real alignment code (the ArcFace template) and a small frozen network."""

    def __init__(self) -> None:
        from ipr_bench.face.spec import FaceSpec

        self.spec = FaceSpec(input_size=(56, 56), landmarker="mtcnn")

    def alignment_matrix(self, landmarks, image_shape):
        from ipr_bench.face.alignment import alignment_matrix

        return alignment_matrix(landmarks, self.spec, image_shape)


def network() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten()
    )


def face(rng: np.random.Generator, h: int, w: int):
    from ipr_bench.face.landmarks import FaceLandmarks

    cx, cy = w / 2 + rng.uniform(-8, 8), h / 2 + rng.uniform(-8, 8)
    # a face small enough that its aligned region (≈ 70 px) stays inside every jittered 128 px crop
    points = np.array([[cx - 11, cy - 7], [cx + 11, cy - 6], [cx, cy + 4], [cx - 8, cy + 14], [cx + 9, cy + 14]])
    box = np.array([cx - 24, cy - 30, cx + 24, cy + 27])
    return FaceLandmarks(box=box, points=points, detected=True, scheme="five-point")


def test_resident_batches_equal_the_naive_crop_its_matrices_and_targets() -> None:
    from ipr_bench.recognizers.differentiable import DifferentiableRecognizer
    from ipr_bench.training.resident import ResidentBatches
    from ipr_bench.training.training_data import Crop, flip, shift

    rng = np.random.default_rng(3)
    sizes = [(250, 250), (250, 250), (240, 260), (120, 250)]  # the last is smaller than the crop: padded
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in sizes]
    marks = [{"mtcnn": face(rng, h, w)} for h, w in sizes]
    rec = TemplateRecognizer()
    module = DifferentiableRecognizer(network(), rec.spec)
    crop = 128
    batches = ResidentBatches(images, marks, [rec], [module], crop, 6, seed=1, device="cpu")
    seen_mirrored = set()
    for step in range(4):
        x, matrices, targets = batches.batch(step)
        picks, left, top, mirrored = batches.draw(step)
        assert x.shape == (6, 3, crop, crop) and x.dtype == torch.float32
        for b in range(6):
            k, lx, ty, mir = int(picks[b]), int(left[b]), int(top[b]), bool(mirrored[b])
            seen_mirrored.add(mir)
            image, lm = images[k], marks[k]["mtcnn"]
            h, w = image.shape[:2]
            if h < crop:  # crop_around_face's centred edge padding
                ph = crop - h
                image = np.pad(image, ((ph // 2, ph - ph // 2), (0, 0), (0, 0)), mode="edge")
                lm = shift(lm, 0, ph // 2)
            window = Crop(image[ty : ty + crop, lx : lx + crop], shift(lm, -lx, -ty))
            window = flip(window) if mir else window
            expected_pixels = torch.from_numpy(np.ascontiguousarray(window.image)).permute(2, 0, 1).float() / 255
            assert torch.equal(x[b], expected_pixels)
            expected_matrix = rec.alignment_matrix(window.landmarks, window.image.shape)
            np.testing.assert_allclose(matrices[0][b].numpy(), expected_matrix, atol=2e-3)
            with torch.no_grad():
                naive = module(x[b : b + 1] * 255, torch.from_numpy(expected_matrix).float()[None])
            naive = torch.nn.functional.normalize(naive, dim=1)[0]
            # the face region lies inside every crop here, so the whole image's embedding is the crop's
            assert torch.allclose(targets[0][b], naive, atol=1e-4)
    assert seen_mirrored == {True, False}
    # the batches are a function of (seed, step) alone; embedding every original first changes no target
    again = ResidentBatches(images, marks, [rec], [module], crop, 6, seed=1, device="cpu")
    again.embed_all()
    assert again.embedded.all()
    assert torch.equal(again.batch(2)[0], batches.batch(2)[0])
    assert torch.allclose(again.batch(2)[2][0], batches.batch(2)[2][0], atol=1e-6)
    assert not torch.equal(batches.batch(3)[0], batches.batch(2)[0])


def test_face_cells_are_the_crops_face_region_in_latent_cells() -> None:
    from ipr_bench.face.roi import face_region
    from ipr_bench.learned.coding import region_cells
    from ipr_bench.training.resident import ResidentBatches
    from ipr_bench.training.training_data import Crop, flip, shift

    rng = np.random.default_rng(5)
    images = [rng.integers(0, 256, (250, 250, 3), dtype=np.uint8) for _ in range(3)]
    marks = [{"mtcnn": face(rng, 250, 250)} for _ in images]
    batches = ResidentBatches(images, marks, [], [], 128, 8, seed=2, device="cpu")
    for step in range(3):
        cells = batches.face_cells(step)
        picks, left, top, mirrored = batches.draw(step)
        for b in range(8):
            k, lx, ty = int(picks[b]), int(left[b]), int(top[b])
            window = Crop(images[k][ty : ty + 128, lx : lx + 128], shift(marks[k]["mtcnn"], -lx, -ty))
            window = flip(window) if bool(mirrored[b]) else window
            region = face_region(window.landmarks, window.image.shape)
            assert tuple(cells[b].tolist()) == region_cells(region, 128, 128)
