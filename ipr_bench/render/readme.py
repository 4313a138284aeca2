"""The README's results section: one block per committed store, rendered from its summary.json (the report's
numbers, as compact tables and the verdict sentences of report.md)."""

from __future__ import annotations

import json
from pathlib import Path

from ipr_bench.analysis.verdicts import is_bound
from ipr_bench.render.markdown import fmt, robustness_verdict, roi_verdict

README_CAPTIONS = (
    (
        "gallery_",
        "A matched LFW pair at matched rates (`ipr-bench gallery`; captions: the pair's bpp, each image's cosine to "
        "its original, the pair's score against its fold's threshold):",
    ),
    (
        "bits_",
        "Where the learned codec spends its bits, averaged over LFW images in aligned face coordinates "
        "(`ipr-bench bits`; the share inside the face region is in the report):",
    ),
)


def store_section(root: Path, title: str, store: str, made_by: list[str], figures: tuple[str, ...] = ()) -> list[str]:
    """The README lines for one committed store (``root``/``store``), from its summary.json: ``title``, the
    commands that ``made_by`` it, the ``figures`` of its that the README shows; [] when it has no summary yet."""
    path = root / store / "summary.json"
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    anchor = data["anchor"]
    lines = [
        f"### {title}",
        "",
        f"{data['dataset']}; `{store}/` ([report]({store}/report.md)); made by "
        + "; ".join(f"`{command}`" for command in made_by)
        + ". Accuracy % ± std over folds (LFW protocol); bpp = payload bpp.",
        "",
        f"![Rate–accuracy]({store}/figures/rate_accuracy.png)",
        "",
    ]
    for stem in figures:
        if (root / store / "figures" / f"{stem}.png").is_file():
            caption = next(text for prefix, text in README_CAPTIONS if stem.startswith(prefix))
            lines += [caption, "", f"![{stem}]({store}/figures/{stem}.png)", ""]
    curves = data["curves"]
    recognizers = [r["recognizer"] for r in data["reference"]]
    codecs = sorted({c["codec"] for c in curves if c["quality"] is not None}, key=lambda c: (c != anchor["codec"], c))
    for codec in codecs:
        points = [c for c in curves if c["codec"] == codec]
        bpp = {c["quality"]: c["bpp"] for c in points}
        qualities = sorted(bpp, key=lambda q: bpp[q] or 0)
        knob = points[0].get("knob") or "quality"
        header = " | ".join(f"{knob} {q:g}" for q in qualities)
        lines += [f"| {codec} | originals | {header} |", "|---|---|" + "---|" * len(qualities)]
        lines.append("| bpp | — | " + " | ".join(fmt(bpp[q], ".3f") for q in qualities) + " |")
        for rec in recognizers:
            ref = next(r for r in data["reference"] if r["recognizer"] == rec)
            acc = {c["quality"]: c for c in points if c["recognizer"] == rec}
            cells = [
                f"{fmt(acc[q]['accuracy'], '.2f')} ± {fmt(acc[q]['std'], '.2f')}" if q in acc else "—"
                for q in qualities
            ]
            lines.append(f"| {rec} | {ref['accuracy']:.2f} ± {ref['std']:.2f} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        f"Parity (lowest bpp whose interpolated accuracy is within {data['epsilon']:g} pp of the originals) and "
        f"BD-rate against {anchor['codec']} (accuracy; NaN where the curves share < 25% of their range):",
        "",
        "| codec | recognizer | parity bpp | vs "
        + anchor["codec"]
        + "'s own parity bpp | BD-rate vs "
        + anchor["codec"]
        + " (overlap) |",
        "|---|---|---|---|---|",
    ]
    bd = {(r["codec"], r["recognizer"]): r for r in data["bd_rate"] if r["metric"] == "accuracy"}
    for p in sorted(data["parity"], key=lambda p: (p["codec"] != anchor["codec"], p["codec"], p["recognizer"])):
        if p["ref"] != "original":
            continue
        b = bd.get((p["codec"], p["recognizer"]))
        if b is None:
            bd_text = "—"
        elif b["bd_rate_percent"] is None:
            bd_text = f"n/a (overlap {fmt(b['overlap'], '.0%')})"
        else:
            bd_text = f"{b['bd_rate_percent']:+.1f}% ({fmt(b['overlap'], '.0%')})"
        ratio = fmt(p["ratio"], ".0%") if p["reached"] else "not reached"
        bound = "≤ " if is_bound(p) else ""  # reached at the lowest measured rate: an upper bound
        lines.append(f"| {p['codec']} | {p['recognizer']} | {bound}{fmt(p['bpp'], '.3f')} | {ratio} | {bd_text} |")
    if data.get("against_roi"):
        lines += ["", "Is it more than ROI coding? " + roi_verdict(data["against_roi"])]
    if data.get("robustness"):
        lines += ["", "Seen and unseen recognizers: " + robustness_verdict(data["robustness"], anchor["codec"])]
    anchor_parity = [p for p in data["parity"] if p["ref"] == "anchor" and p["reached"]]
    if anchor_parity:
        by_codec: dict[str, list[str]] = {}
        for p in sorted(anchor_parity, key=lambda p: (p["codec"] != anchor["codec"], p["codec"], p["recognizer"])):
            by_codec.setdefault(p["codec"], []).append(f"{p['recognizer']} {fmt(p['ratio'], '.0%')}")
        lines += [
            "",
            f"Anchor {anchor['codec']}:{anchor['quality']:g} = {fmt(anchor['bpp'], '.3f')} bpp. Against the "
            "anchor's own accuracy (the paper's statistic), each codec reaches it at this share of the anchor's bpp: "
            + "; ".join(f"{codec}: {', '.join(parts)}" for codec, parts in by_codec.items())
            + ".",
        ]
    return [*lines, ""]
