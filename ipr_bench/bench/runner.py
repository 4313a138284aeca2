"""Crossing codecs × qualities × recognizers over a dataset: dataset → codec → cache → alignment → recognizer →
scores → store.

Unit of work: one chunk of items × one setting (a codec at one quality, or the originals). A chunk task
encodes (or reuses cached bitstreams), decodes, measures PSNR/MS-SSIM, aligns each face with the landmarks
of its original (from the landmarker each recognizer names), and embeds it with every requested recognizer in
batches. Chunks run in worker processes;
every chunk result lands in the content-addressed cache, so a killed run resumes where it stopped. When all
chunks of a setting are done, its tables are written to the results store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ipr_bench.cache import Cache, content_key, pack_bytes, unpack_bytes
from ipr_bench.codec import Codec, Quality
from ipr_bench.datasets.base import Dataset, Item, item_digest
from ipr_bench.errors import DataError
from ipr_bench.executors import Executor, create_executor
from ipr_bench.images import ms_ssim, psnr, read_rgb
from ipr_bench.landmarks import FaceLandmarks, cached_landmarks
from ipr_bench.metrics import PROTOCOLS, decisions
from ipr_bench.provenance import provenance
from ipr_bench.recognizer import Recognizer, cosine, similarity
from ipr_bench.registry import create_codec, create_landmarker, create_recognizer
from ipr_bench.store import ResultStore

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


@dataclass
class RunSpec:
    dataset: Dataset
    codecs: dict[str, Codec]  # registry name → instance
    qualities: dict[str, list[Quality]]
    recognizers: dict[str, Recognizer]  # registry spec → instance
    out: Path
    cache: Cache = field(default_factory=Cache)
    align_on: AlignOn = "original"
    workers: int = 1
    chunk_size: int = 100
    executor: str = "local"  # or "ray" (ipr_bench.executors)
    executor_options: dict[str, Any] = field(default_factory=dict)  # e.g. address, cache_mode for ray
    recognizer_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # to rebuild them in workers

    def settings(self) -> list[Setting]:
        out = [Setting(ORIGINAL)]
        for name, codec in self.codecs.items():
            out += [Setting(name, q, codec.knob) for q in self.qualities[name]]
        return out


# ---------------------------------------------------------------------------------------------- worker side

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


def _chunks(items: Sequence[Item], size: int) -> list[list[Item]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


class Runner:
    def __init__(self, spec: RunSpec, progress: Any | None = None) -> None:
        self.spec = spec
        self.store = ResultStore(spec.out)
        self.progress = progress
        self.chunks = _chunks(spec.dataset.items, spec.chunk_size)
        self.chunk_digests = [content_key([(i.id, item_digest(i)) for i in c]) for c in self.chunks]
        self.rec_configs = {s: r.config() for s, r in spec.recognizers.items()}
        # every landmarker a recognizer aligns with or a face-aware codec reads: computed once, on the originals
        self.landmarker_names = sorted(
            {r.spec.landmarker for r in spec.recognizers.values()}
            | {c.landmarker for c in spec.codecs.values() if c.face_aware and c.landmarker}
        )
        self.landmarker_ids = {n: create_landmarker(n).identity() for n in self.landmarker_names}
        self.dataset_fp = spec.dataset.fingerprint()
        self.provenance = provenance()
        self.computed: list[str] = []

    # keys -------------------------------------------------------------------------------------------
    def landmarks_key(self, landmarker: str, setting: Setting, c: int) -> str:
        """Landmarks of the originals, or with --align-on decoded, of the setting's decoded images."""
        if self.spec.align_on == "decoded" and setting.codec != ORIGINAL:
            return content_key("landmarks", *self.landmarker_ids[landmarker], self.bitstream_key(setting, c))
        return content_key("landmarks", *self.landmarker_ids[landmarker], self.chunk_digests[c])

    def codec_config(self, setting: Setting) -> dict[str, Any]:
        if setting.codec == ORIGINAL:
            return {"codec": ORIGINAL, "bytes": "source file as stored on disk"}
        codec = self.spec.codecs[setting.codec]
        config = {**codec.config(), "quality": setting.quality}
        if codec.face_aware:  # its bytes depend on the landmarks it was given
            config["landmarks"] = self.landmarker_ids[codec.landmarker]
        return config

    def bitstream_key(self, setting: Setting, c: int) -> str:
        return content_key("bitstream", self.codec_config(setting), self.chunk_digests[c])

    def measures_key(self, setting: Setting, c: int) -> str:
        # versioned: an entry written by an older layout of _measures (other fields) is recomputed, not mixed in
        return content_key("measures", MEASURES_LAYOUT, self.bitstream_key(setting, c))

    def embedding_key(self, setting: Setting, c: int, rec_spec: str) -> str:
        landmarker = self.spec.recognizers[rec_spec].spec.landmarker
        return content_key(
            "embedding",
            self.bitstream_key(setting, c),
            self.rec_configs[rec_spec],
            self.spec.align_on,
            self.landmarks_key(landmarker, setting, c),
        )

    def store_meta(self, setting: Setting) -> dict[str, Any]:
        """The keys a stored setting must match to be reused, in their JSON form (as read back from the store)."""
        return _as_json(
            {
                "dataset": self.spec.dataset.name,
                "dataset_label": self.spec.dataset.label,
                "dataset_fingerprint": self.dataset_fp,
                "folds": list(self.spec.dataset.folds),
                "setting": setting.label,
                "codec_config": self.codec_config(setting),
                "align_on": self.spec.align_on,
                "landmarkers": self.landmarker_ids,
                "recognizers": self.rec_configs,
            }
        )

    def stored_is_current(self, setting: Setting) -> bool:
        meta = self.store.read_meta(setting.label)
        if meta is None:
            return False
        want = self.store_meta(setting)
        merged = ("recognizers", "landmarkers")  # a store may hold more of these than this run asks for
        same = all(meta.get(k) == want[k] for k in want if k not in merged and k != "dataset_label")
        return same and all(meta.get(group, {}).get(k) == v for group in merged for k, v in want[group].items())

    # running ----------------------------------------------------------------------------------------
    def tasks(self, setting: Setting) -> list[ChunkTask]:
        specs = tuple(self.spec.recognizers)
        options = self.spec.codecs[setting.codec].options if setting.codec != ORIGINAL else {}
        return [
            ChunkTask(
                setting=setting,
                codec_options=dict(options),
                item_ids=tuple(i.id for i in chunk),
                item_paths=tuple(str(i.path) for i in chunk),
                recognizer_specs=specs,
                recognizer_options={s: self.spec.recognizer_options.get(s, {}) for s in specs},
                cache_root=self.spec.cache.location,
                landmarks_keys={n: self.landmarks_key(n, setting, c) for n in self.landmarker_names},
                bitstream_key=self.bitstream_key(setting, c),
                measures_key=self.measures_key(setting, c),
                embedding_keys=tuple(self.embedding_key(setting, c, s) for s in specs),
                align_on=self.spec.align_on,
                codec_landmarks_key=self._codec_landmarks_key(setting, c),
                prefers_gpu=setting.codec != ORIGINAL and self.spec.codecs[setting.codec].prefers_gpu,
            )
            for c, chunk in enumerate(self.chunks)
        ]

    def _codec_landmarks_key(self, setting: Setting, c: int) -> str:
        codec = self.spec.codecs.get(setting.codec)
        if codec is None or not codec.face_aware:
            return ""
        return self.landmarks_key(codec.landmarker, Setting(ORIGINAL), c)

    def run(self) -> list[str]:
        """Run every setting not already current in the store; return the settings' labels."""
        self.spec.cache.remove_stale_temporaries()
        settings = self.spec.settings()
        pending = [s for s in settings if not self.stored_is_current(s)]
        self.computed = [s.label for s in pending]
        if pending:
            # the originals' chunks give the landmarks every other setting needs: they go first
            first = self.tasks(settings[0])
            rest = [t for s in pending if s.codec != ORIGINAL for t in self.tasks(s)]
            # one executor for both stages: workers start (and load models) once
            with create_executor(self.spec.executor, self.spec.workers, **self.spec.executor_options) as executor:
                self._execute(executor, first, "originals: landmarks + embeddings", lambda s: None)
                if settings[0] in pending:
                    self._write_setting(settings[0])
                self._execute(executor, rest, "codecs: encode → decode → embed", self._write_setting)
        return [s.label for s in settings]

    def _execute(
        self,
        executor: Executor,
        tasks: list[ChunkTask],
        stage: str,
        on_setting_done: Callable[[Setting], None],
    ) -> None:
        remaining: dict[Setting, int] = {}
        for t in tasks:
            remaining[t.setting] = remaining.get(t.setting, 0) + 1
        total = sum(len(t.item_ids) for t in tasks)
        bar = self.progress.stage(stage, total, detail=executor.describe) if self.progress else None

        def finished(result: tuple[Setting, int, list[str]]) -> None:
            setting, n, _ = result
            if bar:
                bar.advance(n)
            remaining[setting] -= 1
            if remaining[setting] == 0:
                on_setting_done(setting)

        executor.run(tasks, finished)
        if bar:
            bar.close()

    def _load(self, kind: str, key: str) -> dict[str, np.ndarray]:
        data = self.spec.cache.get(kind, key)
        if data is None:
            raise RuntimeError(f"cache entry {kind}/{key} vanished while the run was writing results")
        return data

    def _embeddings(self, setting: Setting, rec_spec: str) -> np.ndarray:
        return np.concatenate(
            [
                self._load("embedding", self.embedding_key(setting, c, rec_spec))["embedding"]
                for c in range(len(self.chunks))
            ]
        )

    def _write_setting(self, setting: Setting) -> None:
        ds = self.spec.dataset
        parts = [self._load("measures", self.measures_key(setting, c)) for c in range(len(self.chunks))]
        measures = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        items = pd.DataFrame(
            {
                "item": [i.id for i in ds.items],
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
                items[f"codec_{k[5:]}"] = measures[k]
        for name in self.landmarker_names:
            flags = [
                self._load("landmarks", self.landmarks_key(name, setting, c))["detected"]
                for c in range(len(self.chunks))
            ]
            items[f"face_detected__{name}"] = np.concatenate(flags)
        items["error"] = measures["error"]

        index = {i.id: n for n, i in enumerate(ds.items)}
        a = np.array([index[p.a] for p in ds.pairs])
        b = np.array([index[p.b] for p in ds.pairs])
        pairs = pd.DataFrame(
            {
                "pair": np.arange(len(ds.pairs)),
                "fold": [p.fold for p in ds.pairs],
                "same": [p.same for p in ds.pairs],
                "a": [p.a for p in ds.pairs],
                "b": [p.b for p in ds.pairs],
            }
        )
        for rec_spec, rec in self.spec.recognizers.items():
            emb = self._embeddings(setting, rec_spec)
            ref = self._embeddings(Setting(ORIGINAL), rec_spec)
            name = rec.name
            with np.errstate(invalid="ignore"):
                scores = similarity(emb[a], emb[b], rec.spec.metric)
                ref_scores = similarity(ref[a], ref[b], rec.spec.metric)
                pairs[f"score__{name}"] = scores
                items[f"cos_to_original__{name}"] = cosine(emb, ref)
            # the decision under each threshold protocol (ipr_bench.metrics), so a reader of the store needs no code
            for protocol in PROTOCOLS:
                pairs[f"decision__{protocol}__{name}"] = decisions(
                    scores, pairs["same"].to_numpy(), pairs["fold"].to_numpy(), protocol, ref_scores
                )
        # each setting carries the provenance of the run that computed it (a store may grow over several runs)
        meta = {
            **self.store_meta(setting),
            "provenance": {**self.provenance, "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        }
        self._keep_other_recognizers(setting, items, pairs, meta)
        self.store.write_setting(setting.label, items, pairs, meta)

    def _keep_other_recognizers(self, setting: Setting, items: pd.DataFrame, pairs: pd.DataFrame, meta: dict) -> None:
        """A run with other recognizers than the stored ones adds its columns; it never drops theirs."""
        stored = self.store.read_setting(setting.label)
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
            items[f"cos_to_original__{name}"] = old_items[f"cos_to_original__{name}"].to_numpy()
            pairs[f"score__{name}"] = old_pairs[f"score__{name}"].to_numpy()
            for col in old_pairs.columns:
                if col.startswith("decision__") and col.endswith(f"__{name}"):
                    pairs[col] = old_pairs[col].to_numpy()
            meta["recognizers"] = {**meta["recognizers"], spec: config}
        for name, identity in old_meta.get("landmarkers", {}).items():
            if name not in meta["landmarkers"]:
                items[f"face_detected__{name}"] = old_items[f"face_detected__{name}"].to_numpy()
                meta["landmarkers"] = {**meta["landmarkers"], name: identity}
        meta.setdefault("earlier_provenance", old_meta.get("provenance"))


def _as_json(value: Any) -> Any:
    """Tuples become lists etc., exactly as a JSON round trip through the store's metadata would make them."""
    return json.loads(json.dumps(value, default=str))
