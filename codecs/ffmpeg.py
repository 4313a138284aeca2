"""Running the ffmpeg bundled by imageio-ffmpeg (it has libx265, libvvenc and a VVC decoder)."""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ipr_bench.codecs.base import Codec, Encoded, Quality
from ipr_bench.core.errors import UnavailableError
from ipr_bench.core.images import max_pixels

if TYPE_CHECKING:
    from ipr_bench.face.landmarks import FaceLandmarks

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


def run_ffmpeg(args: list[str], stdin: bytes | None, what: str, timeout: float | None = None) -> bytes:
    """Run ffmpeg with ``args``; return stdout; raise with ffmpeg's own message on failure, or when it has not
    finished within ``timeout`` seconds (a damaged stream must cost an error, never a hung run)."""
    try:
        proc = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args],
            input=stdin,
            capture_output=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{what}: ffmpeg did not finish within {timeout:g} s (a damaged stream?); stopped") from None
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()[-800:]
        raise RuntimeError(f"{what}: ffmpeg exited with {proc.returncode}: {err}")
    return proc.stdout


def raw_rgb_input_args(image: np.ndarray, source: str = "pipe:0") -> list[str]:
    h, w = image.shape[:2]
    return ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-i", source]


def parse_pam(data: bytes, what: str) -> np.ndarray:
    """Decode a PAM (P7) RGB image as written by ffmpeg's ``pam`` encoder: the header carries W and H."""
    end = data.find(b"ENDHDR\n")
    if not data.startswith(b"P7") or end < 0:
        raise RuntimeError(f"{what}: decoder returned no image")
    fields = dict(line.split(b" ", 1) for line in data[3:end].splitlines() if b" " in line)
    try:
        w, h, depth = int(fields[b"WIDTH"]), int(fields[b"HEIGHT"]), int(fields[b"DEPTH"])
    except (KeyError, ValueError):
        raise RuntimeError(f"{what}: decoder returned an image without a readable size") from None
    if len(data) < end + 7 + w * h * depth:
        raise RuntimeError(f"{what}: decoder returned a truncated {w}×{h} image")
    pixels = np.frombuffer(data, dtype=np.uint8, count=w * h * depth, offset=end + 7)
    return pixels.reshape(h, w, depth)[..., :3].copy()


# a one-frame decode takes well under a second here: a decode still running after this is stuck on bad data
DECODE_SECONDS, DECODE_SECONDS_PER_STREAM = 30.0, 10.0

# Images per ffmpeg process. Each image still gets its own encoder instance and its own single-frame stream
# (byte-identical to encoding it alone, which a test checks); the process start-up is shared.
BATCH = 16


def encode_each(
    images: list[np.ndarray], output_args: list[list[str]], muxer: str, mp4: bool, what: str
) -> list[tuple[bytes, int | None]]:
    """Encode every image as its own one-frame stream in one ffmpeg process (one output per image, with that
    image's ``output_args``). Returns (stream bytes, size of the same stream in an .mp4 or None) per image."""
    with tempfile.TemporaryDirectory(prefix="ipr-ffmpeg-") as tmp:
        args: list[str] = []
        for i, image in enumerate(images):
            raw = os.path.join(tmp, f"{i}.rgb")
            with open(raw, "wb") as f:
                f.write(np.ascontiguousarray(image).tobytes())
            args += raw_rgb_input_args(image, raw)
        for i in range(len(images)):
            stream = os.path.join(tmp, f"{i}.{muxer}")
            target = (
                ["-f", "tee", f"[f={muxer}]{stream}|[f=mp4]{os.path.join(tmp, f'{i}.mp4')}"]
                if mp4
                else ["-f", muxer, stream]
            )
            args += ["-map", f"{i}:v", "-frames:v", "1", *output_args[i], *target]
        run_ffmpeg(args, None, what)
        out = []
        for i in range(len(images)):
            with open(os.path.join(tmp, f"{i}.{muxer}"), "rb") as f:
                data = f.read()
            out.append((data, os.path.getsize(os.path.join(tmp, f"{i}.mp4")) if mp4 else None))
        return out


