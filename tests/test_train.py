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
    from ipr_bench.train import TrainConfig

    return TrainConfig(
        args=(16, 24),
        lmbda=0.01,
        identity_weight=100.0,
        recognizers=("facenet",),
        crop=128,
        batch_size=2,
        steps=steps,
        checkpoint_every=2,
        max_images=6,
    )


def test_resumed_training_equals_uninterrupted(tmp_path: Path) -> None:
    from ipr_bench.learned import load_checkpoint
    from ipr_bench.train import Trainer

    straight = Trainer(tiny(4), tmp_path / "straight")
    logs = []
    straight.run(lambda step, values, rate: logs.append(values))
    assert len(logs) == 4 and all("identity" in v and v["bpp"] > 0 for v in logs)

    first = Trainer(tiny(2), tmp_path / "resumed")
    first.run()
    second = Trainer(tiny(4), tmp_path / "resumed")
    assert second.resume() and second.step == 2
    second.run()
    a, meta = load_checkpoint(tmp_path / "straight" / "last")
    b, _ = load_checkpoint(tmp_path / "resumed" / "last")
    assert meta["steps"] == 4 and meta["trained_with"] == "facenet" and meta["training_data"]["n_images"] == 6
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.allclose(x, y, atol=1e-6), name


def test_resume_refuses_a_directory_trained_otherwise(tmp_path: Path) -> None:
    from dataclasses import replace

    from ipr_bench.errors import UnavailableError
    from ipr_bench.train import Trainer

    Trainer(tiny(2), tmp_path / "run").run()
    other = Trainer(replace(tiny(4), lmbda=0.02), tmp_path / "run")
    with pytest.raises(UnavailableError, match="other settings \\(lmbda\\)"):
        other.resume()
