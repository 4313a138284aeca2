"""The README's results section: one block per committed store, rendered from its summary.json (the report's
numbers, as compact tables and the verdict sentences of report.md)."""

from __future__ import annotations

import json
from pathlib import Path

from ipr_bench.analysis.uncertainty import LEVEL
from ipr_bench.analysis.verdicts import is_bound, own_parities
from ipr_bench.render.markdown import (
    fmt,
    fmt_bpp_interval,
    fmt_ratio,
    fmt_ratio_interval,
    identity_verdict,
    robustness_verdict,
    roi_verdict,
)
from ipr_bench.store.results import ResultStore

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
    results = ResultStore(root / store)
    for stem in figures:
        if results.is_current(root / store / "figures" / f"{stem}.png"):  # made from the codecs it holds now
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
        f"Parity (lowest bpp whose interpolated accuracy is within {data['epsilon']:g} pp of the originals; in "
        f"brackets its {LEVEL:.0%} interval over the pairs resampled within folds) and BD-rate against "
        f"{anchor['codec']} (accuracy; NaN where the curves share < 25% of their range):",
        "",
        "| codec | recognizer | parity bpp | vs "
        + anchor["codec"]
        + "'s own parity bpp | BD-rate vs "
        + anchor["codec"]
        + " (overlap) |",
        "|---|---|---|---|---|",
    ]
    bd = {(r["codec"], r["recognizer"]): r for r in data["bd_rate"] if r["metric"] == "accuracy"}
    own_parity = own_parities(data["parity"], anchor["codec"])
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
        own = own_parity.get(p["recognizer"])
        ratio = "not reached"
        if p["reached"]:
            ratio = fmt_ratio(p["ratio"], ".0%", is_bound(p), bool(own and is_bound(own)))
        bound = "≤ " if is_bound(p) else ""  # reached at the lowest measured rate: an upper bound
        noise = f" ({fmt_bpp_interval(p['bpp_interval'])})" if p.get("bpp_interval") and not bound else ""
        lines.append(
            f"| {p['codec']} | {p['recognizer']} | {bound}{fmt(p['bpp'], '.3f')}{noise} | {ratio} | {bd_text} |"
        )
    if data.get("against_roi"):
        lines += ["", "Is it more than ROI coding? " + roi_verdict(data["against_roi"])]
    if data.get("robustness"):
        lines += ["", "Seen and unseen recognizers: " + robustness_verdict(data["robustness"], anchor["codec"])]
    if data.get("identity_term"):
        lines += ["", "The identity term against its control: " + identity_verdict(data["identity_term"])]
    anchor_parity = [p for p in data["parity"] if p["ref"] == "anchor" and p["reached"]]
    if anchor_parity:
        by_codec: dict[str, list[str]] = {}
        for p in sorted(anchor_parity, key=lambda p: (p["codec"] != anchor["codec"], p["codec"], p["recognizer"])):
            share = fmt_ratio(p["ratio"], ".0%", is_bound(p))
            if p.get("ratio_interval") and not is_bound(p):
                share += f" ({fmt_ratio_interval(p['ratio_interval'])})"
            by_codec.setdefault(p["codec"], []).append(f"{p['recognizer']} {share}")
        lines += [
            "",
            f"Anchor {anchor['codec']}:{anchor['quality']:g} = {fmt(anchor['bpp'], '.3f')} bpp. Against the "
            "anchor's own accuracy (the paper's statistic), each codec reaches it at this share of the anchor's bpp "
            f"({LEVEL:.0%} interval over the pairs resampled): "
            + "; ".join(f"{codec}: {', '.join(parts)}" for codec, parts in by_codec.items())
            + ".",
        ]
    return [*lines, ""]


def _delta(d: dict, digits: int, unit: str = "") -> str:
    return f"n/a (overlap {d['overlap']:.0%})" if d["reason"] else f"{d['value']:+.{digits}f}{unit}"


def training_section(root: Path, arms_json: str = "results/training/arms.json", made_by: str = "") -> list[str]:
    """The README lines for the paired fine-tuning arms, from ``arms_json`` (scripts/train_arms.py --table) and
    the training ledger beside it; [] when there is no such file."""
    import csv

    path = root / arms_json
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    folder = Path(arms_json).parent
    lines = [
        "### Training: the paired fine-tuning arms",
        "",
        f"Held-out validation of `mse-ft`, `ipr-ft` and `ipr-roi-ft` ([table]({folder}/arms.md)); made by "
        f"`{made_by}`. 78 held-out LFW training-pool images, real bitstreams.",
        "",
        "| arm | steps | training hours | last validated at |",
        "|---|---|---|---|",
    ]
    for name, arm in data["arms"].items():
        last = f"step {int(arm['history'][-1]['step'])}" if arm["history"] else "—"
        lines.append(f"| {name} | {arm['step']} | {arm['training_hours']:.2f} | {last} |")
    lines.append("")
    paired = data.get("paired") or {}
    if paired.get("vs_mse_ft"):
        lines += [
            f"Paired at step {paired['step']}, against `mse-ft` (same base, data, seeds and steps):",
            "",
            "| arm | BD-rate at equal FaceNet cos | FaceNet cos at equal bpp | PSNR at equal bpp |",
            "|---|---|---|---|",
        ]
        for name, d in paired["vs_mse_ft"].items():
            lines.append(
                f"| {name} | {_delta(d['bd_rate_at_equal_cosine'], 1, '%')} | {_delta(d['bd_cosine'], 4)} | "
                f"{_delta(d['bd_psnr'], 2, ' dB')} |"
            )
        lines.append("")
    for name, v in (data.get("ship") or {}).items():
        lines.append(f"- `{name}` at step {v['at_step']} vs the shipped `{v['replaces']}`: {v['why']}.")
    beside_hevc = {
        "against_hevc": "the arms beside hevc and hevc-roi, coded and judged alike",
        "roi_pilot": "the ROI-training pilot against its control and hevc-roi",
    }
    tables = [
        f"[{stem}.md]({folder}/{stem}.md) ({what})"
        for stem, what in beside_hevc.items()
        if (root / folder / f"{stem}.md").is_file()
    ]
    if tables:
        lines += ["", "On the same held-out images: " + "; ".join(tables) + "."]
    ledger = root / folder / "ledger.csv"
    if ledger.is_file():
        rows = list(csv.DictReader(ledger.open()))
        hours = sum(float(r.get("training_seconds") or 0) for r in rows) / 3600
        lines += [
            "",
            f"Every training session is a row of [`{folder}/ledger.csv`]({folder}/ledger.csv): {len(rows)} rows, "
            f"{hours:.1f} training hours in all.",
        ]
    return [*lines, ""]