def decode_each(streams: list[bytes], demuxer: str, what: str) -> list[np.ndarray]:
    """Decode one-frame streams to RGB in one ffmpeg process (one input and one output per stream)."""
    with tempfile.TemporaryDirectory(prefix="ipr-ffmpeg-") as tmp:
        args: list[str] = []
        for i, stream in enumerate(streams):
            path = os.path.join(tmp, f"{i}.{demuxer}")
            with open(path, "wb") as f:
                f.write(stream)
            # the decoder's own cap on a frame's pixels: a damaged header cannot make it allocate gigabytes
            args += ["-max_pixels", str(max_pixels()), "-f", demuxer, "-i", path]
        for i in range(len(streams)):
            args += [
                "-map",
                f"{i}:v",
                "-frames:v",
                "1",
                "-pix_fmt",
                "rgb24",
                "-c:v",
                "pam",
                "-f",
                "image2",
                "-update",
                "1",
                os.path.join(tmp, f"{i}.pam"),
            ]
        run_ffmpeg(args, None, what, timeout=DECODE_SECONDS + DECODE_SECONDS_PER_STREAM * len(streams))
        out = []
        for i in range(len(streams)):
            path = os.path.join(tmp, f"{i}.pam")
            if not os.path.isfile(path):  # ffmpeg ended well but its decoder gave no frame (a damaged stream)
                raise RuntimeError(f"{what}: the decoder produced no frame")
            with open(path, "rb") as f:
                out.append(parse_pam(f.read(), what))
        return out


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


class FfmpegVideoCodec(Codec):
    """An intra video codec run by ffmpeg: each image is a one-frame raw stream (``muxer`` format).
    Subclasses give the encoder arguments; batching, odd sizes and failure isolation live here."""

    muxer: ClassVar[str]
    record_mp4: ClassVar[bool] = False
    knob_range = (0, 51)  # x265's CRF and QP scale (vvenc's QP goes to 63: codecs/vvc.py)

    def encoder_args(self, quality: Quality) -> list[str]:
        raise NotImplementedError

    def finish(self, header: bytes, stream: bytes, mp4_bytes: int | None) -> Encoded:
        """The counted payload from the size header and ffmpeg's stream (hook for codecs that strip something)."""
        return Encoded(header + stream)

    def image_args(self, image: np.ndarray, face: FaceLandmarks | None) -> tuple[list[str], dict[str, float]]:
        """Per-image output arguments placed before the encoder's (e.g. a filter that marks a region of interest)
        and what they did, for ``Encoded.info``. Face-aware codecs override this."""
        return [], {}

    def version(self) -> str:
        return ffmpeg_version()

    def encode_batch(
        self, images: list[np.ndarray], quality: Quality, faces: list[FaceLandmarks | None] | None = None
    ) -> list[Encoded | Exception]:
        out: list[Encoded | Exception] = []
        faces = faces if faces is not None else [None] * len(images)
        for start in range(0, len(images), BATCH):
            part, part_faces = images[start : start + BATCH], faces[start : start + BATCH]
            try:
                out += self._encode_part(part, part_faces, quality)
            except RuntimeError as exc:
                if len(part) == 1:
                    out.append(exc)
                    continue
                for im, face in zip(part, part_faces, strict=True):  # one by one, so only the bad image fails
                    try:
                        out += self._encode_part([im], [face], quality)
                    except RuntimeError as one:
                        out.append(one)
        return out

    def _encode_part(
        self, images: list[np.ndarray], faces: list[FaceLandmarks | None], quality: Quality
    ) -> list[Encoded]:
        """One ffmpeg process for these images; raises if ffmpeg fails."""
        padded = [pad_to_even(im) for im in images]
        per_image = [self.image_args(im, face) for im, face in zip(images, faces, strict=True)]
        streams = encode_each(
            [p for p, _ in padded],
            [args + self.encoder_args(quality) for args, _ in per_image],
            self.muxer,
            self.record_mp4,
            f"{self.name} encode ({self.knob} {quality})",
        )
        out = []
        for (_, header), (stream, mp4), (_, info) in zip(padded, streams, per_image, strict=True):
            encoded = self.finish(header, stream, mp4)
            out.append(Encoded(encoded.payload, encoded.alt_bytes, {**encoded.info, **info}))
        return out

    def encode(self, image: np.ndarray, quality: Quality, face: FaceLandmarks | None = None) -> Encoded:
        result = self.encode_batch([image], quality, [face])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def decode_batch(self, payloads: list[bytes]) -> list[np.ndarray | Exception]:
        out: list[np.ndarray | Exception] = []
        for start in range(0, len(payloads), BATCH):
            part = [split_size_header(p) for p in payloads[start : start + BATCH]]
            try:
                images = decode_each([s for s, _ in part], self.muxer, f"{self.name} decode")
            except RuntimeError as exc:
                if len(part) == 1:
                    out.append(exc)
                else:  # one by one, so only the bad stream fails
                    out += [self.decode_batch([p])[0] for p in payloads[start : start + BATCH]]
                continue
            out += [im[: size[0], : size[1]].copy() if size else im for im, (_, size) in zip(images, part, strict=True)]
        return out

    def decode(self, payload: bytes) -> np.ndarray:
        result = self.decode_batch([payload])[0]
        if isinstance(result, Exception):
            raise result
        return result
