"""Facts about a stored file (kind, MIME type, pixel size), read from its name and header.

Like Gradio, the kind and MIME type come from the file name's extension (a ``.mp4`` is a
video); for images Pillow's detection from the content wins, because the browser will be told
that Content-Type. Only the header is decoded, so probing a large image is cheap.
"""

from __future__ import annotations

import dataclasses
import mimetypes
import pathlib
import re
import typing as t

from PIL import Image, UnidentifiedImageError

from .item import MediaKind
from .record import Record

_EXT_RE = re.compile(r"[a-z0-9]{1,10}", re.ASCII)
_ORIENTATION = 0x0112
_ROTATED = frozenset({5, 6, 7, 8})

#: What Pillow may raise while opening a file that is not a usable image.
UNDECODABLE = (
    UnidentifiedImageError,
    OSError,
    ValueError,
    SyntaxError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)


@dataclasses.dataclass(frozen=True)
class Detected:
    """What an uploaded file turned out to be, by its content."""

    kind: t.Literal["image", "video"]
    mime_type: str
    #: The extension a stored copy gets (it decides the MIME type the file is served with).
    ext: str
    #: Every extension ``file_types`` may name this type by.
    extensions: frozenset[str]


def extension_of(name: str | None) -> str:
    """The lowercase extension of ``name`` if it is a plain one, else ""."""
    if not name:
        return ""
    suffix = pathlib.PurePosixPath(name.replace("\\", "/")).suffix.lower().lstrip(".")
    return suffix if _EXT_RE.fullmatch(suffix) else ""


def mime_from_name(name: str | None) -> str | None:
    if not name:
        return None
    mime, _ = mimetypes.guess_type(name.replace("\\", "/"), strict=False)
    if mime is None and extension_of(name) == "webp":
        return "image/webp"
    return mime


def kind_from_mime(mime_type: str | None) -> MediaKind:
    """Gradio's rule: a video when the MIME type says so, else an image."""
    return "video" if mime_type is not None and "video" in mime_type else "image"


def format_extension(format: str | None) -> str:
    """A file extension for a Pillow format name ("JPEG" -> "jpg")."""
    if not format:
        return ""
    if format == "JPEG":
        return "jpg"
    extensions = [ext for ext, fmt in Image.registered_extensions().items() if fmt == format]
    return extensions[0].lstrip(".") if extensions else format.lower()


def orientation(image: Image.Image) -> int:
    """The EXIF orientation (1 = upright) read from the header only.

    ``getexif()`` on a PNG decodes the whole image to look for an eXIf chunk after the pixel
    data; a probe must not pay that, so for PNG only a chunk before the pixels counts.
    """
    if image.format == "PNG":
        raw = image.info.get("exif")
        if not raw:
            return 1
        exif = Image.Exif()
        exif.load(raw)
        return int(exif.get(_ORIENTATION, 1))
    return int(image.getexif().get(_ORIENTATION, 1))


def probe_file(path: pathlib.Path, name: str | None) -> Record:
    """The record of a file about to be stored; ``name``'s extension tells videos and SVG."""
    ext = extension_of(name)
    mime_type = mime_from_name(name)
    kind = kind_from_mime(mime_type)
    is_svg = ext in ("svg", "svgz") or mime_type == "image/svg+xml"
    if kind == "video" or is_svg:
        return Record(kind, "file", ext or "bin", mime_type, is_svg=is_svg)
    try:
        with Image.open(path) as image:
            width, height = image.size
            turned = orientation(image)
            alpha = "A" in image.mode or "transparency" in image.info
            animated = getattr(image, "n_frames", 1) > 1
            detected = image.format
    except UNDECODABLE:
        return Record("image", "file", ext or "bin", mime_type)
    if turned in _ROTATED:
        width, height = height, width
    return Record(
        kind="image",
        source="file",
        ext=ext or format_extension(detected) or "bin",
        mime_type=Image.MIME.get(detected or "", mime_type),
        width=width,
        height=height,
        has_alpha=alpha,
        animated=animated,
    )
