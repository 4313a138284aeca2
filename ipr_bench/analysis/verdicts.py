"""The rows of summary.json's bd_rate and parity lists, and the verdicts read off them: whether a parity is
only an upper bound, whether a codec's advantage over the anchor holds, which codecs are ROI baselines."""

from __future__ import annotations

import math
from typing import Any

from ipr_bench.analysis.uncertainty import LEVEL


def num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def bd_row(codec: str, rec: str, anchor: str, metric: str, d: Any) -> dict[str, Any]:
    return {
        "codec": codec,
        "recognizer": rec,
        "anchor_codec": anchor,
        "metric": metric,
        "bd_rate_percent": num(d.value),
        "overlap": num(d.overlap),
        "interval": [num(d.interval[0]), num(d.interval[1])],
        "reason": d.reason,
    }


def parity_row(codec: str, rec: str, ref: str, target: float, p: Any, base: float, ratio_to: str) -> dict[str, Any]:
    ratio = p.rate / base if p.reached and base and math.isfinite(base) else math.nan
    return {
        "codec": codec,
        "recognizer": rec,
        "ref": ref,
        "target_accuracy": num(target),
        "bpp": num(p.rate),
        "ratio": num(ratio),
        "reached": p.reached,
        "status": p.status,
        "ratio_to": ratio_to,
    }


def is_seen(recognizer: str, trained_with: str | None) -> bool:
    """Was ``recognizer`` (e.g. facenet, or a variant facenet:casia) the one a codec's identity term used?"""
    return trained_with is not None and (recognizer == trained_with or recognizer.startswith(trained_with + ":"))


def is_roi_baseline(codec: str) -> bool:
    """A codec the learned codecs are compared with as ROI coding (``Codec.roi_baseline``; unknown names: no)."""
    from ipr_bench.core.errors import UnknownNameError
    from ipr_bench.core.registry import CODECS

    try:
        factory, _ = CODECS.get(codec)
    except UnknownNameError:
        return False
    return bool(getattr(factory, "roi_baseline", False))


def is_bound(parity: dict[str, Any]) -> bool:
    """Parity found at a curve's lowest measured rate: its bpp is only an upper bound."""
    return str(parity.get("status", "")).startswith("at or below")


def ratio_bounds(lo: float | None, hi: float | None) -> str:
    """A bootstrap interval of a parity ratio in words: its ends are 0 where the other codec never reaches parity
    in a resample, and unbounded (inf or None) where this one does not; a percentage that would round to 100% on
    the other side of 1 keeps a decimal."""

    def pct(x: float) -> str:
        return f"{x:.1%}" if round(x * 100) == 100 and x != 1 else f"{x:.0%}"

    low = "0 (the other never reaching parity)" if lo == 0 else pct(lo) if lo is not None else "?"
    high = pct(hi) if hi is not None and math.isfinite(hi) else "never reaching parity"
    return f"{low} to {high}"


def own_parities(parities: list[dict[str, Any]], anchor_codec: str) -> dict[str, dict[str, Any]]:
    """Per recognizer, the anchor codec's own parity with the originals: the denominator of every ratio to it."""
    return {p["recognizer"]: p for p in parities if p["ref"] == "original" and p["codec"] == anchor_codec}


def advantage_verdict(
    codec_parity: dict[str, Any] | None,
    anchor_parity: dict[str, Any] | None,
    ratio_interval: tuple[float, float] | None = None,
) -> tuple[str, str]:
    """Does a codec keep the originals' accuracy (− ε) with fewer bits than the anchor codec? ``holds``,
    ``does not hold`` or ``undecided``, and why. A parity found at a curve's lowest measured rate is only an upper
    bound, so a ratio decides only in the direction the bound allows; with ``ratio_interval`` (the paired
    bootstrap's, analysis.uncertainty) a ratio whose interval holds 1 is within the noise: undecided."""
    if codec_parity is None or anchor_parity is None:
        return "undecided", "no parity row"
    if not codec_parity["reached"]:
        if anchor_parity["reached"]:
            return "does not hold", "never reaches parity in its measured range"
        return "undecided", "neither reaches parity"
    if not anchor_parity["reached"]:
        return "holds", "the anchor codec never reaches parity"
    ratio = codec_parity["bpp"] / anchor_parity["bpp"]
    codec_bound, anchor_bound = is_bound(codec_parity), is_bound(anchor_parity)
    decided = ""
    if ratio < 1 and not anchor_bound:  # the codec's true parity is at or below its figure: still < 1
        decided = "holds"
    elif ratio >= 1 and not codec_bound:  # the anchor codec's true parity is at or below its figure: still ≥ 1
        decided = "does not hold"
    if decided:
        said = f"{ratio:.0%} of the anchor codec's parity bpp"
        if ratio_interval is None:
            return decided, said
        lo, hi = ratio_interval
        noise = f"{LEVEL:.0%} interval {ratio_bounds(lo, hi)}"
        if lo < 1 <= hi:
            return "undecided", f"{said}, within the noise ({noise})"
        return decided, f"{said} ({noise})"
    which = "both curves reach" if codec_bound and anchor_bound else "a curve reaches"
    return "undecided", f"{which} parity at the lowest measured rate (ratio {ratio:.0%} is only bounded)"
