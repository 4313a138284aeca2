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
the same map from it, and bpp pays for those 8 bytes. Version 3 carries the whole map: after the header, 1 byte
with the face region's own rate point, then the region, so the rate-point byte is the rest of the image's
level and the decoder needs nothing from the checkpoint to rebuild the map (a face-map model, or any
variable-rate model asked to code the background at a low level: ``learned:DIR`` with ``background``). bpp pays
for those 9 bytes. Version 2 payloads still decode, with the checkpoint's ``face_boost``.
"""

from __future__ import annotations

import struct

from ipr_bench.core.errors import DataError
from ipr_bench.core.images import max_pixels

FORMAT_VERSION = 1
REGION_VERSION = 2  # version 1 + the face region the level map was made from (boost from the checkpoint)
MAP_VERSION = 3  # version 1 + the face region's rate point + the face region: the whole level map
VERSIONS = (FORMAT_VERSION, REGION_VERSION, MAP_VERSION)


def _leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


HEADER = struct.Struct(">BBHH")
REGION = struct.Struct(">HHHH")
FACE_POINT = struct.Struct(">B")


def pack(
    rate_point: int,
    height: int,
    width: int,
    strings: list[bytes],
    region: tuple[int, int, int, int] | None = None,
    face_point: int | None = None,
) -> bytes:
    """``region``: the face region in latent cells (left, top, right, bottom) of a level map; ``face_point``: the
    region's rate point (version 3), or None for a version-2 payload (the decoder takes the checkpoint's boost)."""
    if not (0 < height < 65536 and 0 < width < 65536):
        raise ValueError(f"image size {height}×{width} does not fit the 16-bit header")
    for name, point in (("rate point", rate_point), ("face rate point", face_point)):
        if point is not None and not 0 < point < 256:
            raise ValueError(f"{name} {point} does not fit its byte")
    body = b"".join(_leb128(len(s)) + s for s in strings)
    if region is None:
        return HEADER.pack(FORMAT_VERSION, rate_point, height, width) + body
    if face_point is None:
        return HEADER.pack(REGION_VERSION, rate_point, height, width) + REGION.pack(*region) + body
    head = HEADER.pack(MAP_VERSION, rate_point, height, width) + FACE_POINT.pack(face_point)
    return head + REGION.pack(*region) + body


def peek_rate_point(payload: bytes) -> int:
    if len(payload) < HEADER.size:
        raise DataError(f"learned-codec payload of {len(payload)} bytes is shorter than its {HEADER.size}-byte header")
    version, rate_point, _, _ = HEADER.unpack(payload[: HEADER.size])
    if version not in VERSIONS:
        raise DataError(
            f"learned-codec payload has format version {version}; this ipr-bench reads {', '.join(map(str, VERSIONS))}"
        )
    return rate_point


def _extra_header(payload: bytes) -> int:
    """Bytes between the fixed header and the first string: the face point and region, by version."""
    peek_rate_point(payload)
    size = {FORMAT_VERSION: 0, REGION_VERSION: REGION.size, MAP_VERSION: FACE_POINT.size + REGION.size}[payload[0]]
    if len(payload) < HEADER.size + size:
        raise DataError("learned-codec payload truncated in its face region")
    return size


def payload_region(payload: bytes) -> tuple[int, int, int, int] | None:
    """The face region (latent cells) a version-2 or 3 payload carries; None for version 1."""
    end = HEADER.size + _extra_header(payload)
    if payload[0] == FORMAT_VERSION:
        return None
    return REGION.unpack(payload[end - REGION.size : end])  # type: ignore[return-value]


def payload_face_point(payload: bytes) -> int | None:
    """The face region's rate point a version-3 payload carries; None for versions 1 and 2."""
    _extra_header(payload)
    if payload[0] != MAP_VERSION:
        return None
    (point,) = FACE_POINT.unpack(payload[HEADER.size : HEADER.size + FACE_POINT.size])
    if point == 0:
        raise DataError("learned-codec payload has face rate point 0 (rate points start at 1)")
    return point


def unpack(payload: bytes, n_strings: int) -> tuple[int, int, list[bytes]]:
    """(height, width, strings); DataError naming what is wrong for a damaged or foreign payload."""
    extra = _extra_header(payload)
    _, _, height, width = HEADER.unpack(payload[: HEADER.size])
    if not height or not width or height * width > max_pixels():  # checked before any latent is allocated
        raise DataError(f"learned-codec payload declares a {height}×{width} image: empty or over the input cap")
    strings, pos = [], HEADER.size + extra
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
