"""What one page's WebSocket sends, and which thread sends it.

The page's channel (results, statuses, toasts) and the answers to the clicks it sent over the
socket go out in order, in as few frames as possible: a click's answer waits briefly for its
handler's result so both are swapped in together, and a status is held for ``STATUS_GRACE``
so a quick job shows none (:mod:`.delivery`).

The socket's relay thread (:func:`.socket.relay`) reads the clicks and sends. Each thread
hand-off on a click's way costs a wake-up and a wait for the GIL, so the threads that are
already there do the work when the relay is idle:

- simple-websocket's reader thread, which receives the click's frame, acts on it at once
  (:class:`ReaderWake`, :meth:`Pipe.serve_here`) instead of waking the relay to do it;
- the thread that delivers a result (the worker that ran the handler, or the Redis subscriber)
  sends the frame itself (:meth:`Pipe.receive`).

Neither ever blocks on the client: what the socket does not take at once waits for the relay,
which sends it (blocking) before anything else. Only the relay sleeps on timers: a held status
or answer, and anything that arrives while another thread holds the page, wake it. Where a
non-blocking send is not possible (TLS, gevent, a socket timeout, simple-websocket's pings) the
relay does all of it, as before.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import socket
import threading
import time
import typing as t

from ..queue.messages import STATUS, Message
from .delivery import STATUS_GRACE, Renderer, StatusHold, coalesce

if t.TYPE_CHECKING:
    from ..page.state import PageState
    from .socket import _Clicks

logger = logging.getLogger(__name__)

#: Messages buffered for one socket before it is considered stuck and closed.
OUTBOX = 10_000
#: Bytes of text buffered for one socket (:func:`weight`) beyond which the next message finds
#: it stuck and closes it: what one client that stopped reading can make the server hold, with
#: one message more at most (the first one of the outbox, which is not weighed). A page cut off
#: reconnects and resumes, or is drawn again.
OUTBOX_BYTES = 4 * 1024 * 1024
#: Seconds a relay with nothing to do sleeps between two checks that the client is still there.
IDLE = 2.0
#: Seconds between two copies of a socket's delivered mark in the page store (a round trip to
#: Redis in the Redis mode); the last one is written when the socket closes.
MARK_EVERY = 1.0
#: ``send`` flag that makes one call non-blocking (Linux and macOS; elsewhere only the relay
#: sends).
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


def weight(message: Message) -> int:
    """About the memory a queued message holds: its text (a result's HTML, in ``value`` or one
    level inside it), and a little for the rest of it."""
    size = 256
    for value in message.values():
        if isinstance(value, str):
            size += len(value)
        elif isinstance(value, dict):
            for inner in value.values():
                if isinstance(inner, str):
                    size += len(inner)
    return size


class Pipe:
    """One page's outgoing side. The relay holds :attr:`lock` while it reads clicks and sends;
    any other thread only ever tries it."""

    def __init__(
        self,
        ws: t.Any,
        wake: threading.Event,
        renderer: Renderer,
        clicks: _Clicks,
        page: PageState,
        mark: t.Callable[[int], None],
    ) -> None:
        self.ws = ws
        self.lock = threading.Lock()
        self.wake = wake  # the relay's
        #: Set while the reader thread acts on clicks: what arrives meanwhile is flushed after.
        self.serving = False
        self.renderer = renderer
        self.clicks = clicks
        self.page = page  # its ``delivered``: the seq of the last message sent
        self.mark = mark  # copies ``delivered`` to the page store (here at most every second)
        # Filled by the engine's callback, emptied under the lock, each message with its
        # weight; ``weighing`` keeps ``queued`` (their sum) and the outbox in step.
        self.outbox: collections.deque[tuple[Message, int]] = collections.deque()
        self.queued = 0
        self.weighing = threading.Lock()
        self.hold = StatusHold(time.monotonic)
        self.parts: list[str] = []  # rendered, kept while answers wait for their results
        self.last = 0  # seq of the last message among them
        self.backlog = b""  # the part of a frame the socket did not take at once
        self.wakes_at = 0.0  # when the relay's wait ends by itself
        self.marked = time.monotonic()
        self.closed = False
        from simple_websocket import ConnectionClosed

        self.gone = ConnectionClosed
        # Only a plain blocking socket takes a non-blocking send (TLS or gevent's would not,
        # or would yield), and only where nothing else writes frames: with simple-websocket's
        # own pings (flask-sock's ``ping_interval``) one could fall inside a frame left half
        # sent. Otherwise every frame goes through the relay, as a status does.
        sock = getattr(ws, "sock", None)
        self.direct = (
            bool(_DONTWAIT)
            and type(sock) is socket.socket
            and sock.gettimeout() is None
            and not getattr(ws, "ping_interval", None)
        )

    def receive(self, message: Message) -> None:
        """The engine's callback for the page's channel, on whatever thread delivers."""
        with self.weighing:
            # An empty outbox always takes the message unweighed: only a client that falls
            # behind pays for weighing what waits for it.
            size = weight(message) if self.outbox else 0
            full = bool(self.outbox) and (
                len(self.outbox) >= OUTBOX or self.queued + size > OUTBOX_BYTES
            )
            if not full:
                self.outbox.append((message, size))
                self.queued += size
        if full:
            # The client stopped reading: cut the connection (a close frame would wait on the
            # client too, here and in the relay); the page reconnects and resumes from the
            # last message it had.
            with contextlib.suppress(OSError):
                self.ws.sock.shutdown(socket.SHUT_RDWR)
            self.wake.set()
            return
        if self.serving:  # read after the append: the reader's last look at the outbox follows
            return
        if message["type"] in STATUS:
            # Held for STATUS_GRACE anyway: it wakes the relay only when the relay's own timeout
            # would pass that (a quick job's statuses then cost no wake-up).
            if self.wakes_at > time.monotonic() + STATUS_GRACE:
                self.wake.set()
            return
        # Only while the socket took everything so far: a client that stops reading then
        # costs one partial frame here, and its relay (blocked on it) holds the rest in the
        # outbox, up to OUTBOX.
        sent = (
            self.direct
            and not self.backlog
            and not self._send_here(self._caught_up, "Sending to the socket of a page failed.")
        )
        if not sent or self.outbox:
            self.wake.set()  # the relay holds the page, or must send or re-time something

    def serve_here(self) -> None:
        """Act on the clicks received so far, on the reader thread that received them, when the
        relay is idle; then send what is due without blocking. The relay is woken only to send
        what the socket did not take, or to re-time its wait (a status or an answer held
        longer than it would sleep), or when it holds the page itself."""
        relay = self._send_here(self._serve_clicks, "Acting on a click of a page failed.")
        if relay or self.outbox:
            self.wake.set()

    def _send_here(self, first: t.Callable[[], bool], failure: str) -> bool:
        """On this thread, while the relay is idle (its lock is free): ``first``, then send what
        is due without blocking. True when the relay must still act: it holds the page, the
        page's socket ended, ``first`` returned False, the socket left a backlog, or a held
        status or answer is due before the relay's wait ends."""
        if not self.lock.acquire(blocking=False):
            return True
        try:
            if self.closed or not first():
                return True
            self.flush(block=False)
            return bool(self.backlog) or self.wakes_at > time.monotonic() + self.timeout()
        except (OSError, self.gone):  # the client is gone: the relay finds out and ends
            return True
        except Exception:  # a bug: the relay's thread would have ended the socket
            logger.exception(failure)
            return True
        finally:
            self.lock.release()

    def _caught_up(self) -> bool:
        """Nothing of an earlier frame waits (lock held): else the relay sends that first."""
        return not self.backlog

    def _serve_clicks(self) -> bool:
        """Act on the clicks received so far (lock held); False once the socket is closed.
        Messages the clicks bring meanwhile wait in the outbox for the flush after."""
        self.serving = True
        try:
            return self.clicks.serve(self.ws)
        finally:
            self.serving = False

    def flush(self, *, block: bool) -> None:
        """Send what is due (lock held): answers first, then results, in one frame, unless the
        answers still wait for their results. The page keeps the frame's seq mark and names it
        when it reconnects (``_resume_point``)."""
        batch = []
        with self.weighing:
            while self.outbox:
                message, size = self.outbox.popleft()
                batch.append(message)
                self.queued -= size
        self.clicks.settle(batch)
        html = "".join(self.renderer.render(m) for m in coalesce(self.hold.feed(batch)))
        if html:
            self.parts.append(html)
        self.last = max(self.last, *(int(m.get("seq", 0)) for m in batch), 0)
        if self.clicks.holding():
            self.write("", block=block)
            return
        html, last = self.clicks.flush() + "".join(self.parts), self.last
        self.parts.clear()
        self.last = 0
        self.write(f"<!--fg-seq:{last}-->{html}" if last and html else html, block=block)
        if last > self.page.delivered:
            self.page.delivered = last
            # The page names its own mark when it reconnects; the store's copy (for a
            # reconnect that lost it) is written at most every second and at the end.
            now = time.monotonic()
            if now - self.marked > MARK_EVERY:
                self.marked = now
                self.mark(last)

    def write(self, text: str, *, block: bool) -> None:
        """Put ``text`` (a frame; may be empty) after the backlog on the socket. Blocking only
        on the relay's thread; elsewhere what the socket does not take is kept for the relay."""
        if not text and not self.backlog:
            return
        if not self.ws.connected:
            raise self.gone(self.ws.close_reason, self.ws.close_message)
        data = self.backlog
        if text:
            from wsproto.events import TextMessage

            data += self.ws.ws.send(TextMessage(data=text))
        self.backlog = b""
        if block:
            self.ws.sock.sendall(data)
            return
        try:
            sent = self.ws.sock.send(data, _DONTWAIT)
        except BlockingIOError:
            sent = 0
        self.backlog = data[sent:]

    def timeout(self) -> float:
        """Seconds the relay may sleep: until a held status or a held answer is due."""
        if self.backlog:
            return 0.0
        return min(self.hold.wait(IDLE), self.clicks.hold_left())

    def close(self) -> None:
        """The relay ends (lock held): no other thread sends from now on."""
        self.closed = True


class ReaderWake:
    """Stands in for simple-websocket's event (``ws.event``), which its reader thread sets when
    a frame arrives or the socket closes: from that thread it calls :attr:`serve` (once the
    relay set it) instead of waking the relay; otherwise, and for every other caller, it is the
    relay's event."""

    def __init__(self, event: threading.Event, reader: threading.Thread | None) -> None:
        self.event = event
        self.reader = reader
        self.serve: t.Callable[[], None] | None = None

    def set(self) -> None:
        serve = self.serve
        if serve is None or threading.current_thread() is not self.reader:
            self.event.set()
            return
        try:
            serve()
        except Exception:  # raised into simple-websocket, it would end the reader thread
            logger.exception("Acting on a click of a page failed.")
            self.event.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.event.wait(timeout)

    def clear(self) -> None:
        self.event.clear()

    def is_set(self) -> bool:
        return self.event.is_set()
