"""compressai:ARCH[:PATH] — CompressAI's own checkpoints as codecs, the zoo's download path, and the export."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from conftest import HAS_LFW, smooth_image

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")
ROOT = Path(__file__).resolve().parents[1]


def train_py_checkpoints(folder: Path, steps: int = 3) -> Path:
    """Two checkpoints of a tiny bmshj2018-hyperprior, written by CompressAI's own examples/train.py functions:
    ``a-before-update.pth.tar`` as train.py saves it (CDF tables never built) and ``b-updated.pth.tar`` after
    ``update()``."""
    from types import SimpleNamespace

    from compressai.models import ScaleHyperprior
    from examples.train import RateDistortionLoss, configure_optimizers, save_checkpoint, train_one_epoch

    torch.manual_seed(0)
    net = ScaleHyperprior(16, 24)
    images = torch.stack([torch.from_numpy(smooth_image(k, 64, 64)).permute(2, 0, 1).float() / 255 for k in range(4)])
    loader = torch.utils.data.DataLoader(images, batch_size=2)
    args = SimpleNamespace(learning_rate=1e-3, aux_learning_rate=1e-3)
    optimizer, aux_optimizer = configure_optimizers(net, args)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, "min")
    criterion = RateDistortionLoss(lmbda=0.01)
    folder.mkdir(parents=True, exist_ok=True)
    cwd = os.getcwd()
    os.chdir(folder)  # save_checkpoint writes its best-loss copy into the working directory
    try:
        for epoch in range(steps):
            train_one_epoch(net, criterion, loader, optimizer, aux_optimizer, epoch, 1.0)
        state = {
            "epoch": steps,
            "state_dict": net.state_dict(),
            "loss": 1.0,
            "optimizer": optimizer.state_dict(),
            "aux_optimizer": aux_optimizer.state_dict(),
            "lr_scheduler": scheduler.state_dict(),
        }
        save_checkpoint(state, False, str(folder / "a-before-update.pth.tar"))
        net.update(force=True)
        save_checkpoint(state | {"state_dict": net.state_dict()}, False, str(folder / "b-updated.pth.tar"))
    finally:
        os.chdir(cwd)
    return folder


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_py_checkpoints(tmp_path_factory.mktemp("compressai") / "ckpts")


def test_a_train_py_checkpoint_directory_is_a_codec_with_honest_bytes_and_exact_decoding(
    checkpoints: Path, tmp_path: Path
) -> None:
    from ipr_bench.core.registry import create_codec

    codec = create_codec(f"compressai:bmshj2018-hyperprior:{checkpoints}", device="cpu")
    assert codec.default_qualities == (1, 2)  # one quality per file, in file-name order
    config = codec.config()
    assert [c["cdf_tables_computed_here"] for c in config["checkpoints"]] == [True, False]
    image = smooth_image(5, 70, 90)  # not a multiple of 64: padded and cropped back
    for quality in (1, 2):
        encoded = codec.encode(image, quality)
        decoded = codec.decode(encoded.payload)
        assert decoded.shape == image.shape and decoded.dtype == np.uint8
        assert encoded.payload[1] == quality  # the header says which checkpoint decodes it
    # a fresh process decodes the same stream to the same pixels
    (tmp_path / "p.bin").write_bytes(encoded.payload)
    script = (
        "import sys, numpy as np\n"
        "from ipr_bench.core.registry import create_codec\n"
        f"c = create_codec('compressai:bmshj2018-hyperprior:{checkpoints}', device='cpu')\n"
        f"np.save(sys.argv[1], c.decode(open('{tmp_path / 'p.bin'}', 'rb').read()))\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "d.npy")], check=True)
    assert np.array_equal(np.load(tmp_path / "d.npy"), decoded)


def test_checkpoints_that_are_not_plain_state_dicts_are_refused(tmp_path: Path) -> None:
    from ipr_bench.core.errors import OptionError, UnavailableError
    from ipr_bench.core.registry import create_codec

    class Payload:  # an arbitrary object: unpickling it would run code of the file's choosing
        def __reduce__(self) -> tuple:
            return (os.getcwd, ())

    torch.save({"state_dict": {"w": torch.zeros(1)}, "extra": Payload()}, tmp_path / "evil.pth.tar")
    codec = create_codec(f"compressai:bmshj2018-hyperprior:{tmp_path / 'evil.pth.tar'}", device="cpu")
    with pytest.raises(UnavailableError, match="not a plain CompressAI checkpoint"):
        codec.encode(smooth_image(1, 64, 64), 1)
    torch.save({"state_dict": {"w": 3}}, tmp_path / "numbers.pth.tar")
    codec = create_codec(f"compressai:bmshj2018-hyperprior:{tmp_path / 'numbers.pth.tar'}", device="cpu")
    with pytest.raises(UnavailableError, match="no state dict of tensors"):
        codec.encode(smooth_image(1, 64, 64), 1)
    with pytest.raises(OptionError, match="unknown architecture"):
        create_codec("compressai:no-such-model")
    with pytest.raises(OptionError, match="metric"):
        create_codec("compressai:bmshj2018-hyperprior", metric="psnr")


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def loopback_server(tmp_path: Path):
    served = tmp_path / "served"
    served.mkdir()
    handler = lambda *a, **k: _Files(*a, directory=str(served), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_zoo_weights_download_checked_against_the_published_hash_prefix(
    checkpoints: Path, loopback_server: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import compressai.zoo.image as zoo

    from ipr_bench.core.errors import UnavailableError
    from ipr_bench.core.registry import create_codec

    served, base = loopback_server
    monkeypatch.setenv("IPR_BENCH_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("IPR_BENCH_CACHE", str(tmp_path / "cache"))
    blob = (checkpoints / "b-updated.pth.tar").read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    (served / f"tiny-1-{digest[:8]}.pth.tar").write_bytes(blob)
    (served / "tiny-2-deadbeef.pth.tar").write_bytes(blob)  # a name whose hash prefix the bytes do not have
    urls = {1: f"{base}/tiny-1-{digest[:8]}.pth.tar", 2: f"{base}/tiny-2-deadbeef.pth.tar"}
    monkeypatch.setitem(zoo.model_urls, "bmshj2018-hyperprior", {"mse": urls})

    codec = create_codec("compressai:bmshj2018-hyperprior", device="cpu")
    assert codec.default_qualities == (1, 2)
    image = smooth_image(2, 64, 64)
    assert codec.decode(codec.encode(image, 1).payload).shape == image.shape
    assert (tmp_path / "cache" / "compressai" / f"tiny-1-{digest[:8]}.pth.tar").read_bytes() == blob
    with pytest.raises(UnavailableError, match="rejected"):
        codec.encode(image, 2)
    assert not list((tmp_path / "cache" / "compressai").glob("tiny-2*"))  # nothing half-checked is kept

    # offline: the error names the file, the URL and where to put it
    monkeypatch.setitem(zoo.model_urls, "bmshj2018-hyperprior", {"mse": {1: "http://127.0.0.1:9/tiny-3-abcd.pth.tar"}})
    codec = create_codec("compressai:bmshj2018-hyperprior", device="cpu")
    with pytest.raises(UnavailableError, match=r"place it at .*weights/compressai/tiny-3-abcd\.pth\.tar"):
        codec.encode(image, 1)


@pytest.mark.skipif(not HAS_LFW, reason="needs LFW and the recognizers' weights (../shared)")
def test_the_cli_runs_a_compressai_checkpoint_directory_beside_hevc_and_exports_for_compressai_plot(
    checkpoints: Path, lfw_mini: Path, tmp_path: Path
) -> None:
    from compressai.utils.plot.__main__ import parse_json_file
    from typer.testing import CliRunner

    from ipr_bench.cli import app

    out = tmp_path / "store"
    args = [
        "run",
        "--dataset",
        f"folder:{lfw_mini}",
        "--codecs",
        f"compressai:bmshj2018-hyperprior:{checkpoints},hevc",
        "--qualities",
        "hevc=28",
        "--recognizers",
        "facenet,arcface",
        "--workers",
        "1",
        "--out",
        str(out),
        "--no-progress",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    spec = f"compressai:bmshj2018-hyperprior:{checkpoints}"  # a setting names its codec as the user gave it
    summary = (out / "summary.csv").read_text()
    assert f"{spec}@quality=1" in summary and f"{spec}@quality=2" in summary and "hevc@crf=28" in summary
    provenance = json.loads((out / "provenance.json").read_text())
    assert "cdf_tables_computed_here" in json.dumps(provenance)

    result = CliRunner().invoke(app, ["export", "--results", str(out), "--format", "compressai-json"])
    assert result.exit_code == 0, result.output
    (exported,) = (out / "export" / "compressai-json").glob("compressai_bmshj2018-hyperprior_*.json")
    curve = parse_json_file(exported, "psnr")  # CompressAI's own reader
    assert curve["name"] == spec and len(curve["xs"]) == 2 and curve["xs"] == sorted(curve["xs"])
    assert len(parse_json_file(exported, "accuracy-facenet")["ys"]) == 2
