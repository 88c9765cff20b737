"""Hostile clients against the page sockets and the page store, on real servers (issue 10,
points 2 and 4), each in a process of its own (:mod:`tests.servers`), attacked over loopback.

- Sockets cannot starve requests: 32 threads of gunicorn's gthread worker once stopped serving
  when one page opened 32 sockets. Now a page holds one socket (a new one replaces the old),
  a session a few, the server fewer than its threads; a page refused one still gets its
  results, by polling; ``GET /plain`` answers within a second throughout.
- Page loads cannot evict pages in use: 51 anonymous page loads once made a connected user's
  next click answer "This page has expired" (``GALLERY_MAX_PAGES=50``).
- One address cannot hold every socket: sessions cost nothing, so an attacker can fill the cap
  with sessions of its own; at the cap, a client holding fewer takes its newest socket's place.
- A page that leaves (its socket closed normally) has its queued submissions cancelled; one
  whose tab only went to the background (1005) keeps them.
- Many open pages: gunicorn's gevent worker holds 1,000 pages with their sockets open, and
  still answers ``GET /plain`` within a second and runs clicks, ticks and media work
  (benchmarks/bench_open_pages.py measures it).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import re
import time
import typing as t
from pathlib import Path

import pytest
from simple_websocket import Client, ConnectionError
from wsproto.frame_protocol import CloseReason

from flask_gallery.web.capacity import UNBOUNDED_SERVER_SOCKETS, below
from flask_gallery.web.sockets import EVICTED

from .clients import Page, receive_until, request
from .servers import Kind, ServerProcess, raise_open_files

APP = "tests.apps.hostile:create_app"
#: The page most tests load: the one gallery they click.
PICS = "/?g=pics"
#: gunicorn's threads in README's deployment (``gunicorn -w 1 --threads 32``).
THREADS = 32
#: Threads a server runs besides those serving requests and sockets: its main thread, the
#: engine's worker and timer threads, the media pools (measured: 5 to 7).
OWN_THREADS = 10


def serve(tmp_path: Path, kind: Kind, **config: t.Any) -> ServerProcess:
    return ServerProcess(APP, tmp_path / "instance", kind=kind, config=config, threads=THREADS)


def assert_plain_answers(server: ServerProcess) -> None:
    """What every other view of the app stands for answers within a second."""
    started = time.monotonic()
    response = request(server.url + "/plain", timeout=5)
    elapsed = time.monotonic() - started
    assert response.status == 200 and response.body == "plain", response
    assert elapsed < 1.0, f"GET /plain took {elapsed:.2f} s"


def open_sockets(pages: t.Iterable[Page]) -> tuple[list[Client], list[tuple[Page, int]]]:
    """A socket for each page: the open ones, and the refused pages with their status."""
    opened, refused = [], []
    for page in pages:
        try:
            opened.append(page.socket())
        except ConnectionError as error:
            refused.append((page, error.status_code))
    return opened, refused


def close_all(sockets: t.Iterable[Client]) -> None:
    for ws in sockets:
        with contextlib.suppress(Exception):
            ws.close()


def wait_closed(ws: Client, limit: float = 10.0) -> None:
    """Until the server has closed ``ws`` (its reader saw the close frame)."""
    deadline = time.monotonic() + limit
    while ws.connected:
        assert time.monotonic() < deadline, "the server never closed the socket"
        time.sleep(0.02)


def test_sockets_cannot_starve_requests_on_gunicorn(tmp_path: Path) -> None:
    cap = below(THREADS)
    assert cap < THREADS  # what keeps threads for plain requests
    sockets: list[Client] = []
    with serve(tmp_path, "gunicorn") as server:
        try:
            # 40 sockets on one page token: each replaces the one before.
            page = Page(server, PICS)
            for _ in range(THREADS + 8):
                sockets.append(page.socket())
                assert_plain_answers(server)
            for ws in sockets[:-1]:
                wait_closed(ws)
                assert ws.close_reason == CloseReason.POLICY_VIOLATION  # hx-ws: no reconnect
            assert sockets[-1].connected
            page.click(sockets[-1], "select/1")
            receive_until(sockets[-1], "selected 1")  # the newest socket serves the page

            # 40 pages of one session (its page above holds one socket already).
            same_session = [Page(server, PICS, cookie=page.cookie) for _ in range(40)]
            opened, refused = open_sockets(same_session)
            sockets += opened
            assert len(opened) == 8 - 1
            assert {status for _, status in refused} == {429}
            assert_plain_answers(server)

            # 40 pages of 40 sessions: the server's cap.
            opened, refused = open_sockets(Page(server, PICS) for _ in range(40))
            sockets += opened
            assert len(opened) == cap - 8
            assert {status for _, status in refused} == {503}
            assert_plain_answers(server)
            threads = server.threads_now()
            assert threads <= THREADS + cap + OWN_THREADS, threads

            # More attempts at the cap cost the server no thread that stays.
            _, again = open_sockets(Page(server, PICS) for _ in range(40))
            assert len(again) == 40
            assert_plain_answers(server)
            assert server.threads_now() <= THREADS + cap + OWN_THREADS

            # A refused page works: its click by HTTP, its result by polling.
            refused_page = refused[0][0]
            refused_page.select(2)
            assert "selected 2" in refused_page.poll_until("selected 2")

            # Closed sockets give their places back.
            close_all(sockets[-5:])
            deadline = time.monotonic() + 10
            while (opened := open_sockets([refused_page])[0]) == []:
                assert time.monotonic() < deadline, "a closed socket's place never came back"
                time.sleep(0.1)
            sockets += opened
        finally:
            close_all(sockets)


def test_socket_attempts_on_the_dev_server_hold_a_bounded_number_of_threads(
    tmp_path: Path,
) -> None:
    """Werkzeug's server starts a thread per connection without limit, and each socket holds
    two: 200 sockets made 402 threads."""
    sockets: list[Client] = []
    with serve(tmp_path, "werkzeug") as server:
        try:
            opened, refused = open_sockets(Page(server, PICS) for _ in range(200))
            sockets += opened
            assert len(opened) == UNBOUNDED_SERVER_SOCKETS
            assert {status for _, status in refused} == {503}
            threads = server.threads_now()
            assert threads <= 2 * UNBOUNDED_SERVER_SOCKETS + OWN_THREADS, threads
            assert_plain_answers(server)
        finally:
            close_all(sockets)


def close_frame(sock: t.Any, limit: float = 10.0) -> tuple[int, str]:
    """The code and reason of the close frame the server sends next on a raw socket (small,
    unmasked: two header bytes, then the payload)."""
    sock.settimeout(limit)
    head = sock.recv(2)
    assert len(head) == 2 and head[0] == 0x88, f"not a close frame: {head!r}"
    payload = b""
    while len(payload) < head[1] & 0x7F:
        chunk = sock.recv((head[1] & 0x7F) - len(payload))
        assert chunk, "the connection closed inside the close frame"
        payload += chunk
    return int.from_bytes(payload[:2], "big"), payload[2:].decode()


def test_one_address_cannot_hold_every_socket(tmp_path: Path) -> None:
    """An attacker at 127.0.0.2 fills the server's 4 sockets with pages of 4 sessions of its
    own; a user at 127.0.0.3 still gets a socket, in place of the attacker's newest, which is
    closed with 1008 (no reconnect: that page polls); the attacker's other sockets stay."""
    with serve(tmp_path, "gunicorn", GALLERY_MAX_SOCKETS=4) as server:
        hoarded = [Page(server, PICS, source="127.0.0.2").raw_socket() for _ in range(4)]
        try:
            assert [s.status for s in hoarded] == [101] * 4
            more = Page(server, PICS, source="127.0.0.2").raw_socket()
            more.sock.close()
            assert more.status == 503  # the attacker cannot take another client's place
            user = Page(server, PICS, source="127.0.0.3").raw_socket()
            user.sock.close()
            assert user.status == 101
            assert close_frame(hoarded[-1].sock) == (1008, EVICTED)
            for kept in hoarded[:-1]:
                kept.sock.settimeout(0.5)
                with pytest.raises(TimeoutError):
                    kept.sock.recv(1)
            assert_plain_answers(server)
        finally:
            for held in hoarded:
                held.sock.close()


