"""The analysis of a results store: rate–accuracy curves, BD-rate at equal accuracy, the paper's parity statistic,
robustness to unseen recognizers, bit accounting — as report.md, a self-contained report.html, figures (PNG and
SVG) and summary.json. Everything is computed from the store alone (no re-encoding).

summary.json schema (version 1; ratios are fractions, bpp is payload bpp as defined by each codec)::

    {"schema": 1, "dataset": str, "protocol": "lfw10fold"|"fixed-original", "epsilon": float (percentage points),
     "anchor": {"codec": str, "quality": float, "bpp": float},
     "reference": [{"recognizer": str, "accuracy": float, "std": float}],
     "curves": [{"codec", "recognizer", "knob", "quality", "bpp", "accuracy", "std", "tar_at_far", "cos_to_original",
                 "psnr", "decisions_changed", "flip_rate" (%)}],
     "bd_rate": [{"codec", "recognizer", "anchor_codec", "metric": "accuracy"|"psnr", "bd_rate_percent",
                  "overlap", "interval": [lo, hi], "reason"}],
     "parity": [{"codec", "recognizer", "ref": "anchor"|"original", "target_accuracy", "bpp", "ratio",
                 "reached", "status", "ratio_to": "anchor bpp"|"anchor codec's own parity bpp"}],
     "bit_accounting": [{"codec", "quality", "bpp", "<alternative>": bpp, ...}],
     "codec_info": [{"codec", "quality", "bpp", "<fact>": mean over images, ...}]  (e.g. roi_applied: the share
                   of images a region-of-interest codec coded with a face region; the rest fell back),
     "robustness": [{"codec", "trained_with", "recognizer", "seen", "parity_ratio_anchor", "parity_ratio_original",
                     "bd_rate_percent", "bd_overlap", "advantage": "holds"|"does not hold"|"undecided", "why"}],
     "against_roi": [{"codec", "recognizer", "baseline", "baseline_bpp", "baseline_bound", "bpp", "bound", "ratio",
                      "verdict": "holds"|"does not hold"|"undecided"|null, "why", "learned"}]}
                   (bound: parity found at the curve's lowest measured rate, an upper bound)
                   (parity bpp vs the best ROI baseline's: codecs with Codec.roi_baseline, e.g. hevc-roi, hevc-blur)

Values that cannot be computed are null, with a reason or status beside them. Accuracy follows ``protocol``
(ipr_bench.analysis.metrics): the LFW 10-fold protocol, or the originals' thresholds fixed for every setting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ipr_bench.analysis.metrics import PROTOCOLS
from ipr_bench.analysis.rd import MIN_OVERLAP, Curve, bd_rate, parity_rate
from ipr_bench.analysis.summary import summarize
from ipr_bench.core.errors import IprBenchError
from ipr_bench.store import schema
from ipr_bench.store.results import ResultStore

ORIGINAL = "original"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Anchor:
    codec: str
    quality: float

    @classmethod
    def parse(cls, text: str) -> Anchor:
        codec, sep, quality = text.partition(":")
        try:
            return cls(codec, float(quality))
        except ValueError:
            raise IprBenchError(f"--anchor {text!r}: expected CODEC:QUALITY, e.g. hevc:23") from None


@dataclass
class Analysis:
    dataset: str
    table: pd.DataFrame  # summarize() rows of one protocol: one row per setting × recognizer
    anchor: Anchor
    epsilon: float
    protocol: str = "lfw10fold"
    min_overlap: float = MIN_OVERLAP
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)  # setting label → stored meta

    @property
    def recognizers(self) -> list[str]:
        return sorted(self.table["recognizer"].unique())

    @property
    def codecs(self) -> list[str]:
        return sorted(set(self.table["codec"]) - {ORIGINAL})

    def rows(self, codec: str, recognizer: str) -> pd.DataFrame:
        t = self.table
        return t[(t["codec"] == codec) & (t["recognizer"] == recognizer)].sort_values("bpp")

    def curve(self, codec: str, recognizer: str, metric: str = "accuracy") -> Curve:
        r = self.rows(codec, recognizer)
        return Curve.of(r["bpp"].to_numpy(), r[metric].to_numpy())

    def anchor_row(self, recognizer: str) -> pd.Series | None:
        r = self.rows(self.anchor.codec, recognizer)
        r = r[np.isclose(r["quality"].astype(float), self.anchor.quality)]
        return r.iloc[0] if len(r) else None

    def anchor_bpp(self) -> float:
        rows = [self.anchor_row(rec) for rec in self.recognizers]
        found = [r["bpp"] for r in rows if r is not None]
        return float(found[0]) if found else math.nan

    def reference(self) -> list[dict[str, Any]]:
        out = []
        for rec in self.recognizers:
            r = self.rows(ORIGINAL, rec)
            if len(r):
                out.append(
                    {
                        "recognizer": rec,
                        "accuracy": float(r["accuracy"].iloc[0]),
                        "std": float(r["accuracy_std"].iloc[0]),
                    }
                )
        return out

    # ---------------------------------------------------------------------------------------------- tables
    def curves(self) -> list[dict[str, Any]]:
        out = []
        for _, r in self.table.sort_values(["recognizer", "codec", "bpp"]).iterrows():
            out.append(
                {
                    "codec": r["codec"],
                    "recognizer": r["recognizer"],
                    "knob": r["knob"] or None,
                    "quality": _num(r["quality"]),
                    "bpp": _num(r["bpp"]),
                    "accuracy": _num(r["accuracy"]),
                    "std": _num(r["accuracy_std"]),
                    "tar_at_far": _num(r["tar_at_far"]),
                    "cos_to_original": _num(r["cos_to_original"]),
                    "psnr": _num(r["psnr"]),
                    "decisions_changed": _num(r["decisions_changed"]),
                    "flip_rate": _num(r["flip_rate"]),
                }
            )
        return out

    def bd_rates(self) -> list[dict[str, Any]]:
        out = []
        others = [c for c in self.codecs if c != self.anchor.codec]
        for codec in others:
            for rec in self.recognizers:
                d = bd_rate(self.curve(self.anchor.codec, rec), self.curve(codec, rec), self.min_overlap)
                out.append(_bd_row(codec, rec, self.anchor.codec, "accuracy", d))
            rec0 = self.recognizers[0]  # PSNR does not depend on the recognizer
            d = bd_rate(self.curve(self.anchor.codec, rec0, "psnr"), self.curve(codec, rec0, "psnr"), self.min_overlap)
            out.append(_bd_row(codec, "—", self.anchor.codec, "psnr", d))
        return out

    def parities(self) -> list[dict[str, Any]]:
        out = []
        anchor_bpp = self.anchor_bpp()
        reference = {r["recognizer"]: r["accuracy"] for r in self.reference()}
        for rec in self.recognizers:
            a_row = self.anchor_row(rec)
            own_anchor = parity_rate(self.curve(self.anchor.codec, rec), reference.get(rec, math.nan) - self.epsilon)
            for codec in self.codecs:
                curve = self.curve(codec, rec)
                if not len(curve.rate):  # not measured with this recognizer (a store grown by several runs)
                    continue
                if a_row is not None:
                    target = float(a_row["accuracy"]) - self.epsilon
                    p = parity_rate(curve, target)
                    out.append(_parity_row(codec, rec, "anchor", target, p, anchor_bpp, "anchor bpp"))
                if rec in reference:
                    target = reference[rec] - self.epsilon
                    p = parity_rate(curve, target)
                    base = own_anchor.rate if own_anchor.reached else math.nan
                    out.append(_parity_row(codec, rec, "original", target, p, base, "anchor codec's own parity bpp"))
        return out

    def bit_accounting(self) -> list[dict[str, Any]]:
        alt_cols = [c for c in self.table.columns if c.startswith("bpp_") and c != "bpp_total"]
        out = []
        rec0 = self.recognizers[0]
        for codec in self.codecs:
            r = self.rows(codec, rec0)
            used = [c for c in alt_cols if r[c].notna().any()]
            if not used:
                continue
            for _, row in r.iterrows():
                out.append(
                    {
                        "codec": codec,
                        "quality": _num(row["quality"]),
                        "bpp": _num(row["bpp"]),
                        **{c[4:]: _num(row[c]) for c in used},
                    }
                )
        return out

    def codec_info(self) -> list[dict[str, Any]]:
        """Per setting, the mean of each per-image fact a codec recorded (items columns codec_<fact>)."""
        cols = schema.codec_info_columns(self.table.columns)
        out = []
        rec0 = self.recognizers[0]
        for codec in self.codecs:
            r = self.rows(codec, rec0)
            used = [c for c in cols if r[c].notna().any()]
            out += [
                {
                    "codec": codec,
                    "quality": _num(row["quality"]),
                    "bpp": _num(row["bpp"]),
                    **{c[6:]: _num(row[c]) for c in used},
                }
                for _, row in r.iterrows()
                if used
            ]
        return out

    def against_roi(self, parities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Is it more than ROI coding? Per recognizer, every codec's parity bpp (reference: the originals) as a
        ratio of the best region-of-interest baseline's (hevc-roi*, hevc-blur*); [] without such a baseline."""
        baselines = [c for c in self.codecs if is_roi_baseline(c)]
        if not baselines:
            return []
        parity = {(p["codec"], p["recognizer"]): p for p in parities if p["ref"] == "original"}
        learned = self.learned_codecs()
        out = []
        for rec in self.recognizers:
            reached = [parity[(b, rec)] for b in baselines if (b, rec) in parity and parity[(b, rec)]["reached"]]
            best = min(reached, key=lambda p: p["bpp"]) if reached else None
            for codec in self.codecs:
                p = parity.get((codec, rec))
                if p is None or codec == (best or {}).get("codec"):
                    continue
                ratio = p["bpp"] / best["bpp"] if best and p["reached"] else None
                verdict, why = advantage_verdict(p, best) if best else (None, "no ROI baseline reaches parity")
                out.append(
                    {
                        "codec": codec,
                        "recognizer": rec,
                        "baseline": best["codec"] if best else None,
                        "baseline_bpp": best["bpp"] if best else None,
                        # "at or below the lowest measured rate": the parity bpp is an upper bound
                        "baseline_bound": bool(best and is_bound(best)),
                        "bpp": p["bpp"],
                        "bound": bool(p["reached"] and is_bound(p)),
                        "ratio": ratio,
                        "verdict": verdict,  # fewer bits than the baseline: holds / does not hold / undecided
                        "why": why,
                        "learned": codec in learned,
                    }
                )
        return out

    def learned_codecs(self) -> set[str]:
        """Codecs whose config records a training recognizer (None for a rate–distortion-only model, e.g. mse)."""
        return {m["codec_config"]["codec"] for m in self.meta.values() if "trained_with" in m.get("codec_config", {})}

    def robustness(
        self, parities: list[dict[str, Any]] | None = None, bd_rates: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """Per learned codec × recognizer, seen or unseen in training: parity bpp as a share of the anchor's bpp
        (the paper's statistic) and of the anchor codec's own parity bpp, BD-rate at equal accuracy, and whether
        the codec's advantage holds. ``parities`` / ``bd_rates``: the rows of parities() / bd_rates(), when the
        caller has them already."""
        trained: dict[str, str | None] = {}
        for m in self.meta.values():
            cfg = m.get("codec_config", {})
            if "trained_with" in cfg:  # None: no identity term, the control every recognizer is unseen by
                trained[cfg["codec"]] = cfg["trained_with"]
        rows = parities if parities is not None else self.parities()
        bds = bd_rates if bd_rates is not None else self.bd_rates()
        parity = {(p["codec"], p["recognizer"], p["ref"]): p for p in rows}
        bd = {(b["codec"], b["recognizer"]): b for b in bds if b["metric"] == "accuracy"}
        out = []
        for codec, seen_by in sorted(trained.items()):
            for rec in self.recognizers:
                p = parity.get((codec, rec, "original"))
                if p is None:  # not measured with this recognizer
                    continue
                verdict, why = advantage_verdict(p, parity.get((self.anchor.codec, rec, "original")))
                at_anchor = parity.get((codec, rec, "anchor"))
                out.append(
                    {
                        "codec": codec,
                        "trained_with": seen_by,
                        "recognizer": rec,
                        "seen": seen_by is not None and (rec == seen_by or rec.startswith(seen_by + ":")),
                        "parity_ratio_anchor": at_anchor["ratio"] if at_anchor else None,
                        "parity_ratio_original": p["ratio"],
                        "bd_rate_percent": (bd.get((codec, rec)) or {}).get("bd_rate_percent"),
                        "bd_overlap": (bd.get((codec, rec)) or {}).get("overlap"),
                        "advantage": verdict,
                        "why": why,
                    }
                )
        return out

    def to_json(self) -> dict[str, Any]:
        parities = self.parities()
        bd_rates = self.bd_rates()
        return {
            "schema": SCHEMA_VERSION,
            "dataset": self.dataset,
            "protocol": self.protocol,
            "epsilon": self.epsilon,
            "anchor": {"codec": self.anchor.codec, "quality": self.anchor.quality, "bpp": _num(self.anchor_bpp())},
            "reference": self.reference(),
            "curves": self.curves(),
            "bd_rate": bd_rates,
            "parity": parities,
            "bit_accounting": self.bit_accounting(),
            "codec_info": self.codec_info(),
            "robustness": self.robustness(parities, bd_rates),
            "against_roi": self.against_roi(parities),
        }


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _bd_row(codec: str, rec: str, anchor: str, metric: str, d: Any) -> dict[str, Any]:
    return {
        "codec": codec,
        "recognizer": rec,
        "anchor_codec": anchor,
        "metric": metric,
        "bd_rate_percent": _num(d.value),
        "overlap": _num(d.overlap),
        "interval": [_num(d.interval[0]), _num(d.interval[1])],
        "reason": d.reason,
    }


def _parity_row(codec: str, rec: str, ref: str, target: float, p: Any, base: float, ratio_to: str) -> dict[str, Any]:
    ratio = p.rate / base if p.reached and base and math.isfinite(base) else math.nan
    return {
        "codec": codec,
        "recognizer": rec,
        "ref": ref,
        "target_accuracy": _num(target),
        "bpp": _num(p.rate),
        "ratio": _num(ratio),
        "reached": p.reached,
        "status": p.status,
        "ratio_to": ratio_to,
    }


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


def advantage_verdict(codec_parity: dict[str, Any] | None, anchor_parity: dict[str, Any] | None) -> tuple[str, str]:
    """Does a codec keep the originals' accuracy (− ε) with fewer bits than the anchor codec? ``holds``,
    ``does not hold`` or ``undecided``, and why. A parity found at a curve's lowest measured rate is only an upper
    bound, so a ratio decides only in the direction the bound allows."""
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
    if ratio < 1 and not anchor_bound:  # the codec's true parity is at or below its figure: still < 1
        return "holds", f"{ratio:.0%} of the anchor codec's parity bpp"
    if ratio >= 1 and not codec_bound:  # the anchor codec's true parity is at or below its figure: still ≥ 1
        return "does not hold", f"{ratio:.0%} of the anchor codec's parity bpp"
    which = "both curves reach" if codec_bound and anchor_bound else "a curve reaches"
    return "undecided", f"{which} parity at the lowest measured rate (ratio {ratio:.0%} is only bounded)"


def analyse(
    store_dir: Path | str, anchor: str = "hevc:23", epsilon: float = 0.5, protocol: str = "lfw10fold"
) -> Analysis:
    if protocol not in PROTOCOLS:
        raise IprBenchError(f"unknown threshold protocol {protocol!r}; protocols: {', '.join(PROTOCOLS)}")
    store = ResultStore(store_dir)
    labels = store.labels()
    if not labels:
        raise IprBenchError(f"no results store at {store_dir} (expected {store_dir}/items/*.parquet)")
    meta = {label: store.read_meta(label) or {} for label in labels}
    recognizers = sorted({c["recognizer"] for m in meta.values() for c in m.get("recognizers", {}).values()})
    table = summarize(store, labels, recognizers, protocols=(protocol,))
    if table.empty:
        raise IprBenchError(
            f"nothing to analyse in {store_dir} under protocol {protocol} (fixed-original needs originals)"
        )
    first = next(iter(meta.values()))
    a = Anchor.parse(anchor)
    label = first.get("dataset_label", first.get("dataset", "?"))
    return Analysis(label, table, a, epsilon, protocol, meta=meta)


# ------------------------------------------------------------------------------------------------- figures
