"""Validating uploaded files by their content, then storing them.

A file is judged by what it is, never by its name: Pillow must decode it (checked against a
pixel limit before any pixel is decoded, against decompression bombs), or its container must
parse as an MP4/MOV, WebM or Ogg video (:mod:`.videos`), or it must parse as XML with an
``<svg>`` root. The detected type is then checked against ``file_types`` in Gradio's notation
("image", "video", ".png", "png", "image/png", "image/*").

Images with an EXIF orientation are stored upright (re-encoded, which also drops their
metadata). Others lose their metadata (location, camera, dates) without being re-encoded
(:mod:`.strip`), unless the store keeps metadata; an image whose container cannot be rewritten
is re-encoded as a lossless PNG, its ICC profile kept. Every stored upload is durable (on
disk, flushed) before it is returned, so an upload answered 200 survives a crash of the server.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import pathlib
import re
import typing as t

from PIL import Image

from .budget import DecodeBudget, DecodeBusy
from .decode import decode_bytes
from .encode import save_image
from .item import MediaItem
from .offload import offload
from .pixels import from_pil, to_image
from .probe import UNDECODABLE, Detected, format_extension, orientation
from .thumbnails import LARGE

if t.TYPE_CHECKING:
    from .store import MediaStore

#: Gradio's notation: "image", "video", extensions with or without a dot, MIME types.
FileTypes = t.Sequence[str] | None

_SVG_TAGS = frozenset({"svg", "{http://www.w3.org/2000/svg}svg"})
_ENTITY_RE = re.compile(rb"<!ENTITY", re.IGNORECASE)
#: Formats whose files browsers show; an upright copy of another format is stored as PNG.
_WEB_FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
#: Modes a PNG stores as they are; others are converted (and lose an ICC profile made for them).
_PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "I;16"})
#: Modes converted to RGB on the way to a PNG.
_OTHER_COLOUR_SPACES = frozenset({"CMYK", "YCbCr", "LAB", "HSV"})


class UploadRejected(ValueError):
    """An uploaded file was refused; ``reason`` says why in words a user can act on."""

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(f"{filename!r} was refused: {reason}")
        self.filename = filename
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class UploadLimits:
    """What an upload may be: ``file_types`` (None: images and videos), bytes, pixels."""

    file_types: FileTypes
    max_bytes: int
    max_pixels: int


def add_upload(
    store: MediaStore,
    stream_or_bytes: t.BinaryIO | bytes,
    filename: str | None,
    limits: UploadLimits,
) -> MediaItem:
    """Check one uploaded file and store it; :class:`UploadRejected` names the file and why."""
    name = clean_filename(filename)
    file_types = limits.file_types
    data = read_limited(stream_or_bytes, limits.max_bytes, name)
    if not data:
        raise UploadRejected(name, "the file is empty.")
    image = open_image(data, name, limits.max_pixels)
    if image is not None:
        with image:
            detected = image_type(image)
            check_allowed(detected, file_types, name)
            with decoded(image, name, store.decode_budget):
                item = store_image(store, image, data, name, detected)
                store.make_thumbnails_from(item, image)
                return item
    # The container parsers load with the first upload that needs them, not with the app.
    from .containers import Malformed
    from .strip import strip_video
    from .videos import BadVideo, detect_video

    try:
        video = detect_video(data)
    except BadVideo as exc:
        raise UploadRejected(name, str(exc)) from None
    if video is not None:
        check_allowed(video, file_types, name)
        if not store.keep_metadata:
            try:
                data = strip_video(data, video.ext)
            except Malformed as exc:  # detect_video parsed it: only a bug lands here
                raise UploadRejected(name, f"its container does not parse ({exc}).") from None
        return store.add_bytes(data, f"upload.{video.ext}", orig_name=name, durable=True)
    svg = sniff_svg(data)
    if svg is None:
        raise UploadRejected(
            name,
            "it is not an image Pillow can read, an MP4/MOV, WebM or Ogg video, or an SVG "
            "(the content decides, not the name); it may be corrupt.",
        )
    check_allowed(svg, file_types, name)
    return store.add_bytes(data, f"upload.{svg.ext}", orig_name=name, durable=True)


def clean_filename(filename: str | None) -> str:
    """The base name of what the browser sent, without directories or control characters."""
    base = pathlib.PurePosixPath((filename or "").replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable()).strip()[:255]
    return base or "upload"


def read_limited(source: t.BinaryIO | bytes, max_bytes: int, name: str) -> bytes:
    data = bytes(source) if isinstance(source, (bytes, bytearray)) else source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UploadRejected(name, f"it is larger than the limit of {max_bytes} bytes.")
    return data


def open_image(data: bytes, name: str, max_pixels: int) -> Image.Image | None:
    """The image opened (its header read, no pixel decoded yet), None when Pillow does not
    recognise it at all.

    Pillow's own bomb check runs inside ``Image.open``: its error, and its warning when
    warnings are errors (as under pytest), become a rejection instead of escaping.
    """
    try:
        image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UploadRejected(name, f"it has too many pixels ({exc}).") from exc
    except UNDECODABLE:
        return None
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise UploadRejected(
            name,
            f"it is {width}x{height} = {width * height} pixels, above the limit of "
            f"{max_pixels} pixels.",
        )
    return image


@contextlib.contextmanager
def decoded(image: Image.Image, name: str, budget: DecodeBudget) -> t.Iterator[None]:
    """Decode ``image`` whole (the check that it is one) while the budget holds its memory;
    it is closed at the end of the block.

    An upload whose decode alone needs more than the whole budget is refused rather than run
    alone: anyone may send one, and a few kilobytes of WebP can ask for a gigabyte.
    """
    cost = decode_bytes(image)
    if not budget.fits(cost):
        raise UploadRejected(
            name,
            f"decoding it would take {cost >> 20} MiB of memory, more than this server allows "
            f"({(budget.max_bytes or 0) >> 20} MiB, GALLERY_MAX_DECODE_BYTES); send a smaller "
            "image.",
        )
    try:
        budget.acquire(cost)
    except DecodeBusy as exc:
        raise UploadRejected(name, str(exc)) from exc
    try:
        try:
            offload(image.load, heavy=cost >= LARGE)
        except UNDECODABLE as exc:
            raise UploadRejected(name, f"the image is corrupt or truncated ({exc}).") from exc
        yield
    finally:
        image.close()  # its memory is freed before the budget gives it back
        budget.release(cost)


def image_type(image: Image.Image) -> Detected:
    # A JPEG with an MPF segment (phones' depth maps, HDR gain maps) is a JPEG to browsers and
    # users; stripped of that segment it is a plain one.
    format = "JPEG" if image.format == "MPO" else image.format or ""
    ext = format_extension(format)
    extensions = {e.lstrip(".") for e, f in Image.registered_extensions().items() if f == format}
    mime_type = Image.MIME.get(format, "image/" + format.lower())
    return Detected("image", mime_type, ext, frozenset(extensions | {ext}))


def sniff_svg(data: bytes) -> Detected | None:
    """An SVG: well-formed XML, no entity declarations (entity bombs), an ``<svg>`` root."""
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<") or _ENTITY_RE.search(data):
        return None
    from xml.etree import ElementTree  # only uploads need it: not imported with the package

    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return None
    if root.tag not in _SVG_TAGS:
        return None
    return Detected("image", "image/svg+xml", "svg", frozenset({"svg"}))


def check_allowed(detected: Detected, file_types: FileTypes, name: str) -> None:
    """Gradio's file_types, applied to the detected type; None accepts images and videos."""
    if file_types is None:
        return
    if isinstance(file_types, str):
        file_types = [file_types]
    for entry in file_types:
        wanted = entry.strip().lower()
        if wanted in (detected.kind, "file", "*", "*/*", f"{detected.kind}/*"):
            return
        if wanted == detected.mime_type or wanted.lstrip(".") in detected.extensions:
            return
    raise UploadRejected(
        name,
        f"it is {detected.mime_type} by its content, which this gallery does not accept "
        f"(allowed: {', '.join(map(repr, file_types))}).",
    )


