"""What the extension keeps for each app it is registered on.

Kept apart from :class:`~flask_gallery.FlaskGallery`, whose declarations are shared by every app,
so that two apps in one process never share a media store, config or cached values.
"""

from __future__ import annotations

import atexit
import collections
import functools
import hashlib
import hmac
import json
import logging
import os
import threading
import typing as t
import weakref
from pathlib import Path

from flask import Flask

from ..component import Gallery, GalleryValue
from ..config import decode_budget, served_paths
from ..media import MediaItem, MediaStore
from ..media.paths import PathRefused
from ..media.retention import Sweeper
from ..notify import Error
from ..page import in_use
from ..page.context import TooManyItems, registered
from ..page.outputs import after_job, apply_outputs, preprocess_inputs
from ..page.state import MemoryPageStore, PageStore
from ..queue import EventEngine
from ..request import run_context
from .processes import Processes
from .sockets import SocketRegistry

if t.TYPE_CHECKING:
    import jinja2

    from ..registry import Registry
    from .redis_mode import RedisMode

_log = logging.getLogger("flask_gallery")

#: Every app's state, so the process can stop their engines and pools on exit.
_live: weakref.WeakSet[AppState] = weakref.WeakSet()


def shutdown_all(timeout: float = 10.0) -> None:
    """Stop every app's engine and media pool (registered with :mod:`atexit`)."""
    for state in list(_live):
        state.shutdown(timeout=timeout)


atexit.register(shutdown_all)


def _ours(name: str) -> bool:
    return name.startswith("flask_gallery/")


#: How many "Download all" sets an app remembers, and how many items in all of them together:
#: each item holds its id and the name its page gave it (up to 255 characters), so the count of
#: sets alone would let a few pages of long-named uploads fill the memory.
DOWNLOAD_SETS = 1024
DOWNLOAD_ITEMS = 100_000

#: A "Download all" set: each item's media id and the name it is saved as (None: "image-<n>").
DownloadEntries = tuple[tuple[str, str | None], ...]


