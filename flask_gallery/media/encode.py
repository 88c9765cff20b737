"""Encoding canonical pixels into the full file of a numpy/PIL output.

This is the slow step Gradio runs before a handler's result can be shown; the store calls it
lazily, off the request that produced the value.
"""

from __future__ import annotations

import importlib
import io
import typing as t

from PIL import Image

from .item import MEDIA_FORMATS, MediaFormat
from .pixels import has_alpha, to_image

if t.TYPE_CHECKING:
    from .pixels import Pixels

#: Extension and MIME type of each format's file.
FORMAT_FILES: dict[str, tuple[str, str]] = {
    "webp": ("webp", "image/webp"),
    "png": ("png", "image/png"),
    "jpeg": ("jpg", "image/jpeg"),
    "gif": ("gif", "image/gif"),
    "bmp": ("bmp", "image/bmp"),
    "tiff": ("tiff", "image/tiff"),
}

_SAVE_OPTIONS: dict[str, dict[str, t.Any]] = {
    "webp": {"quality": 80, "method": 4},
    "jpeg": {"quality": 85},
    "png": {"compress_level": 6},
}

#: Pillow's plugin module of each format.
_PLUGINS = {
    "webp": "WebPImagePlugin",
    "png": "PngImagePlugin",
    "jpeg": "JpegImagePlugin",
    "gif": "GifImagePlugin",
    "bmp": "BmpImagePlugin",
    "tiff": "TiffImagePlugin",
}

#: Formats that cannot store an alpha channel: alpha is flattened onto white.
_OPAQUE_FORMATS = frozenset({"jpeg"})


def normalize_format(format: str) -> str:
    """The canonical format name; ValueError listing the allowed ones otherwise."""
    name = format.lower() if isinstance(format, str) else str(format)
    if name == "jpg":
        name = "jpeg"
    if name not in FORMAT_FILES:
        raise ValueError(f"Unknown image format {format!r}; allowed: {', '.join(MEDIA_FORMATS)}.")
    return name


def format_file(format: MediaFormat | str) -> tuple[str, str]:
    """(extension, MIME type) of a format's files."""
    return FORMAT_FILES[normalize_format(format)]


def flatten_alpha(image: Image.Image) -> Image.Image:
    """Alpha composited onto white, for encoders without alpha."""
    if image.mode not in ("LA", "RGBA"):
        return image
    opaque = "L" if image.mode == "LA" else "RGB"
    background = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, image.convert("RGBA")).convert(opaque)


def save_image(image: Image.Image, name: str, **options: t.Any) -> bytes:
    """``image`` encoded in format ``name`` (canonical, see :func:`normalize_format`).

    The format's own plugin is imported first: saving a format that Pillow's ``preinit`` does
    not load (WebP, TIFF) otherwise makes Pillow import all of its plugins (``Image.init``, once
    per process) to find one.
    """
    importlib.import_module(f"PIL.{_PLUGINS[name]}")
    buffer = io.BytesIO()
    image.save(buffer, format=name.upper(), **options)
    return buffer.getvalue()


def encode_pixels(pixels: Pixels, format: str) -> bytes:
    """The full file's bytes for ``pixels`` in ``format``."""
    name = normalize_format(format)
    image = to_image(pixels)
    if name in _OPAQUE_FORMATS and has_alpha(pixels):
        image = flatten_alpha(image)
    elif name == "bmp" and image.mode == "LA":
        image = image.convert("RGBA")
    return save_image(image, name, **_SAVE_OPTIONS.get(name, {}))
