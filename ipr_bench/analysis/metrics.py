"""Verification metrics from pair scores (higher score = more likely the same person).

Two threshold protocols (``PROTOCOLS``):

- ``lfw10fold``: for each fold, the threshold that maximises accuracy on the other folds *of the same setting*
  is applied to that fold (the LFW protocol: every codec setting gets its own thresholds).
- ``fixed-original``: for each fold, the threshold chosen on the other folds of the *uncompressed originals* is
  applied to the compressed pairs of that fold — a deployed recognizer calibrated once on clean faces, which the
  codec must not move. Reported with the number of pair decisions that differ from the originals' decisions,
  and TAR/FAR at the originals' FAR=1e-3 threshold.

Accuracy is mean ± std over folds (population std, as insightface and most LFW papers do). ROC AUC, EER and
TAR@FAR are computed on all pairs pooled. A pair whose score is missing (an image failed to read, encode or
decode) counts as a 'different' decision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PROTOCOLS = ("lfw10fold", "fixed-original")


@dataclass(frozen=True)
class Verification:
    accuracy: float  # mean over folds, in [0, 1]
    accuracy_std: float
    fold_accuracies: tuple[float, ...]
    thresholds: tuple[float, ...]
    auc: float
    eer: float
    tar_at_far: float  # at FAR = far_target, on this setting's own ROC
    far_target: float
    n_pairs: int
    n_missing: int
    protocol: str = "lfw10fold"
    decisions_changed: int = 0  # pair decisions that differ from the originals' under the same protocol
    tar_at_reference_threshold: float = float("nan")  # at the originals' FAR=far_target threshold
    far_at_reference_threshold: float = float("nan")

    @property
    def flip_rate(self) -> float:
        return self.decisions_changed / self.n_pairs if self.n_pairs else float("nan")


def _clean(scores: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(scores), scores, -np.inf)


def best_threshold(scores: np.ndarray, same: np.ndarray) -> float:
    """Threshold t (decide 'same' when score > t) maximising accuracy; midpoints between sorted scores, the
    lowest such threshold on ties so results are deterministic."""
    scores = _clean(np.asarray(scores, np.float64))
    same = np.asarray(same, bool)
    finite = np.unique(scores[np.isfinite(scores)])
    if finite.size == 0:
        return 0.0
    candidates = np.concatenate([[finite[0] - 1.0], (finite[:-1] + finite[1:]) / 2, [finite[-1] + 1.0]])
    order = np.argsort(scores, kind="stable")
    s_sorted, y_sorted = scores[order], same[order]
    # for each candidate: count of positives above and negatives at or below
    idx = np.searchsorted(s_sorted, candidates, side="right")
    pos_below = np.concatenate([[0], np.cumsum(y_sorted)])[idx]
    neg_below = np.concatenate([[0], np.cumsum(~y_sorted)])[idx]
    correct = (same.sum() - pos_below) + neg_below
    return float(candidates[int(np.argmax(correct))])


def accuracy_at(scores: np.ndarray, same: np.ndarray, threshold: float) -> float:
    return float(np.mean((_clean(np.asarray(scores, np.float64)) > threshold) == np.asarray(same, bool)))


def kfold_accuracy(scores: np.ndarray, same: np.ndarray, folds: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-fold accuracies and thresholds, each threshold chosen on the other folds."""
    folds = np.asarray(folds)
    accs, ths = [], []
    for f in np.unique(folds):
        train, test = folds != f, folds == f
        t = best_threshold(scores[train], same[train]) if train.any() else best_threshold(scores[test], same[test])
        ths.append(t)
        accs.append(accuracy_at(scores[test], same[test], t))
    return accs, ths


def fold_thresholds(scores: np.ndarray, same: np.ndarray, folds: np.ndarray) -> dict[int, float]:
    """Per fold, the accuracy-maximising threshold on the other folds (on the fold itself when it is alone)."""
    return dict(zip(np.unique(folds).tolist(), kfold_accuracy(scores, same, folds)[1], strict=True))


