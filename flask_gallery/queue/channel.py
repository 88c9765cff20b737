"""Per-page message channels with a short replay buffer.

The transport layer subscribes one callback per open WebSocket. Sockets drop (htmx closes them
while a tab is in the background), so every message gets a per-page sequence number and the last
few stay for a while: a page that reconnects passes its cursor and receives what it missed.

A job's status messages (``estimation``, ``started``, ``progress``) are kept only while they
are its latest: the next status replaces it and the job's terminal message drops it. That is what
the transport layer's ``coalesce`` keeps of a replay anyway (a finished job shows no overlay, a
running one only its last), so a replay draws the same page, and the buffer's places go to what
a page cannot do without (results, notifications, errors): a trivial job takes one place, not
three.
"""

from __future__ import annotations

import logging
import threading
import time
import typing as t
from collections import deque
from dataclasses import dataclass

from .messages import STATUS, TERMINAL, Message

_log = logging.getLogger("flask_gallery.queue")

Subscriber = t.Callable[[Message], None]
#: Messages kept per page for a reconnect or a poll (statuses of running jobs not counted).
REPLAY_SIZE = 64


@dataclass(frozen=True)
class Replay:
    """Messages after a cursor; ``complete`` is False when some were already dropped (the page
    should then reload its state instead of trusting the replay)."""

    messages: list[Message]
    complete: bool
    #: The cursor to pass next time.
    last_seq: int


class Subscription:
    """One subscriber's messages on their way to its callback: in order, never two at once, and
    never while a channel's own lock is held (a callback may take its time or fail alone)."""

    __slots__ = ("callback", "delivering", "lock", "pending")

    def __init__(self, callback: Subscriber) -> None:
        self.callback = callback
        self.pending: deque[Message] = deque()
        self.delivering = False
        self.lock = threading.Lock()

    def add(self, message: Message) -> None:
        with self.lock:
            self.pending.append(message)

    def drain(self) -> None:
        """Call the callback with every pending message, unless another thread already is."""
        while True:
            with self.lock:
                if self.delivering or not self.pending:
                    return
                self.delivering = True
                batch = list(self.pending)
                self.pending.clear()
            try:
                for message in batch:
                    try:
                        self.callback(message)
                    except Exception:
                        _log.exception("flask_gallery channel subscriber failed")
            finally:
                with self.lock:
                    self.delivering = False


class _Page:
    __slots__ = ("buffer", "lost", "seq", "status", "subscriptions", "touched")

    def __init__(self, size: int, now: float) -> None:
        self.seq = 0
        #: Every message but statuses, oldest first, (time, message).
        self.buffer: deque[tuple[float, Message]] = deque(maxlen=size)
        #: The latest status of each job still running, (time, message).
        self.status: dict[str, tuple[float, Message]] = {}
        #: The highest seq dropped by the bound or the TTL (not by a newer status): a cursor
        #: below it may have missed something.
        self.lost = 0
        self.subscriptions: list[Subscription] = []
        self.touched = now

    def record(self, now: float, message: Message) -> None:
        kind, job = message.get("type"), message.get("job")
        if job is not None and kind in STATUS:
            self.status[job] = (now, message)
            return
        if job is not None and kind in TERMINAL:
            self.status.pop(job, None)
        buffer = self.buffer
        if len(buffer) == buffer.maxlen:
            self.lost = buffer[0][1]["seq"]
        buffer.append((now, message))

    def expire(self, now: float, ttl: float) -> None:
        buffer = self.buffer
        while buffer and now - buffer[0][0] > ttl:
            self.lost = buffer.popleft()[1]["seq"]


class PageChannels:
    """In-process channels: the threads backend's, and the model a Redis backend follows.

    Subscribers are called on engine threads, each subscriber's messages in order and never two
    at once; a callback must not block (hand the message to the socket's own sender).
    """

    def __init__(
        self,
        *,
        replay_size: int = REPLAY_SIZE,
        replay_ttl: float = 60.0,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        self._size = replay_size
        self._ttl = replay_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._pages: dict[str, _Page] = {}
        self._last_sweep = clock()

    def publish(self, page: str, message: Message) -> None:
        """Record ``message`` (adding its ``seq``) and deliver it to the page's subscribers."""
        self.append(page, message)
        self.deliver(page)

    def append(self, page: str, message: Message) -> None:
        """Record ``message`` in order without calling subscribers: lets the engine fix the order
        of messages under its own lock and :meth:`deliver` after releasing it."""
        now = self._clock()
        with self._lock:
            state = self._pages.get(page)
            if state is None:
                state = self._pages[page] = _Page(self._size, now)
            state.seq += 1
            message["seq"] = state.seq
            state.record(now, message)
            state.touched = now
            for sub in state.subscriptions:
                sub.add(message)
            if now - self._last_sweep > self._ttl / 2:
                self._sweep(now)

    def deliver(self, page: str) -> None:
        """Call the page's subscribers with what was appended for them."""
        with self._lock:
            state = self._pages.get(page)
            subs = list(state.subscriptions) if state is not None else []
        for sub in subs:
            sub.drain()

    def subscribe(
        self, page: str, callback: Subscriber, after: int | None = None
    ) -> t.Callable[[], None]:
        """Call ``callback`` with each new message of ``page``; with ``after``, first with the
        buffered messages after that cursor. Returns the function that unsubscribes."""
        sub = Subscription(callback)
        now = self._clock()
        with self._lock:
            state = self._pages.get(page)
            if state is None:
                state = self._pages[page] = _Page(self._size, now)
            if after is not None:
                for message in self._after(state, after, now):
                    sub.add(message)
            state.subscriptions.append(sub)
            state.touched = now
        sub.drain()

        def unsubscribe() -> None:
            with self._lock:
                current = self._pages.get(page)
                if current is not None and sub in current.subscriptions:
                    current.subscriptions.remove(sub)
                    current.touched = self._clock()

        return unsubscribe

    def replay(self, page: str, after: int = 0) -> Replay:
        """The buffered messages of ``page`` after cursor ``after`` (for polling and reconnects)."""
        now = self._clock()
        with self._lock:
            state = self._pages.get(page)
            if state is None:
                return Replay([], after == 0, 0)
            messages = self._after(state, after, now)
            complete = state.lost <= after <= state.seq
            return Replay(messages, complete, state.seq)

    def release(self, page: str) -> None:
        """Free the buffered messages of a page its client closed on purpose (it navigated
        away): nobody will ask for a replay. Kept while anyone still listens. The sequence goes
        on, so a late reconnect's cursor still means what it meant, and the replay it gets says
        it is incomplete."""
        with self._lock:
            state = self._pages.get(page)
            if state is None or state.subscriptions:
                return
            state.buffer.clear()
            state.status.clear()
            state.lost = state.seq

    def _after(self, state: _Page, after: int, now: float) -> list[Message]:
        state.expire(now, self._ttl)
        if after > state.seq:  # the channel restarted since the cursor was taken
            after = 0
        messages = [m for _, m in state.buffer if m["seq"] > after]
        statuses = [m for _, m in state.status.values() if m["seq"] > after]
        if statuses:  # few (one per running job): merged in sequence order
            messages = sorted(messages + statuses, key=lambda m: int(m["seq"]))
        return messages

    def _sweep(self, now: float) -> None:
        self._last_sweep = now
        stale = [
            name
            for name, state in self._pages.items()
            if not state.subscriptions and now - state.touched > self._ttl
        ]
        for name in stale:
            del self._pages[name]
