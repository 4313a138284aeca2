"""`ipr-bench data fetch`: SHA-256 checked, resumable, extracted only when verified — against a local server."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ipr_bench.cli import app
from ipr_bench.core.errors import DataError
from ipr_bench.datasets.fetch import Remote, fetch_dataset, fetch_remote


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files from the server's directory, honouring 'Range: bytes=N-' (plain http.server does not)."""

    requests: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        path = Path(self.directory) / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        header = self.headers.get("Range")
        self.requests.append(f"{self.path} {header}")
        if header and header.startswith("bytes="):
            start = int(header[6:].split("-")[0])
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    RangeHandler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: RangeHandler(*a, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()


def small_lfw_archive(root: Path) -> tuple[str, str]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in ("Ann_A/Ann_A_0001.jpg", "Ann_A/Ann_A_0002.jpg", "Bob_B/Bob_B_0001.jpg"):
            payload = (name * 50).encode()
            info = tarfile.TarInfo(f"lfw/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    (root / "lfw.tgz").write_bytes(buf.getvalue())
    (root / "pairs.txt").write_text("1\nAnn_A 1 2\nAnn_A 1 Bob_B 1\n")
    return (hashlib.sha256(buf.getvalue()).hexdigest(), hashlib.sha256((root / "pairs.txt").read_bytes()).hexdigest())


def test_fetch_verifies_extracts_and_labels(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    tgz_sha, pairs_sha = small_lfw_archive(root)
    remotes = (
        Remote("lfw.tgz", (f"{url}/lfw.tgz",), tgz_sha, extract_to="lfw"),
        Remote("pairs.txt", (f"{url}/pairs.txt",), pairs_sha),
    )
    folder = fetch_dataset("lfw", tmp_path / "data", lambda m: None, remotes)
    assert (folder / "lfw" / "Ann_A" / "Ann_A_0002.jpg").is_file()
    assert (folder / "VARIANT").read_text().strip() == "original"
    from ipr_bench.datasets.lfw import lfw

    ds = lfw(root=folder)
    assert len(ds.pairs) == 2 and ds.label.startswith("LFW (original)")


def test_fetch_resumes_a_partial_download(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    tgz_sha, _ = small_lfw_archive(root)
    full = (root / "lfw.tgz").read_bytes()
    dest = tmp_path / "d"
    dest.mkdir()
    (dest / "lfw.tgz.part").write_bytes(full[:100])  # an interrupted earlier download
    fetch_remote(Remote("lfw.tgz", (f"{url}/lfw.tgz",), tgz_sha), dest, lambda m: None)
    assert (dest / "lfw.tgz").read_bytes() == full
    assert RangeHandler.requests == ["/lfw.tgz bytes=100-"]


def test_wrong_digest_is_refused_and_deleted_then_mirror_used(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    tgz_sha, _ = small_lfw_archive(root)
    (root / "evil.tgz").write_bytes(b"tampered")
    dest = tmp_path / "d"
    remote = Remote("lfw.tgz", (f"{url}/evil.tgz", f"{url}/lfw.tgz"), tgz_sha)
    assert fetch_remote(remote, dest, lambda m: None).read_bytes() == (root / "lfw.tgz").read_bytes()
    with pytest.raises(DataError, match="SHA-256 .* != expected .*file deleted"):
        fetch_remote(Remote("x.tgz", (f"{url}/evil.tgz",), tgz_sha), dest, lambda m: None)
    assert not (dest / "x.tgz").exists()


def test_unreachable_host_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="could not fetch lfw.tgz: http://127.0.0.1:9/"):
        fetch_remote(Remote("lfw.tgz", ("http://127.0.0.1:9/lfw.tgz",), "0" * 64), tmp_path, lambda m: None)


def test_cli_fetch_with_base_url_checks_the_official_digests(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    small_lfw_archive(root)  # not the real LFW: the official SHA-256 must reject it
    result = CliRunner().invoke(app, ["data", "fetch", "lfw", "--dest", str(tmp_path), "--base-url", url])
    assert result.exit_code == 2 and "SHA-256" in result.output and "055f7d9c" in result.output
    result = CliRunner().invoke(app, ["data", "fetch", "imagenet", "--dest", str(tmp_path)])
    assert result.exit_code == 2 and "no download recipe" in result.output
