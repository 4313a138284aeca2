"""How sure a parity comparison is: a paired bootstrap over the verification pairs.

Every setting of a store is judged on the same pairs, so "codec A reaches parity with the originals at fewer bits
than codec B" is a paired comparison, and its noise is the pairs' noise: on LFW View 2's 6,000 pairs one accuracy
is known to about ±0.1–0.2 pp, on a shallow curve that moves the parity bpp by several percent. Each resample
draws every fold's pairs with replacement (folds keep their size, so an accuracy stays a mean of fold
accuracies), the same draw for every setting and recognizer; each pair keeps the decision the protocol gave it
(its fold's threshold from the full data: the thresholds' own noise is left out). The originals' accuracy is
resampled with the rest, so the parity target moves too. Bits per pixel stay at their measured means: they are
averages over thousands of images, far steadier than accuracies near the originals'.

A parity is read off a Pareto envelope, a running maximum, which leans towards fewer bits in a noisy resample:
the percentile intervals are a measure of the noise's size rather than exact 95% coverage.

``pair_outcomes`` reads the correctness of every pair decision from a store; ``resample_accuracies`` turns them
into accuracy samples; ``interval`` reads a percentile interval off any samples (of a parity bpp, of a ratio)."""

from __future__ import annotations

import numpy as np

from ipr_bench.analysis.metrics import decisions
from ipr_bench.store import schema
from ipr_bench.store.results import ResultStore

N_RESAMPLES = 1000
LEVEL = 0.95  # of every interval reported
SEED = 0  # fixed: a report regenerates byte-identically

Key = tuple[str, str]  # (setting, recognizer), e.g. ("hevc@crf=23", "facenet")


def pair_outcomes(
    store: ResultStore, labels: list[str], recognizers: list[str], protocol: str
) -> tuple[np.ndarray, dict[Key, np.ndarray]]:
    """(fold of each pair, {(setting, recognizer): was each pair decided correctly}) under ``protocol``, for the
    settings whose pairs are the originals' pairs in the same order; the rest are left out (no interval)."""
    originals = store.read_setting("original")
    if originals is None:
        return np.zeros(0, np.int64), {}
    ref_pairs = originals[1]
    folds = ref_pairs["fold"].to_numpy()
    same = ref_pairs["same"].to_numpy().astype(bool)
    out: dict[Key, np.ndarray] = {}
    for label in labels:
        loaded = store.read_setting(label)
        if loaded is None:
            continue
        items, pairs, _ = loaded
        if list(pairs["a"]) != list(ref_pairs["a"]) or list(pairs["b"]) != list(ref_pairs["b"]):
            continue
        setting = items["setting"].iloc[0]
        for rec in recognizers:
            col = schema.score(rec)
            if col not in pairs or (protocol == "fixed-original" and col not in ref_pairs):
                continue
            reference = ref_pairs[col].to_numpy() if protocol == "fixed-original" else None
            said_same = decisions(pairs[col].to_numpy(), same, folds, protocol, reference)
            out[(setting, rec)] = said_same == same
    return folds, out


def resample_accuracies(
    folds: np.ndarray, correct: dict[Key, np.ndarray], n: int = N_RESAMPLES, seed: int = SEED
) -> dict[Key, np.ndarray]:
    """Accuracy (%, mean over folds) of each key in ``n`` paired resamples of the pairs within their folds."""
    if not correct:
        return {}
    keys = list(correct)
    outcomes = np.stack([correct[k] for k in keys], axis=1).astype(np.float32)  # pairs × keys
    rng = np.random.default_rng(seed)
    fold_ids = np.unique(folds)
    accuracy = np.zeros((n, len(keys)), np.float64)
    for f in fold_ids:
        rows = np.flatnonzero(folds == f)
        # how often each pair is drawn in each resample: one matrix product scores every key at once
        counts = rng.multinomial(len(rows), np.full(len(rows), 1 / len(rows)), size=n).astype(np.float32)
        accuracy += (counts @ outcomes[rows]) / len(rows)
    accuracy *= 100.0 / len(fold_ids)
    return {k: accuracy[:, j] for j, k in enumerate(keys)}


def interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float, float] | None:
    """The central ``level`` percentile interval of ``samples`` (inf allowed: 'not reached'; NaN left out);
    None when nothing is left."""
    x = np.asarray(samples, np.float64)
    x = x[~np.isnan(x)]
    if not x.size:
        return None
    lo, hi = np.quantile(x, [(1 - level) / 2, (1 + level) / 2], method="inverted_cdf")
    return float(lo), float(hi)


def share_below(samples: np.ndarray, bound: float = 1.0) -> float | None:
    """The share of resamples (NaN left out) below ``bound``: e.g. how often a codec needed fewer bits."""
    x = np.asarray(samples, np.float64)
    x = x[~np.isnan(x)]
    return float(np.mean(x < bound)) if x.size else None
