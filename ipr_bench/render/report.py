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
                   (parity bpp vs the best ROI baseline's, where the store holds hevc-roi / hevc-blur)

Values that cannot be computed are null, with a reason or status beside them. Accuracy follows ``protocol``
(ipr_bench.analysis.metrics): the LFW 10-fold protocol, or the originals' thresholds fixed for every setting.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ipr_bench.analysis.metrics import PROTOCOLS
from ipr_bench.analysis.rd import MIN_OVERLAP, Curve, bd_rate, parity_rate
from ipr_bench.analysis.summary import summarize
from ipr_bench.core.cache import atomic_write_bytes
from ipr_bench.core.errors import IprBenchError
from ipr_bench.store.results import ResultStore

ORIGINAL = "original"
SCHEMA_VERSION = 1
ROI_BASELINES = ("hevc-roi", "hevc-blur")  # classical codecs told where the face is (ipr_bench.face.roi)


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
        cols = [c for c in self.table.columns if c.startswith("codec_")]
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
        baselines = [c for c in self.codecs if c.split(":")[0] in ROI_BASELINES]
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

METRICS = {
    "accuracy": ("accuracy", "accuracy_std", "verification accuracy (%)"),
    "tar": ("tar_at_far", None, "TAR @ FAR=1e-3 (%)"),
    "cos": ("cos_to_original", None, "mean cosine to the original's embedding"),
    "psnr": ("psnr", None, "PSNR (dB)"),
}


def figure(analysis: Analysis, metric: str = "accuracy", log_bpp: bool = True) -> Any:
    """One panel per recognizer: the metric against bpp for every codec, the originals as a line (± std band)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    col, err, label = METRICS[metric]
    recs = analysis.recognizers if metric != "psnr" else analysis.recognizers[:1]
    fig, axes = plt.subplots(1, len(recs), figsize=(5.2 * len(recs), 4.2), squeeze=False)
    for ax, rec in zip(axes[0], recs, strict=True):
        for codec in analysis.codecs:
            r = analysis.rows(codec, rec)
            if r.empty:
                continue
            ax.errorbar(
                r["bpp"], r[col], yerr=r[err] if err else None, marker="o", ms=3.5, capsize=2, lw=1.2, label=codec
            )
        ref = analysis.rows(ORIGINAL, rec)
        if len(ref) and metric in ("accuracy", "tar"):
            y = float(ref[col].iloc[0])
            ax.axhline(y, color="k", lw=1, ls="--", label="original")
            if err:
                s = float(ref[err].iloc[0])
                ax.axhspan(y - s, y + s, color="k", alpha=0.08)
        a_row = analysis.anchor_row(rec)
        if a_row is not None and metric != "psnr":
            ax.plot(
                [a_row["bpp"]],
                [a_row[col]],
                "k*",
                ms=10,
                label=f"anchor {analysis.anchor.codec}:{analysis.anchor.quality:g}",
            )
        if log_bpp:
            ax.set_xscale("log")
        ax.set_xlabel("bpp (payload)")
        ax.set_ylabel(label)
        ax.set_title(rec if metric != "psnr" else "all recognizers")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"{analysis.dataset}: {label} vs bpp ({analysis.protocol} thresholds)", fontsize=10)
    fig.tight_layout()
    return fig


def robustness_figure(analysis: Analysis, rows: list[dict[str, Any]]) -> Any | None:
    """Bars of the parity ratio per codec × recognizer (rows: Analysis.robustness())."""
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6.0, 0.65 * len(rows)), 3.5))
    labels = [f"{r['codec']}\n{r['recognizer']}{' (seen)' if r['seen'] else ''}" for r in rows]
    values = [r["parity_ratio_original"] if r["parity_ratio_original"] is not None else np.nan for r in rows]
    bars = ax.bar(range(len(rows)), values, color=["C0" if r["seen"] else "C1" for r in rows])
    for bar, r in zip(bars, rows, strict=True):
        if r.get("advantage") == "undecided":  # a ratio of bounds: hatched
            bar.set_hatch("//")
    ax.axhline(1.0, color="0.3", linewidth=0.8)  # below: fewer bits than the anchor codec at parity
    ax.set_xticks(range(len(rows)), labels, fontsize=7)
    ax.set_ylabel(f"parity bpp / {analysis.anchor.codec}'s parity bpp")
    fig.tight_layout()
    return fig


def _save(fig: Any, stem: Path) -> tuple[bytes, str]:
    import matplotlib
    import matplotlib.pyplot as plt

    png, svg = io.BytesIO(), io.StringIO()
    fig.savefig(png, format="png", dpi=110, metadata={"Software": None})
    # a fixed id salt and no date: the same store gives byte-identical SVGs, so regenerating a report adds no churn
    with matplotlib.rc_context({"svg.hashsalt": "ipr-bench"}):
        fig.savefig(svg, format="svg", metadata={"Date": None})

    plt.close(fig)
    atomic_write_bytes(stem.with_suffix(".png"), png.getvalue())
    atomic_write_bytes(stem.with_suffix(".svg"), svg.getvalue().encode())
    return png.getvalue(), svg.getvalue()


# -------------------------------------------------------------------------------------------- documents


def _fmt(x: Any, spec: str = ".3f", none: str = "—") -> str:
    return none if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


def markdown_tables(analysis: Analysis, data: dict[str, Any]) -> dict[str, str]:
    t: dict[str, str] = {}
    lines = ["| recognizer | accuracy % (± std over folds) |", "|---|---|"]
    lines += [f"| {r['recognizer']} | {r['accuracy']:.2f} ± {r['std']:.2f} |" for r in data["reference"]]
    t["reference"] = "\n".join(lines)

    lines = ["| codec | recognizer | metric | BD-rate vs " + analysis.anchor.codec + " | overlap | interval | note |"]
    lines.append("|---|---|---|---|---|---|---|")
    for r in data["bd_rate"]:
        interval = f"{_fmt(r['interval'][0], '.2f')}–{_fmt(r['interval'][1], '.2f')}"
        lines.append(
            f"| {r['codec']} | {r['recognizer']} | {r['metric']} | {_fmt(r['bd_rate_percent'], '+.1f')} % | "
            f"{_fmt(r['overlap'], '.0%')} | {interval} | {r['reason']} |"
        )
    t["bd_rate"] = "\n".join(lines)

    lines = [
        "| recognizer | codec | reference | target acc % | parity bpp | ratio | how |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(data["parity"], key=lambda r: (r["recognizer"], r["ref"], r["codec"])):
        ref = f"{analysis.anchor.codec}:{analysis.anchor.quality:g} − ε" if r["ref"] == "anchor" else "originals − ε"
        ratio = _fmt(r["ratio"], ".1%") + (
            " of anchor bpp" if r["ref"] == "anchor" else f" of {analysis.anchor.codec}'s"
        )
        lines.append(
            f"| {r['recognizer']} | {r['codec']} | {ref} | {_fmt(r['target_accuracy'], '.2f')} | "
            f"{_fmt(r['bpp'], '.4f')} | {ratio if r['reached'] else '—'} | {r['status']} |"
        )
    t["parity"] = "\n".join(lines)

    if data["bit_accounting"]:
        keys = sorted({k for r in data["bit_accounting"] for k in r} - {"codec", "quality", "bpp"})
        lines = ["| codec | quality | payload bpp | " + " | ".join(f"{k} bpp" for k in keys) + " |"]
        lines.append("|---|---|---|" + "---|" * len(keys))
        for r in data["bit_accounting"]:
            lines.append(
                f"| {r['codec']} | {_fmt(r['quality'], 'g')} | {_fmt(r['bpp'], '.4f')} | "
                + " | ".join(_fmt(r.get(k), ".4f") for k in keys)
                + " |"
            )
        anchor_alt = [r for r in data["bit_accounting"] if r["codec"] == analysis.anchor.codec]
        anchor_alt = [r for r in anchor_alt if r["quality"] == analysis.anchor.quality]
        if anchor_alt:
            a = anchor_alt[0]
            moves = ", ".join(f"{k}: ×{a['bpp'] / a[k]:.2f}" for k in keys if a.get(k))
            lines.append("")
            lines.append(
                f"Counting the anchor ({analysis.anchor.codec}:{analysis.anchor.quality:g}) with another accounting "
                f"multiplies every 'of anchor bpp' ratio by: {moves}."
            )
        t["bit_accounting"] = "\n".join(lines)
    else:
        t["bit_accounting"] = "No codec in this store records alternative byte counts."

    if data["codec_info"]:
        keys = sorted({k for r in data["codec_info"] for k in r} - {"codec", "quality", "bpp"})
        lines = ["| codec | quality | bpp | " + " | ".join(f"mean {k}" for k in keys) + " |"]
        lines.append("|---|---|---|" + "---|" * len(keys))
        lines += [
            f"| {r['codec']} | {_fmt(r['quality'], 'g')} | {_fmt(r['bpp'], '.4f')} | "
            + " | ".join(_fmt(r.get(k), ".3f") for k in keys)
            + " |"
            for r in data["codec_info"]
        ]
        lines += [
            "",
            "roi_applied: share of images coded with a face region (the rest had no detected face and were "
            "coded by the plain codec); face_fraction: share of the image's pixels inside the face region.",
        ]
        t["codec_info"] = "\n".join(lines)

    if data["against_roi"]:
        lines = [
            "| recognizer | codec | parity bpp (≤: at its lowest measured rate) | best ROI baseline (parity bpp) "
            "| ratio |",
            "|---|---|---|---|---|",
        ]
        for r in data["against_roi"]:
            le, base_le = ("≤ " if r.get("bound") else ""), ("≤ " if r.get("baseline_bound") else "")
            base = f"{r['baseline']} ({base_le}{_fmt(r['baseline_bpp'], '.3f')})" if r["baseline"] else "none reaches"
            lines.append(
                f"| {r['recognizer']} | {r['codec']} | {le}{_fmt(r['bpp'], '.3f')} | {base} | "
                f"{_fmt(r['ratio'], '.0%')} |"
            )
        lines += ["", roi_verdict(data["against_roi"])]
        t["against_roi"] = "\n".join(lines)

    if data["robustness"]:
        anchor_name = f"{data['anchor']['codec']}:{_fmt(data['anchor']['quality'], 'g')}"
        lines = [
            f"| codec | trained with | evaluated by | seen? | parity bpp / {anchor_name} bpp | "
            f"parity bpp / {data['anchor']['codec']}'s parity bpp | BD-rate vs {data['anchor']['codec']} | "
            "advantage | why |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in data["robustness"]:
            bd = r.get("bd_rate_percent")
            bd_text = f"{bd:+.1f} %" if bd is not None else f"n/a (overlap {_fmt(r.get('bd_overlap'), '.0%')})"
            lines.append(
                f"| {r['codec']} | {r['trained_with'] or 'none (no identity term)'} | {r['recognizer']} | "
                f"{'seen' if r['seen'] else 'unseen'} | {_fmt(r.get('parity_ratio_anchor'), '.1%')} | "
                f"{_fmt(r['parity_ratio_original'], '.1%')} | "
                f"{bd_text} | {r.get('advantage', '—')} | {r.get('why', '')} |"
            )
        lines += ["", robustness_verdict(data["robustness"], data["anchor"]["codec"])]
        t["robustness"] = "\n".join(lines)
    else:
        t["robustness"] = "No codec in this store records the recognizer it was trained with (no learned codecs)."
    return t


def robustness_verdict(rows: list[dict[str, Any]], anchor_codec: str) -> str:
    """The plain statement the robustness table exists for: under which recognizers each learned codec's
    advantage over the anchor codec (fewer bits at parity with the originals) holds."""
    parts = []
    for codec in dict.fromkeys(r["codec"] for r in rows):
        groups: dict[str, list[str]] = {}
        for r in rows:
            if r["codec"] == codec:
                label = f"{r['recognizer']} ({'seen' if r['seen'] else 'unseen'})"
                groups.setdefault(r.get("advantage", "undecided"), []).append(label)
        said = [f"{'is undecided' if k == 'undecided' else k} under {', '.join(v)}" for k, v in groups.items()]
        parts.append(f"{codec}'s advantage over {anchor_codec} at parity with the originals " + "; ".join(said) + ".")
    return " ".join(parts)


def roi_verdict(rows: list[dict[str, Any]]) -> str:
    """The sentence the ROI experiment exists for: does a learned codec beat the best ROI baseline at parity?"""
    learned = [r for r in rows if r["learned"]]
    if not learned:
        bar = [
            f"under {r['recognizer']}, {r['baseline']} reaches it at "
            f"{'≤ ' if r.get('baseline_bound') else ''}{r['baseline_bpp']:.3f} bpp, "
            f"{'≤ ' if r.get('baseline_bound') else ''}{1 / r['ratio']:.0%} of HEVC's {r['bpp']:.3f}"
            + (" (already at its lowest measured rate)" if r.get("baseline_bound") else "")
            for r in rows
            if r["codec"] == "hevc" and r["ratio"]
        ]
        return (
            "No learned codec (ipr / mse) is in this store yet, so whether IPR beats ROI coding at parity is "
            "not answered here."
            + (" The bar it has to clear (parity with the originals): " + "; ".join(bar) + "." if bar else "")
        )
    verbs = {"holds": "beats", "does not hold": "does not beat", "undecided": "is undecided against"}
    parts = []
    for r in learned:
        if r["baseline"] is None:
            parts.append(f"{r['codec']} under {r['recognizer']}: no comparison (no ROI baseline reaches parity)")
            continue
        verdict, why = r["verdict"], r["why"]
        if r["bpp"] is None:
            parts.append(f"{r['codec']} {verbs[verdict]} {r['baseline']} under {r['recognizer']} ({why})")
            continue
        bound = "; a parity at a lowest measured rate only bounds the ratio" if verdict == "undecided" else ""
        parts.append(
            f"{r['codec']} {verbs[verdict]} {r['baseline']} under {r['recognizer']} "
            f"({'≤ ' if r.get('bound') else ''}{r['bpp']:.3f} vs {'≤ ' if r['baseline_bound'] else ''}"
            f"{r['baseline_bpp']:.3f} bpp at parity, {r['ratio']:.0%}{bound})"
        )
    return "; ".join(parts) + "."


def build_report(
    store_dir: Path | str,
    out: Path | str | None = None,
    anchor: str = "hevc:23",
    epsilon: float = 0.5,
    protocol: str = "lfw10fold",
) -> Analysis:
    """report.md, report.html, summary.json and figures/ for a results store (written into ``out``)."""
    analysis = analyse(store_dir, anchor, epsilon, protocol)
    out = Path(out or store_dir)
    data = analysis.to_json()
    if data["anchor"]["bpp"] is None:
        raise IprBenchError(
            f"anchor {anchor} is not in the store {store_dir}: codecs/qualities there: "
            + ", ".join(sorted(set(analysis.table["setting"])))
        )
    figures: dict[str, tuple[bytes, str]] = {}
    for metric in ("accuracy", "tar", "cos", "psnr"):
        figures[metric] = _save(figure(analysis, metric), out / "figures" / f"rate_{metric}")
    robust = robustness_figure(analysis, data["robustness"])
    if robust is not None:
        figures["robustness"] = _save(robust, out / "figures" / "robustness")
    tables = markdown_tables(analysis, data)
    if (out / "bits_inside.csv").is_file():  # written by `ipr-bench bits` (it needs the images and checkpoints)
        tables["bits"] = bits_table(pd.read_csv(out / "bits_inside.csv"))
    atomic_write_bytes(out / "summary.json", (json.dumps(data, indent=1) + "\n").encode())
    # pictures made by `ipr-bench gallery` and `ipr-bench bits` (they need the images; the report only the store)
    galleries = {
        g.stem: g.read_bytes() for prefix, _ in PICTURES for g in sorted((out / "figures").glob(f"{prefix}*.png"))
    }
    atomic_write_bytes(out / "report.md", _markdown(analysis, data, tables, figures, galleries).encode())
    atomic_write_bytes(out / "report.html", _html(analysis, data, tables, figures, galleries).encode())
    return analysis


SECTIONS = [
    ("reference", "Uncompressed reference"),
    ("parity", "Parity: lowest bpp that keeps accuracy"),
    ("bd_rate", "BD-rate at equal accuracy"),
    ("bit_accounting", "Bit accounting"),
    ("codec_info", "What the codecs did per image"),
    ("robustness", "Robustness to unseen recognizers"),
    ("against_roi", "Is it more than ROI coding?"),
    ("bits", "Where the bits go (`ipr-bench bits`)"),
]
PICTURES = (  # figure-file prefix → report section
    ("gallery_", "Gallery (`ipr-bench gallery`)"),
    ("bits_", "Where the bits go: mean bit density in aligned face coordinates (`ipr-bench bits`)"),
)


def bits_table(table: pd.DataFrame) -> str:
    """The inside/outside-the-face table of ``bits_inside.csv`` (ipr_bench.analysis.bitmaps.where_bits_go)."""
    lines = [
        "| codec | setting | bpp (payload) | bpp (entropy model) | face region: share of pixels | share of bits | "
        "concentration (bits share / pixel share) | images (with a face), left out |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.codec} | {r.setting} | {r.bpp_payload:.3f} | {r.bpp_entropy_model:.3f} | {r.face_area_share:.1%} | "
            f"{r.bits_inside_face_share:.1%} | {r.concentration:.2f} | {r.images} ({r.images_with_face})"
            + (f", {r.images_failed} left out |" if getattr(r, "images_failed", 0) else " |")
        )
    lines += [
        "",
        "Face region: the MTCNN box grown by 25% per side (the region hevc-roi and face-aware codecs code higher). "
        "Classical codecs have no row: the bundled x265 exposes no per-block bits or QP "
        "(`scripts/probe_encoder_stats.py`); hevc-roi codes the face region at the CRF's QP and the rest higher.",
    ]
    return "\n".join(lines)


FIGURE_TITLES = {
    "accuracy": "Rate–accuracy",
    "tar": "Rate–TAR@FAR=1e-3",
    "cos": "Rate–identity cosine",
    "psnr": "Rate–PSNR",
    "robustness": "Parity ratio per recognizer",
}


def _intro(analysis: Analysis, data: dict[str, Any]) -> list[str]:
    a = data["anchor"]
    return [
        f"Dataset: {analysis.dataset}. Anchor: {a['codec']} at quality {a['quality']:g} ({_fmt(a['bpp'], '.4f')} bpp). "
        f"ε = {analysis.epsilon:g} percentage points.",
        "bpp is each codec's payload bpp (8 × bytes / pixels of the original; see summary.md for what the bytes "
        "hold). Accuracy, mean ± std over folds, under the threshold protocol "
        + (
            "lfw10fold (each setting's thresholds chosen on its other folds)."
            if analysis.protocol == "lfw10fold"
            else "fixed-original (each fold's threshold chosen on the originals' other folds, kept for every setting)."
        ),
        "Parity: the lowest bpp at which the codec's monotone (Pareto envelope + PCHIP in log-bpp) accuracy curve "
        "reaches the reference − ε; 'anchor' = the anchor point's accuracy, ratio to the anchor's bpp (the "
        "paper's statistic); 'originals' = uncompressed accuracy, ratio to the anchor codec's own parity bpp.",
        f"BD-rate: Bjøntegaard on log-bpp as a function of accuracy (PSNR for the psnr rows) over the shared range "
        f"of the Pareto envelopes; NaN when they share < {analysis.min_overlap:.0%} of their range. Negative = "
        "fewer bits than the anchor codec.",
    ]


def _markdown(
    analysis: Analysis,
    data: dict[str, Any],
    tables: dict[str, str],
    figures: dict[str, Any],
    galleries: dict[str, bytes] | None = None,
) -> str:
    lines = [f"# ipr-bench report: {analysis.dataset}", ""]
    lines += [f"- {s}" for s in _intro(analysis, data)]
    lines += ["", f"![{FIGURE_TITLES['accuracy']}](figures/rate_accuracy.png)", ""]
    for key, title in SECTIONS:
        if key in tables:  # optional sections (codec_info) only when the store has something to say
            lines += [f"## {title}", "", tables[key], ""]
    for prefix, title in PICTURES:
        names = [name for name in galleries or {} if name.startswith(prefix)]
        if names:
            lines += [f"## {title}", ""] + [f"![{name}](figures/{name}.png)" for name in names] + [""]
    lines += ["## Figures", ""]
    for key in figures:
        stem = "robustness" if key == "robustness" else f"rate_{key}"
        lines += [
            f"### {FIGURE_TITLES[key]}",
            "",
            f"![{FIGURE_TITLES[key]}](figures/{stem}.png) ([SVG](figures/{stem}.svg))",
            "",
        ]
    lines += ["Machine-readable: `summary.json` (schema in `ipr_bench/report.py`)."]
    return "\n".join(lines) + "\n"


def _md_table_to_html(text: str) -> str:
    rows = [r for r in text.splitlines() if r.startswith("|")]
    if len(rows) < 2:
        return f"<p>{html.escape(text)}</p>"
    cells = [[html.escape(c.strip()) for c in r.strip("|").split("|")] for r in rows]
    head = "".join(f"<th>{c}</th>" for c in cells[0])
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in cells[2:])
    rest = [r for r in text.splitlines() if r and not r.startswith("|")]
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" + "".join(
        f"<p>{html.escape(r)}</p>" for r in rest
    )


def _html(
    analysis: Analysis,
    data: dict[str, Any],
    tables: dict[str, str],
    figures: dict[str, Any],
    galleries: dict[str, bytes] | None = None,
) -> str:
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>ipr-bench report: {html.escape(analysis.dataset)}</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}table{border-collapse:collapse;"
        "font-size:13px;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}"
        "img{max-width:100%}details{margin:.3em 0 1em}</style></head><body>",
        f"<h1>ipr-bench report: {html.escape(analysis.dataset)}</h1><ul>",
        *[f"<li>{html.escape(s)}</li>" for s in _intro(analysis, data)],
        "</ul>",
    ]
    for key, title in SECTIONS:
        if key in tables:
            parts += [f"<h2>{html.escape(title)}</h2>", _md_table_to_html(tables[key])]
    for prefix, title in PICTURES:
        names = [name for name in galleries or {} if name.startswith(prefix)]
        if names:
            parts.append(f"<h2>{html.escape(title)}</h2>")
        for name in names:
            b64 = base64.b64encode(galleries[name]).decode()
            parts.append(f"<img class='figure' alt='{name}' src='data:image/png;base64,{b64}'>")
    parts.append("<h2>Figures</h2>")
    for key, (png, svg) in figures.items():
        b64 = base64.b64encode(png).decode()
        parts += [
            f"<h3>{FIGURE_TITLES[key]}</h3>",
            f"<img class='figure' alt='{FIGURE_TITLES[key]}' src='data:image/png;base64,{b64}'>",
            f"<details><summary>SVG</summary>{svg[svg.index('<svg') :]}</details>",
        ]
    # lets a headless browser (and a reader's devtools) confirm every figure decoded
    parts.append(
        "<script>window.addEventListener('load',()=>{const imgs=[...document.querySelectorAll('img.figure')];"
        "document.body.dataset.figures=imgs.length;document.body.dataset.figuresLoaded="
        "imgs.filter(i=>i.complete&&i.naturalWidth>0).length;});</script>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)
