"""The worker side of a run: one chunk of items × one setting (a ``ChunkTask``, plain data sent to a worker
process) is encoded (or its cached bitstreams reused), decoded, measured (bytes, PSNR, MS-SSIM), aligned with the
landmarks of its originals and embedded by every recognizer; each result lands in the content-addressed cache."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ipr_bench.codecs.base import Quality
from ipr_bench.core.cache import Cache, pack_bytes, unpack_bytes
from ipr_bench.core.errors import DataError
from ipr_bench.core.images import ms_ssim, psnr, read_rgb
from ipr_bench.core.registry import create_codec, create_landmarker, create_recognizer
from ipr_bench.face.landmarks import FaceLandmarks
from ipr_bench.landmarkers.base import cached_landmarks
from ipr_bench.recognizers.base import Recognizer

ORIGINAL = "original"
AlignOn = Literal["original", "decoded"]


@dataclass(frozen=True)
class Setting:
    codec: str  # registry name, or ORIGINAL
    quality: Quality | None = None
    knob: str = ""

    @property
    def label(self) -> str:
        return ORIGINAL if self.codec == ORIGINAL else f"{self.codec}@{self.knob}={self.quality}"


@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs, as plain data (it is sent to another process)."""

    setting: Setting
    codec_options: dict[str, Any]
    item_ids: tuple[str, ...]
    item_paths: tuple[str, ...]
    recognizer_specs: tuple[str, ...]  # registry specs, e.g. "arcface", "onnx:/m.onnx"
    recognizer_options: dict[str, dict[str, Any]]  # spec → constructor options
    cache_root: str
    landmarks_keys: dict[str, str]  # landmarker → key of its landmarks for this chunk's images
    bitstream_key: str
    measures_key: str  # bytes, PSNR, MS-SSIM and errors of the chunk
    embedding_keys: tuple[str, ...]  # one per recognizer
    align_on: AlignOn
    codec_landmarks_key: str = ""  # a face-aware codec's landmarks of the originals ("" for other codecs)
    prefers_gpu: bool = False  # its codec runs faster on a GPU (executors may place it on one)

    def entries(self) -> list[tuple[str, str]]:
        """Every cache entry (kind, key) this chunk reads or writes: what a worker without the shared cache
        must be given and send back."""
        marks = {*self.landmarks_keys.values(), *([self.codec_landmarks_key] if self.codec_landmarks_key else [])}
        return [
            *(("landmarks", k) for k in sorted(marks)),
            ("bitstream", self.bitstream_key),
            ("measures", self.measures_key),
            *(("embedding", k) for k in self.embedding_keys),
        ]


_models: dict[tuple[str, str], Any] = {}


def _cached_model(kind: str, spec: str, factory: Callable[[], Any]) -> Any:
    if (kind, spec) not in _models:
        _models[(kind, spec)] = factory()
    return _models[(kind, spec)]


def _embed_all(
    recognizer: Recognizer, images: list[np.ndarray | None], marks: list[FaceLandmarks | None]
) -> np.ndarray:
    out = np.full((len(images), recognizer.spec.embedding_dim), np.nan, np.float32)
    ok = [i for i, (im, m) in enumerate(zip(images, marks, strict=True)) if im is not None and m is not None]
    if ok:
        faces = np.stack([recognizer.align(images[i], marks[i]) for i in ok])
        out[ok] = recognizer.embed(faces)
    return out


