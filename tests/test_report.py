"""The report: summary.json schema, Markdown/HTML with figures, from a small real store; the HTML in Chromium."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import test_runner  # noqa: F401  (registers the unit-test recognizers)

from ipr_bench.bench.runner import Runner, RunSpec
from ipr_bench.core.cache import Cache
from ipr_bench.core.errors import IprBenchError
from ipr_bench.core.registry import create_codec, create_dataset, create_recognizer
from ipr_bench.render.report import build_report


@pytest.fixture
def store(synthetic_folder: Path, tmp_path: Path) -> Path:
    spec = RunSpec(
        dataset=create_dataset("folder", root=synthetic_folder, n_folds=2, pairs_per_fold=4, seed=0),
        codecs={"jpeg": create_codec("jpeg"), "webp": create_codec("webp")},
        qualities={"jpeg": [10, 30, 70], "webp": [10, 40, 80]},
        recognizers={r: create_recognizer(r) for r in ("test-pixels", "test-colour")},
        out=tmp_path / "store",
        cache=Cache(tmp_path / "cache"),
        workers=1,
        chunk_size=6,
    )
    Runner(spec).run()
    return spec.out


def test_report_writes_every_part_with_the_documented_schema(store: Path) -> None:
    build_report(store, anchor="jpeg:30", epsilon=0.5)
    data = json.loads((store / "summary.json").read_text())
    assert data["schema"] == 1 and data["epsilon"] == 0.5
    assert data["anchor"]["codec"] == "jpeg" and data["anchor"]["quality"] == 30 and data["anchor"]["bpp"] > 0
    assert {r["recognizer"] for r in data["reference"]} == {"test-pixels", "test-colour"}
    assert len(data["curves"]) == 2 * (1 + 6)
    assert {"codec", "recognizer", "quality", "bpp", "accuracy", "std"} <= set(data["curves"][0])
    bd = [r for r in data["bd_rate"] if r["metric"] == "accuracy"]
    assert {r["codec"] for r in bd} == {"webp"} and all(r["anchor_codec"] == "jpeg" for r in bd)
    assert all((r["bd_rate_percent"] is None) == bool(r["reason"]) for r in data["bd_rate"])
    # per recognizer also at equal identity cosine and TAR@FAR=1e-3 (they do not saturate where accuracy does)
    kinds = {(r["recognizer"], r["metric"]) for r in data["bd_rate"] if r["codec"] == "webp"}
    recs = {"test-pixels", "test-colour"}
    assert {(rec, m) for rec in recs for m in ("accuracy", "cos_to_original", "tar_at_far")} <= kinds
    parity = data["parity"]
    assert {p["ref"] for p in parity} == {"anchor", "original"}
    for p in parity:
        assert p["reached"] == (p["bpp"] is not None)
        if p["reached"] and p["ref"] == "anchor" and p["codec"] == "jpeg":
            assert p["bpp"] <= data["anchor"]["bpp"] + 1e-12  # the anchor reaches its own accuracy − ε
    assert data["robustness"] == []  # no learned codec here
    md = (store / "report.md").read_text()
    for title in ("Parity", "BD-rate at equal accuracy", "Robustness to unseen recognizers", "rate_accuracy.png"):
        assert title in md
    for stem in ("rate_accuracy", "rate_tar", "rate_cos", "rate_psnr"):
        assert (store / "figures" / f"{stem}.png").stat().st_size > 1000
        assert (store / "figures" / f"{stem}.svg").read_text().lstrip().startswith("<?xml")
    page = (store / "report.html").read_text()
    # the page links the figure files written beside it (no base64 copies)
    assert page.count("src='figures/rate_") == 4 and page.count(".svg'>SVG</a>") == 4 and "base64" not in page


def test_anchor_absent_from_the_store_is_a_clear_error(store: Path) -> None:
    from ipr_bench.core.errors import IprBenchError

    with pytest.raises(IprBenchError, match="anchor hevc:23 is not in the store.*jpeg@quality=30"):
        build_report(store, anchor="hevc:23")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (apt-get install chromium)")
def test_report_html_opens_in_headless_chromium_with_every_figure_decoded(store: Path, tmp_path: Path) -> None:
    build_report(store, anchor="jpeg:30")
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            (store / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'data-figures="4"' in result.stdout and 'data-figures-loaded="4"' in result.stdout


def test_report_bdrate_and_plot_commands(store: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ipr_bench.cli import app

    cli = CliRunner()
    result = cli.invoke(app, ["report", "--results", str(store), "--anchor", "jpeg:30", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "report.html").is_file() and "parity" in result.output
    result = cli.invoke(app, ["bdrate", "--results", str(store), "--anchor", "jpeg", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("codec,recognizer,anchor_codec,metric,bd_rate_percent")
    assert len(result.output.splitlines()) == 1 + 2  # webp × two recognizers
    result = cli.invoke(app, ["plot", "--results", str(store), "--metric", "cos", "--out", str(tmp_path / "c.svg")])
    assert result.exit_code == 0 and (tmp_path / "c.svg").read_text().count("<svg") == 1
    bad = cli.invoke(app, ["report", "--results", str(store), "--anchor", "jpeg"])
    assert bad.exit_code == 2 and "expected CODEC:QUALITY" in bad.output


def test_both_protocols_reach_the_store_the_summary_and_the_report(store: Path) -> None:
    import pandas as pd

    from ipr_bench.analysis.metrics import decisions

    pairs = pd.read_parquet(store / "pairs" / "jpeg_quality=10.parquet")
    originals = pd.read_parquet(store / "pairs" / "original.parquet")
    for protocol in ("lfw10fold", "fixed-original"):
        stored = pairs[f"decision__{protocol}__test-pixels"].to_numpy()
        again = decisions(
            pairs["score__test-pixels"].to_numpy(),
            pairs["same"].to_numpy(),
            pairs["fold"].to_numpy(),
            protocol,
            originals["score__test-pixels"].to_numpy(),
        )
        assert np.array_equal(stored, again)
    from ipr_bench.analysis.summary import write_report
    from ipr_bench.store.results import ResultStore

    write_report(ResultStore(store), ResultStore(store).labels(), None, "ipr-bench run (test)")
    summary = pd.read_csv(store / "summary.csv")
    assert set(summary["protocol"]) == {"lfw10fold", "fixed-original"}
    assert "originals' thresholds" in (store / "summary.md").read_text()
    build_report(store, anchor="jpeg:30", protocol="fixed-original")
    data = json.loads((store / "summary.json").read_text())
    assert data["protocol"] == "fixed-original"
    assert all(c["decisions_changed"] is not None for c in data["curves"])
    assert all(c["decisions_changed"] == 0 for c in data["curves"] if c["codec"] == "original")


def test_against_roi_compares_parity_with_the_best_roi_baseline() -> None:
    import pandas as pd

    from ipr_bench.analysis.analyse import Analysis, Anchor
    from ipr_bench.render.markdown import roi_verdict

    analysis = Analysis(
        "toy",
        pd.DataFrame({"codec": ["hevc", "hevc-roi:15", "hevc-blur:4", "ipr"], "recognizer": ["r"] * 4}),
        Anchor("hevc", 23),
        0.5,
        meta={"ipr@quality=1": {"codec_config": {"codec": "ipr", "trained_with": "facenet"}}},
    )
    parities = [
        {"codec": c, "recognizer": "r", "ref": "original", "bpp": b, "reached": b is not None}
        for c, b in (("hevc", 0.30), ("hevc-roi:15", 0.20), ("hevc-blur:4", 0.25), ("ipr", 0.15))
    ]
    rows = {r["codec"]: r for r in analysis.against_roi(parities)}
    assert set(rows) == {"hevc", "hevc-blur:4", "ipr"}  # the best baseline is the reference, not a row
    assert rows["ipr"]["baseline"] == "hevc-roi:15" and rows["ipr"]["ratio"] == pytest.approx(0.75)
    assert rows["ipr"]["learned"] and not rows["hevc"]["learned"]
    assert roi_verdict(list(rows.values())) == ("ipr beats hevc-roi:15 under r (0.150 vs 0.200 bpp at parity, 75%).")
    assert roi_verdict([rows["hevc"]]).endswith(
        "not answered here. The bar it has to clear (parity with the originals): under r, hevc-roi:15 reaches it "
        "at 0.200 bpp, 67% of HEVC's 0.300."
    )
    bounded = [
        {**p, "status": "at or below the lowest measured rate"} if p["codec"] == "hevc-roi:15" else p for p in parities
    ]
    bound_rows = {r["codec"]: r for r in analysis.against_roi(bounded)}
    assert "hevc-roi:15 reaches it at ≤ 0.200 bpp, ≤ 67% of HEVC's 0.300 (already at its lowest measured rate)" in (
        roi_verdict([bound_rows["hevc"]])
    )
    learned_low = [
        {**p, "status": "at or below the lowest measured rate"} if p["codec"] == "ipr" else p for p in parities
    ]
    assert roi_verdict(analysis.against_roi(learned_low)) == (
        "ipr beats hevc-roi:15 under r (≤ 0.150 vs 0.200 bpp at parity, ≤ 75%)."
    )
    without = Analysis("toy", pd.DataFrame({"codec": ["hevc"], "recognizer": ["r"]}), Anchor("hevc", 23), 0.5)
    assert without.against_roi(parities[:1]) == []


@pytest.mark.shared
def test_gallery_reencodes_exactly_and_lands_in_the_report(lfw_mini: Path, tmp_path: Path) -> None:
    """A real run on LFW faces, then the gallery: pictures re-encoded byte-exactly, shown in the report."""
    from PIL import Image

    from ipr_bench.core.images import read_rgb
    from ipr_bench.render.gallery import build_gallery, choose_pairs, closest_settings, reconstruct
    from ipr_bench.store.results import ResultStore

    spec = RunSpec(
        dataset=create_dataset("folder", root=lfw_mini, n_folds=2, pairs_per_fold=6, seed=0),
        codecs={"hevc": create_codec("hevc"), "jpeg": create_codec("jpeg")},
        qualities={"hevc": [23, 38], "jpeg": [10, 50]},
        recognizers={"arcface": create_recognizer("arcface")},
        out=tmp_path / "store",
        cache=Cache(tmp_path / "cache"),
        workers=1,
    )
    Runner(spec).run()
    store = ResultStore(spec.out)
    items, pairs, meta = store.read_setting("hevc@crf=38")
    first = items.iloc[0]
    _, n_bytes = reconstruct("hevc", meta["codec_config"], 38, read_rgb(spec.dataset.items[0].path))
    assert n_bytes == first["n_bytes"]
    chosen = choose_pairs(store.read_setting("original")[1], ["arcface"])
    assert pairs.loc[chosen["matched"], "same"] and not pairs.loc[chosen["mismatched"], "same"]
    picks = closest_settings(store, store.labels(), (0.1, 10.0))
    assert picks["hevc"][1] == "hevc_crf=23" and picks["jpeg"][1] == "jpeg_quality=50"
    written = build_gallery(spec.out, dataset=f"folder:{lfw_mini}", targets=(0.1, 10.0))
    assert [p.name for p in written] == ["gallery_matched.png", "gallery_mismatched.png"]
    size = Image.open(written[0]).size
    assert size[0] > 300
    # a target whose closest settings already stand for 0.1 bpp gets no column: the same two columns, no gap
    again = build_gallery(spec.out, dataset=f"folder:{lfw_mini}", targets=(0.1, 0.1001, 10.0))
    assert Image.open(again[0]).size == size
    assert choose_pairs(store.read_setting("original")[1], ["arcface"], seed=0) == chosen  # deterministic
    whole = build_gallery(spec.out, dataset=f"folder:{lfw_mini}", targets=(0.1, 10.0), view="whole")
    assert [p.name for p in whole] == ["gallery_whole_matched.png", "gallery_whole_mismatched.png"]
    build_report(spec.out)
    report = (spec.out / "report.md").read_text()
    assert "figures/gallery_matched.png" in report and "figures/gallery_whole_matched.png" in report
    assert (spec.out / "report.html").read_text().count("<img class='figure' alt=") >= 8


def test_whole_view_outlines_the_face_region_inside_the_image() -> None:
    from ipr_bench.face.roi import FaceRegion
    from ipr_bench.render.gallery import build_gallery, outlined

    image = np.zeros((40, 50, 3), np.uint8)
    boxed = outlined(image, FaceRegion(top=5, left=10, bottom=20, right=30))
    frame = np.zeros((40, 50), bool)
    frame[5, 10:30] = frame[19, 10:30] = frame[5:20, 10] = frame[5:20, 29] = True
    assert np.array_equal(boxed.any(axis=2), frame)  # a 1-px frame on the region's edge, nothing else
    crossing = outlined(image, FaceRegion(top=-8, left=30, bottom=60, right=70))  # past three borders: clipped
    assert crossing[0, 30:].any() and crossing[39, 30:].any() and crossing[:, 49].any(axis=1).all()
    assert np.array_equal(outlined(image, None), image)
    with pytest.raises(IprBenchError, match="choose one of face, whole"):
        build_gallery("no-store", view="thumbnails")


def test_gallery_draws_no_column_that_no_codec_fills() -> None:
    from ipr_bench.render.gallery import filled_columns

    # closest_settings' answer where no codec has a setting near 0.17 bpp (each one's closest is already shown)
    settings = {"hevc": ["hevc@crf=33", None, "hevc@crf=28", "hevc@crf=23"], "ipr": ["ipr@q=1", None, "ipr@q=2", None]}
    targets, kept = filled_columns(settings, (0.10, 0.17, 0.27, 0.44))
    assert targets == (0.10, 0.27, 0.44)
    assert kept == {"hevc": ["hevc@crf=33", "hevc@crf=28", "hevc@crf=23"], "ipr": ["ipr@q=1", "ipr@q=2", None]}
    assert all(any(labels[k] for labels in kept.values()) for k in range(len(targets)))  # every column has a picture
    assert filled_columns({}, (0.1, 0.2)) == ((), {})


def _parity(bpp: float | None, status: str = "interpolated") -> dict:
    return {"reached": bpp is not None, "bpp": bpp, "status": status if bpp is not None else "not reached"}


def test_a_ratio_of_bounded_parities_says_which_way_it_is_bounded() -> None:
    from ipr_bench.render.markdown import fmt_ratio

    assert fmt_ratio(0.5) == "50%"
    assert fmt_ratio(0.5, over_bound=True) == "≤ 50%"  # the numerator is at most its figure
    assert fmt_ratio(0.5, under_bound=True) == "≥ 50%"  # the denominator is at most its figure
    assert fmt_ratio(0.5, ".1%", True, True) == "50.0% (both bounds)"
    assert fmt_ratio(None, over_bound=True) == "—"


def test_advantage_verdict_decides_only_where_a_lowest_rate_bound_allows() -> None:
    from ipr_bench.analysis.verdicts import advantage_verdict

    low = "at or below the lowest measured rate"
    assert advantage_verdict(_parity(0.20), _parity(0.30))[0] == "holds"
    assert advantage_verdict(_parity(0.45), _parity(0.30))[0] == "does not hold"
    # the codec's parity is an upper bound: below the anchor's, it holds; above it, nothing is decided
    assert advantage_verdict(_parity(0.22, low), _parity(0.25))[0] == "holds"
    assert advantage_verdict(_parity(0.22, low), _parity(0.17))[0] == "undecided"
    # the anchor codec's parity is an upper bound: above it the codec loses; below it, nothing is decided
    assert advantage_verdict(_parity(0.30), _parity(0.17, low))[0] == "does not hold"
    verdict, why = advantage_verdict(_parity(0.15), _parity(0.17, low))
    assert verdict == "undecided" and "bounded" in why
    assert advantage_verdict(_parity(None), _parity(0.3))[0] == "does not hold"
    assert advantage_verdict(_parity(0.3), _parity(None))[0] == "holds"
    assert advantage_verdict(_parity(None), _parity(None))[0] == "undecided"


def test_advantage_within_the_bootstrap_noise_is_undecided() -> None:
    from ipr_bench.analysis.verdicts import advantage_verdict

    assert advantage_verdict(_parity(0.20), _parity(0.30), (0.55, 0.9)) == (
        "holds",
        "67% of the anchor codec's parity bpp (95% interval 55% to 90%)",
    )
    verdict, why = advantage_verdict(_parity(0.20), _parity(0.30), (0.0, 1.002))
    assert verdict == "undecided"
    assert why.endswith("within the noise (95% interval 0 (the other never reaching parity) to 100.2%)")
    verdict, why = advantage_verdict(_parity(0.45), _parity(0.30), (0.95, math.inf))
    assert verdict == "undecided" and why.endswith("95% to never reaching parity)")


def test_paired_bootstrap_keeps_folds_and_pairs_and_sizes_the_noise() -> None:
    """Resamples draw pairs within folds, the same draw for every setting: identical outcomes give identical
    samples, a constant one no spread, and a 90%-correct setting the binomial spread of its pair count."""
    from ipr_bench.analysis.uncertainty import interval, resample_accuracies, share_below

    rng = np.random.default_rng(1)
    folds = np.repeat(np.arange(1, 11), 600)
    noisy = rng.random(6000) < 0.9
    got = resample_accuracies(folds, {("a", "r"): noisy, ("b", "r"): noisy.copy(), ("c", "r"): np.ones(6000, bool)})
    assert np.array_equal(got[("a", "r")], got[("b", "r")])  # paired: the ratio of equal codecs is exactly 1
    assert np.all(got[("c", "r")] == 100.0)
    samples = got[("a", "r")]
    assert samples.mean() == pytest.approx(100 * noisy.mean(), abs=0.05)
    assert samples.std() == pytest.approx(100 * math.sqrt(0.9 * 0.1 / 6000), rel=0.15)
    again = resample_accuracies(folds, {("a", "r"): noisy})
    assert np.array_equal(again[("a", "r")], samples)  # seeded: reports regenerate byte-identically
    lo, hi = interval(np.array([*range(1, 96), *[np.inf] * 5, np.nan]))
    assert lo == 3 and math.isinf(hi)  # 'not reached' in more than 2.5% of resamples: an open upper end
    assert share_below(np.array([0.5, 2.0, np.nan]), 1.0) == 0.5


def test_parity_intervals_decide_a_clear_win_and_call_a_tie_noise() -> None:
    """Through Analysis: a codec deciding the same pairs right at half the anchor codec's bits wins in every
    resample; one as good at 1% more bits but right on other pairs (independent noise) is within the noise."""
    import pandas as pd

    from ipr_bench.analysis.analyse import Analysis, Anchor
    from ipr_bench.analysis.uncertainty import resample_accuracies
    from ipr_bench.analysis.verdicts import advantage_verdict

    rng = np.random.default_rng(2)
    folds = np.repeat(np.arange(1, 11), 300)
    shared, other = rng.random(3000), rng.random(3000)
    levels = {"q1": 0.90, "q2": 0.96, "q3": 0.985, "q4": 0.99}
    correct = {("original", "r"): shared < 0.99}
    rows = [{"setting": "original", "codec": "original", "quality": 0.0, "bpp": 8.0}]
    for codec, scale, u in (("hevc", 1.0, shared), ("half", 0.5, shared), ("twin", 1.01, other)):
        for i, (q, p) in enumerate(levels.items()):
            correct[(f"{codec}@{q}", "r")] = u < p
            rows.append({"setting": f"{codec}@{q}", "codec": codec, "quality": i + 1.0, "bpp": scale * 0.1 * (i + 1)})
    table = pd.DataFrame(rows).assign(recognizer="r", accuracy_std=0.3, knob="q")
    table["accuracy"] = [100 * correct[(s, "r")].mean() for s in table["setting"]]
    analysis = Analysis("toy", table, Anchor("hevc", 2), 0.5, resamples=resample_accuracies(folds, correct))

    half, fields = analysis.ratio_uncertainty("half", "hevc", "r")
    assert half == pytest.approx((0.5, 0.5)) and fields["share_fewer_bits"] == 1.0  # paired: always the bpp scale
    twin, _ = analysis.ratio_uncertainty("twin", "hevc", "r")
    assert twin[0] < 1 < twin[1]
    parity = {p["codec"]: p for p in analysis.parities() if p["ref"] == "original"}
    lo, hi = parity["hevc"]["bpp_interval"]
    assert lo < parity["hevc"]["bpp"] < hi
    assert advantage_verdict(parity["twin"], parity["hevc"], twin)[0] == "undecided"


def test_robustness_verdict_names_every_recognizer_under_its_verdict() -> None:
    from ipr_bench.render.markdown import robustness_verdict

    rows = [
        {"codec": "ipr", "recognizer": "facenet", "seen": True, "advantage": "does not hold"},
        {"codec": "ipr", "recognizer": "dlib", "seen": False, "advantage": "holds"},
        {"codec": "ipr", "recognizer": "arcface", "seen": False, "advantage": "undecided"},
    ]
    text = robustness_verdict(rows, "hevc")
    assert "does not hold under facenet (seen)" in text
    assert "holds under dlib (unseen)" in text and "is undecided under arcface (unseen)" in text


def test_parity_leaves_out_a_codec_never_measured_with_a_recognizer() -> None:
    import pandas as pd

    from ipr_bench.analysis.analyse import Analysis, Anchor

    table = pd.DataFrame(
        {
            "codec": ["original", "hevc", "hevc", "ipr", "original", "hevc", "hevc"],
            "recognizer": ["a"] * 4 + ["b"] * 3,  # ipr was run with recognizer a only
            "quality": [np.nan, 23, 33, 1, np.nan, 23, 33],
            "bpp": [np.nan, 0.4, 0.2, 0.25, np.nan, 0.4, 0.2],
            "accuracy": [99.0, 99.0, 98.0, 99.0, 98.0, 98.0, 96.0],
            "accuracy_std": [0.1] * 7,
        }
    )
    analysis = Analysis("toy", table, Anchor("hevc", 23), 0.5)
    rows = {(p["codec"], p["recognizer"]) for p in analysis.parities()}
    assert ("ipr", "a") in rows and ("hevc", "b") in rows
    assert ("ipr", "b") not in rows  # no points: neither "reached" nor "not reached"


def test_rate_figure_is_a_grid_of_at_most_three_panels_a_row_with_one_legend() -> None:
    import pandas as pd

    from ipr_bench.analysis.analyse import Analysis, Anchor
    from ipr_bench.render.figures import MAX_COLUMNS, figure, grid_shape

    assert [grid_shape(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [(1, 1), (1, 2), (1, 3), (2, 2), (2, 3), (2, 3), (3, 3)]
    recs = ["arcface", "dlib", "facenet", "faceplugin", "mobilefacenet192"]
    rows = [
        {"codec": codec, "recognizer": rec, "quality": q, "bpp": bpp, "accuracy": acc, "accuracy_std": 0.5}
        for rec in recs
        for codec, q, bpp, acc in (
            ("original", np.nan, np.nan, 99.5),
            ("hevc", 23, 0.4, 99.0),
            ("hevc", 33, 0.15, 96.0),
            ("jpeg", 20, 0.45, 97.0),
        )
        if not (codec == "jpeg" and rec == "dlib")  # a codec missing from one panel keeps its colour in the others
    ]
    analysis = Analysis("toy", pd.DataFrame(rows), Anchor("hevc", 23), 0.5)
    fig = figure(analysis, "accuracy")
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == recs  # same content: a panel per recognizer
    by_row: dict[float, int] = {}
    for ax in panels:
        top = round(ax.get_position().y1, 3)
        by_row[top] = by_row.get(top, 0) + 1
    assert len(by_row) == 2 and max(by_row.values()) <= MAX_COLUMNS
    assert all(ax.get_legend() is None for ax in panels)  # one legend for the figure, not one per panel
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + fig.legends
    assert len(legends) == 1
    assert [t.get_text() for t in legends[0].get_texts()] == ["hevc", "jpeg", "original", "anchor hevc:23"]
    colour = {ax.get_title(): {c.get_label(): c.lines[0].get_color() for c in ax.containers} for ax in panels}
    assert colour["arcface"]["jpeg"] == colour["facenet"]["jpeg"] and "jpeg" not in colour["dlib"]
    width, height = fig.get_size_inches() * 110  # save_figure's dpi
    assert width <= 1300 and height < width  # a laptop screen shows it whole, not a 2860 × 462 strip


def test_identity_term_pairs_each_ipr_codec_with_its_control_and_reads_the_paper_claim() -> None:
    """ipr is compared with mse (same architecture and λs, whole image), ipr-roi with mse-roi (same, face region);
    an mse of another architecture is no control. The deltas are Bjøntegaard differences at equal bpp."""
    import pandas as pd

    from ipr_bench.analysis.analyse import Analysis, Anchor
    from ipr_bench.render.markdown import identity_verdict, markdown_tables

    def checkpoint(arch: str = "gained-hyperprior") -> list[dict]:
        return [{"architecture": arch, "lambdas": [0.001, 0.01]}]

    configs = {
        "ipr": {"trained_with": "facenet", "checkpoints": checkpoint()},
        "mse": {"trained_with": None, "checkpoints": checkpoint()},
        "ipr-roi": {"trained_with": "facenet", "checkpoints": checkpoint(), "background": 1},
        "mse-roi": {"trained_with": None, "checkpoints": checkpoint(), "background": 1},
        "mse-small": {"trained_with": None, "checkpoints": checkpoint("bmshj2018-hyperprior")},
    }
    rows = []
    bpps = (0.1, 0.2, 0.4)
    for codec in configs:
        # ipr: +1 pp accuracy and +0.01 cosine over mse at every bpp under facenet, −1 pp / −0.01 under arcface
        for rec, sign in (("facenet", 1), ("arcface", -1)):
            lift = sign if codec == "ipr" else 0
            for i, bpp in enumerate(bpps):
                acc, cos = 90 + 3 * i + lift, 0.8 + 0.05 * i + lift / 100
                rows.append(
                    {"codec": codec, "recognizer": rec, "bpp": bpp, "accuracy": acc, "cos_to_original": cos,
                     "tar_at_far": acc - 20, "quality": i}
                )  # fmt: skip
    analysis = Analysis(
        "toy",
        pd.DataFrame(rows),
        Anchor("hevc", 23),
        0.5,
        meta={f"{c}@quality=1": {"codec_config": {"codec": c, **cfg}} for c, cfg in configs.items()},
    )
    assert analysis.controls() == {"ipr": "mse", "ipr-roi": "mse-roi"}
    term = analysis.identity_term()
    cell = {(r["codec"], r["recognizer"], r["metric"]): r for r in term}
    assert cell[("ipr", "facenet", "accuracy")]["delta"] == pytest.approx(1.0)
    assert cell[("ipr", "facenet", "cos_to_original")]["delta"] == pytest.approx(0.01)
    assert cell[("ipr", "arcface", "accuracy")]["delta"] == pytest.approx(-1.0)
    assert cell[("ipr", "facenet", "accuracy")]["seen"] and not cell[("ipr", "arcface", "accuracy")]["seen"]
    assert cell[("ipr", "facenet", "accuracy")]["bpp_interval"] == pytest.approx([0.1, 0.4])
    assert cell[("ipr-roi", "facenet", "accuracy")]["delta"] == pytest.approx(0.0)
    verdict = identity_verdict(term)
    assert verdict == (
        "At equal bpp, ipr's accuracy and identity cosine against mse's: lower under arcface (unseen); higher under "
        "facenet (seen). Both higher under 0 of 1 unseen recognizers. At equal bpp, ipr-roi's accuracy and identity "
        "cosine against mse-roi's: neither both higher nor both lower under arcface (unseen), facenet (seen). Both "
        "higher under 0 of 1 unseen recognizers."
    )
    table = markdown_tables(analysis, {**_empty_report_data(), "identity_term": term})["identity_term"]
    assert "| ipr | mse | facenet | seen | +1.00 | +0.0100 | +1.00 | 0.100–0.400 | — |" in table
    reference = [{"recognizer": "facenet", "accuracy": 99.0, "std": 0.4}]
    data = {**_empty_report_data(), "identity_term": term, "reference": reference}
    assert "| +1.00 | 0.100–0.400 | 0.40 |" in markdown_tables(analysis, data)["identity_term"]
    # below the overlap rule the cell says why instead of a number
    far = pd.DataFrame([{**r, "bpp": r["bpp"] * 100} if r["codec"] == "mse" else r for r in rows])
    none = Analysis("toy", far, Anchor("hevc", 23), 0.5, meta=analysis.meta).identity_term()
    assert all(r["delta"] is None and r["reason"] for r in none if r["codec"] == "ipr")
    assert "undecided" in identity_verdict(none)
    # with the bootstrap's interval of Δ accuracy: one that holds 0 leaves only the cosine's word
    noisy = [{**r, "delta_interval": [-0.2, 2.1]} if r["metric"] == "accuracy" else r for r in term]
    assert "higher cosine, accuracy within the noise under facenet (seen)" in identity_verdict(noisy)
    sure = [{**r, "delta_interval": [0.4, 1.6]} if r["metric"] == "accuracy" else r for r in term]
    assert "higher under facenet (seen)" in identity_verdict(sure)
    noisy_table = markdown_tables(analysis, {**_empty_report_data(), "identity_term": noisy})["identity_term"]
    assert "| +1.00 (-0.20 to +2.10) | +0.0100 |" in noisy_table


def _empty_report_data() -> dict:
    return {
        "reference": [],
        "bd_rate": [],
        "parity": [],
        "bit_accounting": [],
        "codec_info": [],
        "against_roi": [],
        "robustness": [],
    }
