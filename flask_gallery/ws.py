"""The page's WebSocket (flask-sock) and its polling fallback: they relay, nothing more.

Both check the request like every other gallery request (same origin, the page's token, the
page's session) before anything is sent; the WebSocket does it before the handshake, so a
cross-site page never gets a socket (flask-sock does not check ``Origin`` itself). Messages come
from the engine's page channel; :class:`~flask_gallery.delivery.Renderer` makes them HTML.
"""

from __future__ import annotations

import queue
import time
import typing as t

from flask import Blueprint, Response, request
from werkzeug.exceptions import BadRequest, Forbidden

from .app_state import AppState, app_state
from .delivery import Renderer, StatusHold, coalesce
from .pages import check_request, owned_page, same_origin
from .request import snapshot
from .state import PageState

#: Seconds between two checks that the client is still there while nothing happens.
_IDLE = 2.0
#: Messages buffered for one socket before it is considered stuck and closed.
_OUTBOX = 10_000


def _page_for(token: str) -> tuple[AppState, PageState]:
    """The checks of :func:`.pages.check_request`, for a socket (no custom headers possible in
    a WebSocket handshake: the token is in the URL, the cookie names the session, and the
    browser's ``Origin`` must be this site)."""
    if not same_origin(request.headers.get("Origin")):
        raise Forbidden("Cross-site WebSocket refused.")
    state = app_state()
    return state, owned_page(state.pages, token)


def _renderer(state: AppState, page: PageState) -> Renderer:
    extension = state.extension

    def dom_id(gallery: t.Any) -> str:
        gallery_state = page.galleries.get(gallery.name)
        if gallery_state is None:
            return f"fg-{gallery.name}"
        return extension.dom_id(gallery, gallery_state)

    return Renderer(state.engine(), dom_id)


def relay(ws: t.Any, page: str) -> None:
    """Send the page every message of its channel until the client goes away."""
    state, page_state = _page_for(page)
    engine = state.engine()
    renderer = _renderer(state, page_state)
    outbox: queue.Queue[dict[str, t.Any]] = queue.Queue(_OUTBOX)

    def receive(message: dict[str, t.Any]) -> None:
        try:
            outbox.put_nowait(message)
        except queue.Full:  # the client stopped reading: drop the socket, it will reconnect
            ws.close(reason=1011, message="Too far behind.")

    unsubscribe = engine.subscribe(page, receive, after=page_state.delivered)
    engine.connect_page(page, snapshot(page))
    try:
        if page_state.delivered:  # a reconnect: redraw what may have changed meanwhile
            ws.send(state.extension.redraw_page(page_state))
        hold = StatusHold(time.monotonic)
        while ws.connected:
            batch = []
            try:
                batch.append(outbox.get(timeout=hold.wait(_IDLE)))
                while True:  # everything already waiting goes out in one frame
                    batch.append(outbox.get_nowait())
            except queue.Empty:
                pass
            html = "".join(renderer.render(m) for m in coalesce(hold.feed(batch)))
            if html:
                ws.send(html)
            for message in batch:
                page_state.delivered = max(page_state.delivered, int(message.get("seq", 0)))
    finally:
        unsubscribe()
        engine.disconnect_page(page)


def poll(page: str) -> Response:
    """The fallback where no WebSocket connects: messages after ``?after=<seq>``; the answer's
    ``X-Gallery-Seq`` header is the ``after`` of the next poll."""
    check_request(page)  # a poll is a plain request: the page's header, as every action
    state = app_state()
    page_state = owned_page(state.pages, page)
    try:
        after = int(request.args.get("after", page_state.delivered))
    except ValueError:
        raise BadRequest("'after' must be a message sequence number.") from None
    replay = state.engine().replay(page, after)
    renderer = _renderer(state, page_state)
    html = "".join(renderer.render(message) for message in coalesce(replay.messages))
    last = max(after, replay.last_seq)
    page_state.delivered = max(page_state.delivered, last)
    response = Response(html, mimetype="text/html")
    response.headers["X-Gallery-Seq"] = str(last)
    response.headers["Cache-Control"] = "no-store"
    return response


def register(bp: Blueprint) -> None:
    # Imported here: flask-sock (and its WebSocket stack) costs ~45 ms of `import flask_gallery`
    # otherwise, and only an app that registers the extension needs it.
    from flask_sock import Sock

    sock = Sock()
    sock.route("/ws/<page>", bp=bp)(relay)
    bp.add_url_rule("/poll/<page>", "poll", poll)

    @bp.before_request
    def check_socket() -> None:
        # Refuse before flask-sock answers the handshake: a refused socket is a plain 403/410.
        if request.endpoint == f"{bp.name}.relay" and request.view_args:
            _page_for(str(request.view_args["page"]))
