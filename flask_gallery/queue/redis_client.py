"""The connection to Redis that several processes or hosts share (``GALLERY_QUEUE_URL``).

Imported only when the app sets ``GALLERY_QUEUE_URL``: the one-process path never loads the
``redis`` package. Each rule that must hold across processes is one Lua script under ``lua/``
(EVALSHA, so a script's keys change atomically: no rule depends on timing luck). Scripts build
their keys from a base passed in ARGV, so they need a standalone Redis (or Sentinel), not Cluster.
"""

from __future__ import annotations

import importlib.resources
import sys
import threading
import typing as t
import urllib.parse

from .messages import lua_tables

if t.TYPE_CHECKING:
    import redis
    from redis.commands.core import Script

#: The URL schemes redis-py connects with: TCP, TLS, a Unix socket.
SCHEMES = ("redis", "rediss", "unix")
#: Connections a gevent worker process keeps to Redis at most (besides its pub/sub reader's).
GREEN_CONNECTIONS = 16


class RedisUnavailable(RuntimeError):
    """Redis cannot be reached at the configured URL."""


def shown(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def connect(url: str, *, timeout: float = 5.0) -> redis.Redis:
    """A client for ``url``, checked with a PING so a wrong URL fails at start, by name."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in SCHEMES:
        raise ValueError(
            f"GALLERY_QUEUE_URL={shown(url)!r} is not a Redis URL: it must start with "
            "redis://host:port/db, rediss:// (TLS) or unix:///path/to/redis.sock."
        )
    try:
        import redis
    except ImportError:
        raise RuntimeError(
            "GALLERY_QUEUE_URL is set, but the redis package is not installed: "
            "pip install 'flask-gallery[redis]'."
        ) from None
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # A connection that Redis closed (a restart) is found at its next command: that command
    # is sent again once, on a new connection. The scripts take such a repeat as the same call.
    again = Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,))
    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout, "retry": again}
    if _green():
        # A greenlet per open page: a pool that grows to the peak number of greenlets waiting
        # on Redis would hold a connection per page. These few are enough for one OS thread.
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=GREEN_CONNECTIONS, timeout=timeout, **options
        )
        client = redis.Redis(connection_pool=pool)
    else:
        client = _per_thread(redis).from_url(url, **options)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise RedisUnavailable(
            f"Cannot reach Redis at GALLERY_QUEUE_URL={shown(url)!r}: {exc}. Start redis-server "
            "there (or correct the URL), or remove GALLERY_QUEUE_URL to run in one process."
        ) from exc
    return client


def _per_thread(redis: t.Any) -> type[redis.Redis]:
    """A client whose commands go over a connection of the calling thread's own (taken from the
    pool once per thread), instead of taking one from the pool and checking it for stray data
    at every command: about a third less of redis-py's time per call, and fewer system calls,
    each of which hands the GIL over under load. Not under gevent, where a "thread" is a
    greenlet per open page: each would hold a connection, and one OS thread has no GIL to
    hand over. (Not under gevent, where a "thread" is a greenlet per open page.)"""

    class PerThreadRedis(redis.Redis):  # type: ignore[misc]
        def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
            super().__init__(*args, **kwargs)
            self._own = threading.local()

        def execute_command(self, *args: t.Any, **options: t.Any) -> t.Any:
            own = getattr(self._own, "client", None)
            if own is None:  # given back to the pool when the thread ends
                own = redis.Redis(
                    connection_pool=self.connection_pool, single_connection_client=True
                )
                self._own.client = own
            return own.execute_command(*args, **options)

    return PerThreadRedis


def _green() -> bool:
    """Whether gevent has patched this process's threads (gunicorn's gevent worker)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("threading"))


def script(client: redis.Redis, name: str, *libraries: str) -> Script:
    """The Lua script ``lua/<name>.lua`` after the ``lua/lib_<library>.lua`` files it uses
    (EVAL has no imports), registered on ``client`` (loaded on first call)."""
    folder = importlib.resources.files(__package__) / "lua"
    parts = [lua_tables()]
    parts += [(folder / f"lib_{lib}.lua").read_text() for lib in libraries]
    parts.append((folder / f"{name}.lua").read_text())
    return client.register_script("\n".join(parts))
