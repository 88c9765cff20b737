"""Image work off gevent's event loop, and large decodes at low CPU priority.

Under gunicorn's gevent worker every page of the process shares one OS thread: a 256 MB
decode (a second or more) there stops every other request of the worker for that long (a
plain page waited 4.3 s while four clients' bombs decoded). Pillow and numpy release the GIL
while they work, so running that work in one of gevent's real threads keeps the loop serving.
Only pure image work is sent there: it must not touch gevent's (monkey-patched) locks and
events, which are not safe across OS threads. Without gevent, work runs where it is called.

Work on a large image (``heavy``: a decode of :data:`.thumbnails.LARGE` bytes or more) runs in
threads of its own whose nice value is raised by :data:`HEAVY_NICE`. Anyone may upload an image
at the pixel limit, and its decode and resize take seconds of a core: at normal priority that
CPU is taken from every other request of the server (on a 2-core machine, a decompression bomb
beside 100 users doubled their slowest uploads and page loads). At low priority the kernel runs
the large decode only with CPU nobody else wants; on an idle server it runs as fast as before.
The threads' priority is raised for good (lowering it again needs privileges), so they serve
only this work. The decode budget (:mod:`.budget`) bounds how much of it runs at once.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import threading
import typing as t

if t.TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

R = t.TypeVar("R")

#: How much the nice value of the threads doing large image work is raised (0-19; 10 gives
#: them about a tenth of the CPU share of a normal thread when both want it).
HEAVY_NICE = 10

#: Threads for large image work in a thread-based server (the budget rarely admits more
#: than one or two such decodes at once).
HEAVY_THREADS = 2

_lock = threading.Lock()
_pools: dict[str, t.Any] = {}
if hasattr(os, "register_at_fork"):
    # A pool made before a fork (gunicorn --preload) has no threads in the child.
    os.register_at_fork(after_in_child=_pools.clear)


def offload(fn: t.Callable[..., R], *args: t.Any, heavy: bool = False) -> R:
    """``fn(*args)``: in gevent's thread pool when threads are gevent's greenlets; in a
    low-priority thread when ``heavy``; else where it is called."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        if heavy:
            return t.cast(R, _gevent_pool().apply(_at_low_priority, (fn, *args)))
        hub = sys.modules["gevent"].get_hub()  # loaded with gevent.monkey
        return t.cast(R, hub.threadpool.apply(fn, args))
    if heavy:
        return _thread_pool().submit(fn, *args).result()
    return fn(*args)


def lower_priority() -> None:
    """Lower the calling OS thread to :data:`HEAVY_NICE` above the process's nice value
    (Linux: nice is per thread); a thread already there is left alone, so this may be called
    before every task. Where the system has no per-thread priority, work runs at normal
    priority."""
    if not hasattr(os, "setpriority"):
        return
    try:
        tid = threading.get_native_id()
        target = min(19, _process_nice() + HEAVY_NICE)
        if os.getpriority(os.PRIO_PROCESS, tid) < target:
            os.setpriority(os.PRIO_PROCESS, tid, target)
    except OSError:  # a sandbox that forbids it: normal priority is still correct
        pass


@functools.cache
def _process_nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, 0)


def _at_low_priority(fn: t.Callable[..., R], *args: t.Any) -> R:
    lower_priority()  # gevent's pool has no initializer
    return fn(*args)


def _thread_pool() -> ThreadPoolExecutor:
    from concurrent.futures import ThreadPoolExecutor  # costs the import only where used

    with _lock:
        pool = _pools.get("threads")
        if pool is None:
            pool = _pools["threads"] = ThreadPoolExecutor(
                HEAVY_THREADS, thread_name_prefix="gallery-large-image", initializer=lower_priority
            )
        return t.cast(ThreadPoolExecutor, pool)


def _gevent_pool() -> t.Any:
    with _lock:
        pool = _pools.get("gevent")
        if pool is None:
            pool = _pools["gevent"] = importlib.import_module("gevent.threadpool").ThreadPool(
                HEAVY_THREADS
            )
        return pool
