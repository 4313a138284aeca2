"""HEVC with a face region of interest: x265 (ffmpeg's libx265) spends fewer bits outside the face.

The face region (``ipr_bench.face.roi``: the original's face box grown by ``margin``) and the whole frame are given to
ffmpeg's ``addroi`` filter, face first (libx265 lets the first listed region win where regions overlap); libx265
turns them into x265's per-16×16-block QP offsets (``quantOffsets``, needs adaptive quantisation, on in x265's
presets): ``background_qp`` added outside the face, ``face_qp`` (≤ 0) inside. The QP of every block is coded in
the bitstream, so the decoder is plain HEVC and the region never has to be sent: the payload is exactly what
``hevc`` counts. Knob: CRF, as for ``hevc``; ``hevc-roi:QP`` sets the background offset. The default offset is
chosen on LFW View 1 only (``scripts/tune_roi.py``; recorded in ``results/lfw-roi/tuning.json``).

An image without a detected face is coded as plain HEVC at the same CRF (items column ``codec_roi_applied`` = 0).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ipr_bench.codecs.hevc import HevcCodec
from ipr_bench.core.errors import OptionError
from ipr_bench.core.registry import register_codec
from ipr_bench.face.landmarks import FaceLandmarks
from ipr_bench.face.roi import DEFAULT_MARGIN, face_region, spec_argument

QP_RANGE = 51  # libx265 scales addroi's qoffset (−1…1) by 51 for 8-bit video

# Chosen on LFW View 1 DevTest only (scripts/tune_roi.py: FaceNet, lowest BD-rate vs HEVC at equal identity
# cosine; +12: −28.3%, +24: −35.3%, +51: −36.8%), recorded in results/lfw-roi/tuning.json; a test holds this
# default to it. +51 leaves the background at the highest QP x265 allows.
DEFAULT_BACKGROUND_QP = 51


@register_codec("hevc-roi")
class HevcRoiCodec(HevcCodec):
    face_aware = True
    roi_baseline = True
    payload_contains = (
        "raw HEVC Annex-B stream as for hevc (settings SEI removed); the face region is not sent: "
        "the per-block QP it set is in the stream"
    )

    def __init__(
        self,
        argument: str | None = None,
        *,
        background_qp: int | str | None = None,
        face_qp: int | str = 0,
        margin: float | str = DEFAULT_MARGIN,
        landmarker: str = "mtcnn",
        **extra: Any,
    ) -> None:
        background = spec_argument("hevc-roi", argument, "background_qp", background_qp, DEFAULT_BACKGROUND_QP)
        background, face = _qp("background_qp", background, 0, QP_RANGE), _qp("face_qp", face_qp, -QP_RANGE, 0)
        super().__init__(background_qp=background, face_qp=face, margin=float(margin), landmarker=landmarker, **extra)
        self.landmarker = landmarker

    def image_args(self, image: np.ndarray, face: FaceLandmarks | None) -> tuple[list[str], dict[str, float]]:
        region = face_region(face, image.shape, self.options["margin"])
        if region is None:
            return [], {"roi_applied": 0.0, "face_fraction": 0.0}
        face_roi = (
            f"addroi=x={region.left}:y={region.top}:w={region.width}:h={region.height}"
            f":qoffset={self.options['face_qp']}/{QP_RANGE}"
        )
        background = f"addroi=x=0:y=0:w=iw:h=ih:qoffset={self.options['background_qp']}/{QP_RANGE}"
        info = {"roi_applied": 1.0, "face_fraction": region.fraction_of(image.shape)}
        return ["-vf", f"{face_roi},{background}"], info


def _qp(option: str, value: int | str, low: int, high: int) -> int:
    """An integer QP offset in [low, high], or an error that says which option and what range."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (number.is_integer() and low <= number <= high):
        raise OptionError(f"hevc-roi: {option} must be an integer QP offset in {low}…{high}, not {value!r}")
    return int(number)
