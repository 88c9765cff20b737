"""The Flask extension: configuration, the blueprint, and the two Jinja globals.

Declarations (galleries and their listeners) live on :class:`FlaskGallery` and are shared by every
app it is registered on; what belongs to one app (config snapshot, media store, cached values)
lives in ``app.extensions["flask_gallery"]``, so several apps in one process never share state.
"""

from __future__ import annotations

import json
import typing as t
import weakref
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, render_template, request, url_for
from markupsafe import Markup

from . import __version__, actions, api, cli, views, ws
from .api import ApiGuard
from .app_state import AppState, app_state
from .assets import asset_tags
from .component import Gallery, GalleryValue
from .dispatch import apply_outputs, partial, preprocess_inputs
from .media.retention import check_ttl
from .page_handle import PageHandle, current_page_handle
from .pages import current_page
from .props import NOT_OVERRIDABLE, GalleryProps, resolve_props
from .render import GalleryView, build_view, initial_selection
from .state import GalleryState, PageState
from .urls import urls

_PACKAGE = Path(__file__).resolve().parent
G = t.TypeVar("G", bound=ApiGuard)

#: Config keys and their defaults. Each is read once, in :meth:`FlaskGallery.init_app`.
DEFAULT_CONFIG: dict[str, t.Any] = {
    #: Where media items are stored; ``None`` means ``<app.instance_path>/flask_gallery_media``.
    "GALLERY_MEDIA_DIR": None,
    #: URL prefix of the extension's routes (media, static files).
    "GALLERY_URL_PREFIX": "/_gallery",
    #: Gradio's default ``concurrency_limit`` for listeners that say ``"default"``.
    "GALLERY_DEFAULT_CONCURRENCY_LIMIT": 1,
    #: Queued submissions beyond this are rejected at once with "queue full"; when it is reached,
    #: a client (remote address) holding fewer waiting submissions than another still gets in,
    #: in place of the newest submission of the client holding the most.
    "GALLERY_MAX_QUEUE_SIZE": 1000,
    #: Submissions one page may have waiting (queued or deferred); more get "queue full" on
    #: that page only.
    "GALLERY_MAX_QUEUED_PER_PAGE": 20,
    #: Submissions all pages of one session may have waiting together.
    "GALLERY_MAX_QUEUED_PER_SESSION": 50,
    #: Seconds a handler run may take when its listener's ``timeout`` is ``"default"`` (the
    #: default); ``None`` for no limit, as Gradio. When it lapses the page gets an error and the
    #: listener's concurrency slot is freed.
    "GALLERY_HANDLER_TIMEOUT": None,
    #: Largest accepted upload, per file, in bytes.
    "GALLERY_MAX_UPLOAD_BYTES": 50 * 1024 * 1024,
    #: Files accepted in one upload request.
    "GALLERY_MAX_UPLOAD_FILES": 100,
    #: Largest upload request, in bytes, all files together: a larger ``Content-Length`` is
    #: refused (413) unread, a chunked body is cut off there. Every other gallery request (form
    #: fields, an API call) may send 1 MiB. The app's own ``MAX_CONTENT_LENGTH`` is untouched.
    "GALLERY_MAX_UPLOAD_REQUEST_BYTES": 200 * 1024 * 1024,
    #: Items one gallery value may hold (uploads past it are refused by name; a handler output,
    #: ``page.update`` or declared value over it fails with a message naming this setting).
    "GALLERY_MAX_ITEMS": 1000,
    #: Every listener is a JSON endpoint (``POST <prefix>/api/<api_name>``). Off by default:
    #: then only listeners given ``api_visibility="public"`` (or ``show_api=True``) are. Either
    #: way each call must pass the guard registered with ``@galleries.api_guard``.
    "GALLERY_API": False,
    #: Largest accepted image, in pixels (width x height), against decompression bombs.
    "GALLERY_MAX_IMAGE_PIXELS": 64_000_000,
    #: Bytes that image decodes and encodes may hold at once (uploads checked, thumbnails,
    #: full files encoded, handler inputs); more waits its turn. ``None``: 4 x
    #: ``GALLERY_MAX_IMAGE_PIXELS``, one RGBA image at the pixel limit; ``0``: no limit.
    "GALLERY_MAX_DECODE_BYTES": None,
    #: Seconds a rendered page's gallery state is kept after its last request (or after its
    #: socket closed: an open socket keeps it).
    "GALLERY_PAGE_TTL": 3600,
    #: Pages whose state is kept at most. Dropped first: pages never clicked, polled or
    #: connected, then those idle the longest; pages with an open socket last.
    "GALLERY_MAX_PAGES": 10_000,
    #: Pages one session keeps at most (its least recently used unconnected page dropped first).
    "GALLERY_MAX_PAGES_PER_SESSION": 50,
    #: Open page sockets in this process at most; pages beyond it get their results by polling.
    #: ``None``: chosen from the server at its first socket, below what it can hold at once
    #: (gunicorn gthread: 3/4 of ``--threads``; gevent: 3/4 of ``--worker-connections`` and of
    #: the open-files limit; other threaded servers, Werkzeug's included: 64).
    "GALLERY_MAX_SOCKETS": None,
    #: Open page sockets of one session at most (one per page: a page's new socket replaces
    #: its old one).
    "GALLERY_MAX_SOCKETS_PER_SESSION": 8,
    #: Clicks one page's socket may carry per second on average (twice as many at once);
    #: beyond it a click is dropped unread and the page told. ``None``: no limit.
    "GALLERY_MAX_CLICKS_PER_SECOND": 30,
    #: Worker threads running handlers at most, across all listeners (Gradio's max_threads).
    "GALLERY_MAX_THREADS": 40,
    #: Encode thumbnails and full files of new media in background threads at once, instead
    #: of on their first request (costs CPU and memory for items never shown).
    "GALLERY_ENCODE_AHEAD": False,
    #: Store uploads with their metadata (EXIF, XMP, IPTC: GPS positions, camera make and
    #: model, dates) instead of stripping it; rotated photos are still stored upright.
    "GALLERY_KEEP_METADATA": False,
    #: Folders (or files) that str/Path gallery values may also name, beside the app's root,
    #: instance and media folders and the temp folder (Gradio's ``allowed_paths``).
    "GALLERY_ALLOWED_PATHS": (),
    #: Folders (or files) that gallery values may never name, even inside allowed ones
    #: (Gradio's ``blocked_paths``).
    "GALLERY_BLOCKED_PATHS": (),
    #: Seconds media may stay unused before it is deleted; ``None`` keeps media for ever. When
    #: set, each server renews a lease on the media its live pages, jobs and declared values
    #: use (every TTL/4) and deletes the rest once unused that long; ``flask gallery clean``
    #: does the same from a process of its own.
    "GALLERY_MEDIA_TTL": None,
    #: With ``GALLERY_MEDIA_TTL`` set, each server also deletes unused media itself. Set
    #: ``False`` to leave deleting to ``flask gallery clean`` (e.g. one cron job for many
    #: worker processes); servers still renew their leases.
    "GALLERY_MEDIA_SWEEP": True,
    #: Redis URL for several processes or hosts (``redis://host:port/db``, ``rediss://``,
    #: ``unix://``): the queue, page state and result channels move there. ``None``: one
    #: process, no Redis.
    "GALLERY_QUEUE_URL": None,
    #: With ``GALLERY_QUEUE_URL``: seconds a running handler's lease lasts without renewal;
    #: when the process running it dies, its page is told after at most this long.
    "GALLERY_JOB_LEASE_SECONDS": 30.0,
    #: With ``GALLERY_QUEUE_URL``: whether this process runs handlers (web processes do by
    #: default; ``False`` leaves them to ``flask gallery worker`` processes).
    "GALLERY_RUN_HANDLERS": True,
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
        self.api_guard_fn: ApiGuard | None = None
        "The function :meth:`api_guard` registered: who may call the JSON API."
        self._apps: weakref.WeakSet[Flask] = weakref.WeakSet()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register the extension on ``app``.

        Reads these config keys once (defaults in :data:`DEFAULT_CONFIG`):
        ``GALLERY_MEDIA_DIR``, ``GALLERY_URL_PREFIX``, ``GALLERY_DEFAULT_CONCURRENCY_LIMIT``,
        ``GALLERY_MAX_QUEUE_SIZE``, ``GALLERY_MAX_QUEUED_PER_PAGE``,
        ``GALLERY_MAX_QUEUED_PER_SESSION``, ``GALLERY_HANDLER_TIMEOUT``,
        ``GALLERY_MAX_UPLOAD_BYTES``, ``GALLERY_MAX_UPLOAD_FILES``,
        ``GALLERY_MAX_UPLOAD_REQUEST_BYTES``, ``GALLERY_MAX_IMAGE_PIXELS``, ``GALLERY_MAX_ITEMS``,
        ``GALLERY_API``, ``GALLERY_PAGE_TTL``, ``GALLERY_MAX_PAGES``, ``GALLERY_MAX_THREADS``,
        ``GALLERY_ENCODE_AHEAD``, ``GALLERY_KEEP_METADATA``, ``GALLERY_ALLOWED_PATHS``,
        ``GALLERY_BLOCKED_PATHS``, ``GALLERY_MEDIA_TTL``,
        ``GALLERY_MEDIA_SWEEP``, ``GALLERY_QUEUE_URL``, ``GALLERY_JOB_LEASE_SECONDS``,
        ``GALLERY_RUN_HANDLERS``. Registers the ``flask gallery`` commands. Warns once when
        the server runs several processes without ``GALLERY_QUEUE_URL`` (gunicorn's
        ``--workers`` as it loads the app, else at the first request).
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
        config["GALLERY_MEDIA_TTL"] = check_ttl(config["GALLERY_MEDIA_TTL"])
        hooks = (preprocess_inputs, apply_outputs)
        state = app.extensions["flask_gallery"] = AppState(app, self, config, hooks)
        state.processes.check_server()  # gunicorn loading the app: its --workers are known now
        if not state.processes.server_checked:
            app.before_request(_check_server)
        app.register_blueprint(self._blueprint(config["GALLERY_URL_PREFIX"]))
        app.cli.add_command(cli.gallery)
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
        ws.register(bp)
        api.register(bp)
        return bp

    def gallery(self, name: str, value: GalleryValue = None, **props: t.Any) -> Gallery:
        """Declare a gallery; see :class:`~flask_gallery.Gallery` for the parameters."""
        self._check_setup(f"Gallery {name!r}")
        if name in self.galleries:
            raise ValueError(
                f"A gallery named {name!r} is already declared. Gallery names are unique per app; "
                "pick another name."
            )
        gallery = Gallery(name, value, **props)
        self.galleries[name] = gallery
        return gallery

    def api_guard(self, fn: G) -> G:
        """Register who may call the JSON API: ``fn(listener) -> bool``, called for every API
        call and for each endpoint of the listing, in the request's context, after the app's
        ``before_request`` hooks. It may read ``flask.request`` (an API key header),
        Flask-Login's ``current_user``, or ``abort(401)``; only ``True`` lets the call through.

        .. code-block:: python

            @galleries.api_guard
            def allowed(listener):
                return current_user.is_authenticated

        Without a guard every API call is refused (403): ``return True`` makes the API public
        on purpose. A later registration replaces the guard. Returns ``fn`` unchanged.
        """
        self._check_setup(f"The API guard {getattr(fn, '__name__', fn)!r}")
        if not callable(fn):
            raise TypeError(f"api_guard takes a function fn(listener) -> bool, got {fn!r}.")
        self.api_guard_fn = fn
        return fn

    def _check_setup(self, what: str) -> None:
        for app in self._apps:
            if app._got_first_request:
                raise RuntimeError(
                    f"{what} is declared after {app.name!r} handled its first request. "
                    "Declare it at import time or in the app factory, before serving."
                )

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

    def props_for(self, gallery: Gallery, overrides: t.Mapping[str, t.Any]) -> GalleryProps:
        """The declaration with a template call's overrides applied (checked like a declaration)."""
        fixed = sorted(NOT_OVERRIDABLE & set(overrides))
        if fixed:
            raise TypeError(
                f"gallery({gallery.name!r}) cannot override {', '.join(map(repr, fixed))} in a "
                "template: it changes what handlers receive. Set it in galleries.gallery(...)."
            )
        return resolve_props(
            gallery.props, overrides, where=f"The template call gallery({gallery.name!r})"
        )

    def render(self, name: str | None = None, **overrides: t.Any) -> Markup:
        """The ``gallery(name=None, **overrides)`` Jinja global.

        Evaluates the value (a callable one again), records it as this page's state for the
        gallery under the page's token, and draws it.
        """
        gallery = self._lookup(name)
        props = self.props_for(gallery, overrides)
        if not props.render:
            return Markup("")
        state = app_state()
        state.compile_templates(current_app.jinja_env)
        state.start_retention()
        items = state.items_for(gallery)
        selected = initial_selection(props, len(items))
        gallery_state = GalleryState(
            items=items,
            selected=selected,
            preview_open=selected is not None and props.allow_preview,
            overrides=dict(overrides),
        )
        page = current_page(state.pages)
        page.galleries[gallery.name] = gallery_state
        state.pages.save(page)
        html = self.draw(gallery, gallery_state, page.token, props)
        if not g.get("_flask_gallery_socket"):
            # One connection per page: hx-ws opens a socket for every element that asks.
            g._flask_gallery_socket = True
            html = (
                Markup(
                    render_template(
                        "flask_gallery/_socket.html",
                        # A path: hx-ws picks ws: or wss: itself, right behind a TLS proxy too.
                        ws_url=urlsplit(url_for("flask_gallery.relay", page=page.token)).path,
                        poll_url=url_for("flask_gallery.poll", page=page.token),
                        page=page.token,
                        socket_actions=" ".join(actions.BY_ENDPOINT),
                    )
                )
                + html
            )
        return html

    def redraw_page(self, page: PageState) -> Markup:
        """Every gallery of a page as it stands, as updates (sent after a reconnect)."""
        parts = []
        for name, gallery_state in page.galleries.items():
            gallery = self.galleries.get(name)
            if gallery is not None:
                html = self.draw(gallery, gallery_state, page.token)
                parts.append(partial(f"#{self.dom_id(gallery, gallery_state)}", "outerMorph", html))
        return Markup("").join(parts)

    def view_for(
        self,
        gallery: Gallery,
        gallery_state: GalleryState,
        page_token: str,
        props: GalleryProps | None = None,
        *,
        toolbar: bool = True,
    ) -> GalleryView:
        """What the templates draw for the gallery's current state on a page. ``toolbar=False``
        skips the "Download all" key (an HMAC over every item id) for fragments without it."""
        if props is None:
            props = self.props_for(gallery, gallery_state.overrides)
        state = app_state()
        items = gallery_state.items
        return build_view(
            gallery.name,
            props,
            items,
            urls(),
            selected=gallery_state.selected,
            preview_open=gallery_state.preview_open,
            interactive=self.is_interactive(gallery, props),
            download_key=(
                state.download_set(items) if toolbar and "download_all" in props.buttons else None
            ),
            page=page_token,
            csrf_token=_flask_wtf_token(),
            include=self._form_inputs(gallery),
            js=self._js_specs(gallery),
        )

    def draw(
        self,
        gallery: Gallery,
        gallery_state: GalleryState,
        page_token: str,
        props: GalleryProps | None = None,
    ) -> Markup:
        """The gallery's HTML for its current state on a page: the first render and every
        fragment htmx swaps later come from here, so they never disagree."""
        view = self.view_for(gallery, gallery_state, page_token, props)
        return Markup(render_template("flask_gallery/gallery.html", view=view))

    def draw_selection(
        self,
        gallery: Gallery,
        gallery_state: GalleryState,
        page_token: str,
        changed: t.Iterable[int],
    ) -> Markup:
        """Only what a selection change alters: the preview slot and the grid items whose
        highlight changed, from the same fragments as a full draw. A click in a 200-item gallery
        then sends two thumbnails (and the preview), not the whole grid."""
        view = self.view_for(gallery, gallery_state, page_token, toolbar=False)
        preview = (
            render_template("flask_gallery/_preview.html", view=view) if view.preview_open else ""
        )
        parts = [
            partial(
                f"#{view.dom_id}-preview-slot", "innerMorph" if preview else "innerHTML", preview
            )
        ]
        for index in sorted(set(changed)):
            if 0 <= index < len(view.entries):
                thumb = render_template(
                    "flask_gallery/_thumb.html",
                    view=view,
                    entry=view.entries[index],
                    sizes=view.sizes,
                )
                parts.append(partial(f"#{view.dom_id}-item-{index}", "outerMorph", thumb))
        return Markup("").join(parts)

    def page(self) -> PageHandle:
        """The page the current request comes from, for the app's own views (a button's
        ``hx-post``): read and update its galleries. See :mod:`flask_gallery.page_handle`."""
        return current_page_handle()

    def dom_id(self, gallery: Gallery, gallery_state: GalleryState) -> str:
        """The id of the gallery's root element on a page (``elem_id`` or ``fg-<name>``)."""
        return self.props_for(gallery, gallery_state.overrides).elem_id or f"fg-{gallery.name}"

    def shutdown(self, app: Flask) -> None:
        """Stop ``app``'s event engine and background work (tests, or before a worker exits)."""
        state = app.extensions.get("flask_gallery")
        if state is not None:
            state.shutdown()

    def _js_specs(self, gallery: Gallery) -> str | None:
        """The gallery's listeners that have ``js``, for gallery.js to run before their request:
        ``[{"event", "id", "js", "inputs": [{"gallery": name} | {"field": name}]}]``."""
        specs = [
            {
                "event": listener.event,
                "id": listener.id,
                "js": listener.js,
                "inputs": [
                    {"gallery": item.name} if isinstance(item, Gallery) else {"field": str(item)}
                    for item in listener.inputs
                ],
            }
            for listener in gallery.listeners
            if isinstance(listener.js, str)
        ]
        return json.dumps(specs, separators=(",", ":")) if specs else None

    def _form_inputs(self, gallery: Gallery) -> tuple[str, ...]:
        """Names of the page's form fields this gallery's listeners take as inputs: htmx sends
        them along with every request of the gallery."""
        names = (item for lst in gallery.listeners for item in lst.inputs if isinstance(item, str))
        return tuple(dict.fromkeys(names))

    def is_interactive(self, gallery: Gallery, props: GalleryProps) -> bool:
        """Gradio's ``interactive=None``: interactive when some listener takes the gallery as an
        input or listens to its upload or delete; static when it is only ever an output."""
        if props.interactive is not None:
            return props.interactive
        for declared in self.galleries.values():
            for listener in declared.listeners:
                if listener.target is gallery and listener.event in ("upload", "delete"):
                    return True
                if any(item is gallery for item in listener.inputs):
                    return True
        return False

    def assets(self, nonce: str | None = None) -> Markup:
        """The ``gallery_assets(nonce=None)`` Jinja global: CSS and scripts, all served locally."""
        app_state()
        return asset_tags(
            lambda f: url_for("flask_gallery.static", filename=f, v=__version__), nonce=nonce
        )


def _check_server() -> None:
    """At a request, until the server's processes were counted: several, without
    ``GALLERY_QUEUE_URL``, are warned about once (:mod:`.processes`)."""
    processes = app_state().processes
    if not processes.server_checked:
        processes.check_server(bool(request.environ.get("wsgi.multiprocess")))


def _flask_wtf_token() -> str | None:
    """Flask-WTF's CSRF token when the app uses CSRFProtect, so the gallery's requests pass it."""
    if "csrf" not in current_app.extensions:
        return None
    from flask_wtf.csrf import generate_csrf

    return t.cast(str, generate_csrf())
