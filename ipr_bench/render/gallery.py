"""Reconstructions at matched rates, to look at: ``ipr-bench gallery --results STORE``.

Two LFW pairs are drawn with a seed — a matched and a mismatched one that every recognizer in the store decides
correctly on the originals. For each codec, the settings whose mean bpp is closest to each target rate are
shown as enlarged face crops of both images (the face region of ``ipr_bench.face.roi`` on the original) or, with
``view="whole"``, as whole images with that region outlined (where region-of-interest codecs and learned codecs
move their bits to: a face crop alone hides what the background paid), captioned
with the setting, the pair's exact bpp, each image's cosine to its original's embedding and, per recognizer,
the pair's score against its fold's threshold (LFW protocol) — ✓ where the decision is still right.

Each picture is re-encoded from the original with the stored codec configuration, and its byte count is checked
against the store's: a mismatch is printed on the picture instead of passing silently.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ipr_bench.analysis.metrics import decisions, pair_thresholds
from ipr_bench.core.cache import atomic_write_bytes
from ipr_bench.core.errors import IprBenchError
from ipr_bench.store import schema
from ipr_bench.store.results import ResultStore

TARGETS = (0.10, 0.17, 0.27, 0.44)
CROP = 128  # px per enlarged face crop
VIEWS = ("face", "whole")
CONFIG_ONLY = ("codec", "version", "quality", "landmarks")


def decided(pairs: pd.DataFrame, recognizer: str) -> np.ndarray:
    """Per pair: decided 'same' by ``recognizer`` under the LFW protocol: the store's decision column where it has
    one, else ``ipr_bench.analysis.metrics.decisions`` (the one home of the decision rule)."""
    column = schema.decision("lfw10fold", recognizer)
    if column in pairs:
        return pairs[column].to_numpy(bool)
    scores = pairs[schema.score(recognizer)].to_numpy(np.float64)
    return decisions(scores, pairs["same"].to_numpy(), pairs["fold"].to_numpy())


def choose_pairs(pairs: pd.DataFrame, recognizers: list[str], seed: int = 0) -> dict[str, int]:
    """Row indices of one matched and one mismatched pair that every recognizer gets right on the originals."""
    right = np.ones(len(pairs), bool)
    for rec in recognizers:
        right &= decided(pairs, rec) == pairs["same"].to_numpy()
    rng = np.random.default_rng(seed)
    out = {}
    for kind, same in (("matched", True), ("mismatched", False)):
        pool = np.flatnonzero(right & (pairs["same"].to_numpy() == same))
        if len(pool) == 0:
            raise IprBenchError(f"no {kind} pair that every recognizer gets right on the originals")
        out[kind] = int(rng.choice(pool))
    return out


def closest_settings(store: ResultStore, labels: list[str], targets: tuple[float, ...]) -> dict[str, list[str | None]]:
    """Per codec and target, the setting whose mean bpp is closest in log bpp (None where that setting already
    stands for an earlier target)."""
    means: dict[str, list[tuple[float, str]]] = {}
    for label in labels:
        items, _, _ = store.read_setting(label)
        codec = items["codec"].iloc[0]
        if codec != "original":
            means.setdefault(codec, []).append((float(items["bpp"].mean()), label))
    out = {}
    for codec, points in sorted(means.items()):
        chosen = [min(points, key=lambda p: abs(np.log(p[0] / t)))[1] for t in targets]
        out[codec] = [label if label not in chosen[:k] else None for k, label in enumerate(chosen)]
    return out


def filled_columns(
    settings: dict[str, list[str | None]], targets: tuple[float, ...]
) -> tuple[tuple[float, ...], dict[str, list[str | None]]]:
    """Only the targets some codec has a setting for (closest_settings leaves None where a codec's closest
    setting already stands for an earlier target): a column no codec fills is dropped, not drawn empty."""
    keep = [k for k in range(len(targets)) if any(labels[k] is not None for labels in settings.values())]
    return tuple(targets[k] for k in keep), {codec: [labels[k] for k in keep] for codec, labels in settings.items()}


def reconstruct(codec_spec: str, config: dict[str, Any], quality: float, image: np.ndarray) -> tuple[np.ndarray, int]:
    """Re-encode ``image`` as the store did; (decoded image, payload bytes)."""
    from ipr_bench.core.registry import create_codec
    from ipr_bench.landmarkers.base import detect_landmarks

    options = {k: v for k, v in config.items() if k not in CONFIG_ONLY}
    try:
        codec = create_codec(codec_spec, **options)
    except TypeError:  # codecs whose config is a description, not constructor options (learned checkpoints)
        codec = create_codec(codec_spec)
    q = codec.parse_quality(str(quality))
    face = detect_landmarks(image, codec.landmarker) if codec.face_aware else None
    encoded = codec.encode_batch([image], q, [face] if codec.face_aware else None)[0]
    if isinstance(encoded, Exception):
        raise encoded
    return codec.decode(encoded.payload), len(encoded.payload)


def face_crop(image: np.ndarray, region: Any) -> np.ndarray:
    import cv2

    crop = image[region.top : region.bottom, region.left : region.right]
    return cv2.resize(crop, (CROP, round(CROP * crop.shape[0] / max(crop.shape[1], 1))), interpolation=cv2.INTER_CUBIC)


def outlined(image: np.ndarray, region: Any) -> np.ndarray:
    """The whole image with the face region's box drawn in (a 1-px yellow frame, inside the image)."""
    out = image.copy()
    if region is None:
        return out
    top, left = max(region.top, 0), max(region.left, 0)
    bottom, right = min(region.bottom, out.shape[0]) - 1, min(region.right, out.shape[1]) - 1
    yellow = np.array([255, 220, 0], np.uint8)
    out[top, left : right + 1] = out[bottom, left : right + 1] = yellow
    out[top : bottom + 1, left] = out[top : bottom + 1, right] = yellow
    return out


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    h = min(left.shape[0], right.shape[0])
    return np.hstack([left[:h], np.full((h, 4, 3), 255, np.uint8), right[:h]])


