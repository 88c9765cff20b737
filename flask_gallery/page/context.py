"""What the page model needs of the app it serves, and how it finds it.

The page layer never imports the web layer: it reaches the current app's state through
``current_app.extensions["flask_gallery"]`` (set by :meth:`~flask_gallery.FlaskGallery.init_app`)
and uses it only through the :class:`PageApp` protocol below.
"""

from __future__ import annotations

import typing as t

from flask import current_app

if t.TYPE_CHECKING:
    from ..component import Gallery, GalleryValue
    from ..media import MediaItem, MediaStore
    from ..queue import EventEngine
    from ..registry import Registry
    from .state import PageStore

#: The key of ``app.extensions`` the app's gallery state is kept under.
EXTENSION_KEY = "flask_gallery"


class TooManyItems(ValueError):
    """A gallery value longer than ``GALLERY_MAX_ITEMS`` (its message names the setting)."""


class PageApp(t.Protocol):
    """The per-app state the page model works with (the web layer's ``AppState``)."""

    config: dict[str, t.Any]
    media: MediaStore
    pages: PageStore
    registry: Registry

    def convert(self, gallery: Gallery, value: GalleryValue) -> list[MediaItem]:
        """Any gallery value as stored media items (raises :class:`TooManyItems`)."""
        ...

    def download_set(self, items: t.Sequence[MediaItem]) -> str | None:
        """The key of "Download all" of these items, or None when none is stored here."""
        ...

    def engine(self) -> EventEngine:
        """The app's event engine (started on first use)."""
        ...


def registered() -> t.Any:
    """The current app's gallery state; a clear error when the extension was never registered."""
    try:
        return current_app.extensions[EXTENSION_KEY]
    except KeyError:
        raise RuntimeError(
            "flask_gallery is not registered on the current app. Did you forget to call "
            "'galleries.init_app(app)', or is this another app than the one you registered?"
        ) from None


def page_app() -> PageApp:
    """The current app's state, as the page model sees it."""
    return t.cast(PageApp, registered())
