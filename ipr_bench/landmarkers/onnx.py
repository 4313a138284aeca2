"""``yunet`` and ``scrfd``: ONNX detectors whose weights come from $IPR_BENCH_WEIGHTS, sha256-checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ipr_bench.core.errors import Availability, UnavailableError
from ipr_bench.core.registry import register_landmarker
from ipr_bench.face.landmarks import FaceLandmarks
from ipr_bench.landmarkers.base import Landmarker, nearest_centre, template_on_centre_box

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
                out.append(template_on_centre_box(image, self.scheme))
                continue
            boxes = np.array([[f[0], f[1], f[0] + f[2], f[1] + f[3]] for f in faces], np.float64)
            face = faces[nearest_centre(boxes, image)]
            points = np.asarray(face[4:14], np.float64).reshape(5, 2)
            # YuNet lists the subject's right eye first (image left); sort eyes and mouth corners by x anyway
            eyes, mouth = points[[0, 1]], points[[3, 4]]
            points = np.vstack([eyes[np.argsort(eyes[:, 0])], points[2:3], mouth[np.argsort(mouth[:, 0])]])
            out.append(FaceLandmarks(boxes[nearest_centre(boxes, image)], points, True, self.scheme))
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
            return template_on_centre_box(image, self.scheme)
        kept = _nms(box, sc, self.NMS)
        k = kept[nearest_centre(box[kept], image)]
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
    from ipr_bench.core.weights import checked_weight_file

    return checked_weight_file(relative, f"../shared/weights/{relative.split('/')[0]} (SOURCE.md there)", sha256, what)