class AppState:
    """What the extension keeps for one app: its config snapshot, media store and values."""

    def __init__(
        self,
        app: Flask,
        registry: Registry,
        config: dict[str, t.Any],
    ) -> None:
        self.config = config
        self.registry = registry
        "The declarations this app serves (shared with every app of the same FlaskGallery)."
        self._app = weakref.ref(app)
        self._engine: EventEngine | None = None
        self._debug = app.debug
        max_decode_bytes = decode_budget(config)
        media_dir = config["GALLERY_MEDIA_DIR"] or os.path.join(
            app.instance_path, "flask_gallery_media"
        )
        self.media = MediaStore(
            Path(media_dir),
            t.cast("str | bytes", app.secret_key),
            encode_ahead=config["GALLERY_ENCODE_AHEAD"],
            keep_metadata=bool(config["GALLERY_KEEP_METADATA"]),
            served_paths=served_paths(app, media_dir, config),
            leases=config["GALLERY_MEDIA_TTL"] is not None,
            max_decode_bytes=max_decode_bytes,
        )
        "The content-addressed store every item of this app goes through."
        self._sweeper: Sweeper | None = None
        self.redis: RedisMode | None = None
        "The Redis parts with ``GALLERY_QUEUE_URL`` (several processes or hosts), else None."
        if config["GALLERY_QUEUE_URL"]:
            from .redis_mode import RedisMode

            self.redis = RedisMode(app, config)
            self.pages: PageStore = self.redis.page_store(_page_dropped(weakref.ref(self)))
            # Every process claims jobs from its first request on (the queue is shared).
            app.before_request(self._start_engine)
        else:
            self.pages = MemoryPageStore(
                ttl=config["GALLERY_PAGE_TTL"],
                max_pages=config["GALLERY_MAX_PAGES"],
                max_pages_per_session=config["GALLERY_MAX_PAGES_PER_SESSION"],
                on_drop=_page_dropped(weakref.ref(self)),
            )
        "Per-page gallery state (value, selection, preview), bounded in count and idle time."
        self.processes = Processes(config["GALLERY_QUEUE_URL"])
        "What the page and the log are told of pages made by the server's other processes."
        self.sockets = SocketRegistry(
            max_sockets=config["GALLERY_MAX_SOCKETS"],
            max_per_session=config["GALLERY_MAX_SOCKETS_PER_SESSION"],
        )
        "The pages' open sockets, kept below what the server can hold besides its requests."
        self._static_items: dict[str, list[MediaItem]] = {}
        #: Held by the first render while it converts static values and compiles templates.
        self._first_render = threading.Lock()
        self._templates_ready = False
        self._lock = threading.Lock()
        self._download_sets: collections.OrderedDict[str, DownloadEntries] = (
            collections.OrderedDict()
        )
        self._download_items = 0
        self.missing_elements: set[str] = set()
        "Element ids already logged as missing from a page (debug mode)."
        self._secret = hashlib.sha256(str(app.secret_key).encode()).digest()
        _live.add(self)  # last: a state that failed to build has nothing to shut down

    def engine(self) -> EventEngine:
        """The app's event engine, started on first use so apps that never fire an event start
        no threads. Every declared listener is registered at that moment."""
        with self._lock:
            if self._engine is None:
                app = self._app()
                if app is None:
                    raise RuntimeError("The app this gallery state belongs to is gone.")
                engine = EventEngine(
                    backend=None if self.redis is None else self.redis.backend(),
                    default_concurrency_limit=self.config["GALLERY_DEFAULT_CONCURRENCY_LIMIT"],
                    max_queue_size=self.config["GALLERY_MAX_QUEUE_SIZE"],
                    max_queued_per_page=self.config["GALLERY_MAX_QUEUED_PER_PAGE"],
                    max_queued_per_session=self.config["GALLERY_MAX_QUEUED_PER_SESSION"],
                    handler_timeout=self.config["GALLERY_HANDLER_TIMEOUT"],
                    max_threads=self.config["GALLERY_MAX_THREADS"],
                    debug=self._debug,
                    run_context=run_context(app),
                    # This app's conversions (listeners are shared by every app).
                    preprocess=functools.partial(preprocess_inputs, self),
                    postprocess=functools.partial(apply_outputs, self),
                    on_end=functools.partial(after_job, self),
                )
                engine.register(*self.registry.listenables())
                self._engine = engine
            return self._engine

    def _start_engine(self) -> None:
        if self._engine is None:
            self.engine()

    def running_engine(self) -> EventEngine | None:
        """The engine if it has started (None otherwise: this never starts it)."""
        with self._lock:
            return self._engine

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the engine (cancelling what is queued), media retention and the media store's
        background work."""
        with self._lock:
            engine, self._engine = self._engine, None
            sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.stop(timeout)
        if engine is not None:
            engine.shutdown(timeout=timeout)
        self.media.close()
        if self.redis is not None:  # its connections close (a later call opens them again)
            self.redis.client.connection_pool.disconnect()

    def start_retention(self) -> None:
        """Start renewing the leases of the media this process uses, and (unless
        ``GALLERY_MEDIA_SWEEP`` is off) deleting media unused for ``GALLERY_MEDIA_TTL``; on the
        first render, not at init_app, so a server that forks its workers starts it in each
        worker. Nothing happens without a TTL."""
        ttl = self.config["GALLERY_MEDIA_TTL"]
        if ttl is None or self._sweeper is not None:
            return
        with self._lock:
            if self._sweeper is None:
                self._sweeper = Sweeper(
                    self.media, ttl, self.media_in_use, delete=self.config["GALLERY_MEDIA_SWEEP"]
                )
                self._sweeper.start()

    def media_in_use(self) -> set[str]:
        """Keys this process references: live pages, queued and running jobs, declared values."""
        keys = in_use.page_keys(self.media, self.pages.live_pages())
        engine = self._engine
        if engine is not None:
            keys |= in_use.job_keys(self.media, engine.backend.jobs())
        return keys | in_use.item_keys(self.media, self.declared_items())

    def declared_items(self) -> list[MediaItem]:
        """The items of every gallery declared with a fixed value (converted now if no page
        showed them yet); a value that cannot be converted is skipped with a warning (its
        gallery cannot render either)."""
        items: list[MediaItem] = []
        for gallery in self.registry.galleries.values():
            if callable(gallery.value):
                continue
            try:
                items += self.items_for(gallery)
            except (OSError, TypeError, ValueError) as exc:
                _log.warning(
                    "Gallery %r: its declared value cannot be stored: %s", gallery.name, exc
                )
        return items

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
        cached, so pages opened together on a fresh server would each compile every template
        at once, in their own threads (CPU, and peak memory in each thread's glibc arena). The
        first render compiles; the others wait."""
        if self._templates_ready:
            return
        with self._first_render:
            if not self._templates_ready:
                for name in env.list_templates(filter_func=_ours):
                    env.get_template(name)
                self._templates_ready = True

    def download_set(self, items: t.Sequence[MediaItem]) -> str | None:
        """A short key for "Download all" of exactly these items under their own names (None
        when none is stored here: external URLs are never fetched). The key covers the names,
        so pages holding the same files under other names get sets of their own. Kept in a
        bounded, most-recent-first table, so a page rendered long ago may find its key
        forgotten and get a 404, never another set."""
        entries = tuple((item.id, item.orig_name) for item in items if item.id is not None)
        if not entries:
            return None
        text = json.dumps(entries, separators=(",", ":"), ensure_ascii=False)
        message = text.encode("utf-8", "surrogatepass")
        key = hmac.new(self._secret, message, "sha256").hexdigest()[:32]
        if self.redis is not None:
            self.redis.keep_download(key, entries)
            return key
        with self._lock:
            if key not in self._download_sets:
                self._download_sets[key] = entries
                self._download_items += len(entries)
            self._download_sets.move_to_end(key)
            while len(self._download_sets) > 1 and (
                len(self._download_sets) > DOWNLOAD_SETS or self._download_items > DOWNLOAD_ITEMS
            ):
                self._download_items -= len(self._download_sets.popitem(last=False)[1])
        return key

    def download_entries(self, key: str) -> DownloadEntries | None:
        if self.redis is not None:
            return self.redis.download(key)
        with self._lock:
            return self._download_sets.get(key)

    def convert(self, gallery: Gallery, value: GalleryValue) -> list[MediaItem]:
        """Every way items enter a gallery (a declared or callable value, a handler's output,
        ``page.update``) comes here: the size limit is checked before any item is converted.
        A path outside the folders the app may serve is the handler's failure with a message
        for the page (as Gradio's ``allowed_paths``) that does not show the path; the log
        names the gallery and the path."""
        max_items = self.config["GALLERY_MAX_ITEMS"]
        if isinstance(value, (list, tuple)) and len(value) > max_items:
            raise TooManyItems(
                f"Gallery {gallery.name!r} was given {len(value)} items; a gallery holds at "
                f"most {max_items}. Give it fewer, or raise GALLERY_MAX_ITEMS in the app's config."
            )
        try:
            return self.media.postprocess(value, format=gallery.props.format)
        except PathRefused as exc:
            _log.warning("Gallery %r: %s", gallery.name, exc)
            raise Error(exc.public) from exc
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"Gallery {gallery.name!r}: {exc}") from exc


def _page_dropped(state: weakref.ref[AppState]) -> t.Callable[[str], None]:
    """What a dropped page (expired, evicted, over its session's cap) leaves behind: its queued,
    deferred and running submissions are cancelled, as Gradio drops the events of a client
    that went away. An engine that never started has none, and is not started for that."""

    def dropped(token: str) -> None:
        app = state()
        engine = app.running_engine() if app is not None else None
        if engine is not None:
            engine.close_page(token)

    return dropped


def app_state() -> AppState:
    """The current app's gallery state; raises a clear error when it was never registered."""
    return t.cast(AppState, registered())
