"""The URLs a page uses: media files, actions. Built with ``url_for`` once per route and render,
then by substitution, so a 200-item gallery costs a handful of route builds, not a thousand."""

from __future__ import annotations

from flask import g, url_for

from .context import page_app

_PLACEHOLDER = "MEDIA-ID"


class Urls:
    """Media URLs for one render: ``url_for`` once per route, then string substitution, so a
    200-item gallery costs three route builds, not eight hundred."""

    def __init__(self) -> None:
        self._store = page_app().media
        # Each URL ends with the number we passed (1); drop it and append the real one.
        self._full = url_for("flask_gallery.media", media_id=_PLACEHOLDER)
        self._thumb = url_for("flask_gallery.thumb", media_id=_PLACEHOLDER, width=1)[:-1]
        self._download = url_for("flask_gallery.download", media_id=_PLACEHOLDER, number=1)[:-1]
        self._actions: dict[tuple[str, str], str] = {}

    def full(self, media_id: str) -> str:
        return self._full.replace(_PLACEHOLDER, media_id)

    def thumb(self, media_id: str, width: int) -> str:
        return self._thumb.replace(_PLACEHOLDER, media_id) + str(width)

    def download(self, media_id: str, index: int, name: str | None) -> str:
        """The attachment URL of item ``index``: saved as its own ``name`` (signed, so the link
        cannot be edited into another name), else as ``image-<index + 1>``."""
        url = self._download.replace(_PLACEHOLDER, media_id) + str(index + 1)
        return url if name is None else url + self._store.name_query(media_id, name)

    def download_all(self, key: str) -> str:
        return url_for("flask_gallery.download_all", key=key)

    def actions(self, page: str, name: str) -> str:
        """Built once per gallery of the page (a socket's clicks all draw the same ones)."""
        url = self._actions.get((page, name))
        if url is None:
            url = self._actions[page, name] = url_for("flask_gallery.actions", page=page, name=name)
        return url


def urls() -> Urls:
    """The :class:`Urls` of the current app context (a request, a page's socket for its whole
    life, a handler's run): the routes cannot change within one, and a click over the socket
    then builds no route at all."""
    cached: Urls | None = g.get("_flask_gallery_urls")
    if cached is None:
        cached = g._flask_gallery_urls = Urls()
    return cached