def build_gallery(
    store_dir: Path | str,
    dataset: str = "lfw",
    targets: tuple[float, ...] = TARGETS,
    seed: int = 0,
    view: str = "face",
) -> list[Path]:
    """figures/gallery_matched.png and gallery_mismatched.png in the store (``gallery_whole_*.png`` for
    ``view="whole"``); returns their paths."""
    if view not in VIEWS:
        raise IprBenchError(f"gallery view {view!r}: choose one of {', '.join(VIEWS)}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ipr_bench.core.images import read_rgb
    from ipr_bench.core.registry import create_dataset
    from ipr_bench.face.roi import face_region
    from ipr_bench.landmarkers.base import detect_landmarks

    store = ResultStore(store_dir)
    original = store.read_setting("original")
    if original is None:
        raise IprBenchError(f"{store_dir}: no originals in the store (the gallery compares against them)")
    items0, pairs0, meta0 = original
    recognizers = sorted(c["recognizer"] for c in meta0["recognizers"].values())
    paths = {i.id: i.path for i in create_dataset(dataset).items}
    chosen = choose_pairs(pairs0, recognizers, seed)
    targets, settings = filled_columns(closest_settings(store, store.labels(), targets), targets)
    written = []

    def shown(image: np.ndarray, region: Any) -> np.ndarray:
        return face_crop(image, region) if view == "face" else outlined(image, region)

    for kind, row in chosen.items():
        a, b = pairs0.loc[row, "a"], pairs0.loc[row, "b"]
        originals = {i: read_rgb(paths[i]) for i in (a, b)}
        regions = {i: face_region(detect_landmarks(im, "mtcnn"), im.shape) for i, im in originals.items()}
        columns = max(len(targets), 1)
        fig, axes = plt.subplots(len(settings) + 1, columns, figsize=(2.9 * columns, 2.3 * (len(settings) + 1)))
        axes = np.atleast_2d(axes)
        for ax in axes.flat:
            ax.axis("off")
        axes[0, 0].imshow(side_by_side(shown(originals[a], regions[a]), shown(originals[b], regions[b])))
        axes[0, 0].set_title(f"originals ({'same person' if kind == 'matched' else 'two people'})", fontsize=8)
        for r, (codec, labels) in enumerate(settings.items(), start=1):
            for c, label in enumerate(labels):
                if label is None:
                    continue
                items, pairs, meta = store.read_setting(label)
                by_item = items.set_index("item")
                quality = float(by_item["quality"].iloc[0])
                pictures, notes = [], []
                for i in (a, b):
                    image, n_bytes = reconstruct(codec, meta["codec_config"], quality, originals[i])
                    if n_bytes != int(by_item.loc[i, "n_bytes"]):
                        notes.append(f"re-encoded {n_bytes} B ≠ stored {int(by_item.loc[i, 'n_bytes'])} B")
                    pictures.append(shown(image, regions[i]))
                axes[r, c].imshow(side_by_side(*pictures))
                bpp = (by_item.loc[a, "bpp"] + by_item.loc[b, "bpp"]) / 2
                lines = [f"≈{targets[c]:g} bpp: {items['setting'].iloc[0].replace('@', ' ')}, {bpp:.3f} bpp"]
                for rec in recognizers:
                    scores = pairs[schema.score(rec)].to_numpy(np.float64)
                    t = pair_thresholds(scores, pairs["same"].to_numpy(), pairs["fold"].to_numpy())[row]
                    said_same = bool(decided(pairs, rec)[row])
                    ok = said_same == bool(pairs.loc[row, "same"])
                    cos = [by_item.loc[i, schema.cos_to_original(rec)] for i in (a, b)]
                    lines.append(
                        f"{rec}: cos {cos[0]:.2f}/{cos[1]:.2f}, {scores[row]:.2f} {'>' if said_same else '≤'} "
                        f"{t:.2f} {'✓' if ok else '✗'}"
                    )
                axes[r, c].set_title("\n".join(lines + notes), fontsize=6.5)
        fig.tight_layout()
        stem = f"gallery_{kind}" if view == "face" else f"gallery_whole_{kind}"
        out = Path(store_dir) / "figures" / f"{stem}.png"
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
        atomic_write_bytes(out, buf.getvalue())
        store.record_sources(out, [label for labels in settings.values() for label in labels if label is not None])
        written.append(out)
    return written
