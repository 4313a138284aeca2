"""The trainer: a few CPU steps of a tiny model with the identity term, checkpoints without pickle, and a
resumed run that ends exactly where an uninterrupted one does."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import HAS_LFW

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")
pytestmark = pytest.mark.skipif(not HAS_LFW, reason="needs ../shared LFW and the facenet weights")


def tiny(steps: int) -> object:
    from ipr_bench.training.config import TrainConfig

    return TrainConfig(
        args=(16, 24),
        lmbda=0.01,
        identity_weight=100.0,
        recognizers=("facenet",),
        crop=128,
        batch_size=2,
        steps=steps,
        checkpoint_every=2,
        validate_every=2,
        max_images=6,
        max_validation=2,
    )


def test_resumed_training_equals_uninterrupted(tmp_path: Path) -> None:
    from ipr_bench.learned.checkpoint import load_checkpoint
    from ipr_bench.training.train import Trainer

    straight = Trainer(tiny(4), tmp_path / "straight")
    logs = []
    straight.run(lambda step, values, rate: logs.append(values))
    steps = [v for v in logs if "loss" in v]  # the other reports are the validation records (val_*)
    assert len(steps) == 4 and all("identity" in v and v["bpp"] > 0 for v in steps)
    assert [v["val_bpp"] for v in logs if "val_bpp" in v] == [h["bpp"] for h in straight.history]

    first = Trainer(tiny(2), tmp_path / "resumed")
    first.run()
    second = Trainer(tiny(4), tmp_path / "resumed")
    assert second.resume() and second.step == 2
    second.run()
    a, meta = load_checkpoint(tmp_path / "straight" / "last")
    b, _ = load_checkpoint(tmp_path / "resumed" / "last")
    assert meta["steps"] == 4 and meta["trained_with"] == "facenet" and meta["training_data"]["n_images"] == 6
    # validation codes the held-out people's whole images for real: bytes → bpp, and the identity it kept
    assert [h["step"] for h in straight.history] == [2.0, 4.0] and meta["validation"] == straight.history[-1]
    record = straight.history[-1]
    assert record["n_images"] == 2 and 0 < record["bpp"] < 24 and -1 <= record["cosine_facenet"] <= 1
    assert second.history == straight.history  # resumed: the earlier record comes back, the later one is equal
    held_out = {i.identity for i in straight.validation.items}
    assert held_out and not held_out & {i.identity for i in straight.items}
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.allclose(x, y, atol=1e-6), name
    # each session left its row in the run's ledger: where, how long, which steps, what validation said
    import csv

    sessions = list(csv.DictReader((tmp_path / "resumed" / "last" / "ledger.csv").open()))
    assert [(r["step_from"], r["step_to"]) for r in sessions] == [("0", "2"), ("2", "4")]
    assert sessions[1]["device"].startswith("cpu") and sessions[1]["loop"] == "resident"
    figures = dict(kv.split("=") for kv in sessions[1]["validation"].split("; "))
    assert set(figures) == {"bpp", "psnr", "cosine_facenet"}
    assert float(figures["bpp"]) == pytest.approx(straight.history[-1]["bpp"], rel=1e-3)


def test_resume_refuses_a_directory_trained_otherwise(tmp_path: Path) -> None:
    from dataclasses import replace

    from ipr_bench.core.errors import UnavailableError
    from ipr_bench.training.train import Trainer

    Trainer(replace(tiny(2), loop="naive"), tmp_path / "run").run()  # the reference loop still trains
    other = Trainer(replace(tiny(4), lmbda=0.02), tmp_path / "run")
    with pytest.raises(UnavailableError, match="other settings \\(lmbda, loop\\)"):
        other.resume()
    # a run saved before the loop was a setting was trained by the naive loop, and resumes as such
    import json

    from ipr_bench.training.config import saved_config

    state_file = tmp_path / "run" / "last" / "train_state.json"
    state = json.loads(state_file.read_text())
    for later in ("loop", "rate_lambdas", "face_boost", "compile"):  # settings added after such runs
        del state["config"][later]
    state_file.write_text(json.dumps(state))
    assert saved_config(tmp_path / "run").loop == "naive"
    assert Trainer(replace(tiny(4), loop="naive"), tmp_path / "run").resume()


def test_a_lease_continues_with_the_saved_settings_and_stops_on_time(tmp_path: Path) -> None:
    from ipr_bench.learned.checkpoint import load_checkpoint
    from ipr_bench.training.config import saved_config
    from ipr_bench.training.train import Trainer, continue_training

    Trainer(tiny(0), tmp_path / "fresh").run()  # steps 0: the initial state is saved, ready to send to a lease
    assert saved_config(tmp_path / "fresh", steps=2) == tiny(2)
    for sent_only_as_settings in ("model.safetensors", "optimizer.safetensors", "meta.json"):
        (tmp_path / "fresh" / "last" / sent_only_as_settings).unlink()  # as device_bundle.py sends a fresh run
    assert continue_training(tmp_path / "fresh", steps=1, device="cpu").step == 1
    Trainer(tiny(2), tmp_path / "run").run()
    assert saved_config(tmp_path / "run", steps=9) == tiny(9)
    stopped = continue_training(tmp_path / "run", steps=9, device="cpu", max_seconds=0)  # a lease already spent
    assert stopped.step == 2 and stopped.history[-1]["step"] == 2.0  # validated and saved where it stopped
    further = continue_training(tmp_path / "run", steps=3, device="cpu")
    assert further.step == 3 and load_checkpoint(tmp_path / "run" / "last")[1]["steps"] == 3


def test_one_variable_rate_model_trains_every_level_and_validates_each(tmp_path: Path) -> None:
    from dataclasses import replace

    from ipr_bench.core.errors import OptionError
    from ipr_bench.core.registry import create_codec
    from ipr_bench.training.train import Trainer

    config = replace(
        tiny(2), architecture="gained-hyperprior", args=(16, 24, 2), rate_lambdas=(0.005, 0.02), max_validation=1
    )
    trainer = Trainer(config, tmp_path / "vr")
    trainer.run()
    record = trainer.history[-1]
    assert {"bpp@q1", "bpp@q2", "psnr@q1", "cosine_facenet@q2"} <= set(record)
    assert record["bpp@q1"] <= record["bpp@q2"]
    codec = create_codec(f"learned:{tmp_path / 'vr' / 'last'}", device="cpu")
    assert codec.default_qualities == (1, 2)  # the run's checkpoint is a two-level codec
    with pytest.raises(OptionError, match="need architecture gained-hyperprior with args N, M, 3"):
        Trainer(replace(config, rate_lambdas=(0.001, 0.005, 0.02)), tmp_path / "bad")


def test_a_face_map_model_trains_with_boosted_faces_and_validates_with_its_regions(tmp_path: Path) -> None:
    from dataclasses import replace

    from ipr_bench.core.errors import OptionError
    from ipr_bench.learned.checkpoint import load_checkpoint
    from ipr_bench.training.train import Trainer

    config = replace(
        tiny(1),
        architecture="gained-hyperprior",
        args=(16, 24, 3),
        rate_lambdas=(0.002, 0.005, 0.02),
        face_boost=1.5,
        max_validation=1,
    )
    with pytest.raises(OptionError, match="face boost needs"):
        Trainer(replace(config, rate_lambdas=(), args=(16, 24)), tmp_path / "bad")
    trainer = Trainer(config, tmp_path / "fm")
    level = trainer._level_map(torch.tensor([0.0, 2.0]), torch.tensor([[1, 2, 3, 4], [0, 0, 8, 8]]), (128, 128))
    assert level.shape == (2, 1, 8, 8) and level[0, 0, 2, 1] == 1.5 and level[0, 0, 0, 0] == 0
    assert level[1].unique().tolist() == [2.0]  # the boost stops at the top level
    trainer.run()
    assert {"bpp@q1", "bpp@q3"} <= set(trainer.history[-1])
    _, meta = load_checkpoint(tmp_path / "fm" / "last")
    assert meta["face_boost"] == 1.5 and meta["face_landmarker"] == "mtcnn"


def test_roi_training_codes_the_background_low_weighs_each_region_at_its_level_and_ships_as_roi(
    tmp_path: Path,
) -> None:
    """face_background: the background at a fixed level, the face at a random level at or above it, each region's
    distortion at its own λ; validation and the shipped checkpoint code the same way."""
    from dataclasses import replace

    from ipr_bench.core.errors import OptionError
    from ipr_bench.core.registry import create_codec
    from ipr_bench.learned.checkpoint import load_checkpoint
    from ipr_bench.learned.variable_rate import lambda_for
    from ipr_bench.training.train import Trainer

    lambdas = (0.002, 0.005, 0.02)
    config = replace(
        tiny(1),
        architecture="gained-hyperprior",
        args=(16, 24, 3),
        rate_lambdas=lambdas,
        face_background=1.0,
        max_validation=1,
    )
    with pytest.raises(OptionError, match="no face boost"):
        Trainer(replace(config, face_boost=1.0), tmp_path / "bad")
    with pytest.raises(OptionError, match="levels are 0…2"):
        Trainer(replace(config, face_background=3.0), tmp_path / "bad")
    trainer = Trainer(config, tmp_path / "roi")
    x = torch.zeros(2, 3, 128, 128)
    cells = torch.tensor([[1, 2, 4, 6], [0, 0, 3, 3]])
    level, face_lmbda, lmbda_map = trainer._roi_levels(torch.Generator().manual_seed(5), x, cells)
    assert level.shape == (2, 1, 8, 8) and lmbda_map.shape == (2, 1, 128, 128)
    faces = []
    for k in range(2):
        left, top, right, bottom = cells[k].tolist()
        inside = level[k, 0, top:bottom, left:right]
        face = float(inside.flatten()[0])
        faces.append(face)
        assert face in (1.0, 2.0) and (inside == face).all()
        outside = level[k, 0].clone()
        outside[top:bottom, left:right] = -1
        assert set(outside.unique().tolist()) == {-1.0, 1.0}  # everything else at the background level
        assert float(face_lmbda[k]) == pytest.approx(float(lambda_for(torch.tensor(face), lambdas)))
        # each pixel carries its cell's level's λ: the face's inside, the background's outside
        assert float(lmbda_map[k, 0, 16 * top, 16 * left]) == pytest.approx(float(face_lmbda[k]))
        assert float(lmbda_map[k, 0, 16 * bottom, 16 * right]) == pytest.approx(lambdas[1])
    draws = [trainer._roi_levels(torch.Generator().manual_seed(s), x, cells)[1] for s in range(20)]
    assert {round(float(d[0]), 6) for d in draws} == {lambdas[1], lambdas[2]}  # face levels drawn from 1 and 2

    # the loss: a λ map equal to the image's λ everywhere is the per-image loss; a region weighed 4× counts 4×
    crit = trainer.criterion
    gen = torch.Generator().manual_seed(1)
    xs, x_hat = torch.rand(2, 3, 64, 64, generator=gen), torch.rand(2, 3, 64, 64, generator=gen)
    output = {"x_hat": x_hat, "likelihoods": {"y": torch.full((2, 24, 4, 4), 0.5)}}
    matrices = [torch.eye(2, 3).repeat(2, 1, 1)]
    lmbda = torch.tensor([0.01, 0.02])
    flat = crit(output, xs, matrices, lmbda=lmbda)
    same = crit(output, xs, matrices, lmbda=lmbda, lmbda_map=lmbda[:, None, None, None].expand(2, 1, 64, 64))
    assert float(same["loss"]) == pytest.approx(float(flat["loss"]), rel=1e-5)
    quadrupled = lmbda[:, None, None, None].expand(2, 1, 64, 64).clone()
    quadrupled[:, :, :32] *= 4
    heavier = crit(output, xs, matrices, lmbda=lmbda, lmbda_map=quadrupled)
    top_error = ((x_hat - xs)[:, :, :32] ** 2).flatten(1).sum(1) / (3 * 64 * 64)
    expected = float(flat["loss"]) + float((3 * lmbda * 255**2 * top_error).mean())
    assert float(heavier["loss"]) == pytest.approx(expected, rel=1e-4)

    trainer.run()
    record = trainer.history[-1]
    assert {"bpp@q2", "bpp@q3", "cosine_facenet@q3"} <= set(record) and "bpp@q1" not in record
    _, meta = load_checkpoint(tmp_path / "roi" / "last")
    assert meta["face_background"] == 1.0 and meta["face_landmarker"] == "mtcnn" and meta["face_boost"] is None
    assert "λ_face·α" in meta["loss"]
    codec = create_codec(f"learned:{tmp_path / 'roi' / 'last'}", device="cpu")
    assert codec.face_aware and codec.background == 2.0  # level 1 is quality 2: it codes as it was trained
    assert create_codec(f"learned:{tmp_path / 'roi' / 'last'}", device="cpu", background=1).background == 1.0
