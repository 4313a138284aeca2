"""``evaluate``: one benchmark run from Python, what ``ipr-bench run`` does from the shell.

A preset (or names) → codecs, recognizers and a dataset built from the registries → the runner → the results store,
then the store's summary, the run's provenance (``provenance.json``, ``excluded.csv``), a line in ``runs.jsonl``
and, where the store has an anchor, the report.
"""

from __future__ import annotations

import csv
import inspect
import io
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipr_bench.core.errors import IprBenchError, OptionError, UnavailableError

if TYPE_CHECKING:  # pandas stays out of `import ipr_bench`
    import pandas as pd

    from ipr_bench.datasets.base import Dataset


@dataclass(frozen=True)
class Evaluation:
    out: Path  # the results store
    labels: list[str]  # the settings this run covered
    computed: list[str]  # the settings this run computed (the rest came from the store)
    tasks: int  # chunk tasks this run executed
    table: pd.DataFrame  # this run's rows of the store's summary
    elapsed_s: float
    report: str  # where the report went, or why there is none


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def with_landmarks(
    rec_specs: list[str], rec_options: dict[str, dict[str, Any]], landmarks: str
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Every recognizer that can align with ``landmarks`` gets ``landmarker=landmarks`` (an explicit
    ``NAME.landmarker`` option wins); the others keep their own, with a note saying why."""
    from ipr_bench.core.registry import LANDMARKERS, create_recognizer

    LANDMARKERS.get(landmarks)  # an unknown name gets the list of what exists
    out, notes = {name: dict(opts) for name, opts in rec_options.items()}, []
    for spec in rec_specs:
        name = spec.split(":")[0]
        options = {"landmarker": landmarks, **out.get(name, {})}
        try:
            create_recognizer(spec, **options)
        except UnavailableError as exc:
            notes.append(f"--landmarks {landmarks} not applied to {name}: {exc}")
            continue
        out[name] = options
    return out, notes


def _dataset(spec: str, detect_crop: int | None, pairs: str | Path | None = None) -> Any:
    """The dataset named by ``spec``; ``detect_crop`` and ``pairs`` only where its factory takes them."""
    from ipr_bench.core.registry import DATASETS, create_dataset

    name = spec.partition(":")[0]
    options: dict[str, Any] = {}
    for option, value, what in (("detect_crop", detect_crop, "in-the-wild photos"), ("pairs", pairs, "pairs files")):
        if not value:
            continue
        factory, _ = DATASETS.get(spec)
        if option not in inspect.signature(factory).parameters:
            takes = [n for n in DATASETS.names() if option in inspect.signature(DATASETS.get(n)[0]).parameters]
            flag = "--" + option.replace("_", "-")
            raise OptionError(f"{flag} is for {what} ({', '.join(takes)}), not {name}")
        options[option] = value
    return create_dataset(spec, **options)


def writable_dir(path: Path, option: str) -> Path:
    """``path`` as a folder this process can write, made if missing; an OptionError naming it otherwise, before
    any work starts (a store or cache that cannot be written would fail hours later, or not at all)."""
    import tempfile

    if path.exists() and not path.is_dir():
        raise OptionError(f"{option} {path}: is a file, not a folder; give a folder (it is made if missing)")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise OptionError(
            f"{option} {path}: cannot write there ({exc.strerror or exc}); give a folder you can write"
        ) from None
    return path


def check_counts(workers: int, chunk_size: int, max_pixels: int | None) -> None:
    if workers < 0:
        raise OptionError(f"--workers {workers}: give 1 or more processes, or 0 for one per CPU core")
    if chunk_size < 1:
        raise OptionError(f"--chunk-size {chunk_size}: give 1 or more images per unit of work (default 100)")
    if max_pixels is not None and max_pixels < 1:
        raise OptionError(f"--max-pixels {max_pixels}: give a positive number of pixels, e.g. 40000000")


def _write_excluded(out: Path, excluded: Mapping[str, str]) -> None:
    from ipr_bench.core.cache import atomic_write_bytes

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([("item", "reason"), *sorted(excluded.items())])
    atomic_write_bytes(out / "excluded.csv", buf.getvalue().encode())


def evaluate(
    preset: str | None = None,
    *,
    codecs: Sequence[str] | None = None,
    recognizers: Sequence[str] | None = None,
    dataset: str | Dataset | None = None,
    detect_crop: int | None = None,
    pairs: str | Path | None = None,
    qualities: Mapping[str, Sequence[Any]] | None = None,
    codec_options: Mapping[str, Mapping[str, Any]] | None = None,
    recognizer_options: Mapping[str, Mapping[str, Any]] | None = None,
    landmarks: str | None = None,
    folds: Sequence[int] | None = None,
    workers: int = 0,
    out: Path | str | None = None,
    cache: str | None = None,
    align_on: str = "original",
    chunk_size: int = 100,
    max_pixels: int | None = None,
    threshold_protocol: str = "lfw10fold",
    progress: bool = True,
    executor: str = "local",
    ray_address: str | None = None,
    ray_cache_mode: str = "shared",
    command: str | None = None,
    report: bool = True,
    log: Callable[[str], None] = _stderr,
) -> Evaluation:
    """Cross codecs × qualities × recognizers over a dataset into the store ``out`` (resumable: cached work is reused).
    ``preset`` (default ``quick``) gives whatever the other arguments leave out; its sweeps apply to its own codecs,
    while codecs named without a preset get their default sweep. Options are per registry name (``{"hevc":
    {"pix_fmt": "yuv444p"}}``). ``pairs``: a pairs file in LFW's format over the dataset's images (lfw, or a folder
    laid out root/Name/Name_NNNN.jpg). ``dataset`` may be a registry name (with its options) or a built ``Dataset``
    (e.g. ``create_dataset("lfw").select_folds([1]).head(64)``). ``max_pixels``: the input cap
    (IPR_BENCH_MAX_PIXELS). ``command`` is what provenance and the run log record. Every argument and the store and
    cache folders are checked before any work starts. Raises IprBenchError (OptionError for arguments that do not fit
    together)."""
    from ipr_bench.analysis.metrics import PROTOCOLS
    from ipr_bench.analysis.summary import append_run_log, write_provenance, write_report
    from ipr_bench.bench.executors import EXECUTORS, RAY_FIX, ray_available
    from ipr_bench.bench.runner import Runner, RunSpec
    from ipr_bench.core.progress import Progress
    from ipr_bench.core.registry import CODECS, create_codec, create_recognizer
    from ipr_bench.experiments.presets import PRESETS
    from ipr_bench.store.results import ResultStore

    check_counts(workers, chunk_size, max_pixels)
    from ipr_bench.core.cache import Cache

    if out:  # the store and the cache before any work: a folder that cannot be written fails now, by name
        writable_dir(Path(out), "--out")
    if Cache(cache).url is None:  # a local cache folder (URLs are checked by their own filesystem)
        writable_dir(Cache(cache).local_root, "--cache")
    if max_pixels is not None:  # the environment: worker processes inherit it
        from ipr_bench.core.images import MAX_PIXELS_ENV

        os.environ[MAX_PIXELS_ENV] = str(max_pixels)
    explicit_preset = preset is not None
    preset = preset or "quick"
    presets = dict(PRESETS.items())
    if preset not in presets:
        raise OptionError(f"unknown preset {preset!r}; presets: {', '.join(presets)}")
    if executor not in EXECUTORS.names():
        raise OptionError(f"--executor {executor!r}: one of {', '.join(EXECUTORS.names())}")
    if executor == "ray" and not ray_available():
        raise OptionError(f"--executor ray needs Ray, which is not installed: {RAY_FIX}")
    if align_on not in ("original", "decoded"):
        raise OptionError(f"--align-on must be 'original' or 'decoded', not {align_on!r}")
    if threshold_protocol not in PROTOCOLS:
        raise OptionError(f"--threshold-protocol {threshold_protocol!r}: one of {', '.join(PROTOCOLS)}")
    p = presets[preset]
    codec_names = list(codecs) if codecs is not None else list(p.codecs)
    rec_specs = list(recognizers) if recognizers is not None else list(p.recognizers)
    if not codec_names:
        raise OptionError(
            "no codecs given: --codecs NAME[,NAME…] (ipr-bench list shows them), or --codecs none for the "
            "uncompressed originals alone"
        )
    if codec_names == ["none"]:  # said explicitly: the originals' reference only
        codec_names = []
    if not rec_specs:
        raise OptionError("no recognizers given")
    qualities, codec_options = dict(qualities or {}), dict(codec_options or {})
    for key in [*qualities, *codec_options]:
        if key not in codec_names:
            CODECS.get(key)  # unknown names get the list of what exists
            raise OptionError(
                f"--qualities/--codec-option name {key!r}, which is not among --codecs {','.join(codec_names)}"
            )
    codec_objs: dict[str, Any] = {}
    sweeps: dict[str, list] = {}
    for name in codec_names:
        codec = create_codec(name, **codec_options.get(name, {}))
        avail = codec.availability()
        if not avail.ok:
            raise OptionError(f"codec {name} is not available here: {avail.reason}")
        codec_objs[name] = codec
        if name in qualities:
            sweeps[name] = [codec.parse_quality(str(q)) for q in qualities[name]]
        elif name in p.qualities and (explicit_preset or codecs is None):
            sweeps[name] = [codec.parse_quality(str(q)) for q in p.qualities[name]]
        else:
            sweeps[name] = list(codec.default_qualities)
    rec_names = [s.split(":")[0] for s in rec_specs]
    rec_options = {name: dict(opts) for name, opts in (recognizer_options or {}).items()}
    for name, opts in rec_options.items():
        if name not in rec_names:
            key = ", ".join(f"{name}.{field}" for field in opts) or name
            raise OptionError(
                f"--recognizer-option {key}: expected NAME.OPTION with NAME among --recognizers {rec_specs}"
            )
    if landmarks:
        rec_options, notes = with_landmarks(rec_specs, rec_options, landmarks)
        for note in notes:
            log(f"note: {note}")
    rec_objs = {}
    for spec in rec_specs:
        rec = create_recognizer(spec, **rec_options.get(spec.split(":")[0], {}))
        avail = rec.availability()
        if not avail.ok:
            raise OptionError(f"recognizer {spec} is not available here: {avail.reason}")
        rec_objs[spec] = rec
    if dataset is not None and not isinstance(dataset, str):
        if detect_crop or pairs:
            raise OptionError("detect_crop and pairs are options of a dataset name, not of a built Dataset")
        ds = dataset
    else:
        ds = _dataset(dataset or p.dataset, detect_crop or (p.detect_crop if not dataset else None), pairs)
    fold_list = list(folds) if folds else (list(p.folds) if p.folds and not dataset else None)
    if fold_list:
        ds = ds.select_folds(fold_list)
    if ds.excluded:  # every entry the dataset left out, with its reason (excluded.csv lists them all)
        from collections import Counter

        reasons = Counter(reason.split(" (", 1)[0] for reason in ds.excluded.values())
        shown = "; ".join(f"{n} × {r}" for r, n in reasons.most_common(4))
        log(f"{ds.name}: {len(ds.excluded)} entries left out ({shown}); all listed in excluded.csv")
    if len(ds.folds) < 2:
        log("note: one fold only: thresholds are chosen on that same fold (optimistic)")
    customised = bool(codecs or recognizers or dataset or folds)
    out_dir = writable_dir(Path(out) if out else Path(p.out if not customised else f"runs/{ds.name}"), "--out")
    spec = RunSpec(
        dataset=ds,
        codecs=codec_objs,
        qualities=sweeps,
        recognizers=rec_objs,
        recognizer_options={s: rec_options.get(s.split(":")[0], {}) for s in rec_specs},
        out=out_dir,
        cache=Cache(cache),
        align_on=align_on,  # type: ignore[arg-type]
        workers=workers or os.cpu_count() or 1,
        chunk_size=chunk_size,
        executor=executor,
        executor_options={"address": ray_address, "cache_mode": ray_cache_mode} if executor == "ray" else {},
    )
    n_settings = 1 + sum(len(v) for v in sweeps.values())
    log(
        f"{ds.label}: {len(ds.items)} images, {len(ds.pairs)} pairs; {n_settings} settings × "
        f"{len(rec_objs)} recognizers; store {out_dir}, cache {spec.cache.location}"
    )
    if preset == "quick" and not (customised or qualities):
        log(f"preset quick: {p.description}")
    t0 = time.monotonic()
    with Progress() as bar:
        runner = Runner(spec, bar if progress else None)
        labels = runner.run()
    elapsed = time.monotonic() - t0
    command = command or f"ipr_bench.evaluate({preset!r})"
    # the store's summary covers everything in it (earlier runs' settings and recognizers too); the table
    # returned is this run's part
    store = ResultStore(out_dir)
    table = write_report(store, store.labels(), None, command)
    table = table[table["setting"].isin(labels) & table["recognizer"].isin([r.name for r in rec_objs.values()])]
    prov = {
        **runner.provenance,
        "command": command,
        "elapsed_s": round(elapsed, 1),
        "codecs": {n: c.config() for n, c in codec_objs.items()},
        "qualities": sweeps,
        "recognizers": {s: r.config() for s, r in rec_objs.items()},
        "dataset": ds.label,
        "dataset_fingerprint": runner.dataset_fp,
    }
    if ds.excluded:  # photos the dataset left out (e.g. no clear face to crop), each with its reason
        prov["excluded_items"] = len(ds.excluded)
        _write_excluded(out_dir, ds.excluded)
    write_provenance(out_dir, prov)
    append_run_log(
        out_dir,
        {
            "command": command,
            "time": prov["time"],
            "git_commit": prov["git_commit"],
            "elapsed_s": round(elapsed, 1),
            "settings": labels,
            "computed": runner.computed,
        },
    )
    made = _report(out_dir, threshold_protocol) if report else "no report (report=False)"
    return Evaluation(out_dir, labels, list(runner.computed), runner.tasks_run, table, elapsed, made)


def _report(out_dir: Path, protocol: str, anchor: str = "hevc:23") -> str:
    from ipr_bench.render.report import build_report

    try:
        build_report(out_dir, anchor=anchor, protocol=protocol)
    except IprBenchError as exc:
        return f"no report: {exc} (ipr-bench report --results {out_dir} --anchor CODEC:QUALITY)"
    return f"report: {out_dir / 'report.md'} and report.html (curves, BD-rate, parity)"
