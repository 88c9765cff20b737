"""Files carrying what cameras and editors write, for the metadata tests: a GPS position,
camera make and model, an ICC profile, and the small real videos in ``tests/files``."""

from __future__ import annotations

import functools
import io
import pathlib
import typing as t

import numpy as np
from PIL import Image, ImageCms

FILES = pathlib.Path(__file__).parent / "files"
#: Strings the metadata below carries; none may survive stripping.
SECRETS = (b"PhoneCorp", b"Secret X1", b"Alice", b"secret comment", b"Exif\0", b"48.8584")
#: EXIF tags: orientation, camera make, GPS block.
ORIENTATION, MAKE, GPS = 0x0112, 0x010F, 0x8825


def gps_exif(orientation: int | None = None) -> Image.Exif:
    """What a phone writes: camera make and model, and a GPS position (Paris)."""
    exif = Image.Exif()
    exif[MAKE] = "PhoneCorp"
    exif[0x0110] = "Secret X1"
    exif[GPS] = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    if orientation is not None:
        exif[ORIENTATION] = orientation
    return exif


@functools.cache
def icc_profile() -> bytes:
    """An sRGB profile; made once (its header holds the time it was made)."""
    return t.cast(bytes, ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def picture(mode: str = "RGB", size: tuple[int, int] = (32, 24), seed: int = 7) -> Image.Image:
    """Noise, so that any re-encoding would show in the pixels."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), np.uint8)).convert(mode)


def saved(image: Image.Image, format: str, **options: t.Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def phone_jpeg(**options: t.Any) -> bytes:
    """A JPEG as a phone saves it: GPS, make and model, an ICC profile."""
    options.setdefault("exif", gps_exif())
    return saved(picture(), "JPEG", quality=90, icc_profile=icc_profile(), **options)


def jpeg_scan(data: bytes) -> bytes:
    """The entropy-coded data and tables from the first scan on: the pixels' bytes."""
    return data[data.index(b"\xff\xda") :]


def leaked(data: bytes) -> list[bytes]:
    return [secret for secret in SECRETS if secret in data]
