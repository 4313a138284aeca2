"""In-the-wild photos → a face benchmark: detect the face, crop a square with CelebA-HQ framing, cache the crop.

Framing: the CelebA-HQ / FFHQ recipe (Karras et al.) from five landmarks — an oriented square centred a little
below the eyes (eye centre + 0.1 × eye-to-mouth), side = max(4 × eye distance, 3.6 × eye-to-mouth), rotated
so the eyes are level — warped to ``size`` × ``size``. Where the square leaves the photo, the photo is mirrored
(as Karras pads), and the share of such pixels is recorded.

Detector: MTCNN (weights in the facenet-pytorch wheel), run on a copy of the photo scaled to at most
``DETECT_SIDE`` px (faces in these photos are large; points are scaled back). The largest face is taken; a
photo is skipped, with the reason recorded, when

- no face is found (``no face``);
- a second face is at least ``AMBIGUITY`` × the largest one's box area (``ambiguous``: whose identity?);
- the crop would upsample the photo by more than ``max_upscale`` (``too small``);
- the photo cannot be read (``unreadable``).

Deterministic and cached: each crop is a PNG under ``<cache>/crops/<config key>/``, keyed by the photo's
sha256, written atomically next to a JSON record of the outcome; reruns detect nothing again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ipr_bench.core.cache import Cache, atomic_write_bytes, content_key
from ipr_bench.core.errors import DataError
from ipr_bench.datasets.base import Item, item_digest

FRAMING = "celebahq-karras-v2"  # v2: area-shrink before the warp when downscaling
DEFAULT_SIZE = 512
MAX_UPSCALE = 1.25
AMBIGUITY = 0.5
DETECT_SIDE = 800


@dataclass(frozen=True)
class CropOutcome:
    item: str
    status: str  # "ok", "no face", "ambiguous", "too small", "unreadable"
    detail: str = ""
    scale: float = math.nan  # output pixels per source pixel
    outside: float = 0.0  # share of the crop that lies outside the photo (mirrored)


def celebahq_square(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre, x, y) of the oriented crop square from five points (left eye, right eye, nose, left and right
    mouth corner): the square is centre ± x ± y, x pointing right along the eyes, |x| = |y| = half the side."""
    p = np.asarray(points, np.float64)
    eye_left, eye_right = p[0], p[1]
    mouth = (p[3] + p[4]) / 2
    eye_avg = (eye_left + eye_right) / 2
    eye_to_eye = eye_right - eye_left
    eye_to_mouth = mouth - eye_avg
    x = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.array([-x[1], x[0]])
    return eye_avg + eye_to_mouth * 0.1, x, y


