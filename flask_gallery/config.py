"""The extension's configuration: every ``GALLERY_*`` key with its default, read once per app
by :meth:`~flask_gallery.FlaskGallery.init_app`, and the checks that make a bad value fail
there, naming the key, instead of at the first request."""

from __future__ import annotations

import logging
import os
import tempfile
import typing as t

from .media.paths import ServedPaths
from .media.retention import check_ttl

if t.TYPE_CHECKING:
    from flask import Flask

_log = logging.getLogger("flask_gallery")

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
    #: Items in one window of a large gallery's grid: a gallery holding more draws its first
    #: window only, and each further window when it scrolls near (one GET each), with a
    #: placeholder of the right height standing for every window not drawn. Rounded up to a
    #: multiple of the grid's column counts, so every window fills whole rows.
    "GALLERY_WINDOW_SIZE": 60,
    #: Windows a page keeps drawn per gallery at most: those farthest from the view are
    #: dropped (back to their placeholder) past it, so the page's DOM stays bounded however far
    #: the user scrolls.
    "GALLERY_MAX_WINDOWS": 5,
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


def read_config(app: Flask) -> dict[str, t.Any]:
    """The app's ``GALLERY_*`` keys (defaults filled in), checked."""
    for key, default in DEFAULT_CONFIG.items():
        app.config.setdefault(key, default)
    config = {key: app.config[key] for key in DEFAULT_CONFIG}
    config["GALLERY_MEDIA_TTL"] = check_ttl(config["GALLERY_MEDIA_TTL"])
    check_click_rate(config)
    check_windows(config)
    decode_budget(config)
    return config


def _folders(config: t.Mapping[str, t.Any], key: str) -> list[str | os.PathLike[str]]:
    folders = config[key]
    if isinstance(folders, (str, bytes, os.PathLike)) or not isinstance(folders, (list, tuple)):
        raise TypeError(
            f"{key} must be a list of folders (or files), e.g. ['/srv/outputs']; got {folders!r}."
        )
    for folder in folders:
        if not isinstance(folder, (str, os.PathLike)):
            raise TypeError(f"{key} holds {folder!r}; each entry must be a str or Path.")
    return list(folders)


def served_paths(app: Flask, media_dir: str, config: t.Mapping[str, t.Any]) -> ServedPaths:
    """The files str/Path gallery values may name: the app's root, instance and media
    folders, the temp folder and ``GALLERY_ALLOWED_PATHS``, minus ``GALLERY_BLOCKED_PATHS``."""
    extra = _folders(config, "GALLERY_ALLOWED_PATHS")
    description = "its root, instance and media folders and the temp folder"
    if extra:
        description += ", and GALLERY_ALLOWED_PATHS"
    paths = ServedPaths(
        [app.root_path, app.instance_path, media_dir, tempfile.gettempdir(), *extra],
        _folders(config, "GALLERY_BLOCKED_PATHS"),
        description=description,
    )
    everything = [folder for folder in paths.allowed if os.path.dirname(folder) == folder]
    if everything:
        # Flask's root path is the working directory when the import name is no module
        # (Flask("app") started from "/" in a container): that would allow every file.
        _log.warning(
            "Gallery values may name any file on this server: %r is among the folders they "
            "may name (the app's root path is %r). Give Flask the import name of the app's "
            "module (Flask(__name__)) or set root_path, and list extra folders in "
            "GALLERY_ALLOWED_PATHS.",
            everything[0],
            app.root_path,
        )
    return paths


def check_click_rate(config: t.Mapping[str, t.Any]) -> None:
    """``GALLERY_MAX_CLICKS_PER_SECOND`` is a positive number or None, or init_app says so."""
    rate = config["GALLERY_MAX_CLICKS_PER_SECOND"]
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float))):
        rate = -1
    if rate is not None and rate <= 0:
        raise ValueError(
            "GALLERY_MAX_CLICKS_PER_SECOND must be a number of clicks > 0 (e.g. 30), or None "
            f"for no limit; got {config['GALLERY_MAX_CLICKS_PER_SECOND']!r}."
        )


def check_windows(config: t.Mapping[str, t.Any]) -> None:
    """``GALLERY_WINDOW_SIZE`` and ``GALLERY_MAX_WINDOWS`` are whole numbers the windowed grid
    can work with, or init_app says so."""
    for key, least in (("GALLERY_WINDOW_SIZE", 1), ("GALLERY_MAX_WINDOWS", 2)):
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(
                f"{key} must be a whole number >= {least} (default "
                f"{DEFAULT_CONFIG[key]}); got {value!r}."
            )


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
