"""How many page sockets this server process can hold without starving its plain requests.

An open page socket holds what the server serves requests with for as long as it is open: a
thread of gunicorn's gthread pool or of Werkzeug's server (plus simple-websocket's reader
thread), a connection slot (a greenlet) of gunicorn's gevent worker. When sockets take all of
them, a plain ``GET`` waits until one closes: 32 sockets stopped a server of 32 threads. So the
gallery keeps its sockets to three quarters of what the server has, and pages beyond that get
their results by polling, which takes a thread only for the moment of each request.

What the server has is known only inside a request (the app is built before gunicorn picks its
worker), so :func:`server_socket_capacity` is called from one: it finds gunicorn's worker among
the frames that called the app.
"""

from __future__ import annotations

import sys
import types
import typing as t

#: Sockets at most where the server starts a thread per connection without a limit (Werkzeug's,
#: which ``flask run`` uses): each costs two threads, so 64 sockets about 130 threads.
UNBOUNDED_SERVER_SOCKETS = 64


def below(capacity: int) -> int:
    """The sockets to allow out of ``capacity`` threads or connections: a quarter (at least one)
    stays for plain requests, so a server of one thread holds no socket at all."""
    return max(0, capacity - max(1, capacity // 4))


def server_socket_capacity() -> int:
    """The default of ``GALLERY_MAX_SOCKETS`` for the server running this request.

    - gunicorn's gthread worker: 3/4 of ``--threads`` (24 of 32);
    - gunicorn's gevent (or other async) worker: 3/4 of ``--worker-connections``, and of the
      process's open-files limit when that is lower;
    - a gevent-patched process without gunicorn: 3/4 of the open-files limit;
    - gunicorn's sync worker: none (it serves one request at a time);
    - any other server: :data:`UNBOUNDED_SERVER_SOCKETS`.
    """
    worker = _gunicorn_worker()
    if worker is not None:
        from gunicorn.workers.base_async import AsyncWorker

        if isinstance(worker, AsyncWorker):
            return below(min(int(worker.worker_connections), _open_files()))
        return below(int(getattr(worker.cfg, "threads", 1)) if _threaded(worker) else 1)
    if _green():
        return below(_open_files())
    return UNBOUNDED_SERVER_SOCKETS


def _gunicorn_worker() -> t.Any:
    """The gunicorn worker serving this request: the ``self`` of the gunicorn frame that called
    the app (``handle_request``), or None outside gunicorn."""
    if "gunicorn.workers.base" not in sys.modules:
        return None
    from gunicorn.workers.base import Worker

    return next((c for c in _gunicorn_callers() if isinstance(c, Worker)), None)


def gunicorn_workers() -> int | None:
    """gunicorn's ``--workers`` when gunicorn is running this code (loading the app, in its
    arbiter with ``--preload`` or in a worker, or serving a request), else None: read from the
    config of the first gunicorn object (worker, arbiter, application) among the callers."""
    if "gunicorn" not in sys.modules:
        return None
    for caller in _gunicorn_callers():
        workers = getattr(getattr(caller, "cfg", None), "workers", None)
        if isinstance(workers, int):
            return workers
    return None


def _gunicorn_callers() -> t.Iterator[t.Any]:
    """The ``self`` of every gunicorn frame that called this code, innermost first."""
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None:
        if str(frame.f_globals.get("__name__", "")).startswith("gunicorn."):
            candidate = frame.f_locals.get("self")
            if candidate is not None:
                yield candidate
        frame = frame.f_back


def _threaded(worker: t.Any) -> bool:
    from gunicorn.workers.gthread import ThreadWorker

    return isinstance(worker, ThreadWorker)


def _green() -> bool:
    """True when gevent has replaced threads with greenlets in this process."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("threading"))


def _open_files() -> int:
    """The process's open-files limit (each socket is one open file)."""
    try:
        import resource
    except ImportError:  # not a Unix: no such limit to respect
        return 1 << 20
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20
