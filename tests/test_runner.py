"""The runner: tables in the store, honest bpp, cache reuse, bad images, atomic cache writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ipr_bench.analysis.summary import summarize
from ipr_bench.bench.runner import Runner, RunSpec
from ipr_bench.codecs.jpeg import JpegCodec
from ipr_bench.core.cache import Cache
from ipr_bench.core.registry import RECOGNIZERS, create_codec, create_dataset
from ipr_bench.face.spec import FaceSpec
from ipr_bench.recognizers.base import Recognizer
from ipr_bench.store.results import ResultStore


class TinyPixelRecognizer(Recognizer):
    """Unit-test stand-in: the aligned face downsampled to 8×8 grey. Runs in-process only (workers=1)."""

    name = "test-pixels"
    requires = "nothing"
    spec = FaceSpec(input_size=(32, 32), template="arcface", embedding_dim=64, landmarker="dlib5")

    def embed(self, faces: np.ndarray) -> np.ndarray:
        grey = faces.astype(np.float32).mean(axis=3)
        return grey.reshape(len(faces), 8, 4, 8, 4).mean(axis=(2, 4)).reshape(len(faces), 64) - 128


if "test-pixels" not in RECOGNIZERS.names():
    RECOGNIZERS.register("test-pixels")(TinyPixelRecognizer)


def make_spec(root: Path, out: Path, qualities: list[int], recognizers: tuple[str, ...] = ("test-pixels",)) -> RunSpec:
    from ipr_bench.core.registry import create_recognizer

    return RunSpec(
        dataset=create_dataset("folder", root=root, n_folds=2, pairs_per_fold=4, seed=0),
        codecs={"jpeg": create_codec("jpeg")},
        qualities={"jpeg": qualities},
        recognizers={r: create_recognizer(r) for r in recognizers},
        out=out,
        cache=Cache(out.parent / "cache"),
        workers=1,
        chunk_size=5,
    )


class EncodeCounter:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[int] = []
        original = JpegCodec.encode

        def counting(codec: JpegCodec, image: np.ndarray, quality: int) -> object:
            self.calls.append(quality)
            return original(codec, image, quality)

        monkeypatch.setattr(JpegCodec, "encode", counting)


def test_run_writes_tables_with_honest_bpp(synthetic_folder: Path, tmp_path: Path) -> None:
    spec = make_spec(synthetic_folder, tmp_path / "out", [30, 80])
    labels = Runner(spec).run()
    assert labels == ["original", "jpeg@quality=30", "jpeg@quality=80"]
    store = ResultStore(spec.out)
    items, pairs, meta = store.read_setting("jpeg@quality=30")
    assert len(items) == len(spec.dataset.items) and len(pairs) == len(spec.dataset.pairs)
    codec = create_codec("jpeg")
    first = spec.dataset.items[0]
    image = np.asarray(Image.open(first.path).convert("RGB"))
    expected_bytes = len(codec.encode(image, 30).payload)
    row = items.set_index("item").loc[first.id]
    assert row["n_bytes"] == expected_bytes
    assert row["bpp"] == pytest.approx(8 * expected_bytes / (image.shape[0] * image.shape[1]))
    assert meta["dataset_fingerprint"] == spec.dataset.fingerprint()
    table = summarize(store, labels, ["test-pixels"], protocols=("lfw10fold",))
    assert list(table["setting"]) == labels
    both = summarize(store, labels, ["test-pixels"])
    assert list(both["protocol"]) == ["lfw10fold", "fixed-original"] * len(labels)
    q30, q80 = table.set_index("setting").loc[["jpeg@quality=30", "jpeg@quality=80"], "bpp"]
    assert q30 < q80
    original = table.set_index("setting").loc["original"]
    assert original["cos_to_original"] == pytest.approx(1.0)


def test_second_run_reuses_everything_and_extension_only_does_new_work(
    synthetic_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = EncodeCounter(monkeypatch)
    spec = make_spec(synthetic_folder, tmp_path / "out", [30])
    Runner(spec).run()
    n_items = len(spec.dataset.items)
    assert counter.calls == [30] * n_items
    first = ResultStore(spec.out).read_setting("jpeg@quality=30")

    Runner(make_spec(synthetic_folder, tmp_path / "out", [30])).run()  # store current: nothing to do
    assert len(counter.calls) == n_items

    # a fresh store with the same cache: tables rebuilt from cached bitstreams/embeddings, no encoding
    spec2 = make_spec(synthetic_folder, tmp_path / "out2", [30])
    spec2.cache = spec.cache
    Runner(spec2).run()
    assert len(counter.calls) == n_items
    again = ResultStore(spec2.out).read_setting("jpeg@quality=30")
    assert first[0].equals(again[0]) and first[1].equals(again[1])

    # extending the sweep encodes only the new quality
    spec3 = make_spec(synthetic_folder, tmp_path / "out", [30, 60])
    spec3.cache = spec.cache
    Runner(spec3).run()
    assert counter.calls[n_items:] == [60] * n_items


def test_a_run_on_some_folds_reuses_the_full_runs_work_and_keeps_the_store_in_dataset_order(
    synthetic_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks never straddle folds, so fold 1 alone (as lfw-ipr-quick is folds 1–2 of lfw-ipr) is a subset of the
    full run's chunks: nothing to encode. The store's rows stay in the dataset's order whatever the chunking."""
    from dataclasses import replace

    counter = EncodeCounter(monkeypatch)
    spec = make_spec(synthetic_folder, tmp_path / "full", [30])
    runner = Runner(spec)
    runner.run()
    first_fold = {}
    for p in spec.dataset.pairs:
        for i in (p.a, p.b):
            first_fold[i] = min(first_fold.get(i, p.fold), p.fold)
    for chunk in runner.chunks:
        assert len({first_fold.get(i.id) for i in chunk}) == 1  # one fold's items per chunk
    items = ResultStore(spec.out).read_setting("jpeg@quality=30")[0]
    assert list(items["item"]) == [i.id for i in spec.dataset.items]
    done = len(counter.calls)

    part = replace(spec, dataset=spec.dataset.select_folds([1]), out=tmp_path / "fold1")
    Runner(part).run()
    assert len(counter.calls) == done  # every chunk of fold 1 was in the full run's cache
    full = items.set_index("item")
    sub = ResultStore(part.out).read_setting("jpeg@quality=30")[0].set_index("item")
    assert sub["n_bytes"].equals(full.loc[sub.index, "n_bytes"])


