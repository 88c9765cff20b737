"""Making each derived file once, and the small pool that makes them ahead of requests.

A request for a thumbnail that a background worker (or another request) is making waits for
that work instead of repeating it; files are written atomically (see :mod:`.disk`), so even two
processes racing on the same key only waste work, never serve half a file.
"""

from __future__ import annotations

import logging
import os
import threading
import typing as t

if t.TYPE_CHECKING:
    import concurrent.futures

logger = logging.getLogger("flask_gallery.media")


class Once:
    """Runs ``make`` for a name unless ``done()``; concurrent callers for that name wait."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[t.Hashable, threading.Event] = {}

    def run(self, name: t.Hashable, done: t.Callable[[], bool], make: t.Callable[[], None]) -> None:
        while not done():
            with self._lock:
                event = self._running.get(name)
                owner = event is None
                if event is None:
                    event = self._running[name] = threading.Event()
            if not owner:
                # Someone else is making it; if they failed, the loop tries again here.
                event.wait()
                continue
            try:
                if not done():
                    make()
            finally:
                with self._lock:
                    del self._running[name]
                event.set()
            return


T = t.TypeVar("T")
R = t.TypeVar("R")


class Pool:
    """A lazily started thread pool: hashlib and Pillow's codecs release the GIL, so its
    threads really run in parallel."""

    def __init__(self, workers: int | None = None, name: str = "flask_gallery-media") -> None:
        self._workers = workers or min(4, os.cpu_count() or 2)
        self._name = name
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._closed = False
        self._pending: set[concurrent.futures.Future[object]] = set()

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor | None:
        if self._closed:
            return None
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor  # imported by the first render

            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix=self._name)
        return self._pool

    def map(self, fn: t.Callable[[T], R], items: t.Sequence[T]) -> list[R]:
        """``[fn(item) ...]`` in parallel; the first failure in order is raised, as a loop
        would."""
        with self._lock:
            pool = self._executor() if len(items) > 1 else None
        if pool is None:
            return [fn(item) for item in items]
        return list(pool.map(fn, items))

    def submit(self, fn: t.Callable[[], object]) -> concurrent.futures.Future[object] | None:
        """Run ``fn`` later; failures are logged, since no request is waiting to see them."""
        with self._lock:
            pool = self._executor()
            if pool is None:
                return None
            future = pool.submit(fn)
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: concurrent.futures.Future[object]) -> None:
        with self._lock:
            self._pending.discard(future)
        if not future.cancelled() and (exc := future.exception()) is not None:
            logger.error("Background media work failed", exc_info=exc)

    def join(self) -> None:
        """Wait until everything submitted so far (and anything it queued) has run."""
        while True:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return
            from concurrent.futures import wait

            wait(pending)

    def close(self, *, cancel: bool = True) -> None:
        """Stop the workers once running work ends; queued work is dropped unless ``cancel``
        is False. Nothing is lost by dropping it: files are made on their first request."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=cancel)
