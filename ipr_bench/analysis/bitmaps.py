"""Where a learned codec spends its bits: per-pixel information content from its entropy model.

A CompressAI model's forward pass gives, per latent tensor, the likelihood p of every quantised element; its
information content is −log2 p bits. Summed over channels, each spatial position of a latent at stride s (the
hyperprior's y: 16, z: 64) carries the bits of an s × s block of pixels, spread evenly over that block here, so
the map of an image sums exactly to the model's estimate of its bit count (the entropy coder's payload adds its
overhead: a few bytes per string). Maps can then be measured inside and outside the face region
(``ipr_bench.face.roi``) or averaged over a dataset in aligned face coordinates (each image's alignment transform), as
a density, with the face template on top: ``ipr-bench bits --results STORE`` (``where_bits_go``) does both for
every learned codec of a results store. x265 exposes no per-block bits or QP in the bundled build
(``scripts/probe_encoder_stats.py``), so classical codecs have no map.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

# The aligned canvas of the heat maps: the ArcFace 112-px template in its centre, 56 px of surroundings each side,
# so the background's share of the bits shows too.
CANVAS = (224, 224)
CANVAS_OFFSET = 56.0


def split_by_region(bits: np.ndarray, region: Any) -> tuple[float, float]:
    """(bits inside, bits outside) a face region of one image's map [H, W] (the map may be the padded one:
    padding counts as outside)."""
    inside = float(bits[region.top : region.bottom, region.left : region.right].sum())
    return inside, float(bits.sum()) - inside


def face_density(bits: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """One map [H, W] (bits per pixel) warped into aligned face coordinates (``matrix``: image → face pixels)
    as a density in bits per image pixel, so maps of differently sized faces average meaningfully."""
    import cv2

    warped = cv2.warpAffine(
        bits.astype(np.float32),
        matrix,
        (size[1], size[0]),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=math.nan,
    )
    return warped


def canvas_matrix(landmarks: Any) -> np.ndarray:
    """Image → heat-map canvas: the ArcFace template alignment, shifted to the canvas centre."""
    from ipr_bench.face.alignment import template_matrix

    matrix = template_matrix(landmarks, "arcface", (112, 112)).astype(np.float64)
    matrix[:, 2] += CANVAS_OFFSET
    return matrix


def where_bits_go(
    store_dir: Path | str,
    dataset: str = "lfw",
    n_images: int = 100,
    seed: int = 0,
    device: str | None = None,
    progress: Any = None,
) -> list[Path]:
    """For every learned codec of a results store, at each of its settings: the share of its bits inside the face
    region (the MTCNN box + 25%, as hevc-roi and the face-aware codecs use) over ``n_images`` seeded images, and
    the mean bit density in aligned face coordinates. Writes ``bits_inside.csv`` and ``figures/bits_<codec>.png``
    in the store (the report shows both); returns the paths. An image that cannot be read or coded is left out
    and counted (``images_failed``), never fatal. ``progress``: an ``ipr_bench.core.progress.Progress``."""
    import pandas as pd

    from ipr_bench.core.cache import atomic_write_bytes
    from ipr_bench.core.errors import IprBenchError
    from ipr_bench.core.images import read_rgb
    from ipr_bench.core.registry import create_codec, create_dataset
    from ipr_bench.face.roi import face_region
    from ipr_bench.landmarkers.base import detect_landmarks
    from ipr_bench.store.results import ResultStore

    store = ResultStore(store_dir)
    settings: dict[str, list[tuple[str, float, pd.DataFrame]]] = {}
    codecs: dict[str, Any] = {}
    for label in store.labels():
        items, _, _ = store.read_setting(label)
        spec = str(items["codec"].iloc[0])
        if spec == "original":
            continue
        if spec not in codecs:
            try:
                codecs[spec] = create_codec(spec)
            except IprBenchError:  # not available here (e.g. checkpoints gone): nothing to map
                codecs[spec] = None
        if hasattr(codecs[spec], "bit_map"):  # learned codecs: classical ones have no entropy model to read
            if device:
                codecs[spec].device = device
            settings.setdefault(spec, []).append((label, float(items["quality"].iloc[0]), items))
    if not settings:
        raise IprBenchError(
            f"{store_dir}: no learned codec in the store; bit maps come from a learned codec's entropy model (the "
            "bundled x265 exposes no per-block bits: scripts/probe_encoder_stats.py)"
        )
    original = store.read_setting("original")
    pool = sorted(original[0]["item"]) if original is not None else sorted(next(iter(settings.values()))[0][2]["item"])
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(pool, size=min(n_images, len(pool)), replace=False).tolist())
    paths = {i.id: i.path for i in create_dataset(dataset).items}
    images, unreadable = {}, []
    for i in chosen:
        try:
            images[i] = read_rgb(paths[i])
        except (IprBenchError, KeyError, OSError) as exc:  # gone or corrupt since the run: leave it out
            unreadable.append(f"{i}: {exc}")
    faces = {i: detect_landmarks(im, "mtcnn") for i, im in images.items()}
    regions = {i: face_region(faces[i], im.shape) for i, im in images.items()}
    rows, written = [], []
    total_work = len(images) * sum(len(points) for points in settings.values())
    bar = progress.stage("bit maps", total_work, unit="images") if progress else None
    for spec, points in sorted(settings.items()):
        codec = codecs[spec]
        maps = []
        for _, quality, items in sorted(points, key=lambda p: p[1]):
            bpp = items.set_index("item")["bpp"]
            inside = total = face_area = area = model_bits = 0.0
            density_sum, density_count = np.zeros(CANVAS), np.zeros(CANVAS)
            with_face, mapped, failed = 0, [], len(unreadable)
            for i, image in images.items():
                if bar:
                    bar.advance(1)
                try:
                    bits = codec.bit_map(image, quality, faces[i] if codec.face_aware else None)
                except Exception:  # one image the model cannot take (e.g. too small) is counted, not fatal
                    failed += 1
                    continue
                mapped.append(i)
                h, w = image.shape[:2]
                model_bits += float(bits.sum())
                area += h * w
                region = regions[i]
                if region is None or faces[i] is None:
                    continue
                with_face += 1
                bits_in, bits_out = split_by_region(bits, region)
                inside, total = inside + bits_in, total + bits_in + bits_out
                face_area += region.width * region.height
                density = face_density(bits, canvas_matrix(faces[i]), CANVAS)
                known = np.isfinite(density)
                density_sum[known] += density[known]
                density_count += known
            mean_density = np.where(density_count > 0, density_sum / np.maximum(density_count, 1), np.nan)
            share = inside / total if total else math.nan
            face_pixels = sum(images[i].shape[0] * images[i].shape[1] for i in mapped if regions[i] and faces[i])
            face_share = face_area / face_pixels if face_pixels else math.nan
            row = {
                "codec": spec,
                "setting": str(items["setting"].iloc[0]),
                "fingerprint": store.fingerprint(str(items["setting"].iloc[0])),  # the codec the rows describe
                "quality": quality,
                "images": len(mapped),
                "images_with_face": with_face,
                "images_failed": failed,
                "bpp_entropy_model": model_bits / area if area else math.nan,
                "bpp_payload": float(bpp.reindex(mapped).mean()),
                "face_area_share": face_share,
                "bits_inside_face_share": share,
                "concentration": share / face_share if face_pixels else math.nan,
            }
            rows.append(row)
            maps.append((row, mean_density))
        picture = _heat_map_figure(Path(store_dir) / "figures" / f"bits_{_file_stem(spec)}.png", spec, maps)
        store.record_sources(picture, [row["setting"] for row, _ in maps])
        written.append(picture)
    if bar:
        bar.close()
    table = pd.DataFrame(rows)
    out = Path(store_dir) / "bits_inside.csv"
    atomic_write_bytes(out, table.to_csv(index=False, float_format="%.6g").encode())
    return [out, *written]


def current_bits(store_dir: Path | str) -> tuple[pd.DataFrame | None, int]:
    """The rows of a store's bits_inside.csv made with the codecs its settings hold now (fingerprints match),
    and how many were left out (made before a codec was replaced, or with no fingerprint); None without one."""
    import pandas as pd

    from ipr_bench.store.results import ResultStore

    path = Path(store_dir) / "bits_inside.csv"
    if not path.is_file():
        return None, 0
    table = pd.read_csv(path)
    if "fingerprint" not in table:
        return table.iloc[0:0], len(table)
    store = ResultStore(store_dir)
    now = {s: store.fingerprint(s) for s in set(table["setting"])}
    keep = [now[s] is not None and now[s] == f for s, f in zip(table["setting"], table["fingerprint"], strict=True)]
    return table[keep], len(table) - sum(keep)


def _file_stem(spec: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in spec)


def _heat_map_figure(path: Path, codec: str, maps: list[tuple[dict[str, Any], np.ndarray]]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ipr_bench.core.cache import atomic_write_bytes
    from ipr_bench.face.alignment import ARCFACE_112

    top = max(float(np.nanmax(m)) for _, m in maps if np.isfinite(m).any()) if maps else 1.0
    # a grid a laptop shows whole: 3 panels a row up to 6 levels, 4 beyond (8 levels: 2 rows of 4)
    columns = max(1, min(len(maps), 3 if len(maps) <= 6 else 4))
    rows = -(-len(maps) // columns)
    size = (max(2.6 * columns + 1.2, 5.0), 3.1 * rows + 0.5)
    fig, grid = plt.subplots(rows, columns, figsize=size, squeeze=False, layout="constrained")
    axes = list(grid.flat)
    for ax in axes[len(maps) :]:
        ax.axis("off")
    shown = None
    for ax, (row, density) in zip(axes, maps, strict=False):
        shown = ax.imshow(density, cmap="magma", vmin=0, vmax=top)
        points = ARCFACE_112 + CANVAS_OFFSET
        ax.scatter(points[:, 0], points[:, 1], s=9, c="cyan", marker="+")
        ax.set_title(
            f"{row['setting'].rpartition('@')[2]}: {row['bpp_payload']:.3f} bpp,\n"
            f"{row['bits_inside_face_share']:.0%} of bits in {row['face_area_share']:.0%} of pixels",
            fontsize=7,
        )
        ax.axis("off")
    if shown is not None:
        fig.colorbar(shown, ax=axes, shrink=0.8, label="bits per pixel")
    fig.suptitle(f"{codec}\nmean bit density in aligned face coordinates (+: ArcFace template)", fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path
