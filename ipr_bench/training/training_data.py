"""Training crops for learned face codecs: face-centred random crops with their alignment matrices.

Each training image's landmarks are detected once (any registered landmarker) and carried through the crop
and the horizontal flip, so the identity term of the loss aligns the reconstruction exactly as the evaluation
aligns a decoded image: with the original's landmarks, through the same matrix (ipr_bench.face.alignment).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ipr_bench.core.registry import Registry
from ipr_bench.face.landmarks import FaceLandmarks

FLIP_FIVE_POINT = [1, 0, 2, 4, 3]  # mirrored: the left eye becomes the right eye, the mouth corners swap
FLIP_DLIB5 = [2, 3, 0, 1, 4]  # dlib order: two corners of one eye, two of the other, nose base


@dataclass(frozen=True)
class Crop:
    image: np.ndarray  # uint8 [size, size, 3]
    landmarks: FaceLandmarks  # in the crop's coordinates


def crop_around_face(
    image: np.ndarray, landmarks: FaceLandmarks, size: int, rng: np.random.Generator, jitter: float = 0.15
) -> Crop:
    """A size×size window containing the face centre (shifted by up to ``jitter``·size), edge-padded if the image
    is smaller; the landmarks moved with it."""
    h, w = image.shape[:2]
    if h < size or w < size:
        ph, pw = max(size - h, 0), max(size - w, 0)
        image = np.pad(image, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)), mode="edge")
        landmarks = shift(landmarks, pw // 2, ph // 2)
        h, w = image.shape[:2]
    cx, cy = (landmarks.box[0] + landmarks.box[2]) / 2, (landmarks.box[1] + landmarks.box[3]) / 2
    dx, dy = rng.uniform(-jitter, jitter, 2) * size
    left = int(np.clip(round(cx + dx - size / 2), 0, w - size))
    top = int(np.clip(round(cy + dy - size / 2), 0, h - size))
    return Crop(image[top : top + size, left : left + size], shift(landmarks, -left, -top))


def shift(landmarks: FaceLandmarks, dx: float, dy: float) -> FaceLandmarks:
    return replace(landmarks, box=landmarks.box + [dx, dy, dx, dy], points=landmarks.points + [dx, dy])


def flip(crop: Crop) -> Crop:
    """Mirror left–right; points are mirrored and relabelled so 'left eye' still means the image-left eye."""
    w = crop.image.shape[1]
    m = crop.landmarks
    points = m.points.copy()
    points[:, 0] = w - 1 - points[:, 0]
    points = points[FLIP_FIVE_POINT if m.scheme == "five-point" else FLIP_DLIB5]
    box = np.array([w - 1 - m.box[2], m.box[1], w - 1 - m.box[0], m.box[3]])
    return Crop(np.ascontiguousarray(crop.image[:, ::-1]), replace(m, box=box, points=points))


LFW_FACE_WIDTH = 93  # median MTCNN box width in deep-funneled LFW (250 px images; measured on 31 training images)
LFW_SIZE = 250
MAX_UPSCALE = 1.25


def reframe(
    image: np.ndarray, landmarks: FaceLandmarks, face_width: float = LFW_FACE_WIDTH, size: int = LFW_SIZE
) -> Crop | None:
    """An in-the-wild photo framed like LFW: scaled so the face box is ``face_width`` px wide, then a size×size
    window centred on the face (edge-padded at the photo's borders). None when that would upsample the face by
    more than MAX_UPSCALE (too small to be a fair training image)."""
    import cv2

    width = float(landmarks.box[2] - landmarks.box[0])
    if width <= 0:
        return None
    s = face_width / width
    if s > MAX_UPSCALE:
        return None
    h, w = image.shape[:2]
    resized = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    sy, sx = resized.shape[0] / h, resized.shape[1] / w
    moved = replace(landmarks, box=landmarks.box * [sx, sy, sx, sy], points=landmarks.points * [sx, sy])
    cx, cy = (moved.box[0] + moved.box[2]) / 2, (moved.box[1] + moved.box[3]) / 2
    left, top = round(cx - size / 2), round(cy - size / 2)
    pad = size  # enough for any window position that still contains the face centre
    padded = np.pad(resized, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    window = padded[top + pad : top + pad + size, left + pad : left + pad + size]
    return Crop(np.ascontiguousarray(window), shift(moved, -left, -top))


# --------------------------------------------------------------------------------- the training sets

HOLDOUT_EVERY = 20  # every 20th LFW training person (by name) is held out for validation, never trained on


@dataclass
class ImageSet:
    items: list  # ipr_bench.datasets.base.Item
    images: list[np.ndarray]
    landmarks: list[dict[str, FaceLandmarks]]  # per image: landmarker name → its landmarks


@dataclass
class TrainingData:
    train: ImageSet
    validation: ImageSet  # whole LFW images of held-out people: the evaluation's own format
    skipped: list[str]  # why each unusable image was left out
    description: dict  # what goes into a checkpoint's metadata
    landmark_keys: list[str]  # the cache entries read or written (what a GPU machine needs sent along)


def load_training_data(
    sources: tuple[str, ...],
    landmarkers: list[str],
    exclude_views: tuple[str, ...] = ("view2",),
    max_images: int | None = None,
    max_validation: int | None = None,
) -> TrainingData:
    """Identity-disjoint training images (and a held-out validation set) with every landmarker's landmarks;
    ``max_images`` / ``max_validation`` take the first images of each (for smoke tests).

    ``lfw``: LFW people in no pair of ``exclude_views``; ``celeba-wild``: the train identities of celeba-wild,
    each photo's face found by MTCNN (else the first landmarker) and reframed like LFW (reframe).
    Landmarks are detected once per image set and landmarker, then read from the cache."""
    from ipr_bench.core.errors import DataError

    known = [name for name, _ in SOURCES.items()]
    unknown = [s for s in sources if s not in known]
    if unknown:
        raise DataError(f"unknown training source(s) {', '.join(unknown)}; sources: {', '.join(known)}")
    collected = Collected(landmarkers, exclude_views, max_images, max_validation)
    train, validation, skipped, keys = collected.train, collected.validation, collected.skipped, collected.keys
    description: dict = {"sources": list(sources)}
    for name, source in SOURCES.items():  # in registration order, whatever order ``sources`` names them in
        if name in sources:
            described = source(collected)
            if described is not None:
                description[name] = described
    if not train.images:
        raise DataError(f"no training images from {', '.join(sources)}; {len(skipped)} skipped")
    description |= {
        "n_images": len(train.items),
        "n_people": len({i.identity for i in train.items}),
        "n_validation_images": len(validation.items),
        "n_skipped": len(skipped),
    }
    return TrainingData(train, validation, skipped, description, keys)


@dataclass
class Collected:
    """What the training sources add to: the image sets, what was skipped, the landmark cache keys."""

    landmarkers: list[str]
    exclude_views: tuple[str, ...]
    max_images: int | None
    max_validation: int | None
    train: ImageSet = field(default_factory=lambda: ImageSet([], [], []))
    validation: ImageSet = field(default_factory=lambda: ImageSet([], [], []))
    skipped: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


# name → a function that adds its images to a Collected and returns its description (None: it added none)
SOURCES = Registry("training source", "ipr_bench.training_sources", None)


@SOURCES.register("lfw")
def lfw_source(c: Collected) -> dict | None:
    """LFW people in no pair of the excluded views; every HOLDOUT_EVERY-th person is validation."""
    from ipr_bench.datasets import lfw

    pool = lfw.training_items(c.exclude_views)
    people = sorted({i.identity for i in pool})
    held_out = set(people[::HOLDOUT_EVERY])
    chosen = [i for i in pool if i.identity not in held_out][: c.max_images]
    _extend(c.train, _read(chosen, c.skipped), c.landmarkers, c.keys)
    held = [i for i in pool if i.identity in held_out][: c.max_validation]
    _extend(c.validation, _read(held, c.skipped), c.landmarkers, c.keys)
    return {
        "people_excluded_by_views": list(c.exclude_views),
        "validation_people": f"every {HOLDOUT_EVERY}th person of the pool by name ({len(held_out)} people)",
    }


@SOURCES.register("celeba-wild")
def celeba_wild_source(c: Collected) -> dict | None:
    """The train identities of celeba-wild, each photo's face found and reframed like LFW (reframe)."""
    from ipr_bench.datasets import celeba_wild

    room = None if c.max_images is None else max(0, c.max_images - len(c.train.items))
    if room == 0:
        return None
    photos = _read(celeba_wild.training_items()[:room], c.skipped)
    finder = "mtcnn" if "mtcnn" in c.landmarkers else c.landmarkers[0]  # MTCNN finds more faces than dlib's HOG
    primary = _landmarks([im for _, im in photos], finder, "celeba-wild", [i for i, _ in photos], c.keys)
    framed = []
    for (item, image), marks in zip(photos, primary, strict=True):
        crop = reframe(image, marks) if marks is not None and marks.detected else None
        if crop is None:
            why = "no face found" if marks is None or not marks.detected else "face too small to frame like LFW"
            c.skipped.append(f"{item.path}: {why}")
            continue
        framed.append((item, crop.image))
    _extend(
        c.train, framed, c.landmarkers, c.keys, tag=f"celeba-wild reframed {LFW_FACE_WIDTH}/{LFW_SIZE}/{MAX_UPSCALE}"
    )
    return {
        "identities": "train part of the seeded identity split (ipr_bench.datasets.celeba_wild)",
        "framing": f"face box {LFW_FACE_WIDTH} px wide, {LFW_SIZE}×{LFW_SIZE} window, upsampling ≤ {MAX_UPSCALE}",
    }


def _read(items: list, skipped: list[str]) -> list[tuple]:
    from ipr_bench.core.errors import DataError
    from ipr_bench.core.images import read_rgb

    kept = []
    for item in items:
        try:  # one unreadable image is skipped and reported, never fatal
            kept.append((item, read_rgb(item.path)))
        except DataError as exc:
            skipped.append(str(exc))
    return kept


def _landmarks(
    images: list[np.ndarray], name: str, tag: str, items: list, keys: list[str]
) -> list[FaceLandmarks | None]:
    from ipr_bench.core.cache import Cache, content_key
    from ipr_bench.core.registry import create_landmarker
    from ipr_bench.datasets.base import item_digest
    from ipr_bench.landmarkers.base import cached_landmarks

    landmarker = create_landmarker(name)
    # keyed by the files' bytes (and the tag naming any reframing), not by decoded pixels: the same key on any
    # machine, whatever JPEG decoder it has
    key = content_key("landmarks", tag, *landmarker.identity(), [[i.id, item_digest(i)] for i in items])
    keys.append(key)
    return cached_landmarks(Cache(), landmarker, key, images)


def _extend(
    target: ImageSet, pairs: list[tuple], landmarkers: list[str], keys: list[str], tag: str = "training"
) -> None:
    if not pairs:
        return
    items, images = [i for i, _ in pairs], [im for _, im in pairs]
    found = {name: _landmarks(images, name, tag, items, keys) for name in landmarkers}
    target.items += items
    target.images += images
    target.landmarks += [{name: found[name][k] for name in landmarkers} for k in range(len(items))]
