"""Recognizers as differentiable torch modules for training: ONNX through onnx2torch, FaceNet checkpoints,
gradients to the input pixels, and agreement with the evaluation path (batch and single)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ipr_bench.core.errors import UnavailableError
from ipr_bench.core.images import read_rgb
from ipr_bench.core.registry import create_recognizer
from ipr_bench.landmarkers.base import detect_landmarks

from conftest import HAS_LFW, SHARED_DATA

torch = pytest.importorskip("torch")
needs_lfw = pytest.mark.skipif(not HAS_LFW, reason="needs ../shared LFW and weights")
NAMES = ["Aaron_Peirsol_0001", "Aaron_Peirsol_0002", "Dean_Barker_0001", "Abdel_Madi_Shabneh_0001"]


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    if not HAS_LFW:
        pytest.skip("needs ../shared LFW")
    return [read_rgb(SHARED_DATA / "lfw" / "lfw" / n.rsplit("_", 1)[0] / f"{n}.jpg") for n in NAMES]


@needs_lfw
def test_arcface_through_onnx2torch_equals_onnxruntime(images: list[np.ndarray]) -> None:
    pytest.importorskip("onnx2torch")
    rec = create_recognizer("arcface")
    faces = np.stack([rec.align(im, detect_landmarks(im)) for im in images])
    module = rec.torch_module()
    with torch.no_grad():
        batch = module(torch.from_numpy(rec.preprocess(faces))).numpy()
        single = np.concatenate([module(torch.from_numpy(rec.preprocess(f[None]))).numpy() for f in faces])
    reference = rec.embed(faces)
    assert np.abs(unit(batch) - unit(reference)).max() <= 1e-4
    assert np.abs(unit(single) - unit(reference)).max() <= 1e-4
    assert all(not p.requires_grad for p in module.parameters())


@needs_lfw
@pytest.mark.parametrize("name", ["arcface", "facenet"])
def test_gradients_reach_the_pixels_through_the_alignment_warp(name: str, images: list[np.ndarray]) -> None:
    rec = create_recognizer(name)
    if not rec.availability().ok:
        pytest.skip(rec.availability().reason)
    if name == "arcface":
        pytest.importorskip("onnx2torch")
    model = rec.differentiable()
    marks = [detect_landmarks(im) for im in images[:2]]
    matrices = torch.from_numpy(
        np.stack([rec.alignment_matrix(m, im.shape) for m, im in zip(marks, images[:2], strict=True)])
    )
    x = torch.from_numpy(np.stack(images[:2]).astype(np.float32)).permute(0, 3, 1, 2).requires_grad_(True)
    emb = model(x, matrices)
    # the evaluation path (OpenCV warp to uint8, then the network) gives the same identity
    faces = np.stack([rec.align(im, m) for im, m in zip(images[:2], marks, strict=True)])
    cos = (unit(emb.detach().numpy()) * unit(rec.embed(faces))).sum(axis=1)
    assert (cos > 0.995).all()
    (emb[0] @ emb[1]).backward()
    grad = x.grad.abs().sum(dim=1)[0]
    assert grad.sum() > 0
    x1, y1, x2, y2 = marks[0].box.astype(int)
    inside = grad[max(y1, 0) : y2, max(x1, 0) : x2].sum()
    assert inside > 0.5 * grad.sum()  # the gradient sits on the face the alignment picked
    assert all(p.grad is None for p in model.parameters())
    model.train()
    assert not model.network.training  # a frozen recognizer never updates its batch-norm statistics


def test_dlib_is_evaluation_only() -> None:
    with pytest.raises(UnavailableError, match="evaluation-only"):
        create_recognizer("dlib").differentiable()


def _random_checkpoint(path: Path, seed: int = 0) -> dict[str, object]:
    from facenet_pytorch.models.inception_resnet_v1 import InceptionResnetV1

    torch.manual_seed(seed)
    model = InceptionResnetV1(pretrained=None, classify=True, num_classes=7).eval()
    torch.save(model.state_dict(), path)  # a facenet-pytorch release is a state dict with a classifier head
    return model.state_dict()


def test_facenet_checkpoint_loads_by_path(tmp_path: Path) -> None:
    pytest.importorskip("facenet_pytorch")
    path = tmp_path / "20180402-114759-vggface2.pt"
    state = _random_checkpoint(path)
    rec = create_recognizer(f"facenet-vggface2:{path}")
    faces = np.random.default_rng(0).integers(0, 255, (3, 160, 160, 3), dtype=np.uint8)
    from facenet_pytorch.models.inception_resnet_v1 import InceptionResnetV1

    expected_model = InceptionResnetV1(pretrained=None, classify=False).eval()
    expected_model.load_state_dict({k: v for k, v in state.items() if not k.startswith("logits.")})
    with torch.no_grad():
        expected = expected_model(torch.from_numpy(rec.preprocess(faces))).numpy()
    assert np.abs(rec.embed(faces) - expected).max() <= 1e-5
    assert rec.config()["sha256"] == __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    with pytest.raises(UnavailableError, match="expected 00"):
        create_recognizer(f"facenet-vggface2:{path}", sha256="00" * 32)


def test_facenet_checkpoint_errors_are_clear_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("facenet_pytorch")
    import requests

    monkeypatch.setenv("IPR_BENCH_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def offline(*args: object, **kwargs: object) -> None:
        raise requests.ConnectionError("no network")

    monkeypatch.setattr(requests, "get", offline)
    with pytest.raises(UnavailableError, match="downloading https://github.com/.*vggface2.pt failed.*put the file"):
        create_recognizer("facenet-vggface2")
    with pytest.raises(UnavailableError, match="no published SHA-256.*casia"):
        create_recognizer("facenet-casia")
    bad = tmp_path / "not-a-checkpoint.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(UnavailableError, match="cannot load .*not-a-checkpoint.pt"):
        create_recognizer(f"facenet-casia:{bad}").embed(np.zeros((1, 160, 160, 3), np.uint8))
    # a checkpoint already in the weights folder is found without the network
    found = tmp_path / "weights" / "facenet-pytorch" / "20180408-102900-casia-webface.pt"
    found.parent.mkdir(parents=True)
    _random_checkpoint(found)
    assert create_recognizer("facenet-casia").path == found
