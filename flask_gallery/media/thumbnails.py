"""Grid thumbnails: small, fast to make, and faithful to what the browser shows.

Small opaque thumbnails are JPEG q80 (fastest to make); large ones (640 px and up) are WebP q75,
about a third fewer bytes; thumbnails with alpha are WebP q80.
Speed comes from never resampling the full image with a wide filter: ``draft`` lets the JPEG
decoder scale by 1/2..1/8 while decoding, and ``reducing_gap=1.0`` first reduces by the largest
integer factor that keeps the image at least as wide as the target (a cheap box filter), so the
final bilinear (antialiased) resampling works on at most twice the target width. For a 1024 px
image and a 384 px thumbnail that is 3 ms instead of 9 ms for a direct bicubic resize.
"""

from __future__ import annotations

import typing as t

from PIL import Image

from .encode import flatten_alpha, save_image
from .pixels import from_pil, to_image
from .probe import orientation

#: Quality of JPEG thumbnails and of WebP thumbnails with alpha.
THUMB_QUALITY = 80
#: Quality of large opaque WebP thumbnails (fastest method; about JPEG q80 to the eye).
WEBP_QUALITY = 75
_REDUCING_GAP = 1.0
_OPAQUE_MODES = ("L", "RGB")


def scaled_height(width: int, height: int, target_width: int) -> int:
    return max(1, round(height * target_width / width))


def thumbnail_bytes(image: Image.Image, width: int, *, alpha: bool, webp: bool = False) -> bytes:
    """Encode ``image`` scaled to ``width`` (never enlarged) as JPEG, or WebP when ``alpha``
    (kept) or ``webp`` (opaque: quality 75 with libwebp's fastest method, about a third
    smaller than JPEG q80 for photos at a few milliseconds more)."""
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = to_image(from_pil(image))
    if image.width > width:
        size = (width, scaled_height(image.width, image.height, width))
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=_REDUCING_GAP)
    if alpha:
        return save_image(image, "webp", quality=THUMB_QUALITY, method=4)
    if image.mode not in _OPAQUE_MODES:
        image = flatten_alpha(image)
    if webp:
        return save_image(image, "webp", quality=WEBP_QUALITY, method=0)
    return save_image(image, "jpeg", quality=THUMB_QUALITY, optimize=True)


def open_for_thumbnail(file: t.BinaryIO, width: int) -> Image.Image:
    """Decode a stored file at the smallest scale that still covers ``width``, upright.

    EXIF orientation is applied because browsers apply it to the full file: the thumbnail must
    look the same.
    """
    image = Image.open(file)
    turned = orientation(image)
    rotated = turned in (5, 6, 7, 8)
    shown_width = image.height if rotated else image.width
    if image.format == "JPEG" and shown_width > width:
        scale = width / shown_width
        box = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image.draft(image.mode if image.mode in ("L", "RGB") else "RGB", box)
    image.load()
    if turned == 1:
        return image
    from PIL import ImageOps  # only for turned photos (it imports Pillow's palette modules)

    return ImageOps.exif_transpose(image)
