"""The page sockets this process holds open: one per page, a few per session, a bounded total.

Each open socket holds a server thread (or a gevent connection slot) for its whole life, so the
server keeps them below what it has (:mod:`.capacity`); a page refused one gets its results by
polling instead. A page's new socket replaces its old one (a reconnect, or a second client of the
same page), so one page never holds two. No Flask here: :mod:`.ws` admits each socket before
its handshake and releases it when the request ends, whatever ended it.
"""

from __future__ import annotations

import threading
import typing as t

from .capacity import server_socket_capacity


class SocketRefused(Exception):
    """Over a cap: the page must poll. ``per_session`` tells which cap (for the status code)."""

    def __init__(self, message: str, *, per_session: bool) -> None:
        super().__init__(message)
        self.per_session = per_session


class Slot:
    """One admitted socket of a page, until :meth:`SocketRegistry.release`."""

    __slots__ = ("_wake", "page", "replaced", "session")

    def __init__(self, page: str, session: str) -> None:
        self.page = page
        self.session = session
        #: Set when a newer socket of the same page was admitted: this one must close.
        self.replaced = False
        self._wake: t.Callable[[], None] | None = None

    def bind(self, wake: t.Callable[[], None]) -> None:
        """``wake`` interrupts the socket's wait, so it sees :attr:`replaced` at once."""
        self._wake = wake
        if self.replaced:
            wake()

    def replace(self) -> None:
        self.replaced = True
        if self._wake is not None:
            self._wake()


class SocketRegistry:
    """Counts the open sockets, in total and per session, and knows each page's newest one.

    :param max_sockets: sockets open at once at most; ``None`` for :func:`.server_socket_capacity`,
        found at the first :meth:`admit` (which must run in a request of the server).
    :param max_per_session: sockets one session may hold open at once.
    """

    def __init__(self, *, max_sockets: int | None, max_per_session: int) -> None:
        _check_count("max_per_session", max_per_session)
        if max_sockets is not None:
            _check_count("max_sockets", max_sockets)
        self.max_sockets = max_sockets
        self.max_per_session = max_per_session
        self._lock = threading.Lock()
        self._open = 0
        self._sessions: dict[str, int] = {}
        self._pages: dict[str, Slot] = {}

    def __len__(self) -> int:
        """Sockets open now (a replaced one counts until it has closed: it still holds a thread)."""
        return self._open

    def admit(self, page: str, session: str) -> Slot:
        """A slot for a new socket of ``page``, or :class:`SocketRefused`. The page's previous
        socket is told to close either way (the page reconnected, or is being asked for twice):
        the thread it holds comes back for the next try."""
        if self.max_sockets is None:
            self.max_sockets = server_socket_capacity()
        with self._lock:
            previous = self._pages.pop(page, None)
            if previous is not None:
                previous.replace()
            held = self._sessions.get(session, 0)
            if held >= self.max_per_session:
                raise SocketRefused(
                    f"This browser session already has {held} live connections (the most "
                    f"allowed); this page gets its results by polling.",
                    per_session=True,
                )
            if self._open >= self.max_sockets:
                raise SocketRefused(
                    "The server holds as many live connections as it can; this page gets its "
                    "results by polling.",
                    per_session=False,
                )
            slot = self._pages[page] = Slot(page, session)
            self._sessions[session] = held + 1
            self._open += 1
            return slot

    def release(self, slot: Slot) -> None:
        """The slot's socket has closed (or its handshake failed)."""
        with self._lock:
            self._open -= 1
            left = self._sessions[slot.session] - 1
            if left:
                self._sessions[slot.session] = left
            else:
                del self._sessions[slot.session]
            if self._pages.get(slot.page) is slot:
                del self._pages[slot.page]


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name!r} must be an int >= 0 (0: every page polls), got {value!r}.")
