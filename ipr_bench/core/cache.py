"""Content-addressed cache of work results: bitstreams and measures per chunk × codec setting, landmarks
and embeddings per chunk × recognizer. Keys hash everything that determines the value (image bytes, codec
config and version, recognizer config), so a repeated or extended run only does new work.

Every entry is one .npz file written to a temporary name, fsynced and renamed into place: a reader sees a
whole entry or none, whatever moment a run was killed. Entries are read with allow_pickle=False.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from platformdirs import user_cache_dir

CACHE_ENV = "IPR_BENCH_CACHE"


def default_cache_dir() -> Path:
    """The local cache folder: $IPR_BENCH_CACHE when it is a path, else the user cache dir."""
    env = os.environ.get(CACHE_ENV, "")
    return Path(env).expanduser() if env and "://" not in env else Path(user_cache_dir("ipr-bench"))


def content_key(*parts: Any) -> str:
    """Stable hash of JSON-serialisable parts."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; results and caches are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_csv(path: Path, rows: list[dict[str, Any]], fields: list[str]) -> None:
    """A whole CSV file (header + rows; a row's missing fields empty), written atomically."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: row.get(k, "") for k in fields} for row in rows)
    atomic_write_bytes(path, buffer.getvalue().encode())


def file_sha256(path: Path | str) -> str:
    """SHA-256 of a file, read in 1 MiB blocks (model files are large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class Cache:
    """Entries under ``root``: a local folder, or an fsspec URL (``s3://bucket/ipr-cache``, ``gs://…``,
    ``file:///shared/ipr-cache``) that several machines share (``ipr_bench.bench.executors``). On a URL an entry is
    written whole by one put (object stores make that atomic; other filesystems get a temporary name and a move)."""

    def __init__(self, root: Path | str | None = None) -> None:
        text = str(root) if root else os.environ.get(CACHE_ENV, "")
        self.url = text.rstrip("/") if "://" in text else None
        self.fs: Any = None
        if self.url:
            import fsspec

            self.fs, _ = fsspec.core.url_to_fs(self.url)
            self.root: Path | None = None
        else:
            self.root = Path(text).expanduser() if text else default_cache_dir()

    @property
    def location(self) -> str:
        """The root as given (path or URL): what worker processes and other machines open."""
        return self.url or str(self.root)

    @property
    def local_root(self) -> Path:
        """A local folder for things that must be files here (e.g. image crops that datasets point at)."""
        return self.root if self.root is not None else default_cache_dir()

    def path(self, kind: str, key: str) -> Path:
        return self.local_root / kind / key[:2] / f"{key}.npz"

    def _url(self, kind: str, key: str) -> str:
        return f"{self.url}/{kind}/{key[:2]}/{key}.npz"

    def has(self, kind: str, key: str) -> bool:
        if self.url:
            return bool(self.fs.exists(self._url(kind, key)))
        return self.path(kind, key).is_file()

    def remove_stale_temporaries(self, max_age_s: float = 3600.0) -> int:
        """Delete temp files a killed run left behind (old enough not to belong to a run still writing)."""
        import time

        if self.url:
            return 0  # puts on object stores leave no temporaries
        removed = 0
        for tmp in self.root.glob("*/*/.*.tmp"):
            try:
                if time.time() - tmp.stat().st_mtime > max_age_s:
                    tmp.unlink()
                    removed += 1
            except OSError:
                pass
        return removed

    def put(self, kind: str, key: str, arrays: dict[str, np.ndarray]) -> None:
        import io

        buf = io.BytesIO()
        np.savez(buf, **arrays)
        if self.url:
            target = self._url(kind, key)
            protocols = (self.fs.protocol,) if isinstance(self.fs.protocol, str) else tuple(self.fs.protocol)
            if {"file", "local"} & set(protocols):  # a shared filesystem: write aside, then move into place
                tmp = f"{target}.{os.getpid()}.tmp"
                self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
                self.fs.pipe_file(tmp, buf.getvalue())
                self.fs.mv(tmp, target)
            else:
                self.fs.pipe_file(target, buf.getvalue())
            return
        atomic_write_bytes(self.path(kind, key), buf.getvalue())

    def get(self, kind: str, key: str) -> dict[str, np.ndarray] | None:
        import io

        try:
            if self.url:
                source: Any = io.BytesIO(self.fs.cat_file(self._url(kind, key)))
            else:
                source = self.path(kind, key)
            with np.load(source, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except FileNotFoundError:
            return None
        except Exception:  # a damaged entry (e.g. disk trouble) is treated as absent and recomputed
            if self.url:
                self.fs.rm(self._url(kind, key))
            else:
                self.path(kind, key).unlink(missing_ok=True)
            return None


def pack_bytes(blobs: list[bytes]) -> dict[str, np.ndarray]:
    """Many byte strings as two arrays (concatenation + offsets), so they fit an npz without pickle."""
    offsets = np.zeros(len(blobs) + 1, np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blobs])
    return {"blob": np.frombuffer(b"".join(blobs), np.uint8).copy(), "offsets": offsets}


def unpack_bytes(blob: np.ndarray, offsets: np.ndarray) -> list[bytes]:
    raw = blob.tobytes()
    return [raw[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
