"""The Flask extension: configuration, the blueprint, and the two Jinja globals.

Declarations (galleries and their listeners) live on :class:`FlaskGallery` and are shared by every
app it is registered on; what belongs to one app (config snapshot, media store, cached values)
lives in ``app.extensions["flask_gallery"]``, so several apps in one process never share state.
"""

from __future__ import annotations

import typing as t
import weakref
from pathlib import Path

from flask import Blueprint, Flask, render_template, url_for
from markupsafe import Markup

from . import __version__, views
from .app_state import AppState, app_state
from .assets import asset_tags
from .component import Gallery, GalleryValue
from .props import NOT_OVERRIDABLE, resolve_props
from .render import GalleryView, build_view

_PACKAGE = Path(__file__).resolve().parent

#: Config keys and their defaults. Each is read once, in :meth:`FlaskGallery.init_app`.
DEFAULT_CONFIG: dict[str, t.Any] = {
    #: Where media items are stored; ``None`` means ``<app.instance_path>/flask_gallery_media``.
    "GALLERY_MEDIA_DIR": None,
    #: URL prefix of the extension's routes (media, static files).
    "GALLERY_URL_PREFIX": "/_gallery",
    #: Gradio's default ``concurrency_limit`` for listeners that say ``"default"``.
    "GALLERY_DEFAULT_CONCURRENCY_LIMIT": 1,
    #: Queued submissions beyond this are rejected at once with "queue full".
    "GALLERY_MAX_QUEUE_SIZE": 1000,
    #: Largest accepted upload, per file, in bytes.
    "GALLERY_MAX_UPLOAD_BYTES": 50 * 1024 * 1024,
    #: Largest accepted image, in pixels (width x height), against decompression bombs.
    "GALLERY_MAX_IMAGE_PIXELS": 64_000_000,
}


def _package_folder(name: str) -> str:
    """Templates and static files sit inside the installed package, or beside it in a checkout."""
    inside = _PACKAGE / name
    return str(inside if inside.is_dir() else _PACKAGE.parent / name)


class FlaskGallery:
    """Brings ``gr.Gallery`` to a Flask app.

    .. code-block:: python

        galleries = FlaskGallery(app)           # or FlaskGallery() + galleries.init_app(app)
        gallery = galleries.gallery("fake_gan", columns=(1, 2, 3))

    Templates then call ``{{ gallery_assets() }}`` in ``<head>`` and ``{{ gallery("fake_gan") }}``
    where the gallery goes.
    """

    def __init__(self, app: Flask | None = None) -> None:
        self.galleries: dict[str, Gallery] = {}
        "Declared galleries by name, shared by every app this extension is registered on."
        self._apps: weakref.WeakSet[Flask] = weakref.WeakSet()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register the extension on ``app``.

        Reads these config keys once (defaults in :data:`DEFAULT_CONFIG`):
        ``GALLERY_MEDIA_DIR``, ``GALLERY_URL_PREFIX``, ``GALLERY_DEFAULT_CONCURRENCY_LIMIT``,
        ``GALLERY_MAX_QUEUE_SIZE``, ``GALLERY_MAX_UPLOAD_BYTES``, ``GALLERY_MAX_IMAGE_PIXELS``.
        """
        if "flask_gallery" in app.extensions:
            raise RuntimeError(
                "FlaskGallery is already registered on this app. Call 'init_app' once per app, "
                "and declare every gallery on that one FlaskGallery instance."
            )
        if not app.secret_key:
            raise RuntimeError(
                "flask_gallery needs the app's SECRET_KEY: media ids and page tokens are signed "
                "with it. Set app.config['SECRET_KEY'] (e.g. from an environment variable) before "
                "calling init_app."
            )
        for key, default in DEFAULT_CONFIG.items():
            app.config.setdefault(key, default)
        config = {key: app.config[key] for key in DEFAULT_CONFIG}
        app.extensions["flask_gallery"] = AppState(app, config)
        app.register_blueprint(self._blueprint(config["GALLERY_URL_PREFIX"]))
        app.jinja_env.globals.update(gallery=self.render, gallery_assets=self.assets)
        self._apps.add(app)

    def _blueprint(self, url_prefix: str) -> Blueprint:
        bp = Blueprint(
            "flask_gallery",
            __name__,
            url_prefix=url_prefix,
            template_folder=_package_folder("templates"),
            static_folder=_package_folder("static"),
            static_url_path="/static",
        )
        views.register(bp)
        return bp

    def gallery(self, name: str, value: GalleryValue = None, **props: t.Any) -> Gallery:
        """Declare a gallery; see :class:`~flask_gallery.Gallery` for the parameters."""
        for app in self._apps:
            if app._got_first_request:
                raise RuntimeError(
                    f"Gallery {name!r} is declared after {app.name!r} handled its first request. "
                    "Declare galleries at import time or in the app factory, before serving."
                )
        if name in self.galleries:
            raise ValueError(
                f"A gallery named {name!r} is already declared. Gallery names are unique per app; "
                "pick another name."
            )
        gallery = Gallery(name, value, **props)
        self.galleries[name] = gallery
        return gallery

    def _lookup(self, name: str | None) -> Gallery:
        if name is None:
            if len(self.galleries) == 1:
                return next(iter(self.galleries.values()))
            raise TypeError(
                "gallery() needs a name when the app declares "
                f"{len(self.galleries)} galleries: "
                f"{', '.join(repr(n) for n in sorted(self.galleries)) or 'none yet'}."
            )
        try:
            return self.galleries[name]
        except KeyError:
            declared = ", ".join(repr(n) for n in sorted(self.galleries)) or "none"
            raise ValueError(f"Unknown gallery {name!r}. Declared galleries: {declared}.") from None

    def view(self, name: str | None = None, **overrides: t.Any) -> GalleryView:
        """The decided view of a gallery for this render (what the templates draw)."""
        gallery = self._lookup(name)
        fixed = sorted(NOT_OVERRIDABLE & set(overrides))
        if fixed:
            raise TypeError(
                f"gallery({gallery.name!r}) cannot override {', '.join(map(repr, fixed))} in a "
                "template: it changes what handlers receive. Set it in galleries.gallery(...)."
            )
        props = resolve_props(
            gallery.props, overrides, where=f"The template call gallery({gallery.name!r})"
        )
        state = app_state()
        items = state.items_for(gallery) if props.visible is not False else []
        return build_view(
            gallery.name,
            props,
            items,
            views.urls(),
            interactive=props.interactive is True,
            download_key=state.download_set(items) if "download_all" in props.buttons else None,
        )

    def render(self, name: str | None = None, **overrides: t.Any) -> Markup:
        """The ``gallery(name=None, **overrides)`` Jinja global."""
        view = self.view(name, **overrides)
        if not view.props.render:
            return Markup("")
        return Markup(render_template("flask_gallery/gallery.html", view=view))

    def assets(self, nonce: str | None = None) -> Markup:
        """The ``gallery_assets(nonce=None)`` Jinja global: CSS and scripts, all served locally."""
        app_state()
        return asset_tags(
            lambda f: url_for("flask_gallery.static", filename=f, v=__version__), nonce=nonce
        )