def test_page_loads_do_not_evict_pages_in_use(tmp_path: Path) -> None:
    with serve(tmp_path, "werkzeug", GALLERY_MAX_PAGES=50) as server:
        connected = Page(server, PICS)
        ws = connected.socket()
        try:
            clicking = Page(server, PICS)  # no socket: clicks by HTTP, results by polling
            clicking.select(0)
            first_loaded = Page(server, PICS)
            for _ in range(60):  # anonymous loads: a new session each
                Page(server, PICS)
            for _ in range(60):  # a script in the connected user's own session
                Page(server, PICS, cookie=connected.cookie)
            for _ in range(60):  # another session
                Page(server, PICS, cookie=first_loaded.cookie)

            assert first_loaded.post("pics", "select/0").status == 410  # the store did evict
            connected.click(ws, "select/2")
            assert "expired" not in receive_until(ws, "selected 2")
            clicking.select(1)
            assert "selected 1" in clicking.poll_until("selected 1")
        finally:
            ws.close()


@pytest.mark.parametrize(
    ("code", "kept"),
    [
        (CloseReason.NORMAL_CLOSURE, False),  # pagehide: the page left
        (CloseReason.NO_STATUS_RCVD, True),  # hx-ws closing a background tab's socket
    ],
)
def test_a_page_that_leaves_has_its_queued_submissions_cancelled(
    tmp_path: Path, code: CloseReason, kept: bool
) -> None:
    """Three pages click the ``hang`` gallery, whose listener runs one at a time for all pages:
    A's run blocks, B's and then C's click wait in that order. B's socket closes. If B's click
    were still queued it would run before C's: its result would wait in B's replay buffer (what
    B's next poll gets) before C's result reaches C."""
    with serve(tmp_path, "werkzeug", TEST_HANG_SECONDS=2) as server:
        a, b, c = (Page(server, "/?g=hang") for _ in range(3))
        b_ws, c_ws = b.socket(), c.socket()
        try:
            a.select(0, gallery="hang")
            b.select(1, gallery="hang")
            c.select(2, gallery="hang")
            b_ws.close(reason=code)
            receive_until(c_ws, "hung 2", limit=20)
            assert ("hung 1" in b.poll().body) is kept
        finally:
            c_ws.close()