def pair_thresholds(
    scores: np.ndarray,
    same: np.ndarray,
    folds: np.ndarray,
    protocol: str = "lfw10fold",
    reference: np.ndarray | None = None,
) -> np.ndarray:
    """Per pair: the threshold its decision is taken against (a pair is decided 'same' when its score is above),
    its fold's threshold from this setting (lfw10fold) or from the originals (fixed-original, ``reference`` = the
    originals' scores of the same pairs)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown threshold protocol {protocol!r}; protocols: {', '.join(PROTOCOLS)}")
    folds = np.asarray(folds)
    if protocol == "fixed-original":
        if reference is None:
            raise ValueError("the fixed-original protocol needs the originals' scores")
        ths = fold_thresholds(np.asarray(reference, np.float64), same, folds)
    else:
        ths = fold_thresholds(np.asarray(scores, np.float64), same, folds)
    return _per_pair(folds, ths)


def decisions(
    scores: np.ndarray,
    same: np.ndarray,
    folds: np.ndarray,
    protocol: str = "lfw10fold",
    reference: np.ndarray | None = None,
) -> np.ndarray:
    """Per pair: decided 'same'? Thresholds per fold from this setting (lfw10fold) or the originals
    (fixed-original, ``reference`` = the originals' scores of the same pairs): ``pair_thresholds``."""
    return _clean(np.asarray(scores, np.float64)) > pair_thresholds(scores, same, folds, protocol, reference)


def _per_pair(folds: np.ndarray, thresholds: dict[int, float]) -> np.ndarray:
    return np.array([thresholds[f] for f in np.asarray(folds).tolist()], np.float64)


def _decide(scores: np.ndarray, folds: np.ndarray, thresholds: dict[int, float]) -> np.ndarray:
    return _clean(np.asarray(scores, np.float64)) > _per_pair(folds, thresholds)


def threshold_at_far(scores: np.ndarray, same: np.ndarray, far_target: float = 1e-3) -> float:
    """The lowest threshold (decide 'same' when score >= t) whose FAR is at most far_target."""
    far, _, ths = roc_points(scores, same)
    ok = far <= far_target
    return float(ths[ok][-1]) if ok.any() else float("inf")


def roc_auc(scores: np.ndarray, same: np.ndarray) -> float:
    """Mann–Whitney AUC with ties counted half."""
    from scipy.stats import rankdata

    scores = _clean(np.asarray(scores, np.float64))
    same = np.asarray(same, bool)
    n_pos, n_neg = same.sum(), (~same).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.where(np.isfinite(scores), scores, np.nanmin(scores[np.isfinite(scores)], initial=0) - 1))
    return float((ranks[same].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_points(scores: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(FAR, TAR, threshold) for every distinct threshold, deciding 'same' when score >= threshold."""
    scores = _clean(np.asarray(scores, np.float64))
    same = np.asarray(same, bool)
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], same[order]
    distinct = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = np.cumsum(y)[distinct]
    fp = np.cumsum(~y)[distinct]
    tar = tp / max(same.sum(), 1)
    far = fp / max((~same).sum(), 1)
    return np.r_[0.0, far], np.r_[0.0, tar], np.r_[np.inf, s[distinct]]


def tar_at_far(scores: np.ndarray, same: np.ndarray, far_target: float = 1e-3) -> float:
    far, tar, _ = roc_points(scores, same)
    ok = far <= far_target
    return float(tar[ok].max()) if ok.any() else 0.0


def equal_error_rate(scores: np.ndarray, same: np.ndarray) -> float:
    far, tar, _ = roc_points(scores, same)
    frr = 1 - tar
    i = int(np.argmin(np.abs(far - frr)))
    return float((far[i] + frr[i]) / 2)


def verification(
    scores: np.ndarray,
    same: np.ndarray,
    folds: np.ndarray,
    far_target: float = 1e-3,
    protocol: str = "lfw10fold",
    reference: np.ndarray | None = None,
) -> Verification:
    """Verification figures of one setting; ``reference`` (the originals' scores of the same pairs) adds the
    decision flips and TAR/FAR at the originals' threshold, and is required by ``fixed-original``."""
    scores = np.asarray(scores, np.float64)
    same = np.asarray(same, bool)
    folds = np.asarray(folds)
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown threshold protocol {protocol!r}; protocols: {', '.join(PROTOCOLS)}")
    if protocol == "fixed-original" and reference is None:
        raise ValueError("the fixed-original protocol needs the originals' scores")
    # each set of per-fold thresholds is chosen once: the originals' serve fixed-original and the flip count
    reference = np.asarray(reference, np.float64) if reference is not None else None
    ref_ths = fold_thresholds(reference, same, folds) if reference is not None else None
    used = ref_ths if protocol == "fixed-original" else fold_thresholds(scores, same, folds)
    fold_ids = np.unique(folds).tolist()
    ths = [used[f] for f in fold_ids]
    accs = [accuracy_at(scores[folds == f], same[folds == f], used[f]) for f in fold_ids]
    changed, tar_ref, far_ref = 0, float("nan"), float("nan")
    if reference is not None:
        # the originals' own decisions are the same under both protocols: their thresholds are their own
        changed = int((_decide(scores, folds, used) != _decide(reference, folds, ref_ths)).sum())
        t = threshold_at_far(reference, same, far_target)
        accepted = _clean(scores) >= t
        tar_ref = float(accepted[same].mean()) if same.any() else float("nan")
        far_ref = float(accepted[~same].mean()) if (~same).any() else float("nan")
    return Verification(
        accuracy=float(np.mean(accs)),
        accuracy_std=float(np.std(accs)),
        fold_accuracies=tuple(accs),
        thresholds=tuple(ths),
        auc=roc_auc(scores, same),
        eer=equal_error_rate(scores, same),
        tar_at_far=tar_at_far(scores, same, far_target),
        far_target=far_target,
        n_pairs=len(scores),
        n_missing=int((~np.isfinite(scores)).sum()),
        protocol=protocol,
        decisions_changed=changed,
        tar_at_reference_threshold=tar_ref,
        far_at_reference_threshold=far_ref,
    )
