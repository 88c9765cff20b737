"""Files the clients of bench_hostile.py upload: small photos for the legitimate users, tiny
PNGs for the item flooder, and decode bombs.

A decode bomb is an 8000x8000 RGBA PNG of zeros (64 M pixels, the default
``GALLERY_MAX_IMAGE_PIXELS``): about 250 KB on the wire, 256 MB once decoded. Each one must be
new bytes, or the media store would recognise it and decode nothing. Compressing 256 MB takes
seconds, too slow to do per bomb beside a latency measurement, so every bomb shares one
precompressed body: its first row carries the random bytes, and is compressed on its own and
ended with a full flush (deflate then refers to nothing before that point), so the body of zero
rows compressed once after such a flush follows any first row unchanged. Only the stream's
Adler-32 depends on the first row, and zero bytes leave its first sum as it is.
"""

from __future__ import annotations

import io
import random
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

BOMB_SIDE = 8000
_ROW = 1 + BOMB_SIDE * 4  # the filter byte, then RGBA
_ADLER_MOD = 65521
_CACHE = Path(tempfile.gettempdir()) / f"flask_gallery_bench_bomb_body_v1_{BOMB_SIDE}.bin"


def photos(count: int, seed: int) -> list[tuple[str, bytes]]:
    """``count`` small photo-like images (gradient, a block of colour, grain), as a phone or a
    screenshot tool would send them: PNG and JPEG alternately, 4-40 KB each."""
    rng = np.random.default_rng(seed)
    files = []
    for n in range(count):
        height, width = int(rng.integers(96, 200)), int(rng.integers(96, 200))
        ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
        picture = np.broadcast_to(ramp, (height, width, 3)) * rng.uniform(0.3, 1.0, 3)
        top, left = int(rng.integers(0, height // 2)), int(rng.integers(0, width // 2))
        picture[top : top + height // 3, left : left + width // 3] = rng.integers(0, 255, 3)
        picture = picture + rng.normal(0, 8, picture.shape)
        image = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))
        buffer = io.BytesIO()
        kind = "png" if n % 2 else "jpeg"
        image.save(buffer, kind, **({"quality": 85} if kind == "jpeg" else {}))
        files.append((f"photo-{n}.{'png' if kind == 'png' else 'jpg'}", buffer.getvalue()))
    return files


def tiny_pngs(count: int) -> list[tuple[str, bytes]]:
    """``count`` different 8x8 PNGs (about 80 bytes each)."""
    files = []
    for n in range(count):
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), (n % 256, n // 256 % 256, 77)).save(buffer, "png")
        files.append((f"tiny-{n}.png", buffer.getvalue()))
    return files


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))


def _zero_rows_body() -> bytes:
    """The deflate data of rows 2..8000 of zeros, as it follows a full flush; cached under
    $TMPDIR (a few seconds to make)."""
    if _CACHE.exists():
        return _CACHE.read_bytes()
    compressor = zlib.compressobj(9)
    compressor.compress(bytes(_ROW))
    compressor.flush(zlib.Z_FULL_FLUSH)
    zero_row = bytes(_ROW)
    parts = [compressor.compress(zero_row) for _ in range(BOMB_SIDE - 1)]
    body = b"".join(parts) + compressor.flush()
    body = body[:-4]  # the Adler-32 of that stream; each bomb writes its own
    partial = _CACHE.with_suffix(f".{random.getrandbits(32):x}.tmp")
    partial.write_bytes(body)
    partial.replace(_CACHE)
    return body


class DecodeBombs:
    """New 8000x8000 RGBA PNGs of (nearly all) zeros, each with different pixels."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.body = _zero_rows_body()
        self.header = _chunk(b"IHDR", struct.pack("!IIBBBBB", BOMB_SIDE, BOMB_SIDE, 8, 6, 0, 0, 0))

    def make(self) -> bytes:
        first = bytearray(_ROW)
        first[1:17] = self.rng.randbytes(16)  # four random pixels at the top left
        compressor = zlib.compressobj(9)
        head = compressor.compress(bytes(first)) + compressor.flush(zlib.Z_FULL_FLUSH)
        adler = zlib.adler32(bytes(first))
        low, high = adler & 0xFFFF, adler >> 16
        # Appending n zero bytes keeps the low sum and adds n x low to the high one.
        high = (high + (BOMB_SIDE - 1) * _ROW * low) % _ADLER_MOD
        idat = head + self.body + struct.pack("!I", (high << 16) | low)
        return b"\x89PNG\r\n\x1a\n" + self.header + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
