"""Postprocess: a Gallery value, as a handler returns it, turned into media items.

Accepted items (Gradio's): numpy arrays, PIL images, ``str`` paths or http(s) URLs,
``pathlib.Path``, each optionally as an ``(media, caption)`` tuple or 2-element list. One small
function per input kind, chosen from :data:`CONVERTERS` by type. Paths must name files in the
folders the store may serve (:mod:`.paths`).
"""

from __future__ import annotations

import os
import pathlib
import posixpath
import typing as t
import urllib.parse

from PIL import Image

from .encode import normalize_format
from .item import MediaFormat, MediaItem
from .paths import PathRefused
from .pixels import from_array, from_pil, is_array
from .probe import extension_of, kind_from_mime, mime_from_name

if t.TYPE_CHECKING:
    import numpy as np

    from .store import MediaStore

ACCEPTED = (
    "a numpy array, a PIL image, a str path or http(s) URL, a pathlib.Path, "
    "or a (media, caption) tuple or 2-element list of one of those"
)

Converter = t.Callable[["MediaStore", t.Any, str | None, str], MediaItem]


def from_ndarray(
    store: MediaStore, array: np.ndarray[t.Any, t.Any], caption: str | None, format: str
) -> MediaItem:
    return store.add_pixels(from_array(array), format, caption=caption)


def from_pil_image(
    store: MediaStore, image: Image.Image, caption: str | None, format: str
) -> MediaItem:
    return store.add_pixels(from_pil(image), format, caption=caption)


def from_url(url: str, caption: str | None) -> MediaItem:
    """An external image or video, shown by URL: the server never fetches it."""
    path = urllib.parse.urlsplit(url).path
    name = posixpath.basename(path) or None
    mime_type = mime_from_name(name)
    return MediaItem(
        id=None,
        kind=kind_from_mime(mime_type),
        caption=caption,
        mime_type=mime_type,
        orig_name=name,
        url=url,
        is_svg=extension_of(name) in ("svg", "svgz"),
    )


def is_url(value: str) -> bool:
    return value[:8].lower().startswith(("http://", "https://"))


def from_str(store: MediaStore, value: str, caption: str | None, format: str) -> MediaItem:
    if is_url(value):
        return from_url(value, caption)
    return from_path(store, pathlib.Path(value), caption, format)


def from_path(
    store: MediaStore, path: os.PathLike[str], caption: str | None, format: str
) -> MediaItem:
    """A server file, read only when it lies in the folders values may name (after symlinks
    and ``..``); named after the path as given, as Gradio does."""
    real = store.served_paths.resolve(path)
    name = os.path.basename(os.fspath(path))
    return store.add_file(real, caption=caption, orig_name=name, resolved=True)


#: Input type -> converter, tried in order (the first isinstance match wins). A numpy array is
#: tested first, apart (:func:`.pixels.is_array`), so that numpy is imported only by an app
#: that gives arrays.
CONVERTERS: tuple[tuple[type, Converter], ...] = (
    (Image.Image, from_pil_image),
    (str, from_str),
    (os.PathLike, from_path),
)


def split_caption(index: int, entry: object) -> tuple[object, str | None]:
    """``(media, caption)`` of a value entry; a bare media has no caption."""
    if isinstance(entry, (tuple, list)):
        if len(entry) != 2:
            raise TypeError(
                f"Gallery item {index} is a {type(entry).__name__} of {len(entry)} elements; "
                "a captioned item must be (media, caption) with exactly 2 elements."
            )
        media, caption = entry
        if caption is not None and not isinstance(caption, str):
            raise TypeError(
                f"Gallery item {index} has a caption of type {type(caption).__name__}; "
                "a caption must be a str or None."
            )
        return media, caption
    return entry, None


def convert_one(store: MediaStore, index: int, entry: object, format: str) -> MediaItem:
    media, caption = split_caption(index, entry)
    converter: Converter | None = (
        from_ndarray
        if is_array(media)
        else next((fn for kind, fn in CONVERTERS if isinstance(media, kind)), None)
    )
    if converter is None:
        raise TypeError(
            f"Gallery item {index} is of type {type(media).__module__}.{type(media).__qualname__}"
            f", which a gallery cannot show; accepted: {ACCEPTED}."
        )
    try:
        return converter(store, media, caption, format)
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"Gallery item {index}: the file {os.fspath(t.cast(t.Any, media))!r} does not exist."
        ) from exc
    except PathRefused as exc:
        raise exc.at(index) from exc
    except ValueError as exc:
        raise ValueError(f"Gallery item {index}: {exc}") from exc


#: Bytes to hash below which a value's items are converted one after another in the calling
#: thread: handing them to the pool (and starting its threads) costs more than hashing them.
PARALLEL_BYTES = 4 << 20


def work_bytes(entry: object) -> int:
    """Roughly how many bytes converting ``entry`` hashes: its pixels or its file (0 for a URL
    or anything unknown)."""
    media = entry[0] if isinstance(entry, (tuple, list)) and len(entry) == 2 else entry
    if is_array(media):
        return int(media.nbytes)
    if isinstance(media, Image.Image):
        return media.width * media.height * len(media.getbands())
    if isinstance(media, (str, os.PathLike)) and not (isinstance(media, str) and is_url(media)):
        try:
            return os.stat(media).st_size
        except (OSError, ValueError):
            return 0
    return 0


def postprocess(
    store: MediaStore, value: object, format: MediaFormat | str = "webp"
) -> list[MediaItem]:
    """Items for a Gallery value; ``None`` is an empty gallery.

    Returns as soon as every item has an id: encoders run later (see :mod:`.store`).
    """
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ValueError(
            f"The value of a Gallery must be a list of images or videos, or of (media, caption) "
            f"tuples; got {type(value).__name__} {_short_repr(value)}. Wrap a single image in a "
            "list: [image]."
        )
    name = normalize_format(format)
    entries = list(enumerate(value))

    def convert(entry: tuple[int, object]) -> MediaItem:
        return convert_one(store, *entry, name)

    if sum(work_bytes(media) for _, media in entries) >= PARALLEL_BYTES:
        items = store.converters.map(convert, entries)
    else:
        items = [convert(entry) for entry in entries]
    store.warm(items)
    return items


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
