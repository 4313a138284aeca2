"""Rate–quality curves where quality is recognition accuracy (or PSNR): monotone fits, Bjøntegaard deltas,
and the paper's parity statistic.

Measured accuracy curves are noisy and saturate: two qualities may tie, and a higher rate may score a little
lower. The classic Bjøntegaard recipe (interpolate log-rate as a function of quality) then breaks: PCHIP needs
strictly increasing abscissae. So every curve is first reduced to its **Pareto envelope** — the points that no
cheaper point matches or beats — which is strictly increasing in both rate and quality; a point dropped there
is dominated (another point is cheaper and at least as good), so the envelope is what a user of the codec can
actually get. PCHIP on the envelope is monotone (it preserves monotone data), so parity rates are unique.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

MIN_OVERLAP = 0.25  # fraction of the union of both quality ranges that the curves must share


@dataclass(frozen=True)
class Curve:
    """A codec's operating points: rate (bpp) and quality (accuracy %, PSNR dB, …), sorted by rate."""

    rate: np.ndarray
    quality: np.ndarray

    @classmethod
    def of(cls, rate: np.ndarray | list[float], quality: np.ndarray | list[float]) -> Curve:
        r, q = np.asarray(rate, np.float64), np.asarray(quality, np.float64)
        keep = np.isfinite(r) & np.isfinite(q) & (r > 0)
        order = np.argsort(r[keep], kind="stable")
        return cls(r[keep][order], q[keep][order])

    def envelope(self) -> Curve:
        """The Pareto envelope: points strictly better than every cheaper point (ties keep the cheapest)."""
        best = -math.inf
        keep = []
        for i, q in enumerate(self.quality):
            if q > best:
                keep.append(i)
                best = q
        return Curve(self.rate[keep], self.quality[keep])

    def __len__(self) -> int:
        return len(self.rate)


@dataclass(frozen=True)
class Delta:
    """A Bjøntegaard delta with what it was computed over; ``value`` is NaN with a ``reason`` when it cannot be."""

    value: float
    overlap: float  # shared quality interval / union of the two quality intervals (0–1)
    interval: tuple[float, float]  # the shared quality interval (for BD-rate) or log10-rate interval
    reason: str = ""


def _interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    lo, hi = max(a.min(), b.min()), min(a.max(), b.max())
    union = max(a.max(), b.max()) - min(a.min(), b.min())
    return lo, hi, (max(hi - lo, 0.0) / union) if union > 0 else 0.0


def bd_rate(anchor: Curve, test: Curve, min_overlap: float = MIN_OVERLAP) -> Delta:
    """Average rate difference (%) of ``test`` vs ``anchor`` at equal quality, over their shared quality range:
    (10^mean(log10 r_test − log10 r_anchor) − 1) × 100. Negative = test needs fewer bits."""
    a, t = anchor.envelope(), test.envelope()
    if len(a) < 2 or len(t) < 2:
        return Delta(math.nan, 0.0, (math.nan, math.nan), "fewer than 2 non-dominated points")
    lo, hi, overlap = _interval(a.quality, t.quality)
    if hi <= lo:
        return Delta(math.nan, 0.0, (lo, hi), "quality ranges do not overlap")
    if overlap < min_overlap:
        return Delta(math.nan, overlap, (lo, hi), f"overlap {overlap:.0%} < {min_overlap:.0%} of the quality range")
    fa = PchipInterpolator(a.quality, np.log10(a.rate))
    ft = PchipInterpolator(t.quality, np.log10(t.rate))
    mean = (ft.integrate(lo, hi) - fa.integrate(lo, hi)) / (hi - lo)
    return Delta(float((10**mean - 1) * 100), overlap, (float(lo), float(hi)))


def bd_quality(anchor: Curve, test: Curve, min_overlap: float = MIN_OVERLAP) -> Delta:
    """Average quality difference of ``test`` vs ``anchor`` at equal rate (BD-PSNR, BD-accuracy), over the shared
    log-rate range."""
    a, t = anchor.envelope(), test.envelope()
    if len(a) < 2 or len(t) < 2:
        return Delta(math.nan, 0.0, (math.nan, math.nan), "fewer than 2 non-dominated points")
    la, lt = np.log10(a.rate), np.log10(t.rate)
    lo, hi, overlap = _interval(la, lt)
    if hi <= lo:
        return Delta(math.nan, 0.0, (lo, hi), "rate ranges do not overlap")
    if overlap < min_overlap:
        return Delta(math.nan, overlap, (lo, hi), f"overlap {overlap:.0%} < {min_overlap:.0%} of the rate range")
    fa, ft = PchipInterpolator(la, a.quality), PchipInterpolator(lt, t.quality)
    return Delta(float((ft.integrate(lo, hi) - fa.integrate(lo, hi)) / (hi - lo)), overlap, (float(lo), float(hi)))


@dataclass(frozen=True)
class Parity:
    """The lowest rate at which a codec's monotone curve reaches ``target`` quality."""

    rate: float  # NaN when not reached
    reached: bool
    status: str  # "interpolated", "at or below the lowest measured rate", "not reached"


def parity_rate(curve: Curve, target: float) -> Parity:
    """Lowest rate with quality ≥ target on the PCHIP fit of log-rate → quality over the Pareto envelope.

    If even the cheapest measured point reaches the target, the answer is that point's rate, flagged: the true
    parity rate may be lower, and extrapolating would be a guess."""
    env = curve.envelope()
    if len(env) == 0 or env.quality[-1] < target:
        return Parity(math.nan, False, "not reached")
    if env.quality[0] >= target:
        return Parity(float(env.rate[0]), True, "at or below the lowest measured rate")
    k = int(np.argmax(env.quality >= target))  # first envelope point at or above the target; k ≥ 1
    f = PchipInterpolator(np.log10(env.rate), env.quality)
    lo, hi = float(np.log10(env.rate[k - 1])), float(np.log10(env.rate[k]))
    for _ in range(80):  # bisection: f is monotone on the segment
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) < target else (lo, mid)
    return Parity(float(10**hi), True, "interpolated")
