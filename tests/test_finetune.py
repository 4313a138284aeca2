"""Training on a CPU budget: bf16/fp32 switching, --init-from, levels added below a base, compact resume state."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import HAS_LFW

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")
needs_lfw = pytest.mark.skipif(not HAS_LFW, reason="needs ../shared LFW and the facenet weights")


def gained(levels: int = 2, **changes: object) -> object:
    from ipr_bench.training.config import TrainConfig

    lambdas = (0.005, 0.02, 0.05)[-levels:]
    config = TrainConfig(
        architecture="gained-hyperprior",
        args=(16, 24, levels),
        lmbda=lambdas[-1],
        rate_lambdas=lambdas,
        identity_weight=100.0,
        recognizers=("facenet",),
        crop=128,
        batch_size=2,
        steps=2,
        checkpoint_every=2,
        validate_every=10**6,
        max_images=6,
        max_validation=1,
    )
    return replace(config, **changes)


# ------------------------------------------------------------------------------------------------ precision


def test_bf16_autocasts_the_transforms_only_while_training() -> None:
    from ipr_bench.learned.checkpoint import build_model
    from ipr_bench.training.precision import autocast_transforms

    torch.manual_seed(0)
    plain = build_model("gained-hyperprior", [16, 24, 2])
    patched = build_model("gained-hyperprior", [16, 24, 2])
    patched.load_state_dict(plain.state_dict())
    autocast_transforms(patched, "cpu")
    x = torch.rand(1, 3, 64, 64)
    seen = []
    patched.g_a.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))
    patched.eval(), plain.eval()
    with torch.no_grad():
        assert torch.equal(patched.g_a(x), plain.g_a(x))  # eval: the plain fp32 path, bit for bit
    patched.train()
    out = patched(x, torch.tensor([1.0]))
    assert out["x_hat"].dtype == torch.float32  # cast back before the entropy models and the loss
    assert all(v.dtype == torch.float32 for v in out["likelihoods"].values())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inner = patched.g_a.__class__.forward(patched.g_a, x)
    assert inner.dtype == torch.bfloat16  # what the patched forward computes in, before casting back
    assert set(patched.state_dict()) == set(plain.state_dict())  # checkpoints unchanged
    with pytest.raises(Exception, match="precision 'fp16' unknown"):
        from ipr_bench.training.precision import check_precision

        check_precision("fp16")


@needs_lfw
def test_auto_precision_takes_bf16_only_where_the_cpu_has_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ipr_bench.core.errors import OptionError
    from ipr_bench.training import precision

    zen4, zen3 = tmp_path / "zen4", tmp_path / "zen3"
    zen4.write_text("flags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n")
    zen3.write_text("flags\t\t: fpu avx avx2 fma\n")
    assert precision.native_bf16("cpu", str(zen4)) and not precision.native_bf16("cpu", str(zen3))
    assert not precision.native_bf16("cpu", str(tmp_path / "no-such-file"))  # unknown: the safe answer
    warnings: list[str] = []
    real = precision.native_bf16
    for cpuinfo, auto in ((zen4, "bf16"), (zen3, "fp32")):
        monkeypatch.setattr(precision, "native_bf16", lambda device_type="cpu", c=str(cpuinfo): real(device_type, c))
        assert precision.resolve_precision("auto", "cpu") == auto
        assert precision.resolve_precision("fp32", "cpu", warnings.append) == "fp32"
        assert precision.resolve_precision("bf16", "cpu", warnings.append) == "bf16"  # kept: slow, not wrong
    assert len(warnings) == 1 and "emulated" in warnings[0] and "--precision auto" in warnings[0]
    with pytest.raises(OptionError, match="fp32, bf16, auto"):
        precision.resolve_precision("fp16", "cpu")


def test_a_run_switches_precision_when_resumed_and_bf16_learns_like_fp32(tmp_path: Path) -> None:
    from ipr_bench.training.train import Trainer

    fp32 = Trainer(gained(steps=2), tmp_path / "run")
    fp32.run()
    # precision, memory layout and threads say how a step runs, not what is learned: a run may change them
    resumed = Trainer(gained(steps=4, precision="bf16", channels_last=True), tmp_path / "run")
    assert resumed.resume() and resumed.step == 2
    twin = Trainer(gained(steps=4), tmp_path / "twin")
    twin.resume()  # none: start from the same seed
    twin.model.load_state_dict(resumed.model.state_dict())
    twin.step = resumed.step
    a, b = resumed.train_step(), twin.train_step()
    # the same batch, noise and weights: bf16 changes the loss by its rounding, not by what is computed
    assert float(a["loss"]) == pytest.approx(float(b["loss"]), rel=0.05)
    assert float(a["bpp"]) == pytest.approx(float(b["bpp"]), rel=0.05)
    resumed.run()
    rows = (tmp_path / "run" / "last" / "ledger.csv").read_text().splitlines()
    assert "precision" in rows[0] and "bf16 channels_last" in rows[-1]


# ------------------------------------------------------------------------------------------- --init-from


@needs_lfw
def test_init_from_copies_weights_with_a_fresh_optimizer_and_records_the_base(tmp_path: Path) -> None:
    import json

    from ipr_bench.core.cache import file_sha256
    from ipr_bench.core.errors import OptionError
    from ipr_bench.learned.checkpoint import load_checkpoint
    from ipr_bench.training.train import Trainer

    base = Trainer(gained(steps=2), tmp_path / "base")
    base.run()
    child = Trainer(gained(steps=3, identity_weight=0.0, init_from=str(tmp_path / "base")), tmp_path / "child")
    assert not child.resume()  # fresh: initialised from the base
    for key, value in base.model.state_dict().items():
        assert torch.equal(child.model.state_dict()[key], value), key
    assert child.step == 0 and not child.optimizer.state  # weights only
    child.run()
    _, meta = load_checkpoint(tmp_path / "child" / "last")
    recorded = meta["init_from"]
    assert recorded["sha256"] == file_sha256(tmp_path / "base" / "last" / "model.safetensors")
    assert recorded["steps"] == 2 and "identity distance" in recorded["loss"]
    assert json.loads((tmp_path / "child" / "last" / "train_state.json").read_text())["init_from"] == recorded
    assert "sha256" in (tmp_path / "child" / "last" / "ledger.csv").read_text()
    # resumed later, it continues from its own state, still naming its base
    again = Trainer(gained(steps=4, identity_weight=0.0, init_from=str(tmp_path / "base")), tmp_path / "child")
    assert again.resume() and again.step == 3 and again.base == recorded
    with pytest.raises(OptionError, match="the base's λs last"):
        Trainer(
            gained(3, steps=1, init_from=str(tmp_path / "base"), rate_lambdas=(0.001, 0.002, 0.003)), tmp_path / "x"
        ).resume()


def test_init_from_names_the_missing_base() -> None:
    from ipr_bench.core.errors import UnavailableError
    from ipr_bench.training.finetune import resolve_base

    with pytest.raises(UnavailableError, match="no checkpoint there"):
        resolve_base("/nonexistent/run")
    with pytest.raises(UnavailableError, match="no shipped 'nothing'"):
        resolve_base("zoo:nothing")


# ------------------------------------------------------------------------------------------ extra levels


def test_levels_added_below_extrapolate_the_gains_and_keep_the_old_levels() -> None:
    from ipr_bench.learned.checkpoint import build_model
    from ipr_bench.training.finetune import extend_levels_below

    torch.manual_seed(0)
    base = build_model("gained-hyperprior", [16, 24, 3]).eval()
    with torch.no_grad():  # make the levels uneven, as training leaves them (z's gains fall as y's rise)
        base.gain.mul_(torch.rand_like(base.gain) + 0.5)
        base.hyper_gain.copy_(torch.tensor([[2.0], [1.0], [0.5]]).expand_as(base.hyper_gain))
    state = extend_levels_below(base.state_dict(), 2)
    assert state["gain"].shape == (5, 24)
    old = base.state_dict()
    for name, toward_coarser in (("gain", 1), ("inverse_gain", -1)):
        logs = state[name].abs().log()
        median = ((old[name][1].abs().log() - old[name][0].abs().log()).median() * toward_coarser).clamp(min=0)
        # every channel of a new level is the lowest one's, scaled by one factor: the median log-step, continued
        # towards a coarser quantiser
        assert torch.allclose(logs[2] - logs[1], toward_coarser * median.expand(24), atol=1e-5)
        assert torch.allclose(logs[1] - logs[0], toward_coarser * median.expand(24), atol=1e-5)
    # steps scattered as training leaves them (channels switched off at the lowest level): nothing grows
    scattered = dict(old)
    scattered["gain"] = old["gain"].clone()
    scattered["gain"][1, :3] = old["gain"][0, :3] * torch.tensor([1e-3, 1e3, 1e-4])
    wide = extend_levels_below(scattered, 2)
    assert (wide["gain"][:2].abs() <= old["gain"][0].abs()).all()
    assert torch.equal(wide["inverse_gain"], state["inverse_gain"])
    for name in ("hyper_gain", "hyper_inverse_gain"):  # z's gains are held at the base's lowest level's
        assert torch.equal(state[name][:3], base.state_dict()[name][:1].expand(3, -1))
    extended = build_model("gained-hyperprior", [16, 24, 5])
    extended.load_state_dict(state)
    extended.eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        for k in range(3):  # old level k is new level k + 2, exactly
            a, b = base(x, torch.tensor([float(k)])), extended(x, torch.tensor([float(k + 2)]))
            assert torch.allclose(a["x_hat"], b["x_hat"], atol=1e-6)
        bits = [
            -sum(torch.log2(v).sum() for v in extended(x, torch.tensor([float(k)]))["likelihoods"].values())
            for k in range(5)
        ]
    # the new levels are coarser: never more bits (an untrained model's floor can make neighbours equal)
    assert bits[0] <= bits[1] <= bits[2] <= bits[3] <= bits[4] and bits[0] < bits[4]


def test_holding_hyper_gains_repairs_levels_extended_the_old_way() -> None:
    from ipr_bench.learned.checkpoint import build_model
    from ipr_bench.training.finetune import hold_hyper_gains_below

    model = build_model("gained-hyperprior", [16, 24, 4])
    with torch.no_grad():
        model.hyper_gain.copy_(torch.arange(4.0, 0, -1)[:, None].expand_as(model.hyper_gain))
    y_gains = model.gain.detach().clone()
    hold_hyper_gains_below(model, 2)
    assert model.hyper_gain[:, 0].tolist() == [2.0, 2.0, 2.0, 1.0]
    assert torch.equal(model.hyper_inverse_gain[0], model.hyper_inverse_gain[2])
    assert torch.equal(model.gain, y_gains)  # y's levels are left as trained
    with pytest.raises(ValueError, match="levels 1…3"):
        hold_hyper_gains_below(model, 4)


@needs_lfw
def test_a_run_extends_its_base_below_and_validates_every_level(tmp_path: Path) -> None:
    from ipr_bench.training.train import Trainer

    base = Trainer(gained(2, steps=1), tmp_path / "base")
    base.run()
    config = gained(3, steps=2, init_from=str(tmp_path / "base"), rate_lambdas=(0.001, 0.02, 0.05))
    trainer = Trainer(config, tmp_path / "low")
    trainer.resume()
    assert torch.equal(trainer.model.gain[1:], base.model.gain)
    assert (trainer.model.gain[0] < base.model.gain[0]).all()
    trainer.run()
    record = trainer.validate()
    assert record["bpp@q1"] <= record["bpp@q2"] <= record["bpp@q3"]  # (after 2 steps the floors may be equal)


# ----------------------------------------------------------------------------------------- compact state


@needs_lfw
def test_a_run_resumed_from_its_compact_state_follows_the_full_one(tmp_path: Path) -> None:
    from ipr_bench.training.compact_state import COMPACT_FILE, pack, unpack
    from ipr_bench.training.train import Trainer

    Trainer(gained(steps=1), tmp_path / "base").run()
    config = gained(steps=3, init_from=str(tmp_path / "base"))
    Trainer(config, tmp_path / "full").run()
    pack(tmp_path / "full" / "last", tmp_path / "state" / "full")
    from safetensors.torch import load_file

    weights = load_file(str(tmp_path / "full" / "last" / "model.safetensors"))
    floats = sum(v.numel() for v in weights.values() if v.is_floating_point())
    integers = sum(v.numel() * v.element_size() for v in weights.values() if not v.is_floating_point())
    compact_bytes = (tmp_path / "state" / "full" / COMPACT_FILE).stat().st_size
    # per float parameter: a bf16 delta (2 bytes) + an 8-bit second moment (1), against fp32 weight + 2 moments (12);
    # the entropy coder's integer tables as they are; the file's JSON header (its tensors' names and shapes)
    header = 200 * len(load_file(str(tmp_path / "state" / "full" / COMPACT_FILE)))
    assert compact_bytes <= 3 * floats + integers + header
    unpack(tmp_path / "state" / "full", tmp_path / "compact" / "last")

    a = Trainer(replace(config, steps=6), tmp_path / "full")
    b = Trainer(replace(config, steps=6), tmp_path / "compact")
    assert a.resume() and b.resume() and a.step == b.step == 3
    wa, wb = a.model.state_dict(), b.model.state_dict()
    for key in wa:
        if wa[key].is_floating_point():
            assert torch.allclose(wa[key], wb[key], rtol=1e-2, atol=1e-4), key
        else:
            assert torch.equal(wa[key], wb[key]), key
    losses = []
    for trainer in (a, b):
        losses.append([float(trainer.train_step()["loss"]) for _ in range(3)])
    assert np.allclose(losses[0], losses[1], rtol=0.02)  # the same batches: the trajectories stay together
    drift = max(float((p - q).abs().max()) for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True))
    assert drift < 1e-2


def _record(step: int, bpps: list[float], cosines: list[float], psnrs: list[float], n: int = 78) -> dict:
    record: dict = {"step": step, "n_images": n}
    for q, (b, c, p) in enumerate(zip(bpps, cosines, psnrs, strict=True), start=1):
        record |= {f"bpp@q{q}": b, f"cosine_facenet@q{q}": c, f"psnr@q{q}": p}
    return record


def test_arms_are_compared_by_bjontegaard_deltas_and_ship_only_beyond_the_noise() -> None:
    from ipr_bench.training.evidence import SHIP_MARGIN, compare, ship_verdict

    bpps = [0.1, 0.15, 0.2, 0.3]
    control = _record(500, bpps, [0.85, 0.90, 0.93, 0.96], [29.0, 30.5, 31.5, 33.0])
    # the same cosines at 20% fewer bits, 2 dB less PSNR at each point (about 1.2 dB less at equal bpp)
    better_identity = _record(500, [b * 0.8 for b in bpps], [0.85, 0.90, 0.93, 0.96], [27.0, 28.5, 29.5, 31.0])
    result = compare(control, better_identity)
    assert result.bd_rate_at_equal_cosine.value == pytest.approx(-20.0, abs=0.01)
    assert result.bd_cosine.value > 0 and result.bd_psnr.value < 0
    with pytest.raises(ValueError, match="not comparable"):
        compare(control, _record(500, bpps, [0.9] * 4, [30.0] * 4, n=40))

    ok, why = ship_verdict("ipr", control, better_identity)
    assert ok and "better than the shipped ipr" in why
    assert not ship_verdict("ipr", control, {**better_identity, "step": 0})[0]  # an untrained arm is its base
    nudged = _record(500, bpps, [c + SHIP_MARGIN["cosine_facenet"] / 2 for c in (0.85, 0.90, 0.93, 0.96)], [29.0] * 4)
    ok, why = ship_verdict("ipr", control, nudged)
    assert not ok and "not clearly better" in why  # within the measured seed-to-seed noise
    assert not ship_verdict("mse", control, better_identity)[0]  # mse is judged by PSNR at equal bpp, which fell
