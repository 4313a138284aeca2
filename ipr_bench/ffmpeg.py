"""Running the ffmpeg bundled by imageio-ffmpeg (it has libx265, libvvenc and a VVC decoder)."""

from __future__ import annotations

import functools
import subprocess

import numpy as np

from ipr_bench.errors import UnavailableError

FIX = "pip install 'imageio-ffmpeg>=0.6' (its static ffmpeg has libx265 and libvvenc)"


@functools.cache
def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError:
        raise UnavailableError(f"ffmpeg not found: {FIX}") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


@functools.cache
def ffmpeg_version() -> str:
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "unknown"


@functools.cache
def has_encoder(name: str) -> bool:
    try:
        out = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=60
        ).stdout
    except (UnavailableError, OSError, subprocess.SubprocessError):
        return False
    return any(line.split()[1:2] == [name] for line in out.splitlines() if line.startswith(" "))


def run_ffmpeg(args: list[str], stdin: bytes | None, what: str) -> bytes:
    """Run ffmpeg with ``args``; return stdout; raise with ffmpeg's own message on failure."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args],
        input=stdin,
        capture_output=True,
    )
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()[-800:]
        raise RuntimeError(f"{what}: ffmpeg exited with {proc.returncode}: {err}")
    return proc.stdout


def raw_rgb_input_args(image: np.ndarray) -> list[str]:
    h, w = image.shape[:2]
    return ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-i", "pipe:0"]


def parse_pam(data: bytes, what: str) -> np.ndarray:
    """Decode a PAM (P7) RGB image as written by ffmpeg's ``pam`` encoder: the header carries W and H."""
    end = data.find(b"ENDHDR\n")
    if not data.startswith(b"P7") or end < 0:
        raise RuntimeError(f"{what}: decoder returned no image")
    fields = dict(
        line.split(b" ", 1) for line in data[3:end].splitlines() if b" " in line
    )
    w, h, depth = int(fields[b"WIDTH"]), int(fields[b"HEIGHT"]), int(fields[b"DEPTH"])
    pixels = np.frombuffer(data, dtype=np.uint8, count=w * h * depth, offset=end + 7)
    return pixels.reshape(h, w, depth)[..., :3].copy()


def decode_to_rgb(input_args: list[str], payload: bytes, what: str) -> np.ndarray:
    out = run_ffmpeg(
        [*input_args, "-i", "pipe:0", "-frames:v", "1", "-pix_fmt", "rgb24", "-c:v", "pam", "-f", "image2pipe",
         "pipe:1"],
        payload,
        what,
    )
    return parse_pam(out, what)


# 4:2:0 encoders need even sizes. Odd-sized images are edge-padded to even and the payload then starts with
# this 6-byte header (magic + original H, W) so the decoder can crop back; the header bytes are counted.
# Annex-B streams always start with 0x00, so the magic cannot be mistaken for a stream.
ODD_SIZE_MAGIC = b"\xffS"


def pad_to_even(image: np.ndarray) -> tuple[np.ndarray, bytes]:
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image, b""
    padded = np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return padded, ODD_SIZE_MAGIC + h.to_bytes(2, "big") + w.to_bytes(2, "big")


def split_size_header(payload: bytes) -> tuple[bytes, tuple[int, int] | None]:
    if payload.startswith(ODD_SIZE_MAGIC):
        h = int.from_bytes(payload[2:4], "big")
        w = int.from_bytes(payload[4:6], "big")
        return payload[6:], (h, w)
    return payload, None
