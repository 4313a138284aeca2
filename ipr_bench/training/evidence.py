"""Comparing two trained codecs on their held-out validation, and whether a run may replace a shipped codec.

A validation record (``Trainer.validate``) holds, per level q, ``bpp@q`` (real payload bits), ``psnr@q`` and
``cosine_<recognizer>@q`` (identity cosine between the original's and the decoded image's embeddings), over the
same held-out images for every run with the same data settings (``n_images`` says how many). Two records are
compared as rate–quality curves with the Bjøntegaard deltas of ``analysis.rd``, under its overlap rule:

- BD-rate at equal identity cosine (%; negative: fewer bits for the same identity),
- BD-cosine and BD-PSNR at equal bpp (positive: better at the same rate).

Shipping rule (issue 25): a run replaces a zoo codec only when it was trained with its own loss (step > 0: at
step 0 an arm is its base) and its validation is better at equal bpp by the measure that codec is for (identity
cosine under the training recognizer for ``ipr``, PSNR for ``mse``) by more than the run-to-run noise measured
for 100 steps from one state with two seeds (results/training/precision_quality.md: at most 0.0083 FaceNet cosine
and 0.098 dB at any level).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ipr_bench.analysis.rd import Curve, Delta, bd_quality, bd_rate

SHIP_MEASURE = {
    "ipr": "cosine_facenet",
    "ipr-roi": "cosine_facenet",
    "mse": "psnr",
}  # what "better at equal bpp" means for each zoo codec
SHIP_MARGIN = {"cosine_facenet": 0.0083, "psnr": 0.098}  # the largest seed-to-seed difference measured


def levels(record: dict[str, Any]) -> list[int]:
    return sorted({int(k.split("@q")[1]) for k in record if k.startswith("bpp@q")})


def curve(record: dict[str, Any], measure: str) -> Curve:
    """The record's (bpp, measure) points over its levels; a level without the measure is left out."""
    points = [(record[f"bpp@q{q}"], record.get(f"{measure}@q{q}", math.nan)) for q in levels(record)]
    return Curve.of([p[0] for p in points], [p[1] for p in points])


@dataclass(frozen=True)
class Comparison:
    """``test`` against ``anchor`` on the same held-out images."""

    bd_rate_at_equal_cosine: Delta  # %, negative = test needs fewer bits for the same identity cosine
    bd_cosine: Delta  # cosine at equal bpp, positive = test keeps more identity
    bd_psnr: Delta  # dB at equal bpp

    def as_dict(self) -> dict[str, Any]:
        return {
            name: {"value": d.value, "overlap": d.overlap, "reason": d.reason}
            for name, d in (
                ("bd_rate_at_equal_cosine", self.bd_rate_at_equal_cosine),
                ("bd_cosine", self.bd_cosine),
                ("bd_psnr", self.bd_psnr),
            )
        }


def compare(anchor: dict[str, Any], test: dict[str, Any], recognizer: str = "facenet") -> Comparison:
    """Bjøntegaard deltas of ``test`` vs ``anchor``; raises ValueError when they were validated on different
    numbers of images (then they are not the same held-out set)."""
    if anchor.get("n_images") != test.get("n_images"):
        raise ValueError(f"validated on {anchor.get('n_images')} vs {test.get('n_images')} images: not comparable")
    cos = f"cosine_{recognizer}"
    return Comparison(
        bd_rate(curve(anchor, cos), curve(test, cos)),
        bd_quality(curve(anchor, cos), curve(test, cos)),
        bd_quality(curve(anchor, "psnr"), curve(test, "psnr")),
    )


def ship_verdict(shipped: str, shipped_record: dict[str, Any], candidate: dict[str, Any]) -> tuple[bool, str]:
    """(may ``candidate`` replace the zoo codec ``shipped``?, the reason with its figure)."""
    measure = SHIP_MEASURE[shipped]
    if int(candidate.get("step", 0)) == 0:
        return False, "not trained yet (step 0 is the base)"
    if shipped_record.get("n_images") != candidate.get("n_images"):
        return False, f"not comparable: validated on {shipped_record.get('n_images')} vs {candidate.get('n_images')}"
    delta = bd_quality(curve(shipped_record, measure), curve(candidate, measure))
    unit = "dB PSNR" if measure == "psnr" else f"{measure.replace('_', ' ')}"
    if math.isnan(delta.value):
        return False, f"undecided: {delta.reason}"
    better = delta.value > SHIP_MARGIN[measure]
    verb = "better" if better else "not clearly better"
    figure = f"{delta.value:+.4f} {unit} at equal bpp (noise {SHIP_MARGIN[measure]:g})"
    return better, f"{verb} than the shipped {shipped}: {figure}"
