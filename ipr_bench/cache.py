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
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path(user_cache_dir("ipr-bench"))


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


class Cache:
    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root else default_cache_dir()

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.npz"

    def has(self, kind: str, key: str) -> bool:
        return self.path(kind, key).is_file()

    def remove_stale_temporaries(self, max_age_s: float = 3600.0) -> int:
        """Delete temp files a killed run left behind (old enough not to belong to a run still writing)."""
        import time

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
        atomic_write_bytes(self.path(kind, key), buf.getvalue())

    def get(self, kind: str, key: str) -> dict[str, np.ndarray] | None:
        path = self.path(kind, key)
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except FileNotFoundError:
            return None
        except Exception:  # a damaged entry (e.g. disk trouble) is treated as absent and recomputed
            path.unlink(missing_ok=True)
            return None


def pack_bytes(blobs: list[bytes]) -> dict[str, np.ndarray]:
    """Many byte strings as two arrays (concatenation + offsets), so they fit an npz without pickle."""
    offsets = np.zeros(len(blobs) + 1, np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blobs])
    return {"blob": np.frombuffer(b"".join(blobs), np.uint8).copy(), "offsets": offsets}


def unpack_bytes(blob: np.ndarray, offsets: np.ndarray) -> list[bytes]:
    raw = blob.tobytes()
    return [raw[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
