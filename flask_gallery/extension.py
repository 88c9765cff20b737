"""The Flask extension object, thin as Flask-SQLAlchemy's: registration on apps, the
declarations, the calling page for the app's own views, and the two Jinja globals.

Declarations (galleries and their listeners) live in the :class:`~.registry.Registry` of a
:class:`FlaskGallery` and are shared by every app it is registered on; what belongs to one app
(config snapshot, media store, page store, engine) lives in ``app.extensions["flask_gallery"]``
(:class:`~.web.app_state.AppState`), so several apps in one process never share state. Drawing
lives in :mod:`.page.draw`, the routes in :mod:`.web`.
"""

from __future__ import annotations

import typing as t
import weakref

from flask import Flask
from markupsafe import Markup

from . import cli
from .component import Gallery, GalleryValue
from .config import read_config
from .elements import Element
from .events import Handler, Inputs, Listener, Outputs, _ListenerArgs, _OnEvent
from .page.context import EXTENSION_KEY
from .registry import ApiGuard, Registry
from .state import State
from .web import templates
from .web.app_state import AppState
from .web.blueprint import blueprint, check_server
from .web.page_handle import PageHandle, current_page_handle

if t.TYPE_CHECKING:
    from typing_extensions import Unpack

G = t.TypeVar("G", bound=ApiGuard)


class FlaskGallery:
    """Brings ``gr.Gallery`` to a Flask app.

    .. code-block:: python

        galleries = FlaskGallery(app)           # or FlaskGallery() + galleries.init_app(app)
        gallery = galleries.gallery("fake_gan", columns=(1, 2, 3))

    Templates then call ``{{ gallery_assets() }}`` in ``<head>`` and ``{{ gallery("fake_gan") }}``
    where the gallery goes.
    """

    def __init__(self, app: Flask | None = None) -> None:
        self.registry = Registry()
        "The declarations, shared by every app this extension is registered on."
        self._apps: weakref.WeakSet[Flask] = weakref.WeakSet()
        if app is not None:
            self.init_app(app)

    @property
    def galleries(self) -> dict[str, Gallery]:
        """Declared galleries by name."""
        return self.registry.galleries

    def init_app(self, app: Flask) -> None:
        """Register the extension on ``app``.

        Reads these config keys once (defaults in :data:`flask_gallery.config.DEFAULT_CONFIG`):
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
        if EXTENSION_KEY in app.extensions:
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
        config = read_config(app)
        state = app.extensions[EXTENSION_KEY] = AppState(app, self.registry, config)
        state.processes.check_server()  # gunicorn loading the app: its --workers are known now
        if not state.processes.server_checked:
            app.before_request(check_server)
        app.register_blueprint(blueprint(config["GALLERY_URL_PREFIX"]))
        app.cli.add_command(cli.gallery)
        app.jinja_env.globals.update(
            gallery=self.render, gallery_assets=self.assets, gallery_page=self.page_script
        )
        app.after_request(templates.check_elements)
        self._apps.add(app)

    def gallery(self, name: str, value: GalleryValue = None, **props: t.Any) -> Gallery:
        """Declare a gallery; see :class:`~flask_gallery.Gallery` for the parameters."""
        self._check_setup(f"Gallery {name!r}")
        gallery = Gallery(name, value, **props)
        self.registry.add(gallery)
        return gallery

    def element(self, selector: str) -> Element:
        """An element of the app's own HTML, by ``"#id"``, with the listener API of a gallery
        (``on_click``/``click``, ``on_submit``/``submit``, ``on_change``/``change``,
        ``on_input``/``input``): see :class:`~flask_gallery.elements.Element`. The same id
        always gives the same element."""
        self._check_setup(f"Element {selector!r}")
        return self.registry.element(selector)

    def load(
        self,
        fn: Handler | None,
        inputs: Inputs = None,
        outputs: Outputs = None,
        **options: Unpack[_ListenerArgs],
    ) -> Listener:
        """Gradio's ``demo.load``: run ``fn`` once per page, when the page first connects
        (its socket, or its first poll), through the queue; with ``every=<seconds>`` also
        again every that many seconds while the page stays connected. Returns the
        :class:`~flask_gallery.Listener`."""
        self._check_setup(f"The load listener {getattr(fn, '__name__', fn)!r}")
        return self.registry.page.listen("load", fn, inputs, outputs, **options)

    @property
    def on_load(self) -> _OnEvent:
        """:meth:`load` as a decorator, bare or with listener arguments; returns the function
        unchanged."""
        return _OnEvent(self.registry.page, "load")

    def state(self, name: str, default: t.Any = None) -> State:
        """Declare a per-page value for listeners (Gradio's ``gr.State``); see
        :class:`~flask_gallery.State`."""
        self._check_setup(f"State {name!r}")
        state = State(name, default)
        self.registry.add_state(state)
        return state

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
        self.registry.api_guard = fn
        return fn

    def _check_setup(self, what: str) -> None:
        for app in self._apps:
            if app._got_first_request:
                raise RuntimeError(
                    f"{what} is declared after {app.name!r} handled its first request. "
                    "Declare it at import time or in the app factory, before serving."
                )

    def page(self) -> PageHandle:
        """The page the current request comes from, for the app's own views (a button's
        ``hx-post``): read and update its galleries. See :class:`~.web.page_handle.PageHandle`."""
        return current_page_handle()

    def shutdown(self, app: Flask) -> None:
        """Stop ``app``'s event engine and background work (tests, or before a worker exits)."""
        state = app.extensions.get(EXTENSION_KEY)
        if state is not None:
            state.shutdown()

    def render(self, name: str | None = None, **overrides: t.Any) -> Markup:
        """The ``gallery(name=None, **overrides)`` Jinja global: records the gallery's value as
        this page's state (a callable value is called again, as Gradio at each page load) and
        draws it."""
        return templates.gallery(name, **overrides)

    def page_script(self) -> Markup:
        """The ``gallery_page()`` Jinja global, for a page that has elements with listeners or
        uses ``load`` but shows no gallery: it connects the page (a page with a gallery is
        connected by its first ``gallery()``). Write it once in ``<body>``."""
        return templates.page_socket()

    def assets(self, nonce: str | None = None) -> Markup:
        """The ``gallery_assets(nonce=None)`` Jinja global: CSS and scripts, all served locally."""
        return templates.gallery_assets(nonce)
