"""Several processes or hosts on one Redis (``GALLERY_QUEUE_URL``): what moves there.

The engine's queue and page channels (:mod:`.queue.redis_backend`), the page state
(:mod:`..page.redis_store`) and the "Download all" sets. Media stays in ``GALLERY_MEDIA_DIR``, which
every host must mount (it is content-addressed and written atomically, so sharing it is safe).
Nothing here is imported without ``GALLERY_QUEUE_URL``: one process needs no Redis at all.
"""

from __future__ import annotations

import json
import logging
import typing as t

from flask import Response

from ..page.redis_store import RedisPageStore
from ..queue.redis_backend import RedisBackend
from ..queue.redis_client import connect
from .responses import unavailable

if t.TYPE_CHECKING:
    from flask import Flask

_log = logging.getLogger(__name__)

#: Seconds a "Download all" set is kept after it was last drawn.
DOWNLOAD_TTL = 24 * 3600


#: What a page shows for a request made while Redis cannot be reached.
UNAVAILABLE = (
    "The server cannot reach its queue right now, so this was not done. Try again in a few seconds."
)
#: Seconds a client is told to wait before trying again.
RETRY_AFTER = 5


def _unavailable(exc: Exception) -> Response:
    """Redis lost for a moment: the request is refused with a message in the page (503 and
    ``Retry-After``), nothing half done; the next request tries Redis again."""
    _log.warning("flask_gallery: Redis unavailable (%s); request refused with 503", exc)
    return unavailable(UNAVAILABLE, RETRY_AFTER)


class RedisMode:
    """The Redis parts of one app; ``connect`` fails at start, naming the URL, when Redis
    cannot be reached."""

    def __init__(self, app: Flask, config: t.Mapping[str, t.Any]) -> None:
        self.url = str(config["GALLERY_QUEUE_URL"])
        self.client = connect(self.url)
        #: Several apps may share one Redis: each keeps to its own keys.
        self.prefix = f"flask_gallery:{app.import_name}:"
        import redis

        self._lost = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
        for lost in self._lost:
            app.register_error_handler(lost, _unavailable)
        self._config = config
        #: Whether this process runs handlers (``GALLERY_RUN_HANDLERS``; a worker always does).
        self.run_handlers = bool(config["GALLERY_RUN_HANDLERS"])

    def refusal(self, exc: BaseException) -> str | None:
        """What a click that failed with ``exc`` is answered with when Redis was out of reach
        (None for any other failure): for clicks that come over a page's socket, where the
        app's error handlers do not run."""
        if not isinstance(exc, self._lost):
            return None
        _log.warning("flask_gallery: Redis unavailable (%s); a click was refused", exc)
        return UNAVAILABLE

    def page_store(self, on_drop: t.Callable[[str], None]) -> RedisPageStore:
        config = self._config
        return RedisPageStore(
            self.client,
            self.prefix,
            ttl=config["GALLERY_PAGE_TTL"],
            max_pages=config["GALLERY_MAX_PAGES"],
            max_pages_per_session=config["GALLERY_MAX_PAGES_PER_SESSION"],
            on_drop=on_drop,
        )

    def backend(self) -> RedisBackend:
        return RedisBackend(
            self.client,
            self.prefix,
            lease=float(self._config["GALLERY_JOB_LEASE_SECONDS"]),
            run_handlers=self.run_handlers,
        )

    def keep_download(self, key: str, entries: t.Sequence[tuple[str, str | None]]) -> None:
        self.client.set(f"{self.prefix}dl:{key}", json.dumps(entries), ex=DOWNLOAD_TTL)

    def download(self, key: str) -> tuple[tuple[str, str | None], ...] | None:
        body = self.client.get(f"{self.prefix}dl:{key}")
        if body is None:
            return None
        return tuple((media_id, name) for media_id, name in json.loads(body))
