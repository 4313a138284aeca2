"""The verification protocol on toy cases whose answers are known by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ipr_bench.analysis.metrics import (
    best_threshold,
    equal_error_rate,
    kfold_accuracy,
    roc_auc,
    tar_at_far,
    verification,
)


def test_best_threshold_separates_when_possible() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    same = np.array([0, 0, 0, 1, 1, 1], bool)
    t = best_threshold(scores, same)
    assert 0.3 <= t < 0.7 and np.mean((scores > t) == same) == 1.0


def test_threshold_comes_from_the_other_folds() -> None:
    """Folds 1 and 3 put the threshold at 0.4 (midpoint of 0.3 and 0.5); fold 2 has a hard negative at 0.45,
    which its own best threshold (0.475) would reject but the threshold from the other folds accepts."""
    scores = np.array([0.2, 0.5, 0.3, 0.6, 0.45, 0.5, 0.2, 0.5, 0.3, 0.6, 0.3, 0.5])
    same = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1], bool)
    folds = np.array([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3])
    accs, ths = kfold_accuracy(scores, same, folds)
    assert ths[1] == pytest.approx(0.4)
    assert accs == [1.0, 0.75, 1.0]
    assert best_threshold(scores[folds == 2], same[folds == 2]) == pytest.approx(0.475)


def test_missing_scores_count_as_different() -> None:
    scores = np.array([0.9, np.nan, 0.1, 0.2])
    same = np.array([1, 1, 0, 0], bool)
    v = verification(scores, same, np.array([1, 1, 2, 2]))
    assert v.n_missing == 1 and v.accuracy < 1.0


def test_auc_matches_pairwise_count_with_ties() -> None:
    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(size=60), 1)  # many ties
    same = rng.random(60) < 0.5
    pos, neg = scores[same], scores[~same]
    brute = np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg)])
    assert roc_auc(scores, same) == pytest.approx(brute)


def test_tar_at_far_and_eer_on_a_known_case() -> None:
    # 1,000 negatives 0..999 (/1000), positives 995.5 and 10 others lower: at FAR ≤ 1e-3 the threshold must
    # reject all but one negative (the top one), so only positives above 0.998 count.
    neg = np.arange(1000) / 1000
    pos = np.array([0.9995, 0.9985, 0.5, 0.4])
    scores = np.r_[pos, neg]
    same = np.r_[np.ones(4, bool), np.zeros(1000, bool)]
    assert tar_at_far(scores, same, 1e-3) == pytest.approx(0.5)  # 0.9995 and 0.9985 pass, with one FA (0.999)
    perfect = np.r_[np.ones(5) * 2, np.zeros(5)]
    assert equal_error_rate(perfect, np.r_[np.ones(5, bool), np.zeros(5, bool)]) == 0.0


def test_verification_on_lfw_shaped_data() -> None:
    rng = np.random.default_rng(1)
    same = np.tile(np.r_[np.ones(300, bool), np.zeros(300, bool)], 10)
    folds = np.repeat(np.arange(1, 11), 600)
    scores = np.where(same, rng.normal(1.0, 0.5, 6000), rng.normal(-1.0, 0.5, 6000))
    v = verification(scores, same, folds)
    assert len(v.fold_accuracies) == 10 and v.n_pairs == 6000
    assert 0.97 < v.accuracy < 0.995  # two unit-variance-ish Gaussians 2σ·2 apart: ~97.7%
    assert v.accuracy_std == pytest.approx(np.std(v.fold_accuracies))
    assert 0.99 < v.auc <= 1.0


def test_fixed_original_thresholds_expose_a_shift_the_lfw_protocol_hides() -> None:
    from ipr_bench.analysis.metrics import decisions, verification

    # originals: same-person pairs score 0.8, different 0.2, in two folds; the codec lowers every score by 0.4
    same = np.array([True, True, False, False] * 2)
    folds = np.array([1, 1, 1, 1, 2, 2, 2, 2])
    original = np.where(same, 0.8, 0.2)
    compressed = original - 0.4
    lfw = verification(compressed, same, folds, protocol="lfw10fold", reference=original)
    fixed = verification(compressed, same, folds, protocol="fixed-original", reference=original)
    assert lfw.accuracy == 1.0  # the LFW protocol moves the threshold with the codec
    assert fixed.accuracy == 0.5  # the originals' threshold (0.5) now rejects every genuine pair
    assert fixed.decisions_changed == 4 and fixed.flip_rate == 0.5
    assert lfw.decisions_changed == 0
    assert fixed.tar_at_reference_threshold == 0.0 and fixed.far_at_reference_threshold == 0.0
    assert np.array_equal(decisions(compressed, same, folds, "fixed-original", original), np.zeros(8, bool))
    assert np.array_equal(decisions(compressed, same, folds, "lfw10fold"), same)
    # on the originals themselves both protocols agree
    assert verification(original, same, folds, protocol="fixed-original", reference=original).accuracy == 1.0
    with pytest.raises(ValueError, match="needs the originals"):
        verification(compressed, same, folds, protocol="fixed-original")
    with pytest.raises(ValueError, match="unknown threshold protocol"):
        decisions(compressed, same, folds, "per-pixel")


def test_pair_thresholds_are_each_pairs_fold_threshold_the_decisions_are_taken_against() -> None:
    from ipr_bench.analysis.metrics import decisions, fold_thresholds, pair_thresholds

    same = np.array([True, True, False, False] * 2)
    folds = np.array([1, 1, 1, 1, 2, 2, 2, 2])
    original = np.where(same, 0.8, 0.2)
    compressed = np.where(same, 0.4, -0.2)
    compressed[0] = np.nan  # a failed image: decided 'different' whatever the threshold
    own = pair_thresholds(compressed, same, folds)
    per_fold = fold_thresholds(compressed, same, folds)
    assert np.array_equal(own, [per_fold[f] for f in folds])
    assert np.allclose(pair_thresholds(compressed, same, folds, "fixed-original", original), 0.5)
    for protocol in ("lfw10fold", "fixed-original"):
        t = pair_thresholds(compressed, same, folds, protocol, original)
        expected = np.nan_to_num(compressed, nan=-np.inf) > t
        assert np.array_equal(decisions(compressed, same, folds, protocol, original), expected)
    assert not decisions(compressed, same, folds)[0]
    with pytest.raises(ValueError, match="needs the originals"):
        pair_thresholds(compressed, same, folds, "fixed-original")
