"""The page's WebSocket (flask-sock) and its polling fallback.

Both check the request like every other gallery request (same origin, the page's token, the
page's session) before anything is sent; the WebSocket does it before the handshake, so a
cross-site page never gets a socket (flask-sock does not check ``Origin`` itself). Messages come
from the engine's page channel; :class:`~flask_gallery.web.delivery.Renderer` makes them HTML.

While it is open, the socket also carries the page's clicks (select, close, delete) the other
way: a click then costs the browser one small frame on a connection it already has, not a new
HTTP request (the dev server closes every connection), and its answer and its handlers' results
come back in order on the same socket. The click is acted on exactly as its HTTP route would
(:mod:`.actions`); handlers see the socket's handshake request as theirs.

Each frame of results carries its last message's seq (``<!--fg-seq:N-->``); the page keeps the
newest it had and names it when it reconnects or polls, so a result written into a connection
that dropped before it arrived is sent again (:func:`_resume_point`).

Each open socket holds a server thread (a connection slot under gevent), so sockets are admitted
before their handshake within caps (:mod:`.sockets`): one per page (a page's new socket closes
its old one), a few per session, and in total fewer than the server has threads. A page refused
one is answered 429 or 503 before the handshake, and polls; hx-ws tries again after a doubling
delay. A page whose socket closes normally has left: its queued submissions are cancelled. A
socket for a page that another process of the server made (several processes without
``GALLERY_QUEUE_URL``, see :mod:`.processes`) opens and closes at once with code 4410 and the
reason, which the page shows: a refused handshake would reach the page's script without it.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import math
import socket
import threading
import time
import typing as t

from flask import Blueprint, Response, request
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    HTTPException,
    ServiceUnavailable,
    TooManyRequests,
)

from ..page import draw
from ..page.deep_link import fire_linked
from ..page.fragments import is_element_id, tell, toast
from ..page.outputs import fire_load
from ..page.state import PageState
from ..page.wire import loads
from ..queue.messages import TERMINAL, Message
from ..request import Request, snapshot
from .actions import ACTIONS, SOCKET_ACTIONS, Answer, Click
from .app_state import AppState, app_state
from .delivery import Renderer, coalesce
from .rate import TokenBucket
from .socket_pipe import Pipe, ReaderWake
from .sockets import Slot, SocketRefused
from .tokens import PageElsewhere, PageGone, check_request, owned_page, same_origin

logger = logging.getLogger(__name__)

#: Close codes of a page that left on purpose (navigated away, tab closed): its replay buffer
#: can go at once. Dropped connections (1006) keep it for the reconnect.
_LEFT = (1000, 1001)
#: The largest message a page may send (a click is its URL and the page's form fields).
_MAX_CLICK = 1024 * 1024
#: Seconds a click's answer waits, at most, for its handlers' results to go in the same frame.
ANSWER_HOLD = 0.01
#: Seconds a reconnecting socket waits for the page to say which message it had last.
_RESUME_WAIT = 1.0
#: Seconds between two pings of a client. One that has not answered a ping by the next is gone
#: (a dropped connection sends no close): its thread and its slot come back.
_PING = 25.0
#: Close code of a socket that must not come back (replaced by a newer one of its page, or its
#: place given to another client): hx-ws does not reconnect after it.
_NO_RETRY = 1008
#: WSGI environ key of the slot admitted before the handshake (released when the request ends).
_SLOT = "flask_gallery.socket_slot"
#: Close code of a socket whose page is not here (expired, or made by another process): the
#: page shows the close's reason in its galleries and stops (gallery.js); hx-ws does not
#: reconnect after it. In the range WebSocket leaves to applications.
_GONE = 4410
#: WSGI environ key of why a socket is closed as soon as it opens (its page is another
#: process's: a refused handshake would reach the page as a bare 1006, without the reason).
_ELSEWHERE = "flask_gallery.socket_elsewhere"


def _page_for(token: str) -> tuple[AppState, PageState]:
    """The checks of :func:`.tokens.check_request`, for a socket (no custom headers possible in
    a WebSocket handshake: the token is in the URL, the cookie names the session, and the
    browser's ``Origin`` must be this site)."""
    if not same_origin(request.headers.get("Origin")):
        raise Forbidden("Cross-site WebSocket refused.")
    state = app_state()
    return state, owned_page(state, token)


def _renderer(state: AppState, page: PageState) -> Renderer:
    def dom_id(gallery: t.Any) -> str:
        gallery_state = page.galleries.get(gallery.name)
        if gallery_state is None:
            return f"fg-{gallery.name}"
        return draw.dom_id(gallery, gallery_state)

    return Renderer(state.engine(), dom_id)


def relay(ws: t.Any, page: str) -> None:
    """Send the page every message of its channel until the client goes away, and act on the
    clicks it sends meanwhile.

    This thread does both, woken by simple-websocket's event: its reader sets it when a frame
    arrives that it did not act on itself or the socket closes, and the engine's callback sets
    it after queueing a message it did not send itself. While this thread is idle, a click is
    acted on by the reader that received it and a result sent by the thread that delivers it
    (:mod:`.socket_pipe`): a click then crosses one thread hand-off, to the worker that runs its
    handler, as a bare flask-sock view's message crosses one to the view. A second thread per
    page would cost memory for every open page."""
    elsewhere = request.environ.get(_ELSEWHERE)
    if elsewhere is not None:
        _close(ws, _GONE, elsewhere)
        return
    state, page_state = _page_for(page)
    slot: Slot = request.environ[_SLOT]
    engine = state.engine()
    # A click's answer and its result are two small frames in quick succession: with Nagle's
    # algorithm the second waits for the browser's delayed ACK of the first (40 ms).
    with contextlib.suppress(OSError, AttributeError):
        ws.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ws.max_message_size = _MAX_CLICK  # larger messages close the socket before they are read
    wake: threading.Event = ws.event
    reader = ws.event = ReaderWake(wake, getattr(ws, "thread", None))

    from simple_websocket import ConnectionClosed

    slot.bind(wake.set)
    try:
        after, first = _resume_point(ws, page_state.delivered)
    except ConnectionClosed:
        return
    if slot.replaced:  # a newer socket of the page came while this one waited
        _close(ws, _NO_RETRY, slot.why)
        return
    if not state.pages.connect(page):  # dropped since its handshake was checked
        _close(ws, _GONE, PageGone.description)
        return
    handshake = snapshot(page)
    clicks = _Clicks(page, handshake, state.config["GALLERY_MAX_CLICKS_PER_SECOND"])
    pipe = Pipe(
        ws,
        wake,
        _renderer(state, page_state),
        clicks,
        page_state,
        lambda seq: state.pages.mark_delivered(page, seq),
    )
    unsubscribe = engine.subscribe(page, pipe.receive, after=after)
    engine.connect_page(page, handshake)
    fire_load(state, page_state, handshake)
    fire_linked(state, page_state, handshake)  # a deep link's preview_open and select
    alive = _Keepalive(ws)
    try:
        with pipe.lock:
            if page_state.delivered:  # a reconnect: redraw what may have changed meanwhile
                pipe.write(draw.redraw_page(state, page_state), block=True)
            if first is not None:
                clicks.act(first)  # its answer goes out with the loop's first frame
            if pipe.direct:  # from now on (after ``first``), with the handshake's context
                reader.serve = functools.partial(contextvars.copy_context().run, pipe.serve_here)
        while ws.connected and not slot.replaced:
            # Cleared before both sources are read: whatever arrives from now on wakes the wait.
            wake.clear()
            with pipe.lock:
                if not clicks.serve(ws):
                    break
                pipe.flush(block=True)
                if not alive.check():  # after the flush: a ping never splits a frame
                    break
                timeout = pipe.timeout()
                pipe.wakes_at = time.monotonic() + timeout
            if not pipe.outbox:  # else a message came before wakes_at was set: read it now
                wake.wait(timeout)
        if slot.replaced:
            with pipe.lock:
                pipe.close()
                pipe.write("", block=True)  # a frame a worker began goes out whole
            _close(ws, _NO_RETRY, slot.why)
    except OSError as exc:  # reset by the client, or cut as too far behind (socket_pipe)
        logger.info("The socket of page %s ended: %s", page, exc)
    finally:
        reader.serve = None
        with pipe.lock:
            pipe.close()
        unsubscribe()
        engine.disconnect_page(page)
        state.pages.mark_delivered(page, page_state.delivered)
        state.pages.disconnect(page)
        if getattr(ws, "close_reason", None) in _LEFT and not slot.replaced:
            # The page left (navigated away, tab closed): what it queued is for nobody now,
            # as Gradio drops the events of a client that disconnects. A page whose socket only
            # dropped (1006), or went to the background (1005), comes back for its results.
            engine.close_page(page)
            engine.release_page(page)


class _Keepalive:
    """Pings the client every :data:`_PING` seconds; :meth:`check` is False once a ping went
    unanswered until the next (browsers answer pings by themselves)."""

    def __init__(self, ws: t.Any) -> None:
        self.ws = ws
        self.next = time.monotonic() + _PING

    def check(self) -> bool:
        now = time.monotonic()
        if now < self.next:
            return True
        if not self.ws.pong_received:
            return False
        from wsproto.events import Ping

        self.ws.pong_received = False
        try:
            self.ws.sock.send(self.ws.ws.send(Ping()))
        except OSError:
            return False
        self.next = now + _PING
        return True


def _close(ws: t.Any, code: int, message: str) -> None:
    """Close with ``code`` as the client will see it: the write side is shut after the close
    frame, or Werkzeug's server writes its own response after it, and the browser then reports
    1006 (and reconnects) whatever the code was."""
    from simple_websocket import ConnectionClosed

    with contextlib.suppress(ConnectionClosed, OSError):
        ws.close(reason=code, message=message)
    with contextlib.suppress(OSError):
        ws.sock.shutdown(socket.SHUT_WR)


def _resume_point(ws: t.Any, delivered: int) -> tuple[int, str | bytes | None]:
    """Where this socket's replay starts, and the first frame if it was a click instead.

    Messages written into a connection just before it dropped count as delivered, yet may
    never have reached the page. So a reconnecting page (gallery.js) first sends
    ``{"resume": <the last message's seq it had>}`` and the replay starts there; a page that
    says nothing within :data:`_RESUME_WAIT` (another client) gets what was not sent yet.
    A first connection has nothing to replay and does not wait."""
    if not delivered:
        return 0, None
    first = ws.receive(timeout=_RESUME_WAIT)
    resume = _resume_of(first)
    if resume is None:
        return delivered, first
    return min(resume, delivered), None  # never past what was sent: no gaps


def _resume_of(message: str | bytes | None) -> int | None:
    """The seq of a ``{"resume": seq}`` frame; None for anything else."""
    if message is None:
        return None
    try:
        frame = loads(message)
    except ValueError:
        return None
    resume = frame.get("resume") if isinstance(frame, dict) else None
    if isinstance(resume, int) and not isinstance(resume, bool) and resume >= 0:
        return resume
    return None


class _Clicks:
    """The clicks a page sends over its socket, acted on as their HTTP routes would be."""

    def __init__(self, page: str, handshake: Request, per_second: float | None) -> None:
        self.page, self.handshake = page, handshake
        #: Answers and refusals not sent yet, in the order of their clicks.
        self.pending: list[str] = []
        #: Jobs those clicks fired that have not ended; their answers wait for them until
        #: ``until`` at most.
        self.awaiting: set[str] = set()
        self.until = 0.0
        # A key held down repeats some 30 times a second, and no hand clicks faster: the
        # default rate (GALLERY_MAX_CLICKS_PER_SECOND) stops floods, never a person.
        self.rate = TokenBucket(per_second, 2 * per_second) if per_second else None
        self._dropped = 0
        self._told_at = -1.0

    def serve(self, ws: t.Any) -> bool:
        """Act on every click received so far; False once the socket is closed.

        Between two clicks the thread lets others run (under gevent: the other pages'
        greenlets), and clicks beyond the socket's rate are dropped: a burst of a thousand
        frames costs others the time of a few dozen clicks, not of a thousand. It does not
        yield after the last one: the thread lets the page go right after, and the worker that
        runs the click's handler would otherwise find the page held and leave its result to
        the relay instead of sending it (:class:`.socket_pipe.Pipe`)."""
        acted = False
        while True:
            # Read from simple-websocket's buffer, not with ``ws.receive``: that clears the
            # relay's event, which the reader thread must not do (it may wake the relay for
            # something else).
            if not ws.input_buffer:
                return bool(ws.connected)
            message = ws.input_buffer.pop(0)
            if acted:
                time.sleep(0)
            if self.rate is None or self.rate.take():
                self.act(message)
                acted = True
            else:
                self._drop(message)

    def send(self, html: str) -> None:
        self.pending.append(html)

    def settle(self, messages: t.Iterable[Message]) -> None:
        """Note the fired jobs that ended among ``messages``."""
        if self.awaiting:
            self.awaiting.difference_update(m.get("job") for m in messages if m["type"] in TERMINAL)

    def holding(self) -> bool:
        """Whether the pending answers still wait for their jobs' results.

        A click's answer (its highlight) and its handler's result then reach the page in one
        frame, swapped in together: a quick handler (most are) costs the page one message and
        one swap instead of two, and the server one send. The wait is bounded by
        :data:`ANSWER_HOLD` from the first pending answer, so a slow handler's answer is late
        by that at most, and a stream of clicks cannot hold answers back."""
        return bool(self.pending and self.awaiting) and time.monotonic() < self.until

    def hold_left(self) -> float:
        return max(0.0, self.until - time.monotonic()) if self.holding() else math.inf

    def flush(self) -> str:
        """The pending answers, in order; nothing waits any more."""
        html = "".join(self.pending)
        self.pending.clear()
        self.awaiting.clear()
        return html

    def _drop(self, message: str | bytes) -> None:
        """Count a click over the rate; tell the page once a second how many went."""
        self._dropped += 1
        now = time.monotonic()
        if now - self._told_at < 1.0:
            return
        self._told_at = now
        root = ""
        with contextlib.suppress(HTTPException):
            root = str(_parse_click(message).get("root", ""))
        _refuse(
            self.send,
            root,
            f"Too many clicks at once: {self._dropped} were dropped (this page may send "
            f"{self.rate.rate if self.rate else 0:g} a second). Click again.",
        )
        self._dropped = 0

    def act(self, message: str | bytes) -> None:
        """Answer one click, then submit its events (so its results come after its answer).
        A refused or failing click is answered with a toast saying why."""
        from simple_websocket import ConnectionClosed

        # The page's resume frame, sent on every connection (only a reconnect waits for it,
        # _resume_point), is no click: refused like any frame naming no gallery, unanswered.
        root = ""
        try:
            click = _parse_click(message)
            root = str(click.get("root", ""))
            answer = _act(self.page, click, self.handshake)
            update = answer.update()
            if update:  # a trigger's answer is empty: its results are all that comes
                # Marked with the gallery's id: the page settles its focus once this is in.
                self.send(_answer_mark(root) + update)
            jobs = answer.fire()
            if jobs and not self.awaiting:
                self.until = time.monotonic() + ANSWER_HOLD
            self.awaiting.update(jobs)
        except HTTPException as exc:
            _refuse(self.send, root or getattr(exc, "root", ""), exc.description or exc.name)
        except (ConnectionClosed, OSError):
            raise  # the socket is gone: the relay ends
        except Exception as exc:
            mode = app_state().redis
            refusal = None if mode is None else mode.refusal(exc)
            if refusal is None:
                logger.exception("A click sent over the socket of page %s failed.", self.page)
            _refuse(
                self.send, root, refusal or "The server could not act on this click. Try again."
            )


class _BadClick(BadRequest):
    """A click frame refused before it could be read; ``root`` is the gallery it named, if it
    named one, so the refusal is still answered."""

    def __init__(self, description: str, root: str = "") -> None:
        super().__init__(description)
        self.root = root


def _parse_click(message: str | bytes) -> dict[str, t.Any]:
    """A click frame as gallery.js sends it: ``{"action": name, "gallery": name, "index": str,
    "values": {field: str | [str]}, "root": gallery id}`` (``index`` for the actions whose route
    takes one), or for an element of the page ``{"action": "trigger", "element": id, "event":
    name, "values": {...}}``; anything else is refused (400) and changes nothing."""
    try:
        click = loads(message)
    except ValueError:
        raise _BadClick("A click message must be JSON.") from None
    if not isinstance(click, dict):
        raise _BadClick("A click message is a JSON object naming its action in 'action'.")
    root = click.get("root", "")
    if not isinstance(root, str):
        raise _BadClick("A click's 'root' is the id of its gallery's element.")
    action = click.get("action")
    if action not in SOCKET_ACTIONS:
        if action in ACTIONS:  # an upload: its files go by HTTP
            raise _BadClick(f"This socket carries clicks; {action!r} goes by HTTP.", root)
        raise _BadClick(
            f"A click message names its action in 'action': one of {', '.join(SOCKET_ACTIONS)}.",
            root,
        )
    if action == "trigger":
        if not isinstance(click.get("element"), str) or not isinstance(click.get("event"), str):
            raise _BadClick("A trigger names its element's id in 'element' and its 'event'.", root)
    elif not isinstance(click.get("gallery"), str):
        raise _BadClick("A click message names its gallery in 'gallery'.", root)
    if not isinstance(click.get("index", ""), str):
        raise _BadClick("A click's 'index' is the item's position, as a string.", root)
    values = click.get("values") or {}
    if not isinstance(values, dict) or not all(
        isinstance(value, str)
        or (isinstance(value, list) and all(isinstance(item, str) for item in value))
        for value in values.values()
    ):
        raise _BadClick("A click's 'values' must be an object of form fields (strings).", root)
    return click


def _act(page: str, click: dict[str, t.Any], handshake: Request) -> Answer:
    """The click's action (the same as its HTTP route's), for this socket's page only."""
    form: MultiDict[str, str] = MultiDict()
    for key, value in (click.get("values") or {}).items():
        for item in value if isinstance(value, list) else [value]:
            form.add(str(key), str(item))
    action = ACTIONS[click["action"]]
    name = click["element"] if click["action"] == "trigger" else click["gallery"]
    return action.run(
        Click(
            page,
            name,
            click.get("index"),
            form,
            request=handshake,
            event=click.get("event"),
            drawn=click.get("drawn") is True,
        )
    )


def _answer_mark(root: str) -> Markup:
    return Markup(f"<!--fg-answer:{root}-->") if is_element_id(root) else Markup("")


def _refuse(send: t.Callable[[str], None], root: str, text: str) -> None:
    """Show why a click was refused, as a toast; a message naming no gallery of the page (not
    sent by the page's script, such as its resume frame) gets no answer."""
    if is_element_id(root):
        send(tell(toast("error", text)))


def poll(page: str) -> Response:
    """The fallback where no WebSocket connects: messages after ``?after=<seq>``; the answer's
    ``X-Gallery-Seq`` header is the ``after`` of the next poll."""
    check_request(page)  # a poll is a plain request: the page's header, as every action
    state = app_state()
    page_state = owned_page(state, page)
    try:
        after = int(request.args.get("after", page_state.delivered))
    except ValueError:
        raise BadRequest("'after' must be a message sequence number.") from None
    fire_load(state, page_state, None)  # a page that cannot connect polls from its start
    fire_linked(state, page_state, None)
    replay = state.engine().replay(page, after)
    renderer = _renderer(state, page_state)
    html = "".join(renderer.render(message) for message in coalesce(replay.messages))
    last = max(after, replay.last_seq)
    if last > page_state.delivered:
        state.pages.mark_delivered(page, last)
    response = Response(html, mimetype="text/html")
    response.headers["X-Gallery-Seq"] = str(last)
    response.headers["Cache-Control"] = "no-store"
    return response


def register(bp: Blueprint) -> None:
    # Imported here: only an app that registers the extension needs flask-sock and its
    # WebSocket stack, and `import flask_gallery` should not pay for it.
    from flask_sock import Sock

    sock = Sock()
    sock.route("/ws/<page>", bp=bp)(relay)
    bp.add_url_rule("/poll/<page>", "poll", poll)

    @bp.before_request
    def check_socket() -> None:
        # Refuse before flask-sock answers the handshake: a refused socket is a plain 403/410,
        # or 429/503 over a cap (the page then polls; hx-ws retries with a growing delay).
        if request.endpoint == f"{bp.name}.relay" and request.view_args:
            try:
                state, page = _page_for(str(request.view_args["page"]))
            except PageElsewhere as elsewhere:
                # Opened, then closed with the reason (relay): the page's script can show it.
                request.environ[_ELSEWHERE] = elsewhere.description
                return
            try:
                request.environ[_SLOT] = state.sockets.admit(
                    page.token, page.session_id, request.remote_addr
                )
            except SocketRefused as refused:
                error = TooManyRequests if refused.per_session else ServiceUnavailable
                raise error(str(refused)) from None
            # No permessage-deflate (every browser offers it; simple-websocket accepts it): the
            # frames are small fragments, and each socket's zlib state would cost the server
            # memory per open page and a compression per frame. Without the offer the handshake
            # agrees to none.
            request.environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)

    @bp.teardown_request
    def release_socket(exc: BaseException | None) -> None:
        # The socket's request ends when it closes, however: its handshake failed, the client
        # left, the connection dropped, a newer socket replaced it.
        slot = request.environ.pop(_SLOT, None)
        if slot is not None:
            app_state().sockets.release(slot)
