"""The analysis of a results store: rate–accuracy curves, BD-rate at equal accuracy, the paper's parity statistic,
robustness to unseen recognizers, bit accounting — as report.md, a self-contained report.html, figures (PNG and
SVG) and summary.json. Everything is computed from the store alone (no re-encoding).

summary.json schema (version 1; ratios are fractions, bpp is payload bpp as defined by each codec)::

    {"schema": 1, "dataset": str, "protocol": "lfw10fold"|"fixed-original", "epsilon": float (percentage points),
     "anchor": {"codec": str, "quality": float, "bpp": float},
     "reference": [{"recognizer": str, "accuracy": float, "std": float}],
     "curves": [{"codec", "recognizer", "knob", "quality", "bpp", "accuracy", "std", "tar_at_far", "cos_to_original",
                 "psnr", "decisions_changed", "flip_rate" (%)}],
     "bd_rate": [{"codec", "recognizer", "anchor_codec", "metric": "accuracy"|"cos_to_original"|"tar_at_far"|"psnr",
                  "bd_rate_percent", "overlap", "interval": [lo, hi], "reason"}],
                 (per recognizer at equal accuracy, equal identity cosine to the original and equal TAR@FAR=1e-3 —
                  the last two do not saturate where accuracy does; PSNR once per codec)
     "parity": [{"codec", "recognizer", "ref": "anchor"|"original", "target_accuracy", "bpp", "ratio",
                 "reached", "status", "ratio_to": "anchor bpp"|"anchor codec's own parity bpp",
                 "bpp_interval": [lo, hi|null] (null: in some resamples never reached),
                 "ratio_interval": [lo, hi|null] (ref anchor only: bpp_interval / the anchor's bpp)}],
     "bit_accounting": [{"codec", "quality", "bpp", "<alternative>": bpp, ...}],
     "codec_info": [{"codec", "quality", "bpp", "<fact>": mean over images, ...}]  (e.g. roi_applied: the share
                   of images a region-of-interest codec coded with a face region; the rest fell back),
     "robustness": [{"codec", "trained_with", "recognizer", "seen", "parity_ratio_anchor", "parity_ratio_original",
                     "bound_anchor", "bound_original", "anchor_bound", "ratio_interval_anchor",
                     "ratio_interval_original",
                     "share_fewer_bits", "bd_rate_percent", "bd_overlap", "bd_rate_cosine_percent",
                     "bd_cosine_overlap", "advantage": "holds"|"does not hold"|"undecided", "why"}],
     "against_roi": [{"codec", "recognizer", "baseline", "baseline_bpp", "baseline_bound", "bpp", "bound", "ratio",
                      "ratio_interval", "share_fewer_bits",
                      "verdict": "holds"|"does not hold"|"undecided"|null, "why", "learned"}],
     "identity_term": [{"codec", "control", "trained_with", "recognizer", "seen", "metric", "delta", "overlap",
                        "bpp_interval": [lo, hi], "delta_interval": [lo, hi]|null (accuracy only), "reason"}]}
                   (bound: parity found at the curve's lowest measured rate, an upper bound)
                   (intervals: 95% percentile intervals of the paired bootstrap over the pairs, analysis.uncertainty;
                    ratio_interval: of the codec's parity bpp / the other's; share_fewer_bits: the share of
                    resamples in which the codec needed fewer bits; an advantage whose interval holds 1 is
                    undecided, within the noise)
                   (parity bpp vs the best ROI baseline's: codecs with Codec.roi_baseline, e.g. hevc-roi, hevc-blur)
                   (identity_term: the paper's comparison. Each codec trained with an identity term against its
                    control, the one codec trained without it on the same architecture and rate points and coded
                    the same way (ipr vs mse, ipr-roi vs mse-roi): delta = the Bjøntegaard difference of
                    ``metric`` (accuracy and TAR in percentage points, identity cosine) at equal bpp over the
                    shared rate range, codec minus control, null with a reason below the overlap rule)

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
from ipr_bench.analysis.rd import MIN_OVERLAP, Curve, bd_quality, bd_rate, parity_rate
from ipr_bench.analysis.summary import summarize
from ipr_bench.analysis.uncertainty import interval, pair_outcomes, resample_accuracies, share_below
from ipr_bench.analysis.verdicts import (
    advantage_verdict,
    bd_row,
    is_bound,
    is_roi_baseline,
    is_seen,
    num,
    parity_row,
)
from ipr_bench.core.errors import IprBenchError
from ipr_bench.store import schema
from ipr_bench.store.results import ResultStore

ORIGINAL = "original"
# BD-rate per recognizer at equal: accuracy (the protocol's), identity cosine to the original, TAR@FAR=1e-3
RECOGNITION_METRICS = ("accuracy", "cos_to_original", "tar_at_far")
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
    # (setting, recognizer) → its accuracy in each paired bootstrap resample of the pairs (analysis.uncertainty)
    resamples: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    _parity_samples: dict[tuple[str, str, str], np.ndarray | None] = field(default_factory=dict, init=False, repr=False)

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

    def anchor_rows(self, recognizer: str) -> pd.DataFrame:
        r = self.rows(self.anchor.codec, recognizer)
        return r[np.isclose(r["quality"].astype(float), self.anchor.quality)]

    def anchor_row(self, recognizer: str) -> pd.Series | None:
        r = self.anchor_rows(recognizer)
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
                    "quality": num(r["quality"]),
                    "bpp": num(r["bpp"]),
                    "accuracy": num(r["accuracy"]),
                    "std": num(r["accuracy_std"]),
                    "tar_at_far": num(r["tar_at_far"]),
                    "cos_to_original": num(r["cos_to_original"]),
                    "psnr": num(r["psnr"]),
                    "decisions_changed": num(r["decisions_changed"]),
                    "flip_rate": num(r["flip_rate"]),
                }
            )
        return out

    def bd_rates(self) -> list[dict[str, Any]]:
        out = []
        others = [c for c in self.codecs if c != self.anchor.codec]
        for codec in others:
            for rec in self.recognizers:
                for metric in RECOGNITION_METRICS:
                    d = bd_rate(
                        self.curve(self.anchor.codec, rec, metric), self.curve(codec, rec, metric), self.min_overlap
                    )
                    out.append(bd_row(codec, rec, self.anchor.codec, metric, d))
            rec0 = self.recognizers[0]  # PSNR does not depend on the recognizer
            d = bd_rate(self.curve(self.anchor.codec, rec0, "psnr"), self.curve(codec, rec0, "psnr"), self.min_overlap)
            out.append(bd_row(codec, "—", self.anchor.codec, "psnr", d))
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
                    bpp_interval = as_json(interval_of(self.parity_samples(codec, rec, "anchor")))
                    out.append(
                        {
                            **parity_row(codec, rec, "anchor", target, p, anchor_bpp, "anchor bpp"),
                            "bpp_interval": bpp_interval,
                            # the anchor's bpp is fixed: the paper's statistic's interval is the bpp's, scaled
                            "ratio_interval": scaled(bpp_interval, anchor_bpp),
                        }
                    )
                if rec in reference:
                    target = reference[rec] - self.epsilon
                    p = parity_rate(curve, target)
                    base = own_anchor.rate if own_anchor.reached else math.nan
                    row = parity_row(codec, rec, "original", target, p, base, "anchor codec's own parity bpp")
                    out.append({**row, "bpp_interval": as_json(interval_of(self.parity_samples(codec, rec)))})
        return out

    def parity_samples(self, codec: str, recognizer: str, ref: str = "original") -> np.ndarray | None:
        """The codec's parity bpp in each bootstrap resample (inf: not reached there), with the originals' or
        (``ref="anchor"``) the anchor point's resampled accuracy as the target; None without resamples for every
        point of its curve and the target."""
        key = (codec, recognizer, ref)
        if not self.resamples:
            return None
        if key not in self._parity_samples:
            self._parity_samples[key] = None
            target = self.rows(ORIGINAL, recognizer) if ref == "original" else self.anchor_rows(recognizer)
            rows = self.rows(codec, recognizer)
            wanted = [(s, recognizer) for s in [*target["setting"], *rows["setting"]]]
            if len(target) and len(rows) and all(k in self.resamples for k in wanted):
                targets = self.resamples[wanted[0]] - self.epsilon
                accuracy = np.stack([self.resamples[k] for k in wanted[1:]], axis=1)
                bpp = rows["bpp"].to_numpy()
                found = [parity_rate(Curve.of(bpp, a), t) for a, t in zip(accuracy, targets, strict=True)]
                self._parity_samples[key] = np.array([p.rate if p.reached else np.inf for p in found])
        return self._parity_samples[key]

    def ratio_samples(self, codec: str, other: str, recognizer: str) -> np.ndarray | None:
        """Per resample, codec's parity bpp / other's (paired: the same pairs drawn for both); inf where only the
        codec never reaches parity, 0 where only the other does not, NaN where neither does."""
        a, b = self.parity_samples(codec, recognizer), self.parity_samples(other, recognizer)
        if a is None or b is None:
            return None
        with np.errstate(invalid="ignore"):
            return np.where(np.isinf(b), np.where(np.isinf(a), np.nan, 0.0), a / b)

    def ratio_uncertainty(self, codec: str, other: str, recognizer: str) -> tuple[tuple[float, float] | None, dict]:
        """The ratio's percentile interval (inf: an end where the codec never reaches parity), and the
        summary.json fields: that interval (null for such an end) and how often the codec needed fewer bits."""
        samples = self.ratio_samples(codec, other, recognizer)
        iv = interval_of(samples)
        return iv, {
            "ratio_interval": as_json(iv),
            "share_fewer_bits": share_below(samples) if samples is not None else None,
        }

    def accuracy_delta_interval(self, codec: str, control: str, recognizer: str) -> tuple[float, float] | None:
        """The interval of codec's Bjøntegaard accuracy gain over control at equal bpp across the paired resamples
        (the same pairs drawn for both; a resample whose curves share too little range is left out); None without
        resamples."""
        if not self.resamples:
            return None
        curves = []
        for name in (control, codec):
            rows = self.rows(name, recognizer)
            keys = [(s, recognizer) for s in rows["setting"]]
            if not keys or any(k not in self.resamples for k in keys):
                return None
            curves.append((rows["bpp"].to_numpy(), np.stack([self.resamples[k] for k in keys], axis=1)))
        (bpp_a, acc_a), (bpp_b, acc_b) = curves
        deltas = [
            bd_quality(Curve.of(bpp_a, a), Curve.of(bpp_b, b), self.min_overlap).value
            for a, b in zip(acc_a, acc_b, strict=True)
        ]
        return interval(np.array(deltas))

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
                        "quality": num(row["quality"]),
                        "bpp": num(row["bpp"]),
                        **{c[4:]: num(row[c]) for c in used},
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
                    "quality": num(row["quality"]),
                    "bpp": num(row["bpp"]),
                    **{c[6:]: num(row[c]) for c in used},
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
                iv, noise = self.ratio_uncertainty(codec, best["codec"], rec) if best else (None, {})
                verdict, why = advantage_verdict(p, best, iv) if best else (None, "no ROI baseline reaches parity")
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
                        **noise,
                        "verdict": verdict,  # fewer bits than the baseline: holds / does not hold / undecided
                        "why": why,
                        "learned": codec in learned,
                    }
                )
        return out

    def learned_codecs(self) -> set[str]:
        """Codecs whose config records a training recognizer (None for a rate–distortion-only model, e.g. mse)."""
        return set(self.trained_with())

    def trained_with(self) -> dict[str, str | None]:
        """Learned codec → the recognizer of its identity term (None: no identity term, the control every
        recognizer is unseen by)."""
        trained: dict[str, str | None] = {}
        for m in self.meta.values():
            cfg = m.get("codec_config", {})
            if "trained_with" in cfg:
                trained[cfg["codec"]] = cfg["trained_with"]
        return trained

    def controls(self) -> dict[str, str]:
        """Each codec trained with an identity term → its control: the one codec here trained without it, on the
        same architecture and rate points (λs), coded the same way (face region or whole image). None found, or
        several: no control (the comparison would not isolate the loss)."""
        kinds: dict[str, tuple] = {}
        for m in self.meta.values():
            cfg = m.get("codec_config", {})
            if "trained_with" in cfg:
                checkpoints = tuple(
                    (c.get("architecture"), tuple(c.get("lambdas") or (c.get("lambda"),)))
                    for c in cfg.get("checkpoints", ())
                )
                kinds[cfg["codec"]] = (checkpoints, "background" in cfg)
        trained = self.trained_with()
        out = {}
        for codec, seen_by in sorted(trained.items()):
            if seen_by is None:
                continue
            twins = [c for c, by in trained.items() if by is None and kinds.get(c) == kinds.get(codec)]
            if len(twins) == 1:
                out[codec] = twins[0]
        return out

    def identity_term(self) -> list[dict[str, Any]]:
        """The paper's comparison: per codec with a control (controls()) × recognizer × recognition metric, the
        codec's Bjøntegaard gain over its control at equal bpp (positive: the identity term helps)."""
        trained = self.trained_with()
        out = []
        for codec, control in self.controls().items():
            for rec in self.recognizers:
                if not len(self.curve(codec, rec)) or not len(self.curve(control, rec)):
                    continue  # not measured with this recognizer
                for metric in RECOGNITION_METRICS:
                    d = bd_quality(self.curve(control, rec, metric), self.curve(codec, rec, metric), self.min_overlap)
                    lo, hi = d.interval
                    noise = None  # accuracy only: cosines and TAR are not per-pair decisions
                    if metric == "accuracy" and not d.reason:
                        noise = self.accuracy_delta_interval(codec, control, rec)
                    out.append(
                        {
                            "codec": codec,
                            "control": control,
                            "trained_with": trained[codec],
                            "recognizer": rec,
                            "seen": is_seen(rec, trained[codec]),
                            "metric": metric,
                            "delta": num(d.value),
                            "overlap": num(d.overlap),
                            "bpp_interval": [num(10**lo), num(10**hi)],
                            "delta_interval": as_json(noise),
                            "reason": d.reason,
                        }
                    )
        return out

    def robustness(
        self, parities: list[dict[str, Any]] | None = None, bd_rates: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """Per learned codec × recognizer, seen or unseen in training: parity bpp as a share of the anchor's bpp
        (the paper's statistic) and of the anchor codec's own parity bpp, BD-rate at equal accuracy, and whether
        the codec's advantage holds. ``parities`` / ``bd_rates``: the rows of parities() / bd_rates(), when the
        caller has them already."""
        trained = self.trained_with()
        rows = parities if parities is not None else self.parities()
        bds = bd_rates if bd_rates is not None else self.bd_rates()
        parity = {(p["codec"], p["recognizer"], p["ref"]): p for p in rows}
        bd = {(b["codec"], b["recognizer"]): b for b in bds if b["metric"] == "accuracy"}
        bd_cos = {(b["codec"], b["recognizer"]): b for b in bds if b["metric"] == "cos_to_original"}
        out = []
        for codec, seen_by in sorted(trained.items()):
            for rec in self.recognizers:
                p = parity.get((codec, rec, "original"))
                if p is None:  # not measured with this recognizer
                    continue
                own = parity.get((self.anchor.codec, rec, "original"))
                iv, noise = self.ratio_uncertainty(codec, self.anchor.codec, rec)
                verdict, why = advantage_verdict(p, own, iv)
                at_anchor = parity.get((codec, rec, "anchor"))
                out.append(
                    {
                        "codec": codec,
                        "trained_with": seen_by,
                        "recognizer": rec,
                        "seen": is_seen(rec, seen_by),
                        "parity_ratio_anchor": at_anchor["ratio"] if at_anchor else None,
                        "parity_ratio_original": p["ratio"],
                        # the parity bpps only bounded from above (found at a curve's lowest measured rate)
                        "bound_anchor": bool(at_anchor and at_anchor["reached"] and is_bound(at_anchor)),
                        "bound_original": bool(p["reached"] and is_bound(p)),
                        "anchor_bound": bool(own and own["reached"] and is_bound(own)),
                        "ratio_interval_anchor": at_anchor.get("ratio_interval") if at_anchor else None,
                        "ratio_interval_original": noise["ratio_interval"],
                        "share_fewer_bits": noise["share_fewer_bits"],
                        "bd_rate_percent": (bd.get((codec, rec)) or {}).get("bd_rate_percent"),
                        "bd_overlap": (bd.get((codec, rec)) or {}).get("overlap"),
                        "bd_rate_cosine_percent": (bd_cos.get((codec, rec)) or {}).get("bd_rate_percent"),
                        "bd_cosine_overlap": (bd_cos.get((codec, rec)) or {}).get("overlap"),
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
            "anchor": {"codec": self.anchor.codec, "quality": self.anchor.quality, "bpp": num(self.anchor_bpp())},
            "reference": self.reference(),
            "curves": self.curves(),
            "bd_rate": bd_rates,
            "parity": parities,
            "bit_accounting": self.bit_accounting(),
            "codec_info": self.codec_info(),
            "robustness": self.robustness(parities, bd_rates),
            "against_roi": self.against_roi(parities),
            "identity_term": self.identity_term(),
        }


def interval_of(samples: np.ndarray | None) -> tuple[float, float] | None:
    return interval(samples) if samples is not None else None


def scaled(iv: list[float | None] | None, by: float) -> list[float | None] | None:
    """A summary.json interval of bpp as a share of ``by`` bpp (the anchor's: fixed, so the interval scales)."""
    if not iv or not by or not math.isfinite(by):
        return None
    return [None if v is None else v / by for v in iv]


def as_json(iv: tuple[float, float] | None) -> list[float | None] | None:
    """summary.json's form of an interval: [lo, hi], null for an infinite end (parity not reached)."""
    return [num(iv[0]), num(iv[1])] if iv else None


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
    resamples = resample_accuracies(*pair_outcomes(store, labels, recognizers, protocol))
    return Analysis(label, table, a, epsilon, protocol, meta=meta, resamples=resamples)


# ------------------------------------------------------------------------------------------------- figures
