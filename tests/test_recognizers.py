"""Recognizers: the ONNX loader and its sidecar, ArcFace and dlib on real LFW faces, alignment, entry points."""

from __future__ import annotations

import json
import shutil
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest

from ipr_bench.core import registry
from ipr_bench.core.errors import UnavailableError
from ipr_bench.core.images import read_rgb
from ipr_bench.core.registry import create_recognizer
from ipr_bench.face.alignment import similarity_transform, template_matrix, template_points, warp
from ipr_bench.landmarkers.base import detect_landmarks
from ipr_bench.recognizers.base import similarity

from conftest import HAS_LFW, SHARED_DATA

needs_shared = pytest.mark.skipif(not HAS_LFW, reason="needs ../shared data and weights")
ARCFACE = SHARED_DATA.parent / "weights" / "arcface-mobilefacenet" / "w600k_mbf.onnx"


def lfw_images(names: list[str]) -> list[np.ndarray]:
    return [read_rgb(SHARED_DATA / "lfw" / "lfw" / n.rsplit("_", 1)[0] / f"{n}.jpg") for n in names]


def test_similarity_transform_recovers_a_known_one() -> None:
    src = np.array([[10.0, 20.0], [50.0, 22.0], [30.0, 60.0]])
    angle, scale, shift = 0.3, 1.7, np.array([5.0, -3.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ rot.T + shift
    m = similarity_transform(src, dst)
    assert np.allclose(m[:, :2], rot) and np.allclose(m[:, 2], shift)


def test_templates_scale_to_the_input_size() -> None:
    assert np.allclose(template_points("arcface", (224, 224)), template_points("arcface", (112, 112)) * 2)
    with pytest.raises(ValueError, match="templates: arcface"):
        template_points("nope", (112, 112))


@needs_shared
def test_alignment_puts_the_eyes_on_the_template() -> None:
    image = lfw_images(["Aaron_Peirsol_0001"])[0]
    marks = detect_landmarks(image)
    assert marks.detected
    face = warp(image, template_matrix(marks, "arcface", (112, 112)), (112, 112))
    assert face.shape == (112, 112, 3)
    # the detected eye centres, mapped by the same transform, land on the template's eyes
    m = similarity_transform(marks.eye_centres(), template_points("arcface", (112, 112))[:2])
    mapped = marks.eye_centres() @ m[:, :2].T + m[:, 2]
    assert np.allclose(mapped, template_points("arcface", (112, 112))[:2], atol=1e-6)


@needs_shared
@pytest.mark.parametrize("name", ["arcface", "dlib", "faceplugin", "mobilefacenet192"])
def test_real_recognizers_tell_people_apart(name: str) -> None:
    rec = create_recognizer(name)
    names = ["Aaron_Peirsol_0001", "Aaron_Peirsol_0002", "Abdel_Madi_Shabneh_0001", "Dean_Barker_0001"]
    images = lfw_images(names)
    faces = np.stack([rec.align(im, detect_landmarks(im)) for im in images])
    emb = rec.embed(faces)
    assert emb.shape == (4, rec.spec.embedding_dim) and np.isfinite(emb).all()
    same = similarity(emb[[0]], emb[[1]], rec.spec.metric)[0]
    different = similarity(emb[[0, 0, 2]], emb[[2, 3, 3]], rec.spec.metric)
    assert same > different.max()
    # an odd count exercises the padding of models whose batch size is baked in
    assert np.allclose(rec.embed(faces[:3])[2], rec.embed(faces[2:3])[0], atol=1e-4)


@needs_shared
def test_onnx_loader_with_sidecar_equals_arcface(tmp_path: Path) -> None:
    model = tmp_path / "embedder.onnx"
    shutil.copy(ARCFACE, model)
    model.with_suffix(".json").write_text(
        json.dumps(
            {"input_size": [112, 112], "template": "arcface", "scale": 1 / 127.5, "offset": -1.0, "fixed_batch": 4}
        )
    )
    generic = create_recognizer(f"onnx:{model}")
    arcface = create_recognizer("arcface")
    assert generic.fixed_batch == 4 and generic.spec.input_size == (112, 112)
    faces = np.stack(
        [
            arcface.align(im, detect_landmarks(im))
            for im in lfw_images(
                [
                    "Aaron_Peirsol_0001",
                    "Aaron_Peirsol_0002",
                    "Aaron_Peirsol_0003",
                    "Aaron_Peirsol_0004",
                    "Abdel_Madi_Shabneh_0001",
                    "Dean_Barker_0001",
                ]
            )
        ]
    )
    # six faces through a batch of four: padded, then sliced
    assert np.allclose(generic.embed(faces), arcface.embed(faces), atol=1e-4)
    assert generic.config()["model_sha256"] == arcface.config()["model_sha256"]


def test_onnx_loader_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(UnavailableError, match="model file not found"):
        create_recognizer(f"onnx:{tmp_path / 'absent.onnx'}")
    model = tmp_path / "m.onnx"
    model.write_bytes(b"onnx")
    with pytest.raises(UnavailableError, match="input_size unknown.*m.json"):
        create_recognizer(f"onnx:{model}")
    model.with_suffix(".json").write_text('{"input_size": [112, 112],\n "bogus": 1}')
    with pytest.raises(UnavailableError, match="unknown keys \\['bogus'\\]"):
        create_recognizer(f"onnx:{model}")
    model.with_suffix(".json").write_text('{"input_size": [112, 112],\n oops}')
    with pytest.raises(UnavailableError, match="m.json:2: invalid JSON"):
        create_recognizer(f"onnx:{model}")


def test_third_party_plugins_register_through_entry_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "thirdparty_codec.py").write_text(
        "from ipr_bench.codecs.jpeg import JpegCodec\n"
        "class Grey(JpegCodec):\n    name = 'grey-jpeg'\n"
        "def factory(**options):\n    return Grey(**options)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    # the built-ins register on their package's first import: load them into the real registry first, or they
    # would land only in the patched copy below and vanish with it for every later test
    registry.CODECS.names()
    fake = EntryPoint(name="grey-jpeg", value="thirdparty_codec:factory", group="ipr_bench.codecs")
    monkeypatch.setattr(registry, "entry_points", lambda group: [fake] if group == "ipr_bench.codecs" else [])
    monkeypatch.setattr(registry.CODECS, "_loaded", False)  # as in a fresh process
    monkeypatch.setattr(registry.CODECS, "_factories", dict(registry.CODECS._factories))
    assert "grey-jpeg" in registry.CODECS.names() and "hevc" in registry.CODECS.names()
    assert registry.create_codec("grey-jpeg").name == "grey-jpeg"
    sys.modules.pop("thirdparty_codec", None)


def test_sface_is_taken_only_with_its_published_sha256(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SFace is user-supplied: absent, it says where it goes and where it comes from; a different file (here a
    small stand-in graph) is refused by its digest, and accepted with the preprocessing FaceRecognizerSF uses
    (RGB 0–255, NCHW, 112 px) only when the digest is the expected one."""
    import hashlib

    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from ipr_bench.core.errors import UnavailableError
    from ipr_bench.core.registry import create_recognizer
    from ipr_bench.recognizers.sface import SFACE_SHA256, SFaceRecognizer

    monkeypatch.setenv("IPR_BENCH_WEIGHTS", str(tmp_path / "weights"))
    why = SFaceRecognizer.availability().reason
    assert "sface-2021dec/face_recognition_sface_2021dec.onnx" in why and "opencv_zoo" in why
    # a stand-in: global average pool of the input → [N, 3, 1, 1] → flatten; its output shows what went in
    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["data"], ["pooled"]), helper.make_node("Flatten", ["pooled"], ["fc1"])],
        "standin",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 112, 112])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, ["N", 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path / "weights" / "sface-2021dec" / "face_recognition_sface_2021dec.onnx"
    path.parent.mkdir(parents=True)
    onnx.save(model, path)
    with pytest.raises(UnavailableError, match=f"is not the published sface model \\({SFACE_SHA256[:12]}"):
        create_recognizer(f"sface:{path}")
    assert not SFaceRecognizer.availability().ok
    monkeypatch.setattr(SFaceRecognizer, "sha256", hashlib.sha256(path.read_bytes()).hexdigest())
    for recognizer in (create_recognizer("sface"), create_recognizer(f"sface:{path}")):
        face = np.zeros((1, 112, 112, 3), np.uint8)
        face[..., 0], face[..., 2] = 200, 10  # red and blue stay where they are: RGB in, scale 1, no offset
        assert recognizer.spec.input_size == (112, 112) and recognizer.spec.template == "arcface"
        np.testing.assert_allclose(recognizer.embed(face)[0], [200, 0, 10], atol=1e-4)
