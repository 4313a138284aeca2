"""Downloading datasets: official URL (with a mirror), SHA-256 checked, resumable (HTTP Range), extracted
only from a verified archive, and moved into place only when complete."""

from __future__ import annotations

import shutil
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ipr_bench.core.cache import file_sha256
from ipr_bench.core.errors import DataError
from ipr_bench.core.registry import Registry


@dataclass(frozen=True)
class Remote:
    filename: str
    urls: tuple[str, ...]  # official first, then mirrors
    sha256: str
    extract_to: str | None = None  # for archives: folder (under the dataset dir) its top folder becomes


# The original (unaligned) LFW at the official UMass address, with the figshare mirror scikit-learn uses; the
# digests are the ones scikit-learn publishes for the same files.
LFW_REMOTES = (
    Remote(
        "lfw.tgz",
        ("http://vis-www.cs.umass.edu/lfw/lfw.tgz", "https://ndownloader.figshare.com/files/5976018"),
        "055f7d9c632d7370e6fb4afc7468d40f970c34a80d4c6f50ffec63f5a8d536c0",
        extract_to="lfw",
    ),
    Remote(
        "pairs.txt",
        ("http://vis-www.cs.umass.edu/lfw/pairs.txt", "https://ndownloader.figshare.com/files/5976006"),
        "ea42330c62c92989f9d7c03237ed5d591365e89b3e649747777b70e692dc1592",
    ),
    Remote(
        "pairsDevTrain.txt",
        ("http://vis-www.cs.umass.edu/lfw/pairsDevTrain.txt", "https://ndownloader.figshare.com/files/5976012"),
        "1d454dada7dfeca0e7eab6f65dc4e97a6312d44cf142207be28d688be92aabfa",
    ),
    Remote(
        "pairsDevTest.txt",
        ("http://vis-www.cs.umass.edu/lfw/pairsDevTest.txt", "https://ndownloader.figshare.com/files/5976009"),
        "7cb06600ea8b2814ac26e946201cdb304296262aad67d046a16a7ec85d0ff87c",
    ),
)


@dataclass(frozen=True)
class Recipe:
    """How to download a dataset: its files, and the variant written to <dataset>/VARIANT (results are labelled
    with what was fetched)."""

    remotes: tuple[Remote, ...]
    variant: str | None = None


RECIPES = Registry("download recipe", "ipr_bench.fetchers", None)  # dataset name → Recipe
RECIPES.register("lfw")(Recipe(LFW_REMOTES, variant="original"))


def recipe(name: str) -> Recipe:
    if name not in RECIPES.names():
        raise DataError(f"no download recipe for {name!r}; known: {', '.join(RECIPES.names())}")
    return RECIPES.get(name)[0]


Report = Callable[[str], None]


def download(url: str, dest: Path, report: Report, timeout: float = 60.0) -> None:
    """Download url to dest, resuming a partial ``dest.part`` with an HTTP Range request."""
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # already complete
            part.replace(dest)
            return
        raise
    with response:
        resumed = have and response.status == 206
        total = response.headers.get("Content-Length")
        total = int(total) + (have if resumed else 0) if total else None
        mode = "ab" if resumed else "wb"
        done = have if resumed else 0
        report(f"{dest.name}: {'resuming at ' + str(done) + ' bytes' if resumed else 'downloading'} from {url}")
        with part.open(mode) as f:
            while block := response.read(1 << 20):
                f.write(block)
                done += len(block)
                if total:
                    report(f"{dest.name}: {done / 1e6:.1f}/{total / 1e6:.1f} MB")
    part.replace(dest)


def fetch_remote(remote: Remote, folder: Path, report: Report) -> Path:
    """A verified copy of remote in folder: reuse one whose digest matches, else download (official URL, then
    mirrors). A file with the wrong digest is deleted and the error says so."""
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / remote.filename
    if dest.exists() and file_sha256(dest) == remote.sha256:
        return dest
    errors = []
    for url in remote.urls:
        try:
            download(url, dest, report)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            errors.append(f"{url}: {exc}")
            continue
        digest = file_sha256(dest)
        if digest == remote.sha256:
            return dest
        dest.unlink()
        errors.append(f"{url}: SHA-256 {digest} != expected {remote.sha256} (file deleted)")
    raise DataError(f"could not fetch {remote.filename}: " + "; ".join(errors))


def extract(archive: Path, folder: Path, target: str, report: Report) -> None:
    """Extract into a temporary folder, then move its single top folder to folder/target."""
    final = folder / target
    if final.is_dir():
        return
    tmp = folder / f".{target}.extracting"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    report(f"extracting {archive.name}")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp, filter="data")  # refuses absolute paths, links out of tmp, devices
    tops = [p for p in tmp.iterdir()]
    source = tops[0] if len(tops) == 1 and tops[0].is_dir() else tmp
    source.replace(final)
    shutil.rmtree(tmp, ignore_errors=True)


def fetch_dataset(name: str, root: Path, report: Report = print, remotes: tuple[Remote, ...] | None = None) -> Path:
    # given remotes (a mirror) may fetch a dataset without a recipe here; it then has no variant
    wanted = recipe(name) if remotes is None or name in RECIPES.names() else Recipe(remotes)
    remotes = wanted.remotes if remotes is None else remotes
    folder = root / name
    for remote in remotes:
        path = fetch_remote(remote, folder, report)
        if remote.extract_to:
            extract(path, folder, remote.extract_to, report)
    if wanted.variant:
        (folder / "VARIANT").write_text(wanted.variant + "\n")
    report(f"{name} is ready in {folder}")
    return folder
