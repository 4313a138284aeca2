"""Face alignment as one 2×3 affine matrix per image (image pixels → face-crop pixels), applied by OpenCV for
evaluation and by ``grid_sample`` for training, so both see the same crop.

Two ways to make the matrix, chosen by the recognizer's FaceSpec:

- ``template``: least-squares similarity of the landmarks onto a recognizer's reference points (InsightFace's
  ``norm_crop`` recipe). Only points whose definition matches the template's are used: all five of MTCNN's,
  the two eye centres of dlib's 5-point model.
- ``box_margin``: the detector's box widened by a margin and resized to the input (facenet-pytorch's
  ``extract_face``; the margin is in output pixels, Sandberg's FaceNet used 32 at 160).

Landmarks are detected once on each original image and reused for every decoded version by default
(``--align-on original``): the codec is then judged on pixels, not on how it moves a detector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ipr_bench.face.landmarks import FaceLandmarks

if TYPE_CHECKING:
    from ipr_bench.face.spec import FaceSpec

# Reference points at 112×112 in ArcFace order: left eye, right eye, nose tip, left and right mouth corner.
ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)
# Named templates: (points, canvas (H, W)); a template scales to a recognizer's input size.
TEMPLATES: dict[str, tuple[np.ndarray, tuple[int, int]]] = {
    "arcface": (ARCFACE_112, (112, 112)),
    "sphereface": (ARCFACE_112 - [8.0, 0.0], (112, 96)),  # the 112x96 crop ArcFace's template extends
    "facenet": (ARCFACE_112 * (160 / 112 * 0.8) + 160 * 0.1, (160, 160)),  # ArcFace layout with a 10% margin
}


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2×3 least-squares similarity (rotation, uniform scale, translation) mapping src points onto dst (Umeyama)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rot = u @ sign @ vt
    scale = np.trace(np.diag(sig) @ sign) / s.var(0).sum()
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def template_points(template: str, size: tuple[int, int]) -> np.ndarray:
    if template not in TEMPLATES:
        raise ValueError(f"unknown alignment template {template!r}; templates: {', '.join(TEMPLATES)}")
    points, (th, tw) = TEMPLATES[template]
    h, w = size
    return points * [w / tw, h / th]


def template_matrix(landmarks: FaceLandmarks, template: str, size: tuple[int, int]) -> np.ndarray:
    src = landmarks.template_points()
    usable = np.isfinite(src).all(axis=1)
    return similarity_transform(src[usable], template_points(template, size)[usable])


def box_margin_matrix(
    landmarks: FaceLandmarks, margin: float, size: tuple[int, int], image_shape: tuple[int, ...]
) -> np.ndarray:
    """facenet-pytorch's extract_face: the box grown by ``margin`` output pixels, clipped to the image, resized."""
    h, w = size
    x1, y1, x2, y2 = landmarks.box
    mx, my = margin * (x2 - x1) / (w - margin), margin * (y2 - y1) / (h - margin)
    bx1, by1 = int(max(x1 - mx / 2, 0)), int(max(y1 - my / 2, 0))
    bx2, by2 = int(min(x2 + mx / 2, image_shape[1])), int(min(y2 + my / 2, image_shape[0]))
    sx, sy = w / max(bx2 - bx1, 1), h / max(by2 - by1, 1)
    # pixel centres: source x maps to (x - bx1 + 0.5) * sx - 0.5, as a resize does
    return np.array([[sx, 0.0, (0.5 - bx1) * sx - 0.5], [0.0, sy, (0.5 - by1) * sy - 0.5]])


def alignment_matrix(landmarks: FaceLandmarks, spec: FaceSpec, image_shape: tuple[int, ...]) -> np.ndarray:
    """The 2×3 matrix from image pixels to the recognizer's input pixels."""
    if spec.box_margin is not None:
        return box_margin_matrix(landmarks, spec.box_margin, spec.input_size, image_shape)
    return template_matrix(landmarks, spec.template, spec.input_size)


def warp(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Aligned RGB uint8 face of size (H, W): bilinear, black outside the image."""
    import cv2

    return cv2.warpAffine(image, matrix, (size[1], size[0]), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))


def warp_torch(images: Any, matrices: Any, size: tuple[int, int]) -> Any:
    """Differentiable ``warp`` of a float batch [N, C, H, W] with matrices [N, 2, 3] (image → face pixels)."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    n, _, h_in, w_in = images.shape
    h, w = size
    m = torch.as_tensor(matrices, dtype=images.dtype, device=images.device)
    full = torch.zeros(n, 3, 3, dtype=m.dtype, device=m.device)
    full[:, :2], full[:, 2, 2] = m, 1.0
    inverse = torch.linalg.inv(full)  # face pixels → image pixels

    def to_normalized(width: int, height: int) -> torch.Tensor:  # pixel centres, align_corners=False
        return torch.tensor(
            [[2 / width, 0, 1 / width - 1], [0, 2 / height, 1 / height - 1], [0, 0, 1]], dtype=m.dtype, device=m.device
        )

    theta = to_normalized(w_in, h_in) @ inverse @ torch.linalg.inv(to_normalized(w, h))
    grid = F.affine_grid(theta[:, :2], [n, images.shape[1], h, w], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
