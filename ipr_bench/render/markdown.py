"""report.md: the tables of an analysis, the verdict sentences, the document around them."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ipr_bench.analysis.analyse import Analysis
from ipr_bench.analysis.uncertainty import LEVEL
from ipr_bench.analysis.verdicts import is_bound, own_parities, ratio_bounds


def fmt(x: Any, spec: str = ".3f", none: str = "—") -> str:
    return none if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


def fmt_ratio(ratio: Any, spec: str = ".0%", over_bound: bool = False, under_bound: bool = False) -> str:
    """A ratio of two parity bpps either of which may be only an upper bound (parity found at a curve's lowest
    measured rate): ``over_bound`` the numerator's, ``under_bound`` the denominator's. The ratio is then bounded
    above (≤), below (≥), or, with both, not at all."""
    text = fmt(ratio, spec)
    if text == "—" or over_bound == under_bound:
        return f"{text} (both bounds)" if over_bound and text != "—" else text
    return ("≤ " if over_bound else "≥ ") + text


def fmt_bpp_interval(interval: list | None, bounded: bool = False) -> str:
    """A parity bpp's bootstrap interval; an open upper end: in some resamples parity is never reached. None for
    a parity found at the lowest measured rate (a bound)."""
    if not interval or bounded:
        return "—"
    lo, hi = interval
    return f"{fmt(lo, '.3f')}–{fmt(hi, '.3f')}" if hi is not None else f"{fmt(lo, '.3f')} to never reached"


def fmt_ratio_interval(interval: list | None, bounded: bool = False) -> str:
    """A parity ratio's bootstrap interval; none for a ratio that is itself only a bound (its resamples are
    bounds too, so their spread says nothing about the ratio)."""
    return "— (a bound)" if bounded else ratio_bounds(*interval) if interval else "—"


def markdown_tables(analysis: Analysis, data: dict[str, Any]) -> dict[str, str]:
    t: dict[str, str] = {}
    lines = ["| recognizer | accuracy % (± std over folds) |", "|---|---|"]
    lines += [f"| {r['recognizer']} | {r['accuracy']:.2f} ± {r['std']:.2f} |" for r in data["reference"]]
    t["reference"] = "\n".join(lines)

    lines = ["| codec | recognizer | metric | BD-rate vs " + analysis.anchor.codec + " | overlap | interval | note |"]
    lines.append("|---|---|---|---|---|---|---|")
    for r in data["bd_rate"]:
        interval = f"{fmt(r['interval'][0], '.2f')}–{fmt(r['interval'][1], '.2f')}"
        lines.append(
            f"| {r['codec']} | {r['recognizer']} | {r['metric']} | {fmt(r['bd_rate_percent'], '+.1f')} % | "
            f"{fmt(r['overlap'], '.0%')} | {interval} | {r['reason']} |"
        )
    t["bd_rate"] = "\n".join(lines)

    lines = [
        f"| recognizer | codec | reference | target acc % | parity bpp | {LEVEL:.0%} interval (pairs resampled) "
        "| ratio | how |",
        "|---|---|---|---|---|---|---|---|",
    ]
    own_parity = own_parities(data["parity"], analysis.anchor.codec)
    for r in sorted(data["parity"], key=lambda r: (r["recognizer"], r["ref"], r["codec"])):
        ref = f"{analysis.anchor.codec}:{analysis.anchor.quality:g} − ε" if r["ref"] == "anchor" else "originals − ε"
        own = own_parity.get(r["recognizer"]) if r["ref"] == "original" else None
        ratio = fmt_ratio(r["ratio"], ".1%", is_bound(r), bool(own and is_bound(own))) + (
            " of anchor bpp" if r["ref"] == "anchor" else f" of {analysis.anchor.codec}'s"
        )
        lines.append(
            f"| {r['recognizer']} | {r['codec']} | {ref} | {fmt(r['target_accuracy'], '.2f')} | "
            f"{fmt(r['bpp'], '.4f')} | {fmt_bpp_interval(r.get('bpp_interval'), is_bound(r))} | "
            f"{ratio if r['reached'] else '—'} | {r['status']} |"
        )
    t["parity"] = "\n".join(lines)

    if data["bit_accounting"]:
        keys = sorted({k for r in data["bit_accounting"] for k in r} - {"codec", "quality", "bpp"})
        lines = ["| codec | quality | payload bpp | " + " | ".join(f"{k} bpp" for k in keys) + " |"]
        lines.append("|---|---|---|" + "---|" * len(keys))
        for r in data["bit_accounting"]:
            lines.append(
                f"| {r['codec']} | {fmt(r['quality'], 'g')} | {fmt(r['bpp'], '.4f')} | "
                + " | ".join(fmt(r.get(k), ".4f") for k in keys)
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
            f"| {r['codec']} | {fmt(r['quality'], 'g')} | {fmt(r['bpp'], '.4f')} | "
            + " | ".join(fmt(r.get(k), ".3f") for k in keys)
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
            f"| ratio | {LEVEL:.0%} interval of the ratio | resamples with fewer bits |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in data["against_roi"]:
            le, base_le = ("≤ " if r.get("bound") else ""), ("≤ " if r.get("baseline_bound") else "")
            bounded = bool(le or base_le)
            base = f"{r['baseline']} ({base_le}{fmt(r['baseline_bpp'], '.3f')})" if r["baseline"] else "none reaches"
            lines.append(
                f"| {r['recognizer']} | {r['codec']} | {le}{fmt(r['bpp'], '.3f')} | {base} | "
                f"{fmt_ratio(r['ratio'], '.0%', bool(r.get('bound')), bool(r.get('baseline_bound')))} | "
                f"{fmt_ratio_interval(r.get('ratio_interval'), bounded)} | "
                f"{'—' if bounded else fmt(r.get('share_fewer_bits'), '.0%')} |"
            )
        lines += ["", roi_verdict(data["against_roi"])]
        t["against_roi"] = "\n".join(lines)

    if data["robustness"]:
        anchor_name = f"{data['anchor']['codec']}:{fmt(data['anchor']['quality'], 'g')}"
        lines = [
            f"| codec | trained with | evaluated by | seen? | parity bpp / {anchor_name} bpp | "
            f"parity bpp / {data['anchor']['codec']}'s parity bpp | BD-rate vs {data['anchor']['codec']} | "
            "BD-rate at equal cosine | advantage | why |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in data["robustness"]:
            bd = r.get("bd_rate_percent")
            bd_text = f"{bd:+.1f} %" if bd is not None else f"n/a (overlap {fmt(r.get('bd_overlap'), '.0%')})"
            bd_cos = r.get("bd_rate_cosine_percent")
            cos_text = (
                f"{bd_cos:+.1f} %" if bd_cos is not None else f"n/a (overlap {fmt(r.get('bd_cosine_overlap'), '.0%')})"
            )
            of_anchor = fmt_ratio(r.get("parity_ratio_anchor"), ".1%", r.get("bound_anchor", False))
            if r.get("ratio_interval_anchor") and not r.get("bound_anchor"):
                of_anchor += f" ({fmt_ratio_interval(r['ratio_interval_anchor'])})"
            of_own = fmt_ratio(
                r["parity_ratio_original"], ".1%", r.get("bound_original", False), r.get("anchor_bound", False)
            )
            if r.get("ratio_interval_original") and not (r.get("bound_original") or r.get("anchor_bound")):
                of_own += f" ({fmt_ratio_interval(r['ratio_interval_original'])})"
            lines.append(
                f"| {r['codec']} | {r['trained_with'] or 'none (no identity term)'} | {r['recognizer']} | "
                f"{'seen' if r['seen'] else 'unseen'} | {of_anchor} | {of_own} | "
                f"{bd_text} | {cos_text} | {r.get('advantage', '—')} | {r.get('why', '')} |"
            )
        lines += ["", robustness_verdict(data["robustness"], data["anchor"]["codec"])]
        t["robustness"] = "\n".join(lines)
    else:
        t["robustness"] = "No codec in this store records the recognizer it was trained with (no learned codecs)."

    if data.get("identity_term"):
        cells = {(r["codec"], r["recognizer"], r["metric"]): r for r in data["identity_term"]}
        fold_std = {r["recognizer"]: r["std"] for r in data["reference"]}
        lines = [
            "| codec | control | recognizer | seen? | Δ accuracy (pp) | Δ identity cosine | Δ TAR@FAR=1e-3 (pp) "
            "| shared bpp range | originals' accuracy std over folds (pp) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for codec, control, rec, seen in dict.fromkeys(
            (r["codec"], r["control"], r["recognizer"], r["seen"]) for r in data["identity_term"]
        ):
            row = [cells[(codec, rec, m)] for m in ("accuracy", "cos_to_original", "tar_at_far")]
            text = [
                fmt(r["delta"], spec, none=f"n/a (overlap {fmt(r['overlap'], '.0%')})")
                for r, spec in zip(row, ("+.2f", "+.4f", "+.2f"), strict=True)
            ]
            if row[0].get("delta_interval"):
                text[0] += (
                    f" ({fmt(row[0]['delta_interval'][0], '+.2f')} to {fmt(row[0]['delta_interval'][1], '+.2f')})"
                )
            lo, hi = row[0]["bpp_interval"]
            lines.append(
                f"| {codec} | {control} | {rec} | {'seen' if seen else 'unseen'} | {' | '.join(text)} | "
                f"{fmt(lo, '.3f')}–{fmt(hi, '.3f')} | {fmt(fold_std.get(rec), '.2f')} |"
            )
        lines += [
            "",
            "Bjøntegaard differences at equal bpp over the rates both curves cover (codec minus control; positive: "
            "the identity term keeps more), each curve reduced to its Pareto envelope; n/a where they share less "
            "than 25% of their log-rate range. In brackets: the Δ accuracy's "
            f"{LEVEL:.0%} interval over the pairs resampled within folds (the same pairs for both codecs); a Δ "
            "accuracy whose interval holds 0 is within the noise. The last column gives the folds' spread for scale.",
            "",
            identity_verdict(data["identity_term"]),
        ]
        t["identity_term"] = "\n".join(lines)
    return t


def identity_verdict(rows: list[dict[str, Any]]) -> str:
    """The paper's claim read off the identity_term rows: under which recognizers a codec trained with the
    identity term keeps both higher accuracy and higher identity cosine than its control at equal bpp."""
    parts = []
    for codec, control in dict.fromkeys((r["codec"], r["control"]) for r in rows):
        deltas: dict[tuple[str, bool], dict[str, float | None]] = {}
        noise: dict[tuple[str, bool], list] = {}
        for r in rows:
            if r["codec"] == codec:
                deltas.setdefault((r["recognizer"], r["seen"]), {})[r["metric"]] = r["delta"]
                if r["metric"] == "accuracy" and r.get("delta_interval"):
                    noise[(r["recognizer"], r["seen"])] = r["delta_interval"]
        verdicts = {
            key: _identity_verdict(d.get("accuracy"), d.get("cos_to_original"), noise.get(key))
            for key, d in deltas.items()
        }
        groups: dict[str, list[str]] = {}
        for (rec, seen), verdict in verdicts.items():
            groups.setdefault(verdict, []).append(_recognizer_label(rec, seen))
        unseen = [v for (_, seen), v in verdicts.items() if not seen]
        said = "; ".join(f"{k} under {', '.join(v)}" for k, v in groups.items())
        parts.append(
            f"At equal bpp, {codec}'s accuracy and identity cosine against {control}'s: {said}. "
            f"Both higher under {unseen.count('higher')} of {len(unseen)} unseen recognizers."
        )
    return " ".join(parts)


def _identity_verdict(accuracy: float | None, cosine: float | None, accuracy_interval: list | None = None) -> str:
    if accuracy is None or cosine is None:
        return "undecided (too little shared rate range)"
    noisy = (
        bool(accuracy_interval) and None not in accuracy_interval and accuracy_interval[0] <= 0 <= accuracy_interval[1]
    )
    if noisy and accuracy * cosine > 0:  # same signs: the accuracy part is what the noise cannot tell
        return f"{'higher' if accuracy > 0 else 'lower'} cosine, accuracy within the noise"
    if accuracy > 0 and cosine > 0:
        return "higher"
    if accuracy < 0 and cosine < 0:
        return "lower"
    return "neither both higher nor both lower"


def _recognizer_label(recognizer: str, seen: bool) -> str:
    return f"{recognizer} ({'seen' if seen else 'unseen'})"


def robustness_verdict(rows: list[dict[str, Any]], anchor_codec: str) -> str:
    """The plain statement the robustness table exists for: under which recognizers each learned codec's
    advantage over the anchor codec (fewer bits at parity with the originals) holds."""
    parts = []
    for codec in dict.fromkeys(r["codec"] for r in rows):
        groups: dict[str, list[str]] = {}
        for r in rows:
            if r["codec"] == codec:
                label = _recognizer_label(r["recognizer"], r["seen"])
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
        ratio = fmt_ratio(r["ratio"], ".0%", bool(r.get("bound")), bool(r["baseline_bound"]))
        if r.get("ratio_interval") and not (r.get("bound") or r["baseline_bound"]):
            ratio += f"; {LEVEL:.0%} interval {fmt_ratio_interval(r['ratio_interval'])}"
        parts.append(
            f"{r['codec']} {verbs[verdict]} {r['baseline']} under {r['recognizer']} "
            f"({'≤ ' if r.get('bound') else ''}{r['bpp']:.3f} vs {'≤ ' if r['baseline_bound'] else ''}"
            f"{r['baseline_bpp']:.3f} bpp at parity, {ratio})"
        )
    return "; ".join(parts) + "."


SECTIONS = [
    ("reference", "Uncompressed reference"),
    ("parity", "Parity: lowest bpp that keeps accuracy"),
    ("bd_rate", "BD-rate at equal accuracy, identity cosine and TAR@FAR=1e-3"),
    ("bit_accounting", "Bit accounting"),
    ("codec_info", "What the codecs did per image"),
    ("robustness", "Robustness to unseen recognizers"),
    ("against_roi", "Is it more than ROI coding?"),
    ("identity_term", "The identity term against its control (the paper's comparison, at equal bpp)"),
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


def intro_lines(analysis: Analysis, data: dict[str, Any]) -> list[str]:
    a = data["anchor"]
    return [
        f"Dataset: {analysis.dataset}. Anchor: {a['codec']} at quality {a['quality']:g} ({fmt(a['bpp'], '.4f')} bpp). "
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
        f"BD-rate: Bjøntegaard on log-bpp as a function of the metric — accuracy, identity cosine to the original "
        f"(cos_to_original), TAR@FAR=1e-3 (tar_at_far), PSNR — over the shared range of the Pareto envelopes; NaN "
        f"when they share < {analysis.min_overlap:.0%} of their range (the same rule for every metric). Negative = "
        "fewer bits than the anchor codec.",
    ]


def figure_stem(key: str) -> str:
    """The file name (under figures/, without suffix) of a report figure."""
    return "robustness" if key == "robustness" else f"rate_{key}"


def markdown_report(
    analysis: Analysis,
    data: dict[str, Any],
    tables: dict[str, str],
    figures: dict[str, Any],
    galleries: list[str] | None = None,  # figure stems made by `ipr-bench gallery` / `bits`
) -> str:
    lines = [f"# ipr-bench report: {analysis.dataset}", ""]
    lines += [f"- {s}" for s in intro_lines(analysis, data)]
    lines += ["", f"![{FIGURE_TITLES['accuracy']}](figures/rate_accuracy.png)", ""]
    for key, title in SECTIONS:
        if key in tables:  # optional sections (codec_info) only when the store has something to say
            lines += [f"## {title}", "", tables[key], ""]
    for prefix, title in PICTURES:
        names = [name for name in galleries or [] if name.startswith(prefix)]
        if names:
            lines += [f"## {title}", ""] + [f"![{name}](figures/{name}.png)" for name in names] + [""]
    lines += ["## Figures", ""]
    for key in figures:
        stem = figure_stem(key)
        lines += [
            f"### {FIGURE_TITLES[key]}",
            "",
            f"![{FIGURE_TITLES[key]}](figures/{stem}.png) ([SVG](figures/{stem}.svg))",
            "",
        ]
    # the committed reports name the schema's old home; kept so that they regenerate byte-identical (it now lives
    # in ipr_bench/analysis/analyse.py)
    lines += ["Machine-readable: `summary.json` (schema in `ipr_bench/report.py`)."]
    return "\n".join(lines) + "\n"
