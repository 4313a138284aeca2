"""The columns of a store's two tables per setting, named here only: the runner builds and merges the tables with
these functions, and readers (summary, gallery, scripts) select columns with them.

items (one row per image): item, setting, codec, knob, quality, n_bytes, height, width, bpp, bpp_<accounting>
(alternative byte counts), psnr, msssim, codec_<fact> (what a codec did per image, ``Encoded.info``),
face_detected__<landmarker>, error, cos_to_original__<recognizer>.

pairs (one row per verification pair): pair, fold, same, a, b, score__<recognizer>,
decision__<protocol>__<recognizer> (the decision under each threshold protocol, ipr_bench.analysis.metrics).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

CODEC_INFO = "codec_"


def score(recognizer: str) -> str:
    return f"score__{recognizer}"


def decision(protocol: str, recognizer: str) -> str:
    return f"decision__{protocol}__{recognizer}"


def cos_to_original(recognizer: str) -> str:
    return f"cos_to_original__{recognizer}"


def face_detected(landmarker: str) -> str:
    return f"face_detected__{landmarker}"


def codec_info_columns(columns: Sequence[str]) -> list[str]:
    """The per-image facts codecs reported (columns ``codec_<fact>``)."""
    return [c for c in columns if c.startswith(CODEC_INFO)]


def items_table(
    item_ids: Sequence[str],
    setting: Any,
    measures: Mapping[str, np.ndarray],
    detected: Mapping[str, np.ndarray],
) -> pd.DataFrame:
    """The items table of one setting (a ``bench.work.Setting``) from its chunks' measures (bytes, size, PSNR,
    MS-SSIM, ``alt_*`` byte counts, ``info_*`` codec facts, errors) and each landmarker's detection flags."""
    items = pd.DataFrame(
        {
            "item": list(item_ids),
            "setting": setting.label,
            "codec": setting.codec,
            "knob": setting.knob,
            "quality": float(setting.quality) if setting.quality is not None else np.nan,
            "n_bytes": measures["n_bytes"],
            "height": measures["height"],
            "width": measures["width"],
        }
    )
    pixels = (items["height"] * items["width"]).to_numpy()
    valid = measures["n_bytes"] >= 0
    items["bpp"] = np.where(valid, 8.0 * measures["n_bytes"] / np.maximum(pixels, 1), np.nan)
    for k in measures:
        if k.startswith("alt_"):
            items[f"bpp_{k[4:]}"] = np.where(measures[k] >= 0, 8.0 * measures[k] / np.maximum(pixels, 1), np.nan)
    items["psnr"] = measures["psnr"]
    items["msssim"] = measures["msssim"]
    for k in measures:  # what a codec did per image, e.g. whether a region of interest was applied
        if k.startswith("info_"):
            items[f"{CODEC_INFO}{k[5:]}"] = measures[k]
    for name, flags in detected.items():
        items[face_detected(name)] = flags
    items["error"] = measures["error"]
    return items


def pairs_table(pairs: Sequence[Any]) -> pd.DataFrame:
    """The pairs table's fixed columns from a dataset's pairs (``datasets.base.Pair``)."""
    return pd.DataFrame(
        {
            "pair": np.arange(len(pairs)),
            "fold": [p.fold for p in pairs],
            "same": [p.same for p in pairs],
            "a": [p.a for p in pairs],
            "b": [p.b for p in pairs],
        }
    )


def add_recognizer(
    items: pd.DataFrame,
    pairs: pd.DataFrame,
    recognizer: str,
    scores: np.ndarray,
    cosines: np.ndarray,
    decisions: Mapping[str, np.ndarray],
) -> None:
    """One recognizer's columns: pair scores, each image's cosine to its original, a decision per protocol."""
    pairs[score(recognizer)] = scores
    items[cos_to_original(recognizer)] = cosines
    for protocol, values in decisions.items():
        pairs[decision(protocol, recognizer)] = values


def keep_earlier(
    items: pd.DataFrame,
    pairs: pd.DataFrame,
    meta: dict[str, Any],
    stored: tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]] | None,
) -> None:
    """A run with other recognizers (or landmarkers) than the stored setting's adds its columns to those stored;
    it never drops theirs. Only where the stored tables describe the same data and rows."""
    if stored is None:
        return
    old_items, old_pairs, old_meta = stored
    same_data = all(
        old_meta.get(k) == meta[k]
        for k in meta
        if k not in ("recognizers", "landmarkers", "provenance", "dataset_label")
    )
    same_data = same_data and all(
        old_meta.get("landmarkers", {}).get(k, v) == v for k, v in meta["landmarkers"].items()
    )
    same_rows = list(old_items["item"]) == list(items["item"]) and list(old_pairs["a"]) == list(pairs["a"])
    if not (same_data and same_rows):
        return
    for spec, config in old_meta["recognizers"].items():
        if spec in meta["recognizers"]:
            continue
        name = config["recognizer"]
        items[cos_to_original(name)] = old_items[cos_to_original(name)].to_numpy()
        pairs[score(name)] = old_pairs[score(name)].to_numpy()
        for col in old_pairs.columns:
            if col.startswith("decision__") and col.endswith(f"__{name}"):
                pairs[col] = old_pairs[col].to_numpy()
        meta["recognizers"] = {**meta["recognizers"], spec: config}
    for name, identity in old_meta.get("landmarkers", {}).items():
        if name not in meta["landmarkers"]:
            items[face_detected(name)] = old_items[face_detected(name)].to_numpy()
            meta["landmarkers"] = {**meta["landmarkers"], name: identity}
    meta.setdefault("earlier_provenance", old_meta.get("provenance"))
