"""Executors: the Ray executor gives the local executor's tables cell for cell, also on a two-process cluster
with a worker killed mid-run; caches given as fsspec URLs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ipr_bench.bench.executors import ray_available
from ipr_bench.bench.runner import Runner, RunSpec
from ipr_bench.core.cache import Cache
from ipr_bench.core.registry import create_codec, create_dataset, create_recognizer
from ipr_bench.datasets.base import Dataset
from ipr_bench.store.results import ResultStore

from conftest import HAS_LFW, SHARED_DATA

needs_ray = pytest.mark.skipif(not ray_available(), reason="Ray not installed: pip install 'ipr-bench[ray]'")
needs_lfw = pytest.mark.skipif(not HAS_LFW, reason="needs LFW (../shared/data)")
RAY = Path(sys.executable).with_name("ray")


def test_cache_on_an_fsspec_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"file://{tmp_path}/shared-cache"
    cache = Cache(url)
    assert cache.location == url and not cache.has("embedding", "ab12")
    cache.put("embedding", "ab12", {"x": np.arange(3)})
    assert cache.has("embedding", "ab12") and list(Cache(url).get("embedding", "ab12")["x"]) == [0, 1, 2]
    assert (tmp_path / "shared-cache" / "embedding" / "ab" / "ab12.npz").is_file()
    assert not list((tmp_path / "shared-cache").rglob("*.tmp"))
    monkeypatch.setenv("IPR_BENCH_CACHE", url)  # the environment may name a URL too
    assert Cache().location == url and Cache().local_root.is_absolute()


def lfw_sample() -> Dataset:
    """40 LFW images: 10 matched and 10 mismatched pairs of View 2, in two folds."""
    full = create_dataset("lfw")
    chosen = full.pairs[:5] + full.pairs[300:305] + full.pairs[600:605] + full.pairs[900:905]
    pairs = [type(p)(1 + k // 10, p.a, p.b, p.same) for k, p in enumerate(chosen)]
    used = {p.a for p in pairs} | {p.b for p in pairs}
    return Dataset("lfw-sample", "LFW sample", [i for i in full.items if i.id in used], pairs)


def run_matrix(out: Path, cache: str, executor: str = "local", **options: object) -> dict[str, tuple]:
    spec = RunSpec(
        dataset=lfw_sample(),
        codecs={"jpeg": create_codec("jpeg"), "hevc": create_codec("hevc")},
        qualities={"jpeg": [20, 50], "hevc": [28, 38]},
        recognizers={"arcface": create_recognizer("arcface")},
        out=out,
        cache=Cache(cache),
        workers=2,
        chunk_size=8,
        executor=executor,
        executor_options=dict(options),
    )
    labels = Runner(spec).run()
    store = ResultStore(out)
    return {label: store.read_setting(label)[:2] for label in labels}


def assert_same_tables(a: dict[str, tuple], b: dict[str, tuple]) -> None:
    assert list(a) == list(b)
    for label in a:
        for left, right in zip(a[label], b[label], strict=True):
            pd.testing.assert_frame_equal(left, right, check_exact=True)


@pytest.fixture(scope="module")
def local_tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    if not HAS_LFW:
        pytest.skip("needs LFW")
    root = tmp_path_factory.mktemp("local")
    with pytest.MonkeyPatch.context() as mp:  # module scope: the per-test environment fixture is not active yet
        mp.setenv("IPR_BENCH_DATA", str(SHARED_DATA))
        mp.setenv("IPR_BENCH_WEIGHTS", str(SHARED_DATA.parent / "weights"))
        return run_matrix(root / "store", str(root / "cache"))


@needs_ray
@needs_lfw
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["shared", "object-store"])
def test_ray_in_process_cluster_equals_local(mode: str, local_tables: dict, tmp_path: Path) -> None:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    try:
        tables = run_matrix(tmp_path / "store", str(tmp_path / "cache"), "ray", cache_mode=mode)
    finally:
        ray.shutdown()
    assert_same_tables(local_tables, tables)
    if mode == "object-store":  # the driver wrote what the workers sent back
        assert list((tmp_path / "cache" / "embedding").rglob("*.npz"))


def ray_cli(*args: str, env: dict[str, str]) -> None:
    subprocess.run([str(RAY), *args], check=True, capture_output=True, env=env, timeout=180)


def task_workers() -> list[int]:
    """PIDs of Ray worker processes that are running one of our tasks (Ray titles them ray::_ray_task)."""
    out = subprocess.run(["pgrep", "-f", "ray::_ray_task"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@needs_ray
@needs_lfw
@pytest.mark.slow
def test_two_process_cluster_survives_a_killed_worker(local_tables: dict, tmp_path: Path) -> None:
    """`ray start --head` on loopback plus a second `ray start --address` node; one worker is SIGKILLed while it
    runs a chunk; Ray retries the chunk and the tables still equal the local executor's."""
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    port = str(free_port())  # a fixed port fails when another Ray head (another suite, a leftover) holds it
    ray_cli(
        "start",
        "--head",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        "--num-cpus=1",
        "--include-dashboard=false",
        "--disable-usage-stats",
        env=env,
    )
    try:
        ray_cli("start", f"--address=127.0.0.1:{port}", "--num-cpus=1", "--disable-usage-stats", env=env)
        killed: list[int] = []

        def kill_one() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not killed:
                pids = task_workers()
                if pids:
                    time.sleep(0.5)  # let it get into the chunk
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])
                time.sleep(0.2)

        killer = threading.Thread(target=kill_one, daemon=True)
        killer.start()
        tables = run_matrix(tmp_path / "store", str(tmp_path / "cache"), "ray", address=f"127.0.0.1:{port}")
        killer.join(timeout=5)
    finally:
        subprocess.run([str(RAY), "stop", "--force"], capture_output=True, env=env, timeout=120)
        shutil.rmtree(tmp_path / "cache", ignore_errors=True)
    assert killed, "no Ray worker was seen running a task"
    assert_same_tables(local_tables, tables)
