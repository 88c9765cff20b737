"""What the extension keeps for each app it is registered on.

Kept apart from :class:`~flask_gallery.FlaskGallery`, whose declarations are shared by every app,
so that two apps in one process never share a media store, config or cached values.
"""

from __future__ import annotations

import atexit
import collections
import hashlib
import hmac
import os
import threading
import typing as t
import weakref
from pathlib import Path

from flask import Flask, current_app

from .component import Gallery, GalleryValue
from .media import MediaItem, MediaStore
from .queue import EventEngine
from .request import run_context
from .state import MemoryPageStore, PageStore

if t.TYPE_CHECKING:
    import jinja2

    from .extension import FlaskGallery

#: Every app's state, so the process can stop their engines and pools on exit.
_live: weakref.WeakSet[AppState] = weakref.WeakSet()


def shutdown_all(timeout: float = 10.0) -> None:
    """Stop every app's engine and media pool (registered with :mod:`atexit`)."""
    for state in list(_live):
        state.shutdown(timeout=timeout)


atexit.register(shutdown_all)


def _ours(name: str) -> bool:
    return name.startswith("flask_gallery/")


#: How many "Download all" sets an app remembers.
DOWNLOAD_SETS = 1024


class AppState:
    """What the extension keeps for one app: its config snapshot, media store and values."""

    def __init__(self, app: Flask, extension: FlaskGallery, config: dict[str, t.Any]) -> None:
        self.config = config
        self.extension = extension
        "The FlaskGallery whose declarations this app serves."
        self._app = weakref.ref(app)
        self._engine: EventEngine | None = None
        self._debug = app.debug
        max_decode_bytes = decode_budget(config)  # a bad value fails before anything starts
        _live.add(self)
        media_dir = config["GALLERY_MEDIA_DIR"] or os.path.join(
            app.instance_path, "flask_gallery_media"
        )
        self.media = MediaStore(
            Path(media_dir),
            t.cast("str | bytes", app.secret_key),
            encode_ahead=config["GALLERY_ENCODE_AHEAD"],
            max_decode_bytes=max_decode_bytes,
        )
        "The content-addressed store every item of this app goes through."
        self.pages: PageStore = MemoryPageStore(
            ttl=config["GALLERY_PAGE_TTL"], max_pages=config["GALLERY_MAX_PAGES"]
        )
        "Per-page gallery state (value, selection, preview), bounded in count and idle time."
        self._static_items: dict[str, list[MediaItem]] = {}
        #: Held by the first render while it converts static values and compiles templates.
        self._first_render = threading.Lock()
        self._templates_ready = False
        self._lock = threading.Lock()
        self._download_sets: collections.OrderedDict[str, tuple[str, ...]] = (
            collections.OrderedDict()
        )
        self._secret = hashlib.sha256(str(app.secret_key).encode()).digest()

    def engine(self) -> EventEngine:
        """The app's event engine, started on first use so apps that never fire an event start
        no threads. Every declared listener is registered with its hooks at that moment."""
        with self._lock:
            if self._engine is None:
                app = self._app()
                if app is None:
                    raise RuntimeError("The app this gallery state belongs to is gone.")
                from .dispatch import install_hooks

                engine = EventEngine(
                    default_concurrency_limit=self.config["GALLERY_DEFAULT_CONCURRENCY_LIMIT"],
                    max_queue_size=self.config["GALLERY_MAX_QUEUE_SIZE"],
                    max_threads=self.config["GALLERY_MAX_THREADS"],
                    debug=self._debug,
                    run_context=run_context(app),
                )
                for gallery in self.extension.galleries.values():
                    for listener in gallery.listeners:
                        install_hooks(listener)
                    engine.register(gallery)
                self._engine = engine
            return self._engine

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the engine (cancelling what is queued) and the media store's background work."""
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.shutdown(timeout=timeout)
        self.media.close()

    def items_for(self, gallery: Gallery) -> list[MediaItem]:
        """The gallery's value as media items: a callable value is called again at each render
        (Gradio re-runs it at each page load); a fixed value is converted once per app."""
        if callable(gallery.value):
            return self.convert(gallery, gallery.value())
        items = self._static_items.get(gallery.name)
        if items is None:
            with self._first_render:  # pages opened together convert it once, not each
                items = self._static_items.get(gallery.name)
                if items is None:
                    items = self._static_items[gallery.name] = self.convert(gallery, gallery.value)
        return items

    def compile_templates(self, env: jinja2.Environment) -> None:
        """Compile the extension's templates once, before the first page draws them.

        Jinja compiles a template in every request that needs it before the first compile is
        cached: 32 pages opened together on a fresh server compiled each template 32 times in
        32 threads at once, which cost CPU and 2-5 MiB of peak RSS (each thread's compiler
        memory lands in its own glibc arena). The first render compiles; the others wait."""
        if self._templates_ready:
            return
        with self._first_render:
            if not self._templates_ready:
                for name in env.list_templates(filter_func=_ours):
                    env.get_template(name)
                self._templates_ready = True

    def download_set(self, items: t.Sequence[MediaItem]) -> str | None:
        """A short key for "Download all" of exactly these items (None when none is stored
        here: external URLs are never fetched). Kept in a bounded, most-recent-first table, so a
        page rendered long ago may find its key forgotten and get a 404, never another set."""
        ids = tuple(item.id for item in items if item.id is not None)
        if not ids:
            return None
        key = hmac.new(self._secret, "\n".join(ids).encode(), "sha256").hexdigest()[:32]
        with self._lock:
            self._download_sets[key] = ids
            self._download_sets.move_to_end(key)
            while len(self._download_sets) > DOWNLOAD_SETS:
                self._download_sets.popitem(last=False)
        return key

    def download_ids(self, key: str) -> tuple[str, ...] | None:
        with self._lock:
            return self._download_sets.get(key)

    def convert(self, gallery: Gallery, value: GalleryValue) -> list[MediaItem]:
        try:
            return self.media.postprocess(value, format=gallery.props.format)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"Gallery {gallery.name!r}: {exc}") from exc


def decode_budget(config: t.Mapping[str, t.Any]) -> int:
    """``GALLERY_MAX_DECODE_BYTES``, by default one RGBA image at the pixel limit."""
    configured = config["GALLERY_MAX_DECODE_BYTES"]
    if configured is None:
        return 4 * int(config["GALLERY_MAX_IMAGE_PIXELS"])
    if isinstance(configured, bool) or not isinstance(configured, int) or configured < 0:
        raise ValueError(
            "GALLERY_MAX_DECODE_BYTES must be a number of bytes (an int such as 512 * 2**20; "
            "0 for no limit) or None for 4 x GALLERY_MAX_IMAGE_PIXELS; "
            f"got {configured!r}."
        )
    return configured


def app_state() -> AppState:
    """The current app's gallery state; raises a clear error when it was never registered."""
    try:
        return t.cast(AppState, current_app.extensions["flask_gallery"])
    except KeyError:
        raise RuntimeError(
            "flask_gallery is not registered on the current app. Did you forget to call "
            "'galleries.init_app(app)', or is this another app than the one you registered?"
        ) from None
