"""What decoding or encoding an image will cost, known before any pixel is touched.

The decode budget (:mod:`.budget`) is only as good as these estimates, so they are measured,
not guessed (Pillow 13, peak RSS of one decode in a thread, 4000x4000 images): most formats
decode into exactly the image's buffer (width x height x the bytes per pixel Pillow stores
for the mode: 4 for RGB, which it pads); WebP holds libwebp's canvas, a bytes copy and the
image (4.1x), AVIF 2.3x, JPEG 2000 4.9x plus ~40 MiB of OpenJPEG's own at any scale. Encoding
costs more than decoding (WebP 16-28 bytes per pixel at quality 80, method 4).

Large images are allocated so that freeing them returns their memory (:func:`map_large_images`).

Decodes are also made smaller where the format allows: a JPEG is decoded at 1/2..1/8 scale
(``draft``), never below the width wanted. (JPEG 2000's ``reduce`` would too, but a level the
file does not have fails the decode, and Pillow does not say how many it has.)
"""

from __future__ import annotations

import os

from PIL import Image
from PIL import _imaging as pillow_core  # Image.core, which Pillow's stubs do not export

#: Decode cost of formats that hold more than the image while decoding: (factor, extra bytes).
_FORMAT_COSTS: dict[str, tuple[int, int]] = {
    "WEBP": (4, 0),
    "AVIF": (3, 0),
    "JPEG2000": (5, 48 << 20),
}
#: Pillow's block size for image memory: above glibc's largest mmap threshold (32 MiB).
LARGE_IMAGE_BLOCK = 64 << 20
#: Bytes per pixel an encode holds, by format and channels (measured as above, rounded up;
#: they include the PIL image made from the array and the encoder's working memory).
_ENCODE_COSTS: dict[str, tuple[int, int, int, int]] = {
    "webp": (16, 29, 17, 29),
    "png": (1, 3, 6, 3),
    "jpeg": (1, 12, 5, 12),
    "gif": (2, 9, 27, 9),
    "bmp": (2, 5, 8, 5),
    "tiff": (2, 5, 8, 5),
}


def pixel_bytes(mode: str) -> int:
    """Bytes per pixel of Pillow's storage for ``mode`` (it pads 3-band modes to 4)."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


def decode_bytes(image: Image.Image) -> int:
    """Memory that loading ``image`` (opened, maybe drafted or reduced) will take at its peak."""
    width, height = image.size
    factor, extra = _FORMAT_COSTS.get(image.format or "", (1, 0))
    return width * height * pixel_bytes(image.mode) * factor + extra


def encode_bytes(width: int, height: int, channels: int, format: str) -> int:
    """Memory that encoding canonical pixels of this shape into ``format`` takes at its peak."""
    return width * height * _ENCODE_COSTS.get(format, _ENCODE_COSTS["webp"])[channels - 1]


def scale_for_width(image: Image.Image, width: int, rotated: bool) -> None:
    """Let the decoder skip detail finer than a ``width``-pixel-wide result needs.

    ``rotated``: the image is shown turned a quarter (EXIF orientation 5-8), so its height is
    the width that counts.
    """
    shown = image.height if rotated else image.width
    if shown <= width:
        return
    if image.format == "JPEG":
        scale = width / shown
        box = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image.draft(image.mode if image.mode in ("L", "RGB") else "RGB", box)


def map_large_images() -> None:
    """Have Pillow allocate large images in blocks glibc maps and unmaps whole.

    Pillow allocates an image in blocks of 16 MiB. Once glibc has freed a larger mapping it
    serves blocks that size from the calling thread's arena instead, and the free space at the
    top of a thread's arena (up to 64 MiB each) is kept: ``malloc_trim`` returns only free
    chunks inside it. Blocks of 64 MiB are always mapped (above glibc's 32 MiB maximum), so a
    freed decode goes back to the system at once. Images of one block are allocated at their
    size either way. ``PILLOW_BLOCK_SIZE`` in the environment, Pillow's own setting, wins.
    """
    if "PILLOW_BLOCK_SIZE" not in os.environ:
        pillow_core.set_block_size(LARGE_IMAGE_BLOCK)
