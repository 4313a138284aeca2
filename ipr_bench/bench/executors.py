"""Where the runner's chunk tasks run: ``local`` worker processes (the default) or a ``ray`` cluster.

A chunk task (``ipr_bench.bench.work.ChunkTask``: one chunk of items × one setting) is plain data, idempotent and
content-addressed: running it twice, or on two machines, writes the same cache entries. Both executors stream
results back in completion order; the driver alone writes the results store.

Ray (``pip install 'ipr-bench[ray]'``): each task is a Ray task declaring 1 CPU, plus ``gpus_per_task`` GPUs
when its codec wants a GPU (learned codecs) and the cluster has GPUs. A worker that dies (killed, OOM, lost
node) has its task retried elsewhere; a retried or duplicated task changes nothing. Two cache modes:

- ``shared`` (default): every node reads and writes the cache root directly — a path the nodes share (NFS, a
  cluster filesystem) or an fsspec URL (``s3://bucket/ipr-cache``, ``gs://…``; see ``ipr_bench.core.cache``).
- ``object-store``: nodes share nothing but the dataset path. Each task gets the cache entries it needs (the
  originals' landmarks, any finished parts) in its arguments, computes in a private temporary cache, and returns
  its new entries through Ray's object store; the driver writes them into its own cache.

Datasets and weights must be readable at the same paths on every node (``IPR_BENCH_DATA``/``IPR_BENCH_WEIGHTS``
are passed to the workers).
"""

from __future__ import annotations

import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import replace
from multiprocessing import get_context
from typing import Any, ClassVar

from ipr_bench.core.errors import Availability, UnavailableError
from ipr_bench.core.registry import Registry

ChunkResult = tuple[Any, int, list[str]]  # (setting, number of items, per-item errors), as run_chunk returns
EXECUTORS = Registry("executor", "ipr_bench.executors", None)  # the built-ins register below
RAY_FIX = "pip install 'ipr-bench[ray]' (Ray 2.x)"
CACHE_MODES = ("shared", "object-store")


class Executor(ABC):
    """Runs chunk tasks; use as a context manager around all stages of a run (workers start once)."""

    name: str
    what: ClassVar[str] = ""  # for `ipr-bench list`

    @classmethod
    def availability(cls) -> Availability:
        return Availability(True)

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    @abstractmethod
    def run(self, tasks: list[Any], on_result: Callable[[ChunkResult], None]) -> None:
        """Run every task; call ``on_result`` in the driver for each as it finishes."""

    def describe(self) -> str:
        """For the progress line: what is working (e.g. live workers)."""
        return ""

    @classmethod
    def from_options(cls, workers: int, **options: Any) -> Executor:
        """Built from a run's worker count and executor options (``RunSpec.executor_options``)."""
        return cls(**options)


def _worker_init(threads: int, main_pid: int | None = None) -> None:
    os.environ["IPR_BENCH_THREADS"] = str(threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads))  # a dlib built with BLAS
    if main_pid is not None:
        threading.Thread(target=_exit_with, args=(main_pid,), daemon=True).start()


