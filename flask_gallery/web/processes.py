"""Several server processes without ``GALLERY_QUEUE_URL``: the page and the log say so.

Without ``GALLERY_QUEUE_URL`` each process keeps the pages it drew in its own memory
(:class:`~flask_gallery.page.state.MemoryPageStore`), so a click, poll or socket that reaches
another process than the one that drew its page finds nothing there. Page tokens carry a tag of the
process that made them (:func:`~flask_gallery.page.state.new_token`), so such a request is told
apart from one whose page expired here: its page is told to reload, and the log says that several
processes need ``GALLERY_QUEUE_URL``, at most once a minute, so made-up tokens cannot flood it. A
server that says it runs several processes is warned about once, when it loads the app or at its
first request. No Flask here: the views pass the request's facts in.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import typing as t

from ..page.state import process_tag, token_tag
from .capacity import gunicorn_workers

_log = logging.getLogger("flask_gallery")

#: Where README explains what to do (the anchor of its "Deployment" heading).
DEPLOYMENT = 'README.md, section "Deployment" (README.md#deployment)'
#: Seconds between two log lines about pages of other processes, at least.
LOG_EVERY = 60.0


class Processes:
    """What one app says about the server's other processes.

    :param queue_url: ``GALLERY_QUEUE_URL``; when set, every process sees every page, and
        nothing here says otherwise.
    :param clock: seconds, for the log's rate (tests pass their own).
    """

    def __init__(
        self, queue_url: str | None, *, clock: t.Callable[[], float] = time.monotonic
    ) -> None:
        self.shared = bool(queue_url)
        "True with ``GALLERY_QUEUE_URL``: pages are not this process's alone."
        self.server_checked = False
        "True once the server's processes were counted (:meth:`check_server`)."
        self._clock = clock
        self._lock = threading.Lock()
        self._next_line = -math.inf
        self._unlogged = 0

    def made_elsewhere(self, token: str, where: str) -> bool:
        """True when ``token`` was made by another process of this server, whose pages this one
        cannot see: the log says so, at most once every :data:`LOG_EVERY` seconds (the next
        line counts the others). ``where`` names the route that was asked (an endpoint)."""
        if self.shared:
            return False
        tag = token_tag(token)  # only the tag of a well-formed token is ever logged
        if tag is None or tag == process_tag():
            return False
        with self._lock:
            now = self._clock()
            if now < self._next_line:
                self._unlogged += 1
                return True
            self._next_line = now + LOG_EVERY
            unlogged, self._unlogged = self._unlogged, 0
        _log.warning(
            "A request to %r named a gallery page made by another process of this server (tag "
            "%r; this process is %r). Without GALLERY_QUEUE_URL each process keeps its own "
            "pages, so the page was told to reload. Several worker processes or hosts need "
            "GALLERY_QUEUE_URL: see %s. After a restart this is expected once per page that "
            "was open.%s",
            where,
            tag,
            process_tag(),
            DEPLOYMENT,
            f" {unlogged} more such requests since the last such line were not logged (one "
            f"line every {LOG_EVERY:.0f} s at most)."
            if unlogged
            else "",
        )
        return True

    def check_server(self, multiprocess: bool | None = None) -> None:
        """Warn once when the server runs several processes and pages are not shared.

        gunicorn's ``--workers`` is known while gunicorn loads the app or serves a request;
        any other server's only at a request, from WSGI's ``wsgi.multiprocess``
        (``multiprocess``, None outside a request: then nothing is decided yet)."""
        if self.server_checked:
            return
        workers = gunicorn_workers()
        if workers is None and multiprocess is None:
            return
        with self._lock:
            if self.server_checked:
                return
            self.server_checked = True
        several = workers > 1 if workers is not None else bool(multiprocess)
        if not several or self.shared:
            return
        server = (
            f"gunicorn runs {workers} worker processes (--workers {workers})"
            if workers is not None
            else "This server runs several processes (its WSGI environ says wsgi.multiprocess)"
        )
        _log.warning(
            "%s and GALLERY_QUEUE_URL is not set: each process keeps the gallery pages it drew, "
            "so a click, poll or socket that reaches another process than its page's is refused "
            "and the page says to reload. Several worker processes or hosts need "
            "GALLERY_QUEUE_URL; or run one process (gunicorn -w 1 --threads N, or its gevent "
            "worker). See %s.",
            server,
            DEPLOYMENT,
        )