def test_a_gevent_worker_keeps_connections_for_plain_requests(tmp_path: Path) -> None:
    """Under gevent a socket holds one of ``--worker-connections`` (at the default 1,000, 1,000
    sockets left none for a plain request): the cap keeps a quarter of them."""
    connections = 40
    sockets: list[Client] = []
    with ServerProcess(APP, tmp_path / "instance", kind="gevent", threads=connections) as server:
        try:
            opened, refused = open_sockets(Page(server, PICS) for _ in range(connections))
            sockets += opened
            assert len(opened) == below(connections)
            assert {status for _, status in refused} == {503}
            assert_plain_answers(server)
        finally:
            close_all(sockets)


#: Pages the gevent worker must hold open (issue 10).
OPEN_PAGES = 1000


@pytest.mark.slow
def test_a_gevent_worker_holds_a_thousand_open_pages(tmp_path: Path) -> None:
    """Under gevent the engine's threads are greenlets: its handlers, its ticks (``every``)
    and the media pools must run there too. ``--worker-connections`` must exceed the open
    pages (the default 1,000 leaves no connection for a plain request)."""
    raise_open_files(2 * OPEN_PAGES + 512)
    config = {"TEST_TICK_SECONDS": 0.5, "GALLERY_ENCODE_AHEAD": True}
    connections = 2 * OPEN_PAGES
    with ServerProcess(
        APP, tmp_path / "instance", kind="gevent", config=config, threads=connections
    ) as (server):
        with concurrent.futures.ThreadPoolExecutor(8) as clients:  # 8 browsers at a time
            pages = list(clients.map(lambda _: Page(server, PICS), range(OPEN_PAGES)))
        # One after the other: each socket's relay is set up after its handshake, and a
        # thousand set up at once would be a burst of CPU work, not open pages.
        sockets = [page.raw_socket() for page in pages]
        try:
            assert [s.status for s in sockets] == [101] * OPEN_PAGES
            for _ in range(20):
                assert_plain_answers(server)
            assert server.threads_now() < OWN_THREADS  # greenlets, not a thread per socket

            clicking = Page(server, PICS)
            ws = clicking.socket()
            try:
                clicking.click(ws, "select/2")
                receive_until(ws, "selected 2")
            finally:
                ws.close()

            ticking = Page(server, "/?g=ticking")
            rendered = int(re.findall(r"tick (\d+)", ticking.html)[0])
            ws = ticking.socket()
            try:
                for _ in range(100):  # every new value is drawn with its caption
                    ticks = re.findall(r"tick (\d+)", receive_until(ws, "tick "))
                    if max(map(int, ticks)) > rendered:
                        break
                else:
                    raise AssertionError("the ticking gallery never ticked")
            finally:
                ws.close()

            thumbnail = re.findall(r'src="(/_gallery/media/[^"]+)"', clicking.html)[0]
            response = request(server.url + thumbnail.replace("&amp;", "&"))
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("image/")
            assert_plain_answers(server)
        finally:
            for opened in sockets:
                opened.sock.close()
