"""Named run configurations. ``quick`` is what a plain ``ipr-bench run`` does: a real, labelled result in
minutes on a 2-core laptop. Paper-scale matrices are presets whose finished stores are committed under
``results/``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    description: str
    dataset: str = "lfw"
    codecs: tuple[str, ...] = ("jpeg", "hevc")
    qualities: dict[str, tuple[float, ...]] = field(default_factory=dict)  # empty → the codec's default sweep
    recognizers: tuple[str, ...] = ("arcface",)
    folds: tuple[int, ...] | None = None  # None → all folds
    out: str = "runs/quick"


PRESETS: dict[str, Preset] = {
    "quick": Preset(
        description="LFW View 2 folds 1–2 (1,200 pairs), JPEG q 20/50/90 and HEVC CRF 23/33/43, ArcFace: minutes "
        "on 2 cores. Run `ipr-bench run --preset lfw-classical` for the full protocol.",
        codecs=("jpeg", "hevc"),
        qualities={"jpeg": (20, 50, 90), "hevc": (23, 33, 43)},
        recognizers=("arcface",),
        folds=(1, 2),
        out="runs/quick",
    ),
    "lfw-classical": Preset(
        description="Full LFW View 2 (10 folds, 6,000 pairs): originals, HEVC (7 CRFs), JPEG (6 qualities), WebP (5), "
        "VVC (4 QPs) × ArcFace, dlib and FaceNet; the store is committed in results/lfw-classical.",
        codecs=("hevc", "jpeg", "webp", "vvc"),
        recognizers=("arcface", "dlib", "facenet"),
        folds=None,
        out="results/lfw-classical",
    ),
}
