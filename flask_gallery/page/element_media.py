"""Images and videos as ``"#id"`` outputs: Gradio's ``gr.Image`` (and ``gr.Video``) outputs,
ported to an element of the app's page without a route of the app's own.

What an ``"#id"`` output shows, decided by :func:`output_media` (``None``: it is not media):

- a numpy array or PIL image: stored in the media store as Gradio's ``gr.Image`` does (WebP;
  float arrays in 0-1 scaled), encoded only when the browser asks for it;
- a ``pathlib.Path`` (any ``os.PathLike``): always a file. One the app may not serve
  (``GALLERY_ALLOWED_PATHS`` / ``GALLERY_BLOCKED_PATHS``) fails the run with a message saying
  so, as a gallery item does;
- a ``str``: text, which is what "#status" outputs return, unless it is

  - a media URL of this app (what ``SelectData.value`` and the JSON API hold), or
  - the path of an existing file with an image or video extension that the app may serve.

  A str path the app may not serve stays text and its file is never read: handlers echo what
  users typed, and "../../etc/x.png" must not become a way to fetch a server file;
- an external ``http(s)`` URL ``str``: text. Gradio downloads it, but this server never fetches
  what a value names (an open door to the server's own network), and an element showing text
  shows a URL as text. Return ``Markup`` to show an external image;
- ``None``, ``Markup`` and anything else: not media (emptied, trusted HTML, escaped text).

The element gets an ``<img>`` with the item's opaque media URL (never a file path), its size
for the aspect ratio, a ``srcset`` of the store's thumbnails so the browser fetches what its
box needs, or a ``<video controls>``: :func:`media_html`.
"""

from __future__ import annotations

import dataclasses
import logging
import mimetypes
import os
import pathlib
import typing as t

from flask import render_template
from markupsafe import Markup
from PIL import Image

from ..media.convert import from_ndarray, from_path, from_pil_image, is_url
from ..media.encode import FORMAT_FILES
from ..media.paths import PathRefused
from ..media.pixels import is_array
from ..media.probe import mime_from_name
from ..notify import Error
from .urls import urls
from .wire import file_data, own_media_id

if t.TYPE_CHECKING:
    from ..media import MediaItem
    from .context import PageApp

_log = logging.getLogger(__name__)

#: Gradio's ``gr.Image(format=...)`` default: what numpy and PIL outputs are saved as.
IMAGE_FORMAT = "webp"
#: The extension of each format arrays and PIL images are saved in, by MIME type (Python 3.10's
#: ``mimetypes`` knows no WebP).
_SAVED_EXTENSIONS = {mime: f".{ext}" for ext, mime in FORMAT_FILES.values()}
#: A str longer than this, or holding a line break or NUL, is text without looking at disk.
MAX_PATH_CHARS = 4096
#: Longer than any image or video file extension mimetypes knows (".jpeg", ".webm").
MAX_EXTENSION_CHARS = 8


def output_media(state: PageApp, target: str, output: object) -> MediaItem | None:
    """The media item an ``"#id"`` output shows, or None when it shows text or HTML (see the
    module doc for the rule). ``target`` names the output in errors."""
    if output is None or isinstance(output, Markup):
        return None
    try:
        if is_array(output):
            return _warm(state, from_ndarray(state.media, output, None, IMAGE_FORMAT))
        if isinstance(output, Image.Image):
            return _warm(state, from_pil_image(state.media, output, None, IMAGE_FORMAT))
        if isinstance(output, str):
            return _from_str(state, target, output)
        if isinstance(output, os.PathLike):
            return _warm(state, from_path(state.media, output, None, IMAGE_FORMAT))
    except PathRefused as exc:
        _log.warning("Output %r: %s", target, exc)
        raise Error(f"Output {target}: {exc.public}") from exc
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"Output {target!r}: the file {os.fspath(t.cast(t.Any, output))!r} does not exist."
        ) from exc
    except ValueError as exc:
        raise ValueError(f"Output {target!r}: {exc}") from exc
    return None


def _warm(state: PageApp, item: MediaItem) -> MediaItem:
    state.media.warm([item])  # encodes ahead only where the app asked for it
    return item


def _from_str(state: PageApp, target: str, value: str) -> MediaItem | None:
    media_id = own_media_id(state, value)
    if media_id is not None:
        try:
            return state.media.item(media_id)
        except LookupError:
            return None  # not (or no longer) stored here: the text it is
    if is_url(value) or not _may_be_media_path(value):
        return None
    try:
        item = from_path(state.media, pathlib.Path(value), None, IMAGE_FORMAT)
    except PathRefused as exc:
        if os.path.isfile(value):  # worth telling the developer; the page shows the text
            _log.warning("Output %r shows a str as text: %s", target, exc)
        return None
    except (OSError, ValueError):  # no such file, a folder, unreadable: text
        return None
    return _warm(state, item)


def _may_be_media_path(value: str) -> bool:
    """Cheap checks before the disk is asked: short, one line, and an image's or a video's
    extension (a "#status" text rarely ends in one)."""
    if not value or len(value) > MAX_PATH_CHARS or any(c in value for c in "\0\n\r"):
        return False
    dot = value.rfind(".")
    if dot < 0 or not 0 < len(value) - dot - 1 <= MAX_EXTENSION_CHARS:
        return False  # no extension at all: most text, and far cheaper than asking mimetypes
    mime_type = mime_from_name(value)
    return mime_type is not None and mime_type.startswith(("image/", "video/"))


@dataclasses.dataclass(frozen=True)
class ElementMedia:
    """What the element's template draws: already decided, no logic in the template."""

    kind: str
    src: str
    srcset: str | None
    sizes: str | None
    width: int | None
    height: int | None
    alt: str


def element_media(item: MediaItem) -> ElementMedia:
    """The item as the element draws it. The ``srcset`` offers the store's thumbnail widths and
    the full file (when wider), and ``sizes`` lets the browser pick by the laid-out width of the
    box (``auto``) or, without that, by the smaller of the image's width and the viewport's."""
    full = urls().full(t.cast(str, item.id))
    widths = item.thumbnail_widths
    srcset = sizes = None
    if widths and item.width:
        candidates = [f"{urls().thumb(t.cast(str, item.id), w)} {w}w" for w in widths]
        if item.width > widths[-1]:
            candidates.append(f"{full} {item.width}w")
        srcset = ", ".join(candidates)
        sizes = f"auto, min({item.width}px, 100vw)"
    return ElementMedia(
        kind=item.kind,
        src=full,
        srcset=srcset,
        sizes=sizes,
        width=item.width,
        height=item.height,
        alt=item.orig_name or "Image",
    )


def media_html(item: MediaItem) -> Markup:
    """The ``<img>`` or ``<video controls>`` an element shows ``item`` as."""
    html = render_template("flask_gallery/_element_media.html", media=element_media(item))
    return Markup(html)


def media_wire(item: MediaItem) -> dict[str, t.Any]:
    """Gradio's ``ImageData`` (``VideoData``'s file for a video) of an element's media, for
    the JSON API: the URL, never a path; an array's or PIL image's ``orig_name`` is the saved
    file's name, ``image.webp``, as Gradio's."""
    name = item.orig_name
    if name is None:
        mime_type = item.mime_type or ""
        ext = _SAVED_EXTENSIONS.get(mime_type) or mimetypes.guess_extension(mime_type) or ""
        name = f"{item.kind}{ext}"
    return file_data(item, name)
