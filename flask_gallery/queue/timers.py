"""One thread that runs short callbacks at given times (periodic ticks, delayed progress).

A thread per timer (``threading.Timer``) would multiply threads with pages; this one sleeps until
the earliest deadline and is started only when first needed.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import typing as t

_log = logging.getLogger("flask_gallery.queue")


class TimerHandle:
    __slots__ = ("cancelled", "fn")

    def __init__(self, fn: t.Callable[[], None]) -> None:
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    def __init__(self, name: str = "flask_gallery-timers") -> None:
        self._name = name
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._counter = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False

    def call_later(self, delay: float, fn: t.Callable[[], None]) -> TimerHandle:
        handle = TimerHandle(fn)
        with self._cond:
            if self._closed:
                handle.cancelled = True
                return handle
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._counter), handle))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify()
        return handle

    def close(self, timeout: float | None = 10.0) -> None:
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    if self._heap:
                        due, _, handle = self._heap[0]
                        delay = due - time.monotonic()
                        if delay <= 0:
                            heapq.heappop(self._heap)
                            break
                        self._cond.wait(delay)
                    else:
                        self._cond.wait()
            if not handle.cancelled:
                try:
                    handle.fn()
                except Exception:
                    _log.exception("flask_gallery timer callback failed")
