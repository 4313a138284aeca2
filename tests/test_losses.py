"""The IPR loss: rate in bits per original pixel, CompressAI's λ convention, and an identity term that
optimisation drives down while the recognizer stays frozen."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import smooth_image

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")


def tiny_recognizer() -> torch.nn.Module:
    from ipr_bench.face.spec import FaceSpec
    from ipr_bench.recognizers.differentiable import DifferentiableRecognizer

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(4),
        torch.nn.Flatten(),
    )
    return DifferentiableRecognizer(net, FaceSpec(input_size=(32, 32), embedding_dim=128))


def test_rate_is_bits_per_original_pixel() -> None:
    from ipr_bench.training.losses import rate_bpp

    likelihoods = {"y": torch.full((2, 4, 8, 8), 0.5), "z": torch.full((2, 2, 2, 2), 0.25)}
    # per image: 256 latents at 1 bit + 8 at 2 bits = 272 bits over 100 pixels
    assert rate_bpp(likelihoods, 100).item() == pytest.approx(2.72)


def test_identity_term_decreases_under_optimisation_and_the_recognizer_stays_frozen() -> None:
    from ipr_bench.learned.checkpoint import build_model
    from ipr_bench.training.losses import IdentityPreservingLoss

    torch.manual_seed(0)
    model = build_model("bmshj2018-hyperprior", [16, 24])
    recognizer = tiny_recognizer()
    frozen = {k: v.clone() for k, v in recognizer.state_dict().items()}
    x = torch.from_numpy(np.stack([smooth_image(s, 64, 64) for s in range(4)])).permute(0, 3, 1, 2).float() / 255
    # each "face" is the central 32×32 of its image
    matrices = torch.tensor([[1.0, 0.0, -16.0], [0.0, 1.0, -16.0]]).expand(4, 2, 3)
    criterion = IdentityPreservingLoss(lmbda=1e-3, identity_weight=1e4, recognizers=[recognizer])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    recognizer.train()  # must not unfreeze its batch norm
    first = None
    for _ in range(40):
        optimizer.zero_grad()
        out = criterion(model(x), x, [matrices])
        first = out["identity"].item() if first is None else first
        out["loss"].backward()
        optimizer.step()
    with torch.no_grad():
        last = criterion(model(x), x, [matrices])["identity"].item()
    assert last < 0.5 * first
    assert all(torch.equal(frozen[k], v) for k, v in recognizer.state_dict().items())
    assert all(p.grad is None for p in recognizer.parameters())


def test_alpha_zero_is_the_mse_baseline() -> None:
    from ipr_bench.training.losses import IdentityPreservingLoss

    x = torch.rand(1, 3, 8, 8)
    output = {"x_hat": x + 0.1, "likelihoods": {"y": torch.full((1, 1, 2, 2), 0.5)}}
    out = IdentityPreservingLoss(lmbda=0.01)(output, x)
    assert "identity" not in out
    assert out["loss"].item() == pytest.approx(4 / 64 + 0.01 * 255**2 * 0.01, rel=1e-5)
    with pytest.raises(ValueError, match="needs at least one differentiable recognizer"):
        IdentityPreservingLoss(lmbda=0.01, identity_weight=1.0)
    assert math.isfinite(out["bpp"].item())