def test_one_bad_image_is_recorded_not_fatal(synthetic_folder: Path, tmp_path: Path) -> None:
    spec = make_spec(synthetic_folder, tmp_path / "out", [50])
    bad_id = spec.dataset.pairs[0].a
    (synthetic_folder / bad_id).write_bytes(b"\x89PNG truncated")
    labels = Runner(spec).run()
    items, pairs, _ = ResultStore(spec.out).read_setting("jpeg@quality=50")
    failed = items[items["error"] != ""]
    assert list(failed["item"]) == [bad_id] and bad_id.split("/")[1] in failed["error"].iloc[0]
    involved = (pairs["a"] == bad_id) | (pairs["b"] == bad_id)
    assert involved.any()
    assert pairs.loc[involved, "score__test-pixels"].isna().all()
    assert pairs.loc[~involved, "score__test-pixels"].notna().all()
    table = summarize(ResultStore(spec.out), labels, ["test-pixels"], protocols=("lfw10fold",)).set_index("setting")
    assert table.loc["jpeg@quality=50", "n_failed"] == 1
    assert table.loc["jpeg@quality=50", "n_pairs_missing"] == involved.sum()


def test_cache_writes_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = Cache(tmp_path)
    cache.put("x", "k1", {"a": np.arange(3)})
    assert cache.get("x", "k1")["a"].tolist() == [0, 1, 2]

    def crash(*args: object) -> None:
        raise KeyboardInterrupt  # killed between writing the temp file and renaming it

    monkeypatch.setattr("os.replace", crash)
    with pytest.raises(KeyboardInterrupt):
        cache.put("x", "k2", {"a": np.arange(3)})
    assert cache.get("x", "k2") is None
    assert not any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))


