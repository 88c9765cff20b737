"""The page's WebSocket against a live server, with a real client (``simple_websocket``) holding
the page's session cookie, as the browser does: the Flask test client cannot open WebSockets.

The socket refuses another site's Origin (cross-site WebSocket hijacking) and another session;
a select's result arrives over it; results produced while it was closed arrive after a reconnect.
While it is open, the page sends its clicks over it: each is answered on it before its handlers'
results, and a forged or foreign click is refused there without closing the socket.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import typing as t
import urllib.request
from urllib.error import HTTPError

import numpy as np
import pytest
from simple_websocket import Client, ConnectionError

from flask_gallery import SelectData
from flask_gallery.web import socket_pipe

from .browser.conftest import gallery_app
from .clients import Page, click_frame, receive_until
from .live import LiveServer

CAPTIONS = ("red", "green", "blue")
#: Set by the select handler once it has run, with the index it ran for.
ran: list[int] = []
ran_event = threading.Event()
#: Holds the ``slow`` gallery's handler until the test lets it finish.
release = threading.Event()


def declare(galleries: t.Any) -> None:
    pics = galleries.gallery(
        "pics",
        [(np.full((8, 8, 3), 60 * i, np.uint8), caption) for i, caption in enumerate(CAPTIONS)],
    )

    @pics.on_select(outputs="#out", trigger_mode="multiple")
    def show(evt: SelectData) -> str:
        ran.append(evt.index)
        ran_event.set()
        return f"selected {evt.index}: {evt.value['caption']}"

    slow = galleries.gallery("slow", [np.zeros((8, 8, 3), np.uint8)] * 2)

    @slow.on_select(outputs="#late", trigger_mode="multiple")
    def wait(evt: SelectData) -> str:
        release.wait(10)
        return f"late {evt.index}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    app = gallery_app(tmp_path_factory.mktemp("ws_live") / "instance", declare)
    with LiveServer(app) as live:
        yield live


@pytest.fixture(autouse=True)
def _fresh() -> None:
    ran.clear()
    ran_event.clear()
    release.clear()


def test_the_socket_refuses_another_origin(server: LiveServer) -> None:
    page = Page(server)
    with pytest.raises(ConnectionError) as refused:
        page.socket(origin="https://evil.example")
    assert refused.value.status_code == 403
    ws = page.socket()  # the same handshake from the page's own origin is accepted
    try:
        assert ws.connected
    finally:
        ws.close()


def test_the_socket_refuses_another_session(server: LiveServer) -> None:
    page, other = Page(server), Page(server)
    with pytest.raises(ConnectionError) as refused:
        page.socket(cookie=other.cookie)
    assert refused.value.status_code == 403
    with pytest.raises(ConnectionError) as no_cookie:
        page.socket(cookie="")
    assert no_cookie.value.status_code == 403


def test_a_select_result_arrives_over_the_socket(server: LiveServer) -> None:
    page = Page(server)
    ws = page.socket()
    try:
        page.select(1)
        received = receive_until(ws, "selected 1: green")
    finally:
        ws.close()
    assert '<hx-partial hx-target="#out" hx-swap="innerHTML">selected 1: green</hx-partial>' in (
        received
    )


def engine_of(server: LiveServer) -> t.Any:
    return server.app.extensions["flask_gallery"].engine()


def drop_connection(server: LiveServer, ws: Client, token: str) -> None:
    """Lose the socket as a network failure does (no close frame), and wait until the server's
    relay for the page has noticed (the engine's page channel has no listener left): only then
    is a result certain to be produced while nobody listens."""
    ws.sock.shutdown(socket.SHUT_RDWR)
    ws.sock.close()
    channels = engine_of(server).backend._channels  # the channel's listeners, to sequence the test
    deadline = time.monotonic() + 10
    while channels._pages[token].subscriptions:
        assert time.monotonic() < deadline, "the server never noticed the dropped socket"
        time.sleep(0.01)


def reconnect_after_a_result(server: LiveServer, first_frame: str | None) -> str:
    """Select 0 (received), lose the socket, select 2 while nobody listens, reconnect (sending
    ``first_frame`` first, as gallery.js sends its resume): what the reconnection received."""
    page = Page(server)
    ws = page.socket()
    page.select(0)
    receive_until(ws, "selected 0: red")
    drop_connection(server, ws, page.token)
    ran_event.clear()
    page.select(2)  # nobody is listening: the result waits for the page
    assert ran_event.wait(10)
    ws = page.socket()
    try:
        if first_frame is not None:
            ws.send(first_frame)
        return receive_until(ws, "selected 2: blue")
    finally:
        ws.close()


def test_results_produced_while_disconnected_arrive_after_a_reconnect(server: LiveServer) -> None:
    # The client says nothing (not gallery.js): the replay starts after what was sent.
    received = reconnect_after_a_result(server, None)
    assert "selected 0: red" not in received  # what was delivered is not sent again
    assert ran == [0, 2]


def seq_of(frame: str) -> int:
    """The seq the server marks a frame of results with (gallery.js keeps the newest)."""
    match = re.match(r"<!--fg-seq:(\d+)-->", frame)
    assert match, f"a frame of results without its seq mark: {frame[:80]!r}"
    return int(match.group(1))


def test_a_result_the_dropped_connection_lost_is_sent_again(server: LiveServer) -> None:
    """What the server wrote into a connection just before it dropped may never have reached
    the page: the page names the last message it had, and the replay starts there."""
    page = Page(server)
    ws = page.socket()
    page.select(0)
    had = seq_of(receive_until(ws, "selected 0: red"))
    page.select(1)
    lost = receive_until(ws, "selected 1: green")  # written by the server; say it never arrived
    assert seq_of(lost) > had
    drop_connection(server, ws, page.token)
    ws = page.socket()
    try:
        ws.send(json.dumps({"resume": had}))
        received = receive_until(ws, "selected 1: green")
    finally:
        ws.close()
    assert "selected 0: red" not in received  # what the page had is not sent again


def test_a_resume_past_what_was_sent_loses_nothing(server: LiveServer) -> None:
    received = reconnect_after_a_result(server, json.dumps({"resume": 10**9}))  # forged
    assert "selected 0: red" not in received


def test_a_page_that_leaves_frees_its_replay_at_once(server: LiveServer) -> None:
    """A socket closed normally (the page navigated away or its tab closed) needs no replay:
    the buffered results go at once instead of after the replay's minute."""
    page = Page(server)
    engine = engine_of(server)
    ws = page.socket()
    try:
        page.click(ws, "select/1")
        receive_until(ws, "selected 1: green")
        assert engine.replay(page.token).messages  # buffered for a reconnect while open
    finally:
        ws.close()  # close code 1000, as hx-ws sends on pagehide
    deadline = time.monotonic() + 10
    while engine.replay(page.token).messages:
        assert time.monotonic() < deadline, "the replay buffer was kept after a normal close"
        time.sleep(0.01)
    assert not engine.replay(page.token).complete  # a late reconnect is told it missed some


def test_the_poll_refuses_another_origin(server: LiveServer) -> None:
    page = Page(server)
    request = urllib.request.Request(
        f"{server.url}/_gallery/poll/{page.token}",
        headers={
            "X-Gallery-Page": page.token,
            "Cookie": page.cookie,
            "Origin": "https://evil.example",
        },
    )
    with pytest.raises(HTTPError) as refused:
        urllib.request.urlopen(request)
    refused.value.close()
    assert refused.value.code == 403


def test_a_slow_handler_does_not_hold_its_clicks_answer_nor_its_status(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer waits for a quick result, to go in one frame with it, but only briefly: while
    the handler still runs, the page already has its click's answer. Its status is held for
    STATUS_GRACE (a quick job shows none), then sent while the handler runs, though neither
    the thread that acts on the click (the socket's reader) nor the one that runs the handler
    is the relay that sleeps until then: with the relay's idle wait made a minute long here, a
    status nobody re-timed it for would come only with the result."""
    monkeypatch.setattr(socket_pipe, "IDLE", 60.0)
    page = Page(server, "/?g=slow")
    ws = page.socket()
    try:
        page.click(ws, "select/1", gallery="slow")
        shown = receive_until(ws, "<!--fg-answer:fg-slow-->")
        if 'class="fg-status' not in shown:  # else a stalled machine sent both in one frame
            shown += receive_until(ws, 'class="fg-status', limit=20.0)
        assert "late 1" not in shown
        release.set()
        assert "late 1" in receive_until(ws, "late 1")
    finally:
        release.set()
        ws.close()


def test_a_click_over_the_socket_is_answered_before_its_result(server: LiveServer) -> None:
    page = Page(server)
    ws = page.socket()
    try:
        page.click(ws, "select/1")
        received = receive_until(ws, "selected 1: green")
    finally:
        ws.close()
    answer = received.index("<!--fg-answer:fg-pics-->")
    highlight = received.index('<hx-partial hx-target="#fg-pics-item-1" hx-swap="outerMorph">')
    assert answer < highlight < received.index("selected 1: green")
    assert ran == [1]


@pytest.mark.parametrize(
    ("message", "why"),
    [
        # A click on an item that does not exist (forged, or the gallery changed).
        ("select/99", "out of range"),
        # Uploads carry files: only an HTTP request takes them.
        ("upload", "goes by HTTP"),
        # A gallery that is not declared, an action that does not exist. (A frame cannot name
        # another page: the socket's page is the only one its frames act on.)
        ("select/0 nope", "Unknown gallery"),
        ("/_gallery/media/abc", "names its action"),
        # Not a click as the page's script sends it: nothing to show it in, no answer.
        ("not json", None),
        (json.dumps(["select/0"]), None),
    ],
)
def test_a_bad_click_over_the_socket_is_refused_and_the_socket_serves_on(
    server: LiveServer, message: str, why: str | None
) -> None:
    page = Page(server)
    if message in ("select/99", "upload"):
        message = click_frame(message)
    elif message == "select/0 nope":
        message = click_frame("select/0").replace('"gallery": "pics"', '"gallery": "nope"')
    elif message.startswith("/"):
        message = json.dumps({"action": message, "gallery": "pics", "root": "fg-pics"})
    ws = page.socket()
    try:
        ws.send(message)
        if why is not None:
            refusal = receive_until(ws, why)
            assert 'hx-target="#fg-toasts"' in refusal and 'role="alert"' in refusal
        page.click(ws, "select/2")  # the same socket serves the next click
        received = receive_until(ws, "selected 2: blue")
    finally:
        ws.close()
    assert ran == [2]  # the refused click fired nothing
    assert "fg-toast" not in received


def test_a_click_that_fails_on_the_server_is_reported_and_the_socket_serves_on(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug while acting on a click (a fault no request can cause, so it is patched in) is
    logged and shown in the gallery; the page's socket keeps serving."""
    from flask_gallery.web import actions

    def broken(click: t.Any) -> t.NoReturn:
        raise RuntimeError("a bug")

    page = Page(server)
    ws = page.socket()
    try:
        monkeypatch.setitem(actions.ACTIONS, "close", actions.Action(broken, "/close"))
        page.click(ws, "close")
        assert 'role="alert"' in receive_until(ws, "could not act on this click")
        page.click(ws, "select/0")
        receive_until(ws, "selected 0: red")
    finally:
        ws.close()


def test_the_socket_declines_compression(server: LiveServer) -> None:
    """Browsers offer permessage-deflate; the page's socket answers without it (a zlib state
    per open page for small fragments), and works uncompressed."""
    status, extensions, raw = Page(server).raw_socket(compress=True)
    raw.close()
    assert status == 101
    assert extensions == []


def test_a_client_that_stops_answering_pings_gives_its_place_back(
    tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that dropped without a close (a phone losing its network) goes unseen until
    the server writes to it: the page's socket pings its client, and one that has not answered
    by the next ping is let go, with the thread and the place it held. (The interval is
    shortened from its 25 s.)"""
    from flask_gallery.web import socket as page_socket

    monkeypatch.setattr(page_socket, "_PING", 0.2)
    monkeypatch.setattr(socket_pipe, "IDLE", 0.2)  # how often an idle relay looks up
    app = gallery_app(tmp_path / "instance", declare)
    sockets = app.extensions["flask_gallery"].sockets
    with LiveServer(app) as server:
        answering_page = Page(server)
        silent = Page(server).raw_socket()  # reads nothing, so answers no ping
        answering = answering_page.socket()  # simple-websocket answers pings, as browsers do
        try:
            assert silent.status == 101 and len(sockets) == 2
            deadline = time.monotonic() + 10
            while len(sockets) > 1:
                assert time.monotonic() < deadline, "the silent client kept its place"
                time.sleep(0.05)
            answering_page.click(answering, "select/0")
            receive_until(answering, "selected 0: red")
        finally:
            silent.sock.close()
            answering.close()


def test_a_flood_of_clicks_over_the_socket_is_cut_to_its_rate(server: LiveServer) -> None:
    """A page that sends 500 clicks at once has most of them dropped, unread, and is told so;
    its socket goes on serving clicks at a human pace."""
    page = Page(server)
    ws = page.socket()
    try:
        for n in range(500):
            page.click(ws, f"select/{n % 3}")
        told = receive_until(ws, "Too many clicks at once", limit=30)
        assert 'role="alert"' in told
        time.sleep(0.2)  # a few clicks' worth of the rate comes back
        page.click(ws, "select/2")
        receive_until(ws, "selected 2: blue", limit=30)
    finally:
        ws.close()
    assert len(ran) < 200, "the flood's clicks ran"
    sockets = server.app.extensions["flask_gallery"].sockets
    deadline = time.monotonic() + 10
    while len(sockets):  # the relay reads what was sent before the close; let it end first
        assert time.monotonic() < deadline, "the socket's relay never ended"
        time.sleep(0.01)


def big(galleries: t.Any) -> None:
    """``big``: each select's result is 256 KiB; the page's socket may be one that never reads."""
    pictures = galleries.gallery("big", [np.zeros((8, 8, 3), np.uint8)] * 2)

    @pictures.on_select(outputs="#out", trigger_mode="multiple", concurrency_limit=None)
    def fill(evt: SelectData) -> str:
        return f"big {evt.index} " + "x" * (256 * 1024)


class Stalled(t.NamedTuple):
    """A server with one worker, a page whose socket reads nothing after its handshake, and
    another page with its socket open."""

    server: LiveServer
    stalled: Page
    other: Page
    ws: Client


@contextlib.contextmanager
def stalled_beside_another(tmp_path: t.Any) -> t.Iterator[Stalled]:
    app = gallery_app(tmp_path / "instance", big, GALLERY_MAX_THREADS=1)
    with LiveServer(app) as server:
        stalled = Page(server)
        silent = stalled.raw_socket()
        other = Page(server)
        ws = other.socket()
        try:
            assert silent.status == 101 and len(app.extensions["flask_gallery"].sockets) == 2
            yield Stalled(server, stalled, other, ws)
        finally:
            silent.sock.close()
            ws.close()


def test_a_client_that_stops_reading_holds_no_worker(tmp_path: t.Any) -> None:
    """Results are written into the page's socket by the worker that made them when it can,
    never waiting on the client: a page whose socket takes no more (a client that stopped
    reading) leaves the one worker free, and another page's click still gets its result."""
    with stalled_beside_another(tmp_path) as pages:
        # 40 results of 256 KiB: more than loopback's socket buffers hold (a few MiB).
        for n in range(40):
            pages.stalled.select(n % 2, gallery="big")
        for n in range(3):
            pages.other.click(pages.ws, f"select/{n % 2}", gallery="big")
            receive_until(pages.ws, f"big {n % 2} ", limit=15)


@pytest.mark.parametrize(
    "caps",
    [
        # The bytes: 4 MiB of these 256 KiB results, with the defaults.
        {},
        # The count, shortened from its 10,000 messages (small ones would reach it first).
        {"OUTBOX": 30, "OUTBOX_BYTES": 1 << 40},
    ],
    ids=["bytes", "messages"],
)
def test_a_client_too_far_behind_is_cut_off_without_holding_a_worker(
    tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch, caps: dict[str, int]
) -> None:
    """Once a socket's client has left its outbox full (it stopped reading), the socket is cut
    by the thread delivering the next message, which does not wait on the client for it: the
    page's relay thread and place come back, and another page is served by the one worker.
    Full is whichever comes first of OUTBOX_BYTES of text and OUTBOX messages: what one
    client can make the server hold."""
    for name, value in caps.items():
        monkeypatch.setattr(socket_pipe, name, value)
    with stalled_beside_another(tmp_path) as pages:
        sockets = pages.server.app.extensions["flask_gallery"].sockets
        # The socket's buffers take some results, the relay's blocked frame the outbox of the
        # moment, then the outbox fills: some 60 results in all, far fewer than 200.
        for n in range(200):
            if len(sockets) == 1:
                break
            pages.stalled.select(n % 2, gallery="big")
        deadline = time.monotonic() + 15
        while len(sockets) > 1:
            assert time.monotonic() < deadline, "the stalled client kept its socket"
            time.sleep(0.05)
        pages.other.click(pages.ws, "select/1", gallery="big")
        receive_until(pages.ws, "big 1 ", limit=15)