def _exit_with(main_pid: int) -> None:
    """A worker whose run was killed (SIGKILL/SIGTERM leave no time to stop the pool) must not go on computing."""
    while True:
        time.sleep(2.0)
        try:
            os.kill(main_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # the pid exists but is someone else's: ours is gone
            os._exit(1)


@EXECUTORS.register("local")
class LocalExecutor(Executor):
    """``workers`` processes on this machine (forkserver; models load once per worker); 1 = in-process."""

    what = "worker processes on this machine (--workers N); the default"

    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, workers)
        self.pool: ProcessPoolExecutor | None = None

    @classmethod
    def from_options(cls, workers: int, **options: Any) -> LocalExecutor:
        return cls(workers)  # other executors' options (a Ray address) mean nothing here

    def __enter__(self) -> LocalExecutor:
        if self.workers <= 1:
            _worker_init(max(1, os.cpu_count() or 1))
        else:
            threads = max(1, (os.cpu_count() or 1) // self.workers)
            self.pool = ProcessPoolExecutor(
                self.workers,
                mp_context=get_context("forkserver"),
                initializer=_worker_init,
                initargs=(threads, os.getpid()),
            )
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None

    def run(self, tasks: list[Any], on_result: Callable[[ChunkResult], None]) -> None:
        from ipr_bench.bench.work import run_chunk

        if self.pool is None:
            for t in tasks:
                on_result(run_chunk(t))
            return
        futures: set[Future] = set()
        queue = list(reversed(tasks))
        while queue or futures:
            while queue and len(futures) < 2 * self.workers:  # bounded: settings finish in order
                futures.add(self.pool.submit(run_chunk, queue.pop()))
            done, futures = wait(futures, return_when=FIRST_COMPLETED)
            for f in done:
                on_result(f.result())

    def describe(self) -> str:
        return f"{self.workers} local worker{'s' if self.workers > 1 else ''}"


def ray_available() -> bool:
    from importlib.util import find_spec

    return find_spec("ray") is not None


def _ray_task(task: Any, inputs: dict[str, dict[str, Any]] | None) -> tuple[ChunkResult, dict[str, dict[str, Any]]]:
    """The body of one Ray task. ``inputs`` None: shared cache. Else object-store mode: the entries this chunk
    may read, keyed 'kind/key'; returns the chunk's entries afterwards, for the driver to store."""
    from ipr_bench.bench.work import run_chunk
    from ipr_bench.core.cache import Cache

    if inputs is None:
        return run_chunk(task), {}
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ipr-ray-") as tmp:
        cache = Cache(tmp)
        for name, arrays in inputs.items():
            kind, key = name.split("/", 1)
            cache.put(kind, key, arrays)
        result = run_chunk(replace(task, cache_root=tmp))
        outputs = {}
        for kind, key in task.entries():
            if f"{kind}/{key}" not in inputs:
                data = cache.get(kind, key)
                if data is not None:
                    outputs[f"{kind}/{key}"] = data
        return result, outputs


@EXECUTORS.register("ray")
class RayExecutor(Executor):
    """Chunk tasks as Ray tasks on the cluster at ``address`` ("auto": the running cluster; None: a local one)."""

    what = "the same chunk tasks on a Ray cluster (--ray-address auto|HOST:PORT, --ray-cache-mode shared|object-store)"

    @classmethod
    def availability(cls) -> Availability:
        return Availability(True) if ray_available() else Availability(False, RAY_FIX)

    def __init__(
        self,
        address: str | None = None,
        cache_mode: str = "shared",
        gpus_per_task: float = 1.0,
        max_in_flight: int = 0,
        max_retries: int = 3,
    ) -> None:
        if not ray_available():
            raise UnavailableError(f"--executor ray needs Ray: {RAY_FIX}")
        if cache_mode not in CACHE_MODES:
            raise UnavailableError(f"ray cache mode must be one of {', '.join(CACHE_MODES)}, not {cache_mode!r}")
        self.address, self.cache_mode, self.gpus_per_task = address, cache_mode, gpus_per_task
        self.max_in_flight, self.max_retries = max_in_flight, max_retries
        self.started_here = False
        self.remote: Any = None
        self.cluster_gpus = 0.0

    def __enter__(self) -> RayExecutor:
        import ray

        if not ray.is_initialized():
            env = {k: v for k, v in os.environ.items() if k.startswith("IPR_BENCH_")}
            ray.init(address=self.address, runtime_env={"env_vars": env}, log_to_driver=False, logging_level="ERROR")
            self.started_here = True
        self.remote = ray.remote(_ray_task)
        self.cluster_gpus = ray.cluster_resources().get("GPU", 0)  # asked once, not per task
        return self

    def __exit__(self, *exc: Any) -> None:
        import ray

        if self.started_here:
            ray.shutdown()
            self.started_here = False

    def _options(self, task: Any) -> dict[str, Any]:
        gpus = self.gpus_per_task if task.prefers_gpu and self.cluster_gpus > 0 else 0
        return {"num_cpus": 1, "num_gpus": gpus, "max_retries": self.max_retries, "retry_exceptions": False}

    def _inputs(self, task: Any) -> dict[str, dict[str, Any]] | None:
        if self.cache_mode == "shared":
            return None
        from ipr_bench.core.cache import Cache

        cache = Cache(task.cache_root)
        out = {}
        for kind, key in task.entries():
            data = cache.get(kind, key)
            if data is not None:
                out[f"{kind}/{key}"] = data
        return out

    def run(self, tasks: list[Any], on_result: Callable[[ChunkResult], None]) -> None:
        import ray

        from ipr_bench.core.cache import Cache

        limit = self.max_in_flight or max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        queue = list(reversed(tasks))
        pending: dict[Any, Any] = {}
        while queue or pending:
            while queue and len(pending) < limit:
                task = queue.pop()
                ref = self.remote.options(**self._options(task)).remote(task, self._inputs(task))
                pending[ref] = task
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                task = pending.pop(ref)
                result, outputs = ray.get(ref)
                if outputs:  # object-store mode: the driver writes what the worker computed
                    cache = Cache(task.cache_root)
                    for name, arrays in outputs.items():
                        kind, key = name.split("/", 1)
                        cache.put(kind, key, arrays)
                on_result(result)

    def describe(self) -> str:
        import ray

        nodes = [n for n in ray.nodes() if n.get("Alive")]
        cpus = int(sum(n.get("Resources", {}).get("CPU", 0) for n in nodes))
        return f"ray: {len(nodes)} node{'s' if len(nodes) != 1 else ''}, {cpus} CPUs"


def create_executor(name: str, workers: int = 1, **options: Any) -> Executor:
    """The executor registered as ``name``, from the run's worker count and its executor options."""
    factory, _ = EXECUTORS.get(name)  # an unknown name gets the list of the registered ones
    return factory.from_options(workers, **options)