def test_damaged_cache_entry_is_recomputed(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.put("x", "k", {"a": np.arange(3)})
    cache.path("x", "k").write_bytes(b"garbage")
    assert cache.get("x", "k") is None and not cache.has("x", "k")


def test_cache_never_unpickles(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    path = cache.path("x", "k")
    path.parent.mkdir(parents=True)
    np.savez(path, a=np.array([object()], dtype=object))  # an object array needs pickle to load
    assert cache.get("x", "k") is None


def test_stale_temporaries_are_swept(tmp_path: Path) -> None:
    import os

    cache = Cache(tmp_path)
    cache.put("x", "k", {"a": np.arange(2)})
    stale = cache.path("x", "k").parent / ".k.npz.abc.tmp"
    fresh = cache.path("x", "k").parent / ".j.npz.def.tmp"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    os.utime(stale, (1, 1))
    assert cache.remove_stale_temporaries() == 1
    assert not stale.exists() and fresh.exists() and cache.has("x", "k")


def test_report_is_rebuilt_from_the_store_alone(synthetic_folder: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ipr_bench.cli import app

    spec = make_spec(synthetic_folder, tmp_path / "out", [40])
    Runner(spec).run()
    result = CliRunner().invoke(app, ["summarize", str(spec.out)])
    assert result.exit_code == 0, result.output
    md = (spec.out / "summary.md").read_text()
    assert "| test-pixels | jpeg@quality=40 |" in md and "| test-pixels | original |" in md
    assert "complete .jpg file" in md and spec.dataset.fingerprint() in md
    empty = CliRunner().invoke(app, ["summarize", str(tmp_path / "nothing")])
    assert empty.exit_code == 2 and "no results store" in empty.output


def test_align_on_decoded_redetects_and_records_failures(synthetic_folder: Path, tmp_path: Path) -> None:
    spec = make_spec(synthetic_folder, tmp_path / "out", [20])
    spec.align_on = "decoded"
    Runner(spec).run()
    items, _, meta = ResultStore(spec.out).read_setting("jpeg@quality=20")
    assert meta["align_on"] == "decoded"
    # generated images hold no face: every re-detection fails, is recorded, and the run still completes
    assert not items["face_detected__dlib5"].any() and items["cos_to_original__test-pixels"].notna().all()
    other = make_spec(synthetic_folder, tmp_path / "out-orig", [20])
    other.cache = spec.cache
    runner = Runner(other)
    runner.run()
    decoded_runner = Runner(spec)
    setting = spec.settings()[1]
    assert runner.embedding_key(setting, 0, "test-pixels") != decoded_runner.embedding_key(setting, 0, "test-pixels")
    # bitstreams and measures are shared; the landmarks (and their detection flags) are the decoded images' own
    assert runner.bitstream_key(setting, 0) == decoded_runner.bitstream_key(setting, 0)
    assert runner.measures_key(setting, 0) == decoded_runner.measures_key(setting, 0)
    on_original = runner.landmarks_key("dlib5", setting, 0)
    on_decoded = decoded_runner.landmarks_key("dlib5", setting, 0)
    assert on_original != on_decoded
    assert spec.cache.has("landmarks", on_original) and spec.cache.has("landmarks", on_decoded)
    assert spec.cache.get("landmarks", on_original)["detected"].shape == (len(runner.chunks[0]),)


class TinyColourRecognizer(TinyPixelRecognizer):
    """A second unit-test stand-in (mean colour per 4×4 cell) to show recognizers accumulate in a store."""

    name = "test-colour"
    spec = FaceSpec(input_size=(16, 16), template="arcface", embedding_dim=48, landmarker="dlib5")

    def embed(self, faces: np.ndarray) -> np.ndarray:
        return faces.astype(np.float32).reshape(len(faces), 4, 4, 4, 4, 3).mean(axis=(2, 4)).reshape(len(faces), 48)


if "test-colour" not in RECOGNIZERS.names():
    RECOGNIZERS.register("test-colour")(TinyColourRecognizer)


def test_a_run_with_another_recognizer_adds_columns_and_keeps_the_old_ones(
    synthetic_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = EncodeCounter(monkeypatch)
    Runner(make_spec(synthetic_folder, tmp_path / "out", [30])).run()
    first = ResultStore(tmp_path / "out").read_setting("jpeg@quality=30")
    Runner(make_spec(synthetic_folder, tmp_path / "out", [30], ("test-colour",))).run()
    items, pairs, meta = ResultStore(tmp_path / "out").read_setting("jpeg@quality=30")
    assert set(meta["recognizers"]) == {"test-pixels", "test-colour"}
    assert pairs["score__test-pixels"].equals(first[1]["score__test-pixels"])
    assert pairs["score__test-colour"].notna().all()
    assert len(counter.calls) == len(items)  # the bitstreams were reused, not re-encoded
    # and a run asking for both finds everything current
    both = Runner(make_spec(synthetic_folder, tmp_path / "out", [30], ("test-pixels", "test-colour")))
    both.run()
    assert both.computed == []


def test_a_committed_store_is_reused_on_a_machine_without_the_cache(
    synthetic_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a fresh clone with results/ committed sees: the store alone makes finished settings current."""
    counter = EncodeCounter(monkeypatch)
    Runner(make_spec(synthetic_folder, tmp_path / "out", [30, 60])).run()
    n_calls = len(counter.calls)
    fresh = make_spec(synthetic_folder, tmp_path / "out", [30, 60])
    fresh.cache = Cache(tmp_path / "empty-cache")
    runner = Runner(fresh)
    runner.run()
    assert runner.computed == [] and len(counter.calls) == n_calls
    assert not (tmp_path / "empty-cache").exists() or not list((tmp_path / "empty-cache").rglob("*.npz"))


class TinyMtcnnRecognizer(TinyPixelRecognizer):
    """test-pixels aligned on MTCNN's five points: a run then needs two landmarkers."""

    name = "test-pixels-mtcnn"
    spec = FaceSpec(input_size=(32, 32), template="arcface", embedding_dim=64, landmarker="mtcnn")


if "test-pixels-mtcnn" not in RECOGNIZERS.names():
    RECOGNIZERS.register("test-pixels-mtcnn")(TinyMtcnnRecognizer)


def test_each_recognizer_aligns_with_the_landmarker_it_names(synthetic_folder: Path, tmp_path: Path) -> None:
    pytest.importorskip("facenet_pytorch")
    Runner(make_spec(synthetic_folder, tmp_path / "out", [30], ("test-pixels", "test-pixels-mtcnn"))).run()
    items, pairs, meta = ResultStore(tmp_path / "out").read_setting("jpeg@quality=30")
    assert set(meta["landmarkers"]) == {"dlib5", "mtcnn"}
    assert {"face_detected__dlib5", "face_detected__mtcnn"} <= set(items.columns)
    # different points, different crops: the two otherwise identical recognizers disagree
    assert not np.allclose(pairs["score__test-pixels"], pairs["score__test-pixels-mtcnn"])
    table = summarize(ResultStore(tmp_path / "out"), ["jpeg@quality=30"], ["test-pixels", "test-pixels-mtcnn"])
    assert set(table["recognizer"]) == {"test-pixels", "test-pixels-mtcnn"} and (table["n_no_face"] >= 0).all()
    # a run with one of them finds the store current; a run with another recognizer adds to it, keeping the
    # MTCNN recognizer's scores and detection flags
    one = Runner(make_spec(synthetic_folder, tmp_path / "out", [30], ("test-pixels",)))
    one.run()
    assert one.computed == []
    other = Runner(make_spec(synthetic_folder, tmp_path / "out", [30], ("test-colour",)))
    other.run()
    assert "jpeg@quality=30" in other.computed
    items, pairs, meta = ResultStore(tmp_path / "out").read_setting("jpeg@quality=30")
    assert set(meta["landmarkers"]) == {"dlib5", "mtcnn"} and len(meta["recognizers"]) == 3
    assert "face_detected__mtcnn" in items.columns and "score__test-pixels-mtcnn" in pairs.columns


def test_progress_rate_forgets_a_resumed_runs_burst_of_cached_work(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Half the items come back from the cache in a second, then 1 item/s: ten minutes on, the ETA is the real one."""
    import ipr_bench.core.progress as progress

    clock = [0.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    with progress.Progress(interval=0.0) as bar:
        stage = bar.stage("codecs", 3000)
        clock[0] = 1.0
        stage.advance(1000)  # reused chunks
        for _ in range(12):
            clock[0] += 100.0
            stage.advance(100)
    rate, eta = capsys.readouterr().err.strip().splitlines()[-1].split(", ")[1:3]
    assert rate == "1.0 items/s" and eta == "ETA 13.3 min"  # 800 left at 1/s (since start it would say 1.9/s)
