"""Bjøntegaard deltas and parity rates on curves with known answers, against the `bjontegaard` package."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ipr_bench.analysis.rd import Curve, bd_quality, bd_rate, parity_rate


def log_curve(scale: float, rates: list[float]) -> Curve:
    """quality = 10·log10(rate/scale) + 40: a test curve shifted by `scale` needs scale× the anchor's rate."""
    r = np.asarray(rates)
    return Curve.of(r, 10 * np.log10(r / scale) + 40)


def test_a_pure_rate_scaling_gives_its_exact_bd_rate() -> None:
    anchor = log_curve(1.0, [0.1, 0.2, 0.4, 0.8])
    test = log_curve(0.6, [0.07, 0.15, 0.3, 0.6])  # 40% fewer bits at every quality
    delta = bd_rate(anchor, test)
    assert delta.value == pytest.approx(-40.0, abs=1e-9)
    assert 0 < delta.overlap <= 1
    assert bd_quality(anchor, test).value == pytest.approx(10 * math.log10(1 / 0.6), abs=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_bd_rate_agrees_with_the_bjontegaard_package_on_clean_curves(seed: int) -> None:
    bjontegaard = pytest.importorskip("bjontegaard")
    rng = np.random.default_rng(seed)
    ra = np.sort(rng.uniform(0.05, 1.0, 4))
    rt = np.sort(ra * rng.uniform(0.6, 0.9, 4))
    qa = 90 + 8 * (1 - np.exp(-4 * ra))
    qt = 90 + 8 * (1 - np.exp(-5 * rt))
    ours = bd_rate(Curve.of(ra, qa), Curve.of(rt, qt), min_overlap=0)
    theirs = bjontegaard.bd_rate(ra, qa, rt, qt, method="pchip", min_overlap=0)
    assert ours.value == pytest.approx(theirs, rel=1e-3, abs=1e-6)
    theirs_psnr = bjontegaard.bd_psnr(ra, qa, rt, qt, method="pchip", min_overlap=0)
    assert bd_quality(Curve.of(ra, qa), Curve.of(rt, qt), min_overlap=0).value == pytest.approx(theirs_psnr, rel=1e-3)


def test_saturated_and_non_monotone_curves_are_handled_where_the_package_fails() -> None:
    bjontegaard = pytest.importorskip("bjontegaard")
    # accuracy saturates (ties at 99.2) and dips (98.9 after 99.0): real LFW curves do both
    rate = np.array([0.05, 0.1, 0.2, 0.3, 0.5, 0.7])
    acc = np.array([95.0, 97.5, 99.0, 98.9, 99.2, 99.2])
    anchor = Curve.of(rate, acc)
    assert list(anchor.envelope().rate) == [0.05, 0.1, 0.2, 0.5]  # dominated points dropped, ties keep the cheapest
    test = Curve.of(rate * 0.5, acc)
    assert bd_rate(anchor, test).value == pytest.approx(-50.0, abs=1e-9)
    with pytest.raises(ValueError):  # PCHIP on tied / unsorted qualities
        bjontegaard.bd_rate(rate, acc, rate * 0.5, acc, method="pchip", min_overlap=0)


def test_bd_rate_without_enough_overlap_is_nan_with_a_reason() -> None:
    low = Curve.of([0.1, 0.2, 0.3], [90.0, 92.0, 94.0])
    high = Curve.of([0.1, 0.2, 0.3], [93.5, 96.0, 99.0])
    delta = bd_rate(low, high)
    assert math.isnan(delta.value) and "overlap" in delta.reason and delta.overlap == pytest.approx(0.5 / 9)
    apart = bd_rate(low, Curve.of([0.1, 0.2], [95.0, 97.0]))
    assert math.isnan(apart.value) and "do not overlap" in apart.reason
    assert "fewer than 2" in bd_rate(low, Curve.of([0.1], [91.0])).reason


def test_parity_known_answers() -> None:
    # two points: PCHIP is the straight line in (log10 rate, quality)
    two = Curve.of([0.1, 1.0], [90.0, 100.0])
    p = parity_rate(two, 95.0)
    assert p.reached and p.status == "interpolated" and p.rate == pytest.approx(10**-0.5, rel=1e-9)
    # the target sits on a measured point
    curve = Curve.of([0.1, 0.2, 0.4, 0.8], [96.0, 98.0, 99.0, 99.5])
    assert parity_rate(curve, 99.0).rate == pytest.approx(0.4, rel=1e-9)
    # never reached / already reached at the cheapest point
    assert parity_rate(curve, 99.6) == parity_rate(curve, 100.0)
    assert not parity_rate(curve, 99.6).reached and math.isnan(parity_rate(curve, 99.6).rate)
    cheap = parity_rate(curve, 95.0)
    assert cheap.reached and cheap.rate == 0.1 and "lowest measured" in cheap.status
    # saturation and a dip: the answer comes from the envelope and lies between its neighbours
    noisy = Curve.of([0.1, 0.2, 0.3, 0.5], [97.0, 99.1, 98.8, 99.1])
    p = parity_rate(noisy, 99.0)
    assert 0.1 < p.rate < 0.2
    # monotone in the target
    rates = [parity_rate(curve, t).rate for t in np.linspace(96.1, 99.4, 20)]
    assert np.all(np.diff(rates) > 0)
