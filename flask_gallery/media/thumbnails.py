"""Grid thumbnails: small, fast to make, and faithful to what the browser shows.

Small opaque thumbnails are JPEG q80 (fastest to make); large ones (640 px and up) are WebP q75,
about a third fewer bytes; thumbnails with alpha are WebP q80.
Speed comes from never resampling the full image with a wide filter: ``draft`` lets the JPEG
decoder scale by 1/2..1/8 while decoding, and ``reducing_gap=1.0`` first reduces by the largest
integer factor that keeps the image at least as wide as the target (a cheap box filter), so the
final bilinear (antialiased) resampling works on at most twice the target width, a fraction
of a direct bicubic resize's time.

Memory: a large decoded image (:data:`LARGE`) is first shrunk that way band by band
(:func:`shrink`), so its mode conversion and its alpha premultiplication (which Pillow's
``resize`` and ``reduce`` do on a full-size copy: 256 MiB more for 64 megapixels of RGBA) only
ever copy a few megabytes; every width is then made from the shrunk copy.
"""

from __future__ import annotations

import typing as t

from PIL import Image

from .encode import flatten_alpha, save_image
from .pixels import CANONICAL_MODES, from_pil, to_image

if t.TYPE_CHECKING:
    from .pixels import Pixels

#: Quality of JPEG thumbnails and of WebP thumbnails with alpha.
THUMB_QUALITY = 80
#: Quality of large opaque WebP thumbnails (fastest method; about JPEG q80 to the eye).
WEBP_QUALITY = 75
#: Decoded images this large (bytes) are shrunk band by band, make every thumbnail width from
#: one decode, and are decoded at low CPU priority (:mod:`.offload`).
LARGE = 16 << 20
#: Bytes of the source image that one band of :func:`shrink` copies.
_BAND_BYTES = 4 << 20
_REDUCING_GAP = 1.0
_OPAQUE_MODES = ("L", "RGB")
#: EXIF orientations that turn an image a quarter: its height is the width shown.
QUARTER_TURNS = (5, 6, 7, 8)
#: EXIF orientation -> the transposition that makes the image upright (as ImageOps does).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def scaled_height(width: int, height: int, target_width: int) -> int:
    return max(1, round(height * target_width / width))


def thumbnail_bytes(image: Image.Image, width: int, alpha: bool, webp: bool = False) -> bytes:
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


def shrink(source: Image.Image | Pixels, width: int, turned: int = 1) -> Image.Image:
    """A copy of ``source`` in a canonical mode (L, LA, RGB, RGBA), reduced by the largest
    integer factor that keeps it at least ``width`` wide once upright, made band by band, and
    turned upright as its EXIF orientation ``turned`` says (browsers turn the full file: the
    thumbnail must look the same). A source smaller than :data:`LARGE` is only converted and
    turned, as :func:`thumbnail_bytes` would work on it.

    Reducing premultiplies alpha, as resizing does, so no colour of a transparent pixel leaks
    into its neighbours.
    """
    if isinstance(source, Image.Image):
        full_width, height = source.size
    else:
        height, full_width = int(source.shape[0]), int(source.shape[1])
    factor = (height if turned in QUARTER_TURNS else full_width) // width
    if factor < 2 or full_width * height * 4 < LARGE:
        return _upright(_canonical(source, None, 0, height), turned)
    # I and F images are scaled by their whole range: every band must be scaled alike.
    extrema = (
        t.cast("tuple[float, float]", source.getextrema())
        if isinstance(source, Image.Image) and source.mode in ("I", "F")
        else None
    )
    rows = max(1, _BAND_BYTES // (full_width * 4 * factor)) * factor
    shrunk: Image.Image | None = None
    for top in range(0, height, rows):
        band = _canonical(source, extrema, top, min(height, top + rows)).reduce(factor)
        if shrunk is None:
            size = (-(-full_width // factor), -(-height // factor))
            shrunk = Image.new(band.mode, size)
        shrunk.paste(band, (0, top // factor))
    assert shrunk is not None
    return _upright(shrunk, turned)


def _upright(image: Image.Image, turned: int) -> Image.Image:
    method = _UPRIGHT.get(turned)
    return image if method is None else image.transpose(method)


def _canonical(
    source: Image.Image | Pixels, extrema: tuple[float, float] | None, top: int, bottom: int
) -> Image.Image:
    """Rows ``top:bottom`` of ``source`` in a canonical mode (no copy when they already are
    the whole of a canonical image)."""
    if not isinstance(source, Image.Image):
        return to_image(source[top:bottom])
    whole = top == 0 and bottom == source.height
    part = source if whole else source.crop((0, top, source.width, bottom))
    if part.mode in CANONICAL_MODES:
        return part
    return to_image(from_pil(part, extrema=extrema))
