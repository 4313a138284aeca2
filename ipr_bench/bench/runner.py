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
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ipr_bench.analysis.metrics import PROTOCOLS, decisions
from ipr_bench.bench.executors import Executor, create_executor
from ipr_bench.bench.provenance import provenance
from ipr_bench.bench.work import MEASURES_LAYOUT, ORIGINAL, AlignOn, ChunkTask, Setting
from ipr_bench.codecs.base import Codec, Quality
from ipr_bench.core.cache import Cache, content_key
from ipr_bench.core.registry import create_landmarker
from ipr_bench.datasets.base import Dataset, Item, item_digest
from ipr_bench.recognizers.base import Recognizer, cosine, similarity
from ipr_bench.store import schema
from ipr_bench.store.results import ResultStore


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
    executor: str = "local"  # or "ray" (ipr_bench.bench.executors)
    executor_options: dict[str, Any] = field(default_factory=dict)  # e.g. address, cache_mode for ray
    recognizer_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # to rebuild them in workers

    def settings(self) -> list[Setting]:
        out = [Setting(ORIGINAL)]
        for name, codec in self.codecs.items():
            out += [Setting(name, q, codec.knob) for q in self.qualities[name]]
        return out


def _chunks(dataset: Dataset, size: int) -> list[list[Item]]:
    """Units of work that never straddle folds: items grouped by the first fold a pair uses them in (in dataset
    order within a group), each group cut into chunks of ``size``. A run on some folds (lfw-ipr-quick: folds 1–2)
    then has exactly the chunks of those folds in a run on all of them (lfw-ipr), so either reuses the other's
    cached work. Items in no pair come last."""
    first_fold: dict[str, int] = {}
    for p in dataset.pairs:
        for i in (p.a, p.b):
            first_fold[i] = min(first_fold.get(i, p.fold), p.fold)
    groups: dict[float, list[Item]] = {}
    for item in dataset.items:
        groups.setdefault(first_fold.get(item.id, math.inf), []).append(item)
    return [g[i : i + size] for _, g in sorted(groups.items()) for i in range(0, len(g), size)]


class Runner:
    def __init__(self, spec: RunSpec, progress: Any | None = None) -> None:
        self.spec = spec
        self.store = ResultStore(spec.out)
        self.progress = progress
        self.chunks = _chunks(spec.dataset, spec.chunk_size)
        # the chunks' concatenated order → the dataset's: the store keeps the dataset's item order
        position = {item.id: n for n, item in enumerate(i for chunk in self.chunks for i in chunk)}
        self.in_dataset_order = np.array([position[i.id] for i in spec.dataset.items], np.int64)
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
        self.tasks_run = 0  # chunk tasks the last run() executed (the originals' chunks run whenever any is pending)

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
            self.tasks_run = len(first) + len(rest)
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
        )[self.in_dataset_order]

    def _write_setting(self, setting: Setting) -> None:
        ds = self.spec.dataset
        parts = [self._load("measures", self.measures_key(setting, c)) for c in range(len(self.chunks))]
        measures = {k: np.concatenate([p[k] for p in parts])[self.in_dataset_order] for k in parts[0]}
        detected = {
            name: np.concatenate(
                [
                    self._load("landmarks", self.landmarks_key(name, setting, c))["detected"]
                    for c in range(len(self.chunks))
                ]
            )[self.in_dataset_order]
            for name in self.landmarker_names
        }
        items = schema.items_table([i.id for i in ds.items], setting, measures, detected)
        index = {i.id: n for n, i in enumerate(ds.items)}
        a = np.array([index[p.a] for p in ds.pairs])
        b = np.array([index[p.b] for p in ds.pairs])
        pairs = schema.pairs_table(ds.pairs)
        for rec_spec, rec in self.spec.recognizers.items():
            emb = self._embeddings(setting, rec_spec)
            ref = self._embeddings(Setting(ORIGINAL), rec_spec)
            with np.errstate(invalid="ignore"):
                scores = similarity(emb[a], emb[b], rec.spec.metric)
                ref_scores = similarity(ref[a], ref[b], rec.spec.metric)
                cosines = cosine(emb, ref)
            # the decision under each threshold protocol (ipr_bench.analysis.metrics), so a store reader needs no code
            same, folds = pairs["same"].to_numpy(), pairs["fold"].to_numpy()
            verdicts = {protocol: decisions(scores, same, folds, protocol, ref_scores) for protocol in PROTOCOLS}
            schema.add_recognizer(items, pairs, rec.name, scores, cosines, verdicts)
        # each setting carries the provenance of the run that computed it (a store may grow over several runs)
        meta = {
            **self.store_meta(setting),
            "provenance": {**self.provenance, "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        }
        schema.keep_earlier(items, pairs, meta, self.store.read_setting(setting.label))
        self.store.write_setting(setting.label, items, pairs, meta)


def _as_json(value: Any) -> Any:
    """Tuples become lists etc., exactly as a JSON round trip through the store's metadata would make them."""
    return json.loads(json.dumps(value, default=str))