def run_chunk(task: ChunkTask) -> tuple[Setting, int, list[str]]:
    """Do (or reuse) one chunk; returns the setting, the number of items, and per-item error messages."""
    cache = Cache(task.cache_root)
    n = len(task.item_ids)
    errors = [""] * n
    originals: list[np.ndarray | None] = []
    for i, path in enumerate(task.item_paths):
        try:
            originals.append(read_rgb(path))
        except DataError as exc:
            originals.append(None)
            errors[i] = str(exc)

    recognizers = []
    for spec in task.recognizer_specs:
        options = task.recognizer_options.get(spec, {})
        key = f"{spec}{sorted(options.items())}"
        recognizers.append(_cached_model("recognizer", key, lambda s=spec, o=options: create_recognizer(s, **o)))
    todo = [(r, k) for r, k in zip(recognizers, task.embedding_keys, strict=True) if not cache.has("embedding", k)]
    landmarkers = {
        name: _cached_model("landmarker", name, lambda n=name: create_landmarker(n)) for name in task.landmarks_keys
    }

    if task.setting.codec == ORIGINAL:
        marks = {n: cached_landmarks(cache, lm, task.landmarks_keys[n], originals) for n, lm in landmarkers.items()}
        if not cache.has("measures", task.measures_key):
            sizes = [
                Path(p).stat().st_size if im is not None else -1
                for p, im in zip(task.item_paths, originals, strict=True)
            ]
            cache.put("measures", task.measures_key, _measures(originals, originals, sizes, {}, errors))
        for rec, key in todo:
            cache.put("embedding", key, {"embedding": _embed_all(rec, originals, marks[rec.spec.landmarker])})
        return task.setting, n, errors

    landmarks_done = all(cache.has("landmarks", k) for k in task.landmarks_keys.values())
    if cache.has("measures", task.measures_key) and not todo and landmarks_done:
        return task.setting, n, list(cache.get("measures", task.measures_key)["error"])

    codec = _cached_model(
        "codec",
        f"{task.setting.codec}{sorted(task.codec_options.items())}",
        lambda: create_codec(task.setting.codec, **task.codec_options),
    )
    stored = cache.get("bitstream", task.bitstream_key)
    payloads: list[bytes] = []
    alt: dict[str, list[int]] = {}
    info: dict[str, list[float]] = {}
    if stored is not None:
        payloads = unpack_bytes(stored["blob"], stored["offsets"])
        alt = {k[4:]: list(v) for k, v in stored.items() if k.startswith("alt_")}
        info = {k[5:]: list(v) for k, v in stored.items() if k.startswith("info_")}
        errors = [str(e) for e in stored["error"]]
    else:
        present = [i for i, im in enumerate(originals) if im is not None]
        faces = None
        if codec.face_aware:  # the originals' landmarks, computed by the originals stage
            marker = _cached_model("landmarker", codec.landmarker, lambda: create_landmarker(codec.landmarker))
            if not cache.has("landmarks", task.codec_landmarks_key):
                raise RuntimeError(
                    f"{codec.landmarker} landmarks missing for {task.setting.label}: run originals first"
                )
            marks = cached_landmarks(cache, marker, task.codec_landmarks_key, originals)
            faces = [marks[i] for i in present]
        results = codec.encode_batch([originals[i] for i in present], task.setting.quality, faces) if present else []
        encoded: list[Any] = [None] * n
        for i, result in zip(present, results, strict=True):
            if isinstance(result, Exception):  # one bad image never kills a run
                errors[i] = f"{task.item_ids[i]}: encode failed: {result}"
            else:
                encoded[i] = result
        payloads = [e.payload if e else b"" for e in encoded]
        for i, e in enumerate(encoded):
            for k, v in (e.alt_bytes if e else {}).items():
                alt.setdefault(k, [-1] * n)[i] = v
            for k, v in (e.info if e else {}).items():
                info.setdefault(k, [np.nan] * n)[i] = v
        cache.put(
            "bitstream",
            task.bitstream_key,
            {
                **pack_bytes(payloads),
                "error": np.array(errors),
                **{f"alt_{k}": np.array(v) for k, v in alt.items()},
                **{f"info_{k}": np.array(v, np.float64) for k, v in info.items()},
            },
        )

    decoded: list[np.ndarray | None] = [None] * n
    todo_decode = [i for i in range(n) if payloads[i] and not errors[i]]
    for i, image in zip(todo_decode, codec.decode_batch([payloads[i] for i in todo_decode]), strict=True):
        if isinstance(image, Exception):
            errors[i] = f"{task.item_ids[i]}: decode failed: {image}"
        elif image.shape != originals[i].shape:
            errors[i] = f"{task.item_ids[i]}: decoded shape {image.shape} != original {originals[i].shape}"
        else:
            decoded[i] = image

    if task.align_on == "original":
        for name, key in task.landmarks_keys.items():
            if not cache.has("landmarks", key):
                raise RuntimeError(f"{name} landmarks of chunk {key} missing: the originals stage must run first")
    # align_on original: the keys name the originals' landmarks (cached); decoded: the decoded images' own
    marks = {n: cached_landmarks(cache, lm, task.landmarks_keys[n], decoded) for n, lm in landmarkers.items()}
    sizes = [len(p) if not errors[i] else -1 for i, p in enumerate(payloads)]
    if not cache.has("measures", task.measures_key):
        cache.put("measures", task.measures_key, _measures(originals, decoded, sizes, alt, errors, info))
    for rec, key in todo:
        cache.put("embedding", key, {"embedding": _embed_all(rec, decoded, marks[rec.spec.landmarker])})
    return task.setting, n, errors


MEASURES_LAYOUT = 2  # bump when _measures' fields change


def _measures(
    originals: list[np.ndarray | None],
    decoded: list[np.ndarray | None],
    sizes: list[int],
    alt: dict[str, list[int]],
    errors: list[str],
    info: dict[str, list[float]] | None = None,
) -> dict[str, np.ndarray]:
    """Per-item measures; ``info`` (what a codec did per image) is an optional field, so entries without it keep
    the same layout."""
    n = len(originals)
    hw = np.array([o.shape[:2] if o is not None else (0, 0) for o in originals], np.int64).reshape(n, 2)
    p = np.full(n, np.nan)
    m = np.full(n, np.nan)
    for i, (o, d) in enumerate(zip(originals, decoded, strict=True)):
        if o is not None and d is not None:
            p[i] = psnr(o, d)
            m[i] = ms_ssim(o, d) if d is not o else 1.0
    return {
        "n_bytes": np.array(sizes, np.int64),
        "height": hw[:, 0],
        "width": hw[:, 1],
        "psnr": p,
        "msssim": m,
        "error": np.array(errors),
        **{f"alt_{k}": np.array(v, np.int64) for k, v in alt.items()},
        **{f"info_{k}": np.array(v, np.float64) for k, v in (info or {}).items()},
    }


# ------------------------------------------------------------------------------------------------ main side