def store_image(
    store: MediaStore, image: Image.Image, data: bytes, name: str, detected: Detected
) -> MediaItem:
    animated = getattr(image, "n_frames", 1) > 1 and image.format != "MPO"
    if orientation(image) != 1 and not animated:
        from PIL import ImageOps

        upright = ImageOps.exif_transpose(image)
        format = _WEB_FORMATS.get(image.format or "", "png")
        return store.add_pixels(from_pil(upright), format, orig_name=name, durable=True)
    if not store.keep_metadata:
        from .strip import strip_image

        stripped = strip_image(data, image.format)
        if stripped is None:
            return store.add_bytes(lossless_png(image), "upload.png", orig_name=name, durable=True)
        data = stripped
    return store.add_bytes(data, f"upload.{detected.ext}", orig_name=name, durable=True)


def lossless_png(image: Image.Image) -> bytes:
    """The (first) picture of ``image`` as a PNG without metadata, its ICC profile kept where
    the pixels stay in the profile's colour space."""
    icc = image.info.get("icc_profile")
    if image.mode not in _PNG_MODES:
        if image.mode in _OTHER_COLOUR_SPACES:  # the profile describes what is no longer there
            icc = None
        image = to_image(from_pil(image))
    return save_image(image, "png", **({"icc_profile": icc} if icc else {}))
