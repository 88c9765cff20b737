"""HTTP routes of the extension's blueprint. Thin: they read the request, ask the media store,
and answer; every refusal (unknown or forged id, bad width) is the store's ``NotFound``."""

from __future__ import annotations

from flask import Blueprint, Response, url_for
from werkzeug.exceptions import NotFound

from .app_state import app_state as _state
from .media import send_media
from .media.serving import attachment_name
from .zipstream import stream_zip, unique_names

_PLACEHOLDER = "MEDIA-ID"


def media(media_id: str) -> Response:
    return send_media(_state().media, media_id, variant="full")


def thumb(media_id: str, width: int) -> Response:
    return send_media(_state().media, media_id, variant="thumb", width=width)


def download(media_id: str, number: int) -> Response:
    """Saved under the original file name where one is known, else ``image-<number>.<ext>``
    (``number`` is the item's 1-based position in the gallery)."""
    store = _state().media
    try:
        name = store.item(media_id).orig_name
    except LookupError:
        raise NotFound() from None
    return send_media(
        store, media_id, variant="full", download=True, download_name=name or f"image-{number}"
    )


def download_all(key: str) -> Response:
    """ "Download all": the gallery's stored items as ``gallery.zip``, streamed as it is built."""
    state = _state()
    ids = state.download_ids(key)
    if ids is None:
        raise NotFound("This download link has expired: reload the page and try again.")
    store = state.media
    try:
        files = [(store.item(media_id), store.filepath(media_id)) for media_id in ids]
    except LookupError:
        raise NotFound() from None
    names = unique_names(
        attachment_name(item.orig_name or f"image-{n}", path.suffix.lstrip("."))
        for n, (item, path) in enumerate(files, start=1)
    )
    response = Response(
        stream_zip(zip(names, (path for _, path in files), strict=True)), mimetype="application/zip"
    )
    response.headers["Content-Disposition"] = 'attachment; filename="gallery.zip"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/media/<media_id>", "media", media)
    bp.add_url_rule("/media/<media_id>/w<int:width>", "thumb", thumb)
    bp.add_url_rule("/media/<media_id>/download/<int:number>", "download", download)
    bp.add_url_rule("/zip/<key>/gallery.zip", "download_all", download_all)


class _Urls:
    """Media URLs for one render: ``url_for`` once per route, then string substitution, so a
    200-item gallery costs three route builds, not eight hundred."""

    def __init__(self) -> None:
        # Each URL ends with the number we passed (1); drop it and append the real one.
        self._full = url_for("flask_gallery.media", media_id=_PLACEHOLDER)
        self._thumb = url_for("flask_gallery.thumb", media_id=_PLACEHOLDER, width=1)[:-1]
        self._download = url_for("flask_gallery.download", media_id=_PLACEHOLDER, number=1)[:-1]

    def full(self, media_id: str) -> str:
        return self._full.replace(_PLACEHOLDER, media_id)

    def thumb(self, media_id: str, width: int) -> str:
        return self._thumb.replace(_PLACEHOLDER, media_id) + str(width)

    def download(self, media_id: str, index: int) -> str:
        return self._download.replace(_PLACEHOLDER, media_id) + str(index + 1)

    def download_all(self, key: str) -> str:
        return url_for("flask_gallery.download_all", key=key)


def urls() -> _Urls:
    return _Urls()
