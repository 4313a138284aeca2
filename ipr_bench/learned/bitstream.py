"""The learned codecs' bitstream format (what bpp counts; version 1)::

    1 byte   format version
    1 byte   rate point (quality index of the codec: which model decodes it)
    2 × u16  original height, width (big-endian)
    per entropy-coded string of the model (y, then z for the hyperpriors):
             LEB128 length, then the bytes CompressAI's range coder wrote

The latent shapes follow from the image size (the image is edge-padded to a multiple of the model's stride,
64, and cropped back after decoding), so nothing else is sent; the decoder holds the codec's models, as any
decoder holds its tables.

A variable-rate checkpoint (ipr_bench.learned.variable_rate, architecture ``gained-hyperprior``) is one model for all
its rates: its rate-point byte carries the level instead, in quarter steps (byte = 1 + 4 × level), so
quality q (1…K, quarter steps between) decodes at level q − 1. One trained with face maps (meta
``face_boost``) codes the face region ``face_boost`` levels higher; its payloads are format version 2, whose
header adds that region in latent cells of 16 px (4 × u16: left, top, right, bottom) — the decoder rebuilds
the same map from it, and bpp pays for those 8 bytes.
"""

from __future__ import annotations

import struct

from ipr_bench.core.errors import DataError
from ipr_bench.core.images import max_pixels

FORMAT_VERSION = 1
REGION_VERSION = 2  # version 1 + the face region the level map was made from


def _leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


HEADER = struct.Struct(">BBHH")
REGION = struct.Struct(">HHHH")


def pack(
    rate_point: int, height: int, width: int, strings: list[bytes], region: tuple[int, int, int, int] | None = None
) -> bytes:
    """``region``: the face region in latent cells (left, top, right, bottom), for a face-map model."""
    if not (0 < height < 65536 and 0 < width < 65536):
        raise ValueError(f"image size {height}×{width} does not fit the 16-bit header")
    if not 0 < rate_point < 256:
        raise ValueError(f"rate point {rate_point} does not fit its byte")
    body = b"".join(_leb128(len(s)) + s for s in strings)
    if region is None:
        return HEADER.pack(FORMAT_VERSION, rate_point, height, width) + body
    return HEADER.pack(REGION_VERSION, rate_point, height, width) + REGION.pack(*region) + body


def peek_rate_point(payload: bytes) -> int:
    if len(payload) < HEADER.size:
        raise DataError(f"learned-codec payload of {len(payload)} bytes is shorter than its {HEADER.size}-byte header")
    version, rate_point, _, _ = HEADER.unpack(payload[: HEADER.size])
    if version not in (FORMAT_VERSION, REGION_VERSION):
        raise DataError(
            f"learned-codec payload has format version {version}; this ipr-bench reads {FORMAT_VERSION} and "
            f"{REGION_VERSION}"
        )
    return rate_point


def payload_region(payload: bytes) -> tuple[int, int, int, int] | None:
    """The face region (latent cells) a version-2 payload carries; None for version 1."""
    peek_rate_point(payload)
    if payload[0] != REGION_VERSION:
        return None
    if len(payload) < HEADER.size + REGION.size:
        raise DataError("learned-codec payload truncated in its face region")
    return REGION.unpack(payload[HEADER.size : HEADER.size + REGION.size])  # type: ignore[return-value]


def unpack(payload: bytes, n_strings: int) -> tuple[int, int, list[bytes]]:
    """(height, width, strings); DataError naming what is wrong for a damaged or foreign payload."""
    has_region = payload_region(payload) is not None
    _, _, height, width = HEADER.unpack(payload[: HEADER.size])
    if not height or not width or height * width > max_pixels():  # checked before any latent is allocated
        raise DataError(f"learned-codec payload declares a {height}×{width} image: empty or over the input cap")
    strings, pos = [], HEADER.size + (REGION.size if has_region else 0)
    for k in range(n_strings):
        length, shift = 0, 0
        while True:
            if pos >= len(payload):
                raise DataError(f"learned-codec payload truncated in the length of string {k + 1} of {n_strings}")
            byte = payload[pos]
            pos += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if pos + length > len(payload):
            raise DataError(f"learned-codec payload truncated: string {k + 1} needs {length} bytes")
        strings.append(payload[pos : pos + length])
        pos += length
    if pos != len(payload):
        raise DataError(f"learned-codec payload has {len(payload) - pos} bytes after its last string")
    return height, width, strings
