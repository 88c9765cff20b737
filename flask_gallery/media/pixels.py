"""Turning numpy arrays and PIL images into canonical 8-bit pixels.

Every raster output ends up as a C-contiguous ``uint8`` array shaped ``(H, W)`` (L),
``(H, W, 2)`` (LA), ``(H, W, 3)`` (RGB) or ``(H, W, 4)`` (RGBA). One canonical form means one
hash (so the same picture given as an array or as a PIL image is stored once) and one path
through the encoders.

Dtype rules (Gradio converts with skimage-style scaling; where that turns common inputs black
we choose what a user means):

- ``uint8``: as is. ``bool``: False/True -> 0/255.
- floats: Gradio's rule, values in [0, 1] scaled to 0-255, clipped; NaN becomes 0.
- ``uint16``: a 16-bit image, scaled by 255/65535.
- other integers (``np.random.randint`` gives int64): taken as is when every value is in
  0-255, otherwise refused with a message, since any rescaling would be a guess.

numpy is imported here, and only once pixels are made: importing it holds about 12 MiB of a
server's memory, which an app whose galleries show files never needs. Other modules test for an
array with :func:`is_array`, which does not import it.
"""

from __future__ import annotations

import hashlib
import sys
import typing as t

from PIL import Image

if t.TYPE_CHECKING:
    import numpy as np

    Pixels = np.ndarray[t.Any, np.dtype[np.uint8]]

#: Channels -> PIL mode of a canonical array.
MODES_BY_CHANNELS = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
CANONICAL_MODES = frozenset(MODES_BY_CHANNELS.values())


def is_array(value: object) -> t.TypeGuard[np.ndarray[t.Any, t.Any]]:
    """True for a numpy array, without importing numpy: a value can only be one once something
    in the process has imported it."""
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


def channels(pixels: Pixels) -> int:
    return 1 if pixels.ndim == 2 else int(pixels.shape[2])


def mode_of(pixels: Pixels) -> str:
    return MODES_BY_CHANNELS[channels(pixels)]


def has_alpha(pixels: Pixels) -> bool:
    return channels(pixels) in (2, 4)


def to_image(pixels: Pixels) -> Image.Image:
    """A PIL view of canonical pixels (no copy for contiguous arrays)."""
    return Image.fromarray(pixels, mode_of(pixels)) if pixels.ndim == 3 else Image.fromarray(pixels)


def pixels_digest(pixels: Pixels, salt: str) -> bytes:
    """A digest of the pixels and their shape; ``salt`` keeps encodings apart (the format)."""
    import numpy as np

    digest = hashlib.sha256(f"pixels:{pixels.shape}:{salt}:".encode())
    digest.update(np.ascontiguousarray(pixels).data)
    return digest.digest()


def from_array(array: np.ndarray[t.Any, t.Any]) -> Pixels:
    """Canonical pixels of a numpy array; ValueError naming the shape or dtype if impossible."""
    import numpy as np

    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (2, 3, 4)):
        raise ValueError(
            f"An image array must be shaped (H, W), (H, W, 1), (H, W, 2), (H, W, 3) or "
            f"(H, W, 4); got shape {array.shape!r}."
        )
    if 0 in array.shape:
        raise ValueError(f"An image array must not be empty; got shape {array.shape!r}.")
    return np.ascontiguousarray(_to_uint8(array))


def _to_uint8(array: np.ndarray[t.Any, t.Any]) -> np.ndarray[t.Any, t.Any]:
    import numpy as np

    if not array.dtype.isnative:  # e.g. big-endian uint16 read from a FITS or TIFF file
        array = array.astype(array.dtype.newbyteorder("="))
    kind = array.dtype.kind
    if array.dtype == np.uint8:
        return array
    if kind == "b":
        return t.cast(np.ndarray[t.Any, t.Any], array.astype(np.uint8) * np.uint8(255))
    if kind == "f":
        scaled = np.nan_to_num(array.astype(np.float32, copy=False), nan=0.0)
        return t.cast(
            np.ndarray[t.Any, t.Any], (np.clip(scaled, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        )
    if array.dtype == np.uint16:
        return ((array.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if kind in "iu":
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise ValueError(
                f"An integer image array of dtype {array.dtype} must hold values in 0-255; "
                f"this one spans {low}..{high}. Convert it to uint8, or pass floats in [0, 1]."
            )
        return array.astype(np.uint8)
    raise ValueError(
        f"Unsupported image array dtype {array.dtype}; use uint8, another integer dtype with "
        "values in 0-255, uint16, bool, or floats in [0, 1]."
    )


def from_pil(image: Image.Image, *, extrema: tuple[float, float] | None = None) -> Pixels:
    """Canonical pixels of a PIL image of any mode.

    Palette images keep transparency (RGBA) when they have it; 16/32-bit integer modes are
    read as 16-bit data; "F" images follow the float rule unless they exceed 1, then they are
    clipped to 0-255; other modes (CMYK, YCbCr, LAB, HSV, "1") are converted by Pillow.
    ``extrema``: the (min, max) of the whole image when ``image`` is a part of it, so that
    every part of an "I" or "F" image is scaled alike.
    """
    import numpy as np

    mode = image.mode
    if mode in CANONICAL_MODES:
        return from_array(np.asarray(image))
    if mode in ("P", "PA"):
        alpha = mode == "PA" or "transparency" in image.info
        return from_array(np.asarray(image.convert("RGBA" if alpha else "RGB")))
    if mode.startswith("I;16"):
        return from_array(np.asarray(image.convert("I")).astype(np.uint16))
    if mode == "I":
        data = np.asarray(image)
        low, high = extrema or ((data.min(), data.max()) if data.size else (0, 0))
        if low < 0 or high > 255:
            return from_array(np.clip(data, 0, 65535).astype(np.uint16))
        return from_array(data)
    if mode == "F":
        data = np.asarray(image)
        high = extrema[1] if extrema else (np.nanmax(data) if data.size else 0.0)
        if high > 1.0:
            return from_array(np.clip(np.nan_to_num(data), 0, 255).astype(np.uint8))
        return from_array(data)
    if mode == "1":
        return from_array(np.asarray(image.convert("L")))
    alpha = "A" in mode or "transparency" in image.info
    return from_array(np.asarray(image.convert("RGBA" if alpha else "RGB")))
