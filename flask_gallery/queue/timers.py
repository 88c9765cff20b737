"""One thread that runs short callbacks at given times (periodic ticks, delayed progress,
handler timeouts).

A thread per timer (``threading.Timer``) would multiply threads with pages; this one sleeps until
the earliest deadline and is started only when first needed. Most handler timeouts are cancelled
long before they are due (the handler returned), so cancelled timers are dropped from the heap
once they make up half of it: otherwise every run of the last ``timeout`` seconds would stay in
memory until its deadline.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import typing as t

_log = logging.getLogger("flask_gallery.queue")


#: Cancelled timers kept in the heap at most before it is compacted (and at most half of it).
_COMPACT_AFTER = 64


class TimerHandle:
    __slots__ = ("cancelled", "fn", "scheduler")

    def __init__(self, fn: t.Callable[[], None], scheduler: Scheduler | None = None) -> None:
        self.fn = fn
        self.cancelled = False
        self.scheduler = scheduler

    def cancel(self) -> None:
        if self.cancelled:
            return
        self.cancelled = True
        if self.scheduler is not None:
            self.scheduler._cancelled_one()


class Scheduler:
    def __init__(self, name: str = "flask_gallery-timers") -> None:
        self._name = name
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._counter = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False
        #: Cancelled handles still in the heap.
        self._cancelled = 0

    def call_later(self, delay: float, fn: t.Callable[[], None]) -> TimerHandle:
        handle = TimerHandle(fn, self)
        with self._cond:
            if self._closed:
                handle.cancelled = True
                return handle
            entry = (time.monotonic() + delay, next(self._counter), handle)
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            if self._heap[0] is entry:  # a later deadline needs no earlier wake-up
                self._cond.notify()
        return handle

    def _cancelled_one(self) -> None:
        with self._cond:
            self._cancelled += 1
            if self._cancelled > _COMPACT_AFTER and 2 * self._cancelled > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].cancelled]
                heapq.heapify(self._heap)
                self._cancelled = 0

    def pending(self) -> int:
        """Timers in the heap, cancelled ones not yet dropped included (tests watch it)."""
        with self._cond:
            return len(self._heap)

    def close(self, timeout: float | None = 10.0) -> None:
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cancelled = 0
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
                            if handle.cancelled:
                                self._cancelled = max(0, self._cancelled - 1)
                                continue
                            break
                        self._cond.wait(delay)
                    else:
                        self._cond.wait()
            if not handle.cancelled:
                try:
                    handle.fn()
                except Exception:
                    _log.exception("flask_gallery timer callback failed")
