"""The codec protocol: an RGB uint8 image ↔ the exact bytes that would be transmitted.

bpp is always 8 × len(payload) / (H × W) of the original image. Each codec says what its payload contains
(`payload_contains`); alternative accountings (e.g. x265 with its settings SEI, or inside an .mp4) are
recorded next to it as ``alt_bytes`` but never used as the headline.

A codec that sets ``face_aware`` (region-of-interest baselines) is also given each original's landmarks, from
the landmarker named by its ``landmarker`` attribute; the runner computes them once, on the original, before
any codec runs. What such a codec does with them per image (applied or fell back) goes into ``Encoded.info``.
"""

from __future__ import annotations

import importlib
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ipr_bench.core.errors import Availability

if TYPE_CHECKING:
    from ipr_bench.face.landmarks import FaceLandmarks

Quality = int | float


@dataclass(frozen=True)
class Encoded:
    payload: bytes
    alt_bytes: dict[str, int] = field(default_factory=dict)
    info: dict[str, float] = field(default_factory=dict)  # per-image facts, stored as items column codec_<key>


class Codec(ABC):
    """Subclasses set the class attributes and implement encode/decode. Heavy imports go inside methods."""

    name: ClassVar[str]
    knob: ClassVar[str]  # name of the quality knob, e.g. "quality", "crf", "qp"
    default_qualities: ClassVar[tuple[Quality, ...]]
    higher_knob_is_better: ClassVar[bool]  # True for JPEG quality, False for CRF/QP
    payload_contains: ClassVar[str]
    requires: ClassVar[str]
    face_aware: ClassVar[bool] = False  # True: encode_batch needs ``faces`` (landmarks of each original)
    # True: a classical codec told where the face is, which the learned codecs must beat (report: against_roi)
    roi_baseline: ClassVar[bool] = False
    prefers_gpu: ClassVar[bool] = False  # True: much faster on a GPU (a cluster executor may place it on one)
    landmarker: str | None = None  # the landmarker a face-aware codec reads (registry name)
    # the knob's valid values (parse_quality checks every --qualities value against them)
    knob_range: ClassVar[tuple[float, float]] = (-math.inf, math.inf)
    knob_integer: ClassVar[bool] = True

    def __init__(self, **options: Any) -> None:
        self.options = options

    @classmethod
    def availability(cls) -> Availability:
        return Availability(True)

    @classmethod
    def needs_argument(cls) -> str | None:
        """What a user must add to the name (``NAME:ARG``) before this codec can run, if anything."""
        return None

    @abstractmethod
    def encode(self, image: np.ndarray, quality: Quality) -> Encoded: ...

    @abstractmethod
    def decode(self, payload: bytes) -> np.ndarray: ...

    def encode_batch(
        self, images: list[np.ndarray], quality: Quality, faces: list[FaceLandmarks | None] | None = None
    ) -> list[Encoded | Exception]:
        """Encode several images, each exactly as encode() would; a failure is returned in its slot, not raised.
        Codecs override this to amortise per-call costs (e.g. one ffmpeg process for many images). ``faces``
        (one per image, None where no landmarks exist) is given to face-aware codecs only."""
        out: list[Encoded | Exception] = []
        for i, image in enumerate(images):
            try:
                if self.face_aware:
                    out.append(self.encode(image, quality, face=faces[i] if faces else None))  # type: ignore[call-arg]
                else:
                    out.append(self.encode(image, quality))
            except Exception as exc:  # one bad image never kills a run
                out.append(exc)
        return out

    def decode_batch(self, payloads: list[bytes]) -> list[np.ndarray | Exception]:
        out: list[np.ndarray | Exception] = []
        for payload in payloads:
            try:
                out.append(self.decode(payload))
            except Exception as exc:
                out.append(exc)
        return out

    def version(self) -> str:
        """Encoder library version: part of the cache key, since it changes the bytes."""
        return "unknown"

    def config(self) -> dict[str, Any]:
        """Everything that determines the bytes besides the image and the quality."""
        return {"codec": self.name, "version": self.version(), **self.options}

    def parse_quality(self, text: str) -> Quality:
        """A knob value from the command line, checked against what this codec declares (``knob_range``,
        ``knob_integer``): an OptionError saying the valid range otherwise, never a silent clamp."""
        from ipr_bench.core.errors import OptionError

        lo, hi = self.knob_range
        where = f"{self.knob} range {lo:g}–{hi:g}" if math.isfinite(lo) and math.isfinite(hi) else self.knob
        try:
            value = float(text)
        except (TypeError, ValueError):
            raise OptionError(f"{self.name}: {self.knob} {text!r} is not a number ({where})") from None
        if not math.isfinite(value) or not lo <= value <= hi:
            raise OptionError(f"{self.name}: {self.knob} {text} is outside the {where}")
        if self.knob_integer and not value.is_integer():
            raise OptionError(f"{self.name}: {self.knob} {text} must be a whole number ({where})")
        return int(value) if value.is_integer() else value


class PillowCodec(Codec):
    """A codec whose payload is the complete file Pillow writes (headers included, no EXIF/ICC/XMP)."""

    knob_range = (0, 100)  # Pillow's quality scale for every format here
    pillow_format: ClassVar[str]
    save_options: ClassVar[dict[str, Any]] = {}
    plugin: ClassVar[str | None] = None  # a module whose import adds the format to Pillow
    plugin_package: ClassVar[str] = ""  # what to pip install when that import fails

    @classmethod
    def availability(cls) -> Availability:
        if cls.plugin:
            try:
                importlib.import_module(cls.plugin)
            except ImportError:
                return Availability(False, f"{cls.plugin_package} is not installed: pip install {cls.plugin_package}")
        return Availability(True)

    def _register_plugin(self) -> None:
        if self.plugin:
            importlib.import_module(self.plugin)

    def quality_options(self, quality: Quality) -> dict[str, Any]:
        return {"quality": quality}

    def encode(self, image: np.ndarray, quality: Quality) -> Encoded:
        import io

        from PIL import Image

        self._register_plugin()
        buf = io.BytesIO()
        options = {**self.save_options, **self.options, **self.quality_options(quality)}
        Image.fromarray(image, "RGB").save(buf, format=self.pillow_format, **options)
        return Encoded(buf.getvalue())

    def decode(self, payload: bytes) -> np.ndarray:
        from ipr_bench.core.images import decode_rgb_bytes

        self._register_plugin()
        return decode_rgb_bytes(payload, f"{self.name} payload")

    def config(self) -> dict[str, Any]:
        return {"codec": self.name, "version": self.version(), **self.save_options, **self.options}

    def version(self) -> str:
        import PIL

        return f"Pillow {PIL.__version__}"
