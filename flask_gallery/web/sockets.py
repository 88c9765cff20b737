"""The page sockets this process holds open: one per page, a few per session, a bounded total.

Each open socket holds a server thread (or a gevent connection slot) for its whole life, so the
server keeps them below what it has (:mod:`.capacity`); a page refused one gets its results by
polling instead. A page's new socket replaces its old one (a reconnect, or a second client of the
same page), so one page never holds two. No Flask here: :mod:`.socket` admits each socket before
its handshake and releases it when the request ends, whatever ended it.

Sessions cost nothing to make, so one client can fill the process's cap with sessions of its own
and leave every other page polling. When the cap is reached, a client (remote address) that
would still hold fewer sockets than the client holding the most takes the newest socket of
that client instead (the queue's rule, :mod:`.queue.quotas`): one address never holds every
socket against others, while users behind one proxy address lose nothing below the cap.
"""

from __future__ import annotations

import threading
import typing as t

from .capacity import server_socket_capacity

#: Why a socket closes when a newer socket of its page replaced it.
REPLACED = "Replaced by a newer connection of this page."
#: Why a socket closes when its place went to a client holding fewer.
EVICTED = "Its place went to another client; this page gets its results by polling."


class SocketRefused(Exception):
    """Over a cap: the page must poll. ``per_session`` tells which cap (for the status code)."""

    def __init__(self, message: str, *, per_session: bool) -> None:
        super().__init__(message)
        self.per_session = per_session


class Slot:
    """One admitted socket of a page, until :meth:`SocketRegistry.release`."""

    __slots__ = ("_wake", "client", "page", "replaced", "session", "why")

    def __init__(self, page: str, session: str, client: str | None = None) -> None:
        self.page = page
        self.session = session
        self.client = client
        #: Set when this socket must close: a newer socket of the same page was admitted, or
        #: its place went to another client (:attr:`why` says which, for the close frame).
        self.replaced = False
        self.why = REPLACED
        self._wake: t.Callable[[], None] | None = None

    def bind(self, wake: t.Callable[[], None]) -> None:
        """``wake`` interrupts the socket's wait, so it sees :attr:`replaced` at once."""
        self._wake = wake
        if self.replaced:
            wake()

    def replace(self, why: str = "") -> None:
        self.replaced = True
        self.why = why or REPLACED
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
        #: Each client's sockets that are not closing, oldest first.
        self._clients: dict[str, dict[Slot, None]] = {}
        #: Sockets told to close for another client, not closed yet (they hold their thread).
        self._evicted = 0

    def __len__(self) -> int:
        """Sockets open now (a replaced one counts until it has closed: it still holds a thread)."""
        return self._open

    def admit(self, page: str, session: str, client: str | None = None) -> Slot:
        """A slot for a new socket of ``page`` from ``client`` (its address), or
        :class:`SocketRefused`. The page's previous socket is told to close either way (the
        page reconnected, or is being asked for twice): the thread it holds comes back for the
        next try."""
        if self.max_sockets is None:
            self.max_sockets = server_socket_capacity()
        with self._lock:
            previous = self._pages.pop(page, None)
            if previous is not None:
                self._closing(previous, REPLACED)
            held = self._sessions.get(session, 0)
            if held >= self.max_per_session:
                raise SocketRefused(
                    f"This browser session already has {held} live connections (the most "
                    f"allowed); this page gets its results by polling.",
                    per_session=True,
                )
            if self._open >= self.max_sockets and not self._evict_for(client):
                raise SocketRefused(
                    "The server holds as many live connections as it can; this page gets its "
                    "results by polling.",
                    per_session=False,
                )
            slot = self._pages[page] = Slot(page, session, client)
            self._sessions[session] = held + 1
            self._open += 1
            if client is not None:
                self._clients.setdefault(client, {})[slot] = None
            return slot

    def _evict_for(self, client: str | None) -> bool:
        """At the cap: tell the newest socket of the client holding the most to close, when
        ``client`` would still hold fewer (True: admit it). Sockets told so hold their thread
        until they have closed (milliseconds), so at most an eighth of the cap may be closing
        at once beyond it."""
        if client is None or self._evicted >= max(1, (self.max_sockets or 0) // 8):
            return False
        most = max(self._clients, key=lambda c: len(self._clients[c]), default=None)
        if most is None or len(self._clients[most]) <= len(self._clients.get(client, ())) + 1:
            return False
        victim = next(reversed(self._clients[most]))
        if self._pages.get(victim.page) is victim:
            del self._pages[victim.page]
        self._closing(victim, EVICTED)
        self._evicted += 1
        return True

    def _closing(self, slot: Slot, why: str) -> None:
        """``slot`` must close; it no longer counts for its client's share."""
        slot.replace(why)
        self._leave_share(slot)

    def _leave_share(self, slot: Slot) -> None:
        sockets = self._clients.get(slot.client) if slot.client is not None else None
        if sockets is not None:
            sockets.pop(slot, None)
            if not sockets:
                del self._clients[t.cast(str, slot.client)]

    def release(self, slot: Slot) -> None:
        """The slot's socket has closed (or its handshake failed)."""
        with self._lock:
            if slot.why == EVICTED:
                self._evicted -= 1
            self._leave_share(slot)
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
