"""``every=``: a listener that runs periodically for each connected page.

Gradio's ``every``/``gr.Timer`` ticks in the browser, and only while the tab is visible; here the
server ticks for each page that has its channel open, and stops when the page goes away. A tick
that finds the previous run of the same page still queued or running is skipped, so runs never
overlap and the period stretches to the run time, as with Gradio's timer.
"""

from __future__ import annotations

import threading
import typing as t

from ..events import Listener
from ..request import Request
from .timers import Scheduler, TimerHandle

#: Submit a tick: (listener, page, request snapshot of the page's connection).
TickSubmit = t.Callable[[Listener, str, Request | None], None]


class _Page:
    __slots__ = ("connections", "request", "timers")

    def __init__(self, request: Request | None) -> None:
        self.request = request
        self.timers: dict[str, TimerHandle] = {}
        #: Open channels of the page: a reconnect may open the new one before the old one closes.
        self.connections = 0


class Periodic:
    def __init__(
        self,
        submit: TickSubmit,
        is_active: t.Callable[[str, str], bool],
        scheduler: Scheduler,
    ) -> None:
        self._submit = submit
        self._is_active = is_active
        self._scheduler = scheduler
        # Reentrant: a subscriber called during a tick's submission may disconnect the page.
        self._lock = threading.RLock()
        self._listeners: dict[str, Listener] = {}
        self._pages: dict[str, _Page] = {}

    def add(self, listener: Listener) -> None:
        """Tick ``listener`` for every connected page from now on."""
        if listener.every is None:
            return
        with self._lock:
            if listener.id in self._listeners:
                return
            self._listeners[listener.id] = listener
            for page in self._pages:
                self._schedule_locked(page, listener)

    def connect(self, page: str, request: Request | None) -> None:
        with self._lock:
            state = self._pages.get(page)
            if state is None:
                state = self._pages[page] = _Page(request)
                for listener in self._listeners.values():
                    self._schedule_locked(page, listener)
            state.request = request or state.request
            state.connections += 1

    def disconnect(self, page: str, *, all_connections: bool = False) -> None:
        with self._lock:
            state = self._pages.get(page)
            if state is None:
                return
            state.connections -= 1
            if state.connections > 0 and not all_connections:
                return
            del self._pages[page]
        for timer in state.timers.values():
            timer.cancel()

    def pages(self) -> list[str]:
        with self._lock:
            return list(self._pages)

    def close(self) -> None:
        with self._lock:
            pages, self._pages = self._pages, {}
        for state in pages.values():
            for timer in state.timers.values():
                timer.cancel()

    def _schedule_locked(self, page: str, listener: Listener) -> None:
        assert listener.every is not None
        self._pages[page].timers[listener.id] = self._scheduler.call_later(
            listener.every, lambda: self._tick(page, listener)
        )

    def _tick(self, page: str, listener: Listener) -> None:
        # Submitting under the lock means no tick reaches the queue after disconnect() returned.
        with self._lock:
            state = self._pages.get(page)
            if state is None:
                return
            self._schedule_locked(page, listener)
            if not self._is_active(page, listener.id):
                self._submit(listener, page, state.request)