def crop_matrix(points: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """2×3 matrix from photo pixels to crop pixels, and the scale (crop px per photo px)."""
    c, x, y = celebahq_square(points)
    src = np.array([c - x - y, c + x - y, c - x + y], np.float64)  # top-left, top-right, bottom-left corners
    dst = np.array([[0, 0], [size, 0], [0, size]], np.float64)
    # solve dst = M @ [src, 1]: pixel edges on both sides, so corners map to corners
    a = np.hstack([src, np.ones((3, 1))])
    m = np.linalg.solve(a, dst).T
    return m, size / (2 * float(np.hypot(*x)))


def detect_faces(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N, 4) and five points (N, 5, 2) of every face MTCNN finds, in the photo's pixels."""
    import cv2

    from ipr_bench.landmarkers.mtcnn import mtcnn_model

    h, w = image.shape[:2]
    factor = min(1.0, DETECT_SIDE / max(h, w))
    small = (
        cv2.resize(image, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA) if factor < 1 else image
    )
    boxes, _, points = mtcnn_model().detect(small, landmarks=True)
    if boxes is None or len(boxes) == 0:
        return np.zeros((0, 4)), np.zeros((0, 5, 2))
    return np.asarray(boxes, np.float64) / factor, np.asarray(points, np.float64) / factor


def crop_face(
    image: np.ndarray, size: int = DEFAULT_SIZE, max_upscale: float = MAX_UPSCALE, item: str = ""
) -> tuple[np.ndarray | None, CropOutcome]:
    """The CelebA-HQ-framed crop of the photo's one clear face, or None with the reason."""
    import cv2

    boxes, points = detect_faces(image)
    if len(boxes) == 0:
        return None, CropOutcome(item, "no face")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    order = np.argsort(-areas)
    if len(order) > 1 and areas[order[1]] >= AMBIGUITY * areas[order[0]]:
        ratio = areas[order[1]] / areas[order[0]]
        return None, CropOutcome(item, "ambiguous", f"{len(boxes)} faces; the second is {ratio:.0%} of the largest")
    matrix, scale = crop_matrix(points[order[0]], size)
    if scale > max_upscale:
        detail = f"crop would upsample ×{scale:.2f} > ×{max_upscale:g} (face square {size / scale:.0f} px)"
        return None, CropOutcome(item, "too small", detail, scale)
    source = image
    if scale < 1:  # shrink with area averaging first (a warp alone would alias), then warp at about 1:1
        h, w = image.shape[:2]
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        source = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
        fx, fy = w / sw, h / sh  # shrunk pixel centres → photo pixel centres → crop pixels
        matrix = matrix @ np.array([[fx, 0, 0.5 * fx - 0.5], [0, fy, 0.5 * fy - 0.5], [0, 0, 1.0]])
    crop = cv2.warpAffine(source, matrix, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    inside = cv2.warpAffine(
        np.ones(source.shape[:2], np.uint8), matrix, (size, size), flags=cv2.INTER_NEAREST, borderValue=0
    )
    return crop, CropOutcome(item, "ok", "", scale, float(1 - inside.mean()))


def crop_config(size: int, max_upscale: float) -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "framing": FRAMING,
        "size": size,
        "max_upscale": max_upscale,
        "ambiguity": AMBIGUITY,
        "detector": ["mtcnn", version("facenet-pytorch"), DETECT_SIDE],
    }


def detect_crop_items(
    items: list[Item],
    size: int = DEFAULT_SIZE,
    max_upscale: float = MAX_UPSCALE,
    cache: Cache | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Item], list[CropOutcome]]:
    """Items whose path is their cached crop (same ids and identities), and every photo's outcome."""
    from PIL import Image

    from ipr_bench.core.images import read_rgb

    if size < 16:
        raise DataError(f"--detect-crop {size}: a crop side of at least 16 px is needed")
    folder = (cache or Cache()).local_root / "crops" / content_key(crop_config(size, max_upscale))
    kept, outcomes = [], []
    for n, item in enumerate(items, start=1):
        digest = item_digest(item)
        record, png = folder / f"{digest}.json", folder / f"{digest}.png"
        outcome: CropOutcome | None = None
        if record.is_file() and digest != "missing":
            outcome = CropOutcome(**{**json.loads(record.read_text()), "item": item.id})
            if outcome.status == "ok" and not png.is_file():
                outcome = None  # the crop itself went missing: make it again
        if outcome is None:
            try:
                image = read_rgb(item.path)
            except DataError as exc:
                outcome = CropOutcome(item.id, "unreadable", str(exc))
            else:
                crop, outcome = crop_face(image, size, max_upscale, item.id)
                if crop is not None:
                    import io

                    buf = io.BytesIO()
                    Image.fromarray(crop).save(buf, format="PNG")
                    atomic_write_bytes(png, buf.getvalue())  # the crop before its record: never a record alone
            if outcome.status != "unreadable":
                atomic_write_bytes(record, json.dumps(asdict(outcome)).encode())
        outcomes.append(outcome)
        if outcome.status == "ok":
            kept.append(Item(id=item.id, path=png, identity=item.identity))
        if progress:
            progress(n, len(items))
    return kept, outcomes


def describe_outcomes(outcomes: list[CropOutcome]) -> str:
    """'612 of 758 photos kept (no face 3, ambiguous 20, too small 123)'."""
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "ok")
    return f"{counts.get('ok', 0)} of {len(outcomes)} photos kept" + (f" ({dropped})" if dropped else "")
