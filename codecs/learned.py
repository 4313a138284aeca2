"""Any trained CompressAI checkpoint directory as a codec: ``learned:DIR`` (see ipr_bench.learned.coding).

Quality k is the k-th rate point of DIR (its checkpoint subdirectories in increasing λ; a single checkpoint
is quality 1). A variable-rate checkpoint (ipr_bench.learned.variable_rate) is one model with qualities 1…K, and any
quarter step between them; one trained with face maps is face-aware: given the original's landmarks (MTCNN),
it codes the face region (the box grown by 25%, as hevc-roi's) its boost higher and sends that region and its
level in the payload (9 bytes); without a face it codes the plain level.

Any variable-rate checkpoint can code the background low instead (option ``background``, a quality such as 1):
quality q then sets the face region's level and the rest of the image is coded at ``background`` (or q where q
is lower): a learned codec's ROI coding, face-aware in the same way, with the map in the payload. The zoo's
``ipr-roi`` and ``mse-roi`` are the shipped models so (codecs/zoo.py); a checkpoint trained that way (its meta's
``face_background``, a level) codes so unless told otherwise.

The GPU is used when present; ``device=cpu`` forces the CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ipr_bench.codecs.base import Codec, Encoded, Quality
from ipr_bench.core.errors import Availability, UnavailableError
from ipr_bench.core.registry import register_codec
from ipr_bench.learned.bitstream import HEADER, payload_face_point, peek_rate_point
from ipr_bench.learned.checkpoint import checkpoint_digest, checkpoint_dirs, load_checkpoint, read_meta
from ipr_bench.learned.coding import (
    CELL,
    compress_images,
    decompress_payload,
    decompress_payloads,
    face_rate_point,
    information_maps,
    level_rate_point,
    region_cells,
)

BATCH = 16


@register_codec("learned")
class LearnedCodec(Codec):
    knob = "quality"
    knob_integer = False  # a variable-rate model takes quarter steps between its levels (parse_quality)
    default_qualities: tuple[Quality, ...] = (1,)
    higher_knob_is_better = True
    prefers_gpu = True
    payload_contains = (
        "1-byte format version + 1-byte rate point + image height and width (2 × u16) [+ the face region's rate "
        "point (1 byte) and the face region (4 × u16) when the face is coded at its own level] + CompressAI's "
        "entropy-coded strings (y, z), each prefixed by its LEB128 length"
    )
    requires = "torch + compressai (pip install --no-deps compressai==1.2.8; einops, torch-geometric) + a checkpoint"
    background: float | None = None  # the quality the rest of the image is coded at (None: no map unless boost)

    def __init__(self, checkpoint: str | Path | None = None, device: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        if checkpoint is None:
            raise UnavailableError("learned codec: give a checkpoint directory as --codecs learned:/path/to/dir")
        self.root = Path(checkpoint).expanduser()
        self.rate_points = checkpoint_dirs(self.root)
        # a variable-rate checkpoint: one model, its levels as qualities
        first = read_meta(self.rate_points[0])
        self.levels = int(first.get("levels") or 0) if len(self.rate_points) == 1 else 0
        self.boost = float(first.get("face_boost") or 0.0) if self.levels else 0.0
        self.default_qualities = tuple(range(1, (self.levels or len(self.rate_points)) + 1))
        # a checkpoint trained for ROI coding (ipr_bench.training: face_background, a level) codes so by default
        trained_background = first.get("face_background") if self.levels else None
        default = None if trained_background is None else float(trained_background) + 1
        self.background = self._background(options.get("background", default))
        if self.boost or self.background is not None:  # whether this codec needs faces depends on its checkpoint
            self.face_aware = True
            self.landmarker = str(options.get("landmarker") or first.get("face_landmarker") or "mtcnn")
        self.device = device or _best_device()
        self._models: dict[int, tuple[Any, dict[str, Any]]] = {}
        self._config: dict[str, Any] | None = None

    @classmethod
    def availability(cls) -> Availability:
        from importlib.util import find_spec

        missing = [m for m in ("compressai", "einops", "torch_geometric") if find_spec(m) is None]
        if missing:
            return Availability(False, f"{', '.join(missing)} not installed: {cls.requires}")
        return Availability(True)

    @classmethod
    def needs_argument(cls) -> str | None:
        return "a checkpoint directory: learned:DIR"

    def parse_quality(self, text: str) -> Quality:
        """Qualities 1…K of this checkpoint (K rate points or levels); a variable-rate model also takes the
        quarter steps between its levels."""
        from ipr_bench.core.errors import OptionError
        from ipr_bench.learned.checkpoint import LEVEL_STEPS

        value = super().parse_quality(text)
        lo, hi = min(self.default_qualities), max(self.default_qualities)
        steps = LEVEL_STEPS if self.levels else 1
        if not lo <= value <= hi or abs(value * steps - round(value * steps)) > 1e-9:
            grid = (
                f"quarter steps from {lo:g} to {hi:g}"
                if self.levels
                else f"{', '.join(map(str, self.default_qualities))}"
            )
            raise OptionError(f"{self.name}: quality {text} is not one of this checkpoint's ({grid})")
        return value

    def _background(self, value: Any) -> float | None:
        """The ``background`` option as a quality of this checkpoint (None: not given)."""
        from ipr_bench.core.errors import OptionError

        if value is None:
            return None
        if not self.levels:
            raise OptionError(f"{self.name}: background needs a variable-rate checkpoint (one model, K levels)")
        return float(self.parse_quality(str(value)))  # it replaces a face-map checkpoint's boost

    def _model(self, quality: Quality) -> tuple[Any, dict[str, Any]]:
        k = 1 if self.levels else int(quality)
        if not self.levels and not (1 <= k <= len(self.rate_points) and k == quality):
            raise UnavailableError(f"{self.root} has qualities 1…{len(self.rate_points)}, not {quality}")
        if k not in self._models:
            self._models[k] = load_checkpoint(self.rate_points[k - 1], self.device)
        return self._models[k]

    def _rate_point(self, quality: Quality) -> int:
        """The payload's rate-point byte: the checkpoint's index, or a variable-rate model's level."""
        if not self.levels:
            return int(quality)
        try:
            return level_rate_point(float(quality) - 1, self.levels)
        except ValueError:
            raise UnavailableError(
                f"{self.root} is variable-rate: qualities 1…{self.levels} in quarter steps, not {quality}"
            ) from None

    def _points(self, quality: Quality) -> tuple[int, int | None]:
        """(the payload's rate point, the face region's or None): a face-map checkpoint codes the face its boost
        above the quality; with ``background``, the quality is the face's and the rest is coded at the background."""
        point = self._rate_point(quality)
        if self.background is not None:
            return (self._rate_point(self.background), point) if self.background < float(quality) else (point, None)
        if self.boost:
            return point, face_rate_point(point, self.boost, self.levels)
        return point, None

    def _regions(self, images: list[np.ndarray], faces: list[Any] | None) -> list[Any] | None:
        """Each image's face region in latent cells (None: no face), for a face-aware codec; else None."""
        if not self.face_aware:
            return None
        from ipr_bench.face.roi import face_region

        regions = []
        for k, image in enumerate(images):
            region = face_region(faces[k] if faces else None, image.shape)
            regions.append(None if region is None else region_cells(region, *image.shape[:2]))
        return regions

    def _encoded(self, payload: bytes, image: np.ndarray, region: Any) -> Encoded:
        if not self.face_aware:
            return Encoded(payload)
        share = 0.0
        if region is not None:  # the share of the image's pixels coded at the boosted level
            h, w = image.shape[:2]
            left, top, right, bottom = (c * CELL for c in region)
            share = (min(right, w) - left) * (min(bottom, h) - top) / (h * w)
        return Encoded(payload, info={"roi_applied": float(region is not None), "face_fraction": share})

    def _code(self, images: list[np.ndarray], quality: Quality, faces: list[Any] | None) -> list[Encoded]:
        """Same-sized images: those with a face under the level map, those without at the quality's level
        everywhere (as hevc-roi codes a face-less image as plain HEVC)."""
        model = self._model(quality)[0]
        point, face_point = self._points(quality)
        regions = self._regions(images, faces) if face_point else None
        with_face = [i for i in range(len(images)) if regions and regions[i] is not None]
        without = [i for i in range(len(images)) if i not in with_face]
        groups = [(point, face_point, with_face), (self._rate_point(quality), None, without)]
        out: list[Any] = [None] * len(images)
        for rate_point, face, indices in groups:
            if not indices:
                continue
            boxes = [regions[i] for i in indices] if face else None
            payloads = compress_images(model, [images[i] for i in indices], rate_point, self.device, boxes, face)
            for k, i in enumerate(indices):
                out[i] = self._encoded(payloads[k], images[i], boxes[k] if boxes else None)
        return out

    def encode(self, image: np.ndarray, quality: Quality, face: Any = None) -> Encoded:
        return self._code([image], quality, [face])[0]

    def encode_batch(
        self, images: list[np.ndarray], quality: Quality, faces: list[Any] | None = None
    ) -> list[Encoded | Exception]:
        out: list[Encoded | Exception | None] = [None] * len(images)
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, im in enumerate(images):
            by_shape.setdefault(im.shape, []).append(i)
        for indices in by_shape.values():
            for start in range(0, len(indices), BATCH):
                chunk = indices[start : start + BATCH]
                batch_faces = [faces[i] for i in chunk] if faces else None
                try:
                    coded = self._code([images[i] for i in chunk], quality, batch_faces)
                    for i, encoded in zip(chunk, coded, strict=True):
                        out[i] = encoded
                except Exception:  # the batch failed: try its images one by one
                    for j, i in enumerate(chunk):
                        try:
                            out[i] = self.encode(images[i], quality, batch_faces[j] if batch_faces else None)
                        except Exception as exc:
                            out[i] = exc
        return [o if o is not None else RuntimeError("not encoded") for o in out]

    def bit_map(self, image: np.ndarray, quality: Quality, face: Any = None) -> np.ndarray:
        """Where this codec spends its bits on ``image`` at ``quality``: [H', W'] bits per pixel of the padded
        input, from the entropy model (ipr_bench.analysis.bitmaps); ``face``: the original's landmarks, for face-aware
        codecs (the region they code at its own level)."""
        point, face_point = self._points(quality)
        regions = self._regions([image], [face]) if face_point else None
        if not regions or regions[0] is None:
            point, face_point, regions = self._rate_point(quality), None, None
        model = self._model(quality)[0]
        return information_maps(model, [image], point, self.device, regions, face_point)[0]

    def decode(self, payload: bytes) -> np.ndarray:
        point = peek_rate_point(payload)
        model, _ = self._model(1 if self.levels else point)
        return decompress_payload(model, payload, self.device, self.boost)

    def decode_batch(self, payloads: list[bytes]) -> list[np.ndarray | Exception]:
        """Payloads of one image size and rate point decode as one batch (BATCH at most); a batch that fails is
        decoded payload by payload, so one bad payload costs only itself."""
        out: list[np.ndarray | Exception | None] = [None] * len(payloads)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, payload in enumerate(payloads):
            try:
                point = peek_rate_point(payload)  # the header: rate point, then height and width
                key = (point, payload_face_point(payload), *HEADER.unpack(payload[: HEADER.size])[2:])
                groups.setdefault(key, []).append(i)
            except Exception as exc:
                out[i] = exc
        for (point, *_), indices in groups.items():
            for start in range(0, len(indices), BATCH):
                chunk = indices[start : start + BATCH]
                try:
                    model, _ = self._model(1 if self.levels else point)
                    decoded = decompress_payloads(model, [payloads[i] for i in chunk], self.device, self.boost)
                    for i, image in zip(chunk, decoded, strict=True):
                        out[i] = image
                except Exception:
                    for i in chunk:
                        try:
                            out[i] = self.decode(payloads[i])
                        except Exception as exc:
                            out[i] = exc
        return [o if o is not None else RuntimeError("not decoded") for o in out]

    def version(self) -> str:
        import compressai
        import torch

        return f"compressai {compressai.__version__}, torch {torch.__version__.split('+')[0]}"

    def config(self) -> dict[str, Any]:
        if self._config is None:  # hashing the weights once: config() is asked for every chunk's cache key
            self._config = self._describe()
        return self._config

    def _describe(self) -> dict[str, Any]:
        metas = [read_meta(d) for d in self.rate_points]
        return {
            "codec": self.name,
            "version": self.version(),
            "checkpoints": [
                {
                    "name": d.relative_to(self.root).as_posix() if d != self.root else d.name,
                    "sha256_16": checkpoint_digest(d),
                    "architecture": m["architecture"],
                    "lambda": m.get("lambda"),
                    "lambdas": m.get("lambdas"),
                }
                for d, m in zip(self.rate_points, metas, strict=True)
            ],
            "trained_with": metas[0].get("trained_with"),
            **self.options,
        }


def _best_device() -> str:
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"
