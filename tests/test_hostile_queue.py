"""The queue against hostile clients, on a real server (issue 10, points 3 and 6).

One anonymous client floods the queue (page loads and clicks, with or without its cookie, or
clicks over one socket), or a handler hangs; another user, from another address, must still get
their click run and its result, and never see "queue full". Served by Werkzeug's threaded
server (``flask run``) and by gunicorn's gthread worker (README's deployment), as separate
processes on loopback: the attacker speaks from 127.0.0.2, the user from 127.0.0.3.
"""

from __future__ import annotations

import re
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .clients import Page, receive_until, request
from .servers import Kind, ServerProcess

APP = "tests.apps.hostile:create_app"
ATTACKER, USER = "127.0.0.2", "127.0.0.3"
#: The issue's flood: 1,050 page loads, each with a click; past GALLERY_MAX_QUEUE_SIZE (1,000).
FLOOD = 1050
#: Seconds the flood may take at most (it took 15 s in the issue; a loaded CI machine is slower).
FLOOD_LIMIT = 240.0
#: Connections the flood keeps busy at once.
FLOOD_THREADS = 4


@pytest.fixture(params=["werkzeug", "gunicorn"])
def kind(request: pytest.FixtureRequest) -> Kind:
    return t.cast(Kind, request.param)


@pytest.mark.parametrize("keep_cookie", [True, False], ids=["same-session", "new-session-each"])
def test_a_flood_of_page_loads_and_clicks_leaves_another_user_served(
    tmp_path: Path, kind: Kind, keep_cookie: bool
) -> None:
    """Each click of the flood queues behind a hung run. With its cookie the flood is held to
    its session's 50 pages, and so to 50 waiting clicks; without it, every page is a new
    session and the flood fills the whole queue, yet the user from another address gets in, in
    place of the flood's newest."""
    config = {"TEST_HANG_SECONDS": FLOOD_LIMIT + 60}  # the run the flood queues behind
    with ServerProcess(APP, tmp_path, kind=kind, config=config) as server:
        user = Page(server, "/?g=other", source=USER)
        first = Page(server, "/?g=hang", source=ATTACKER)
        first.select(0, "hang")
        cookie = first.cookie if keep_cookie else None
        deadline = time.monotonic() + FLOOD_LIMIT

        def attack(n: int) -> Page:
            assert time.monotonic() < deadline, f"the flood took over {FLOOD_LIMIT} s ({n} done)"
            page = Page(server, "/?g=hang", cookie=cookie, source=ATTACKER)
            page.select(0, "hang")
            return page

        with ThreadPoolExecutor(FLOOD_THREADS) as pool:
            half = list(pool.map(attack, range(FLOOD // 2)))
            user.select(1, "other")  # meanwhile
            assert "queue full" not in user.poll_until("other 1")
            pages = half + list(pool.map(attack, range(FLOOD // 2, FLOOD)))
        if keep_cookie:
            # The session keeps only its 50 newest pages (GALLERY_MAX_PAGES_PER_SESSION); each
            # page it loses has its waiting click cancelled, so the flood never holds more than
            # its session's share of the queue.
            assert pages[0].poll().status == 410
            waiting = pages[-1].poll_until("queue: ")
            sizes = [int(size) for size in re.findall(r"queue: \d+/(\d+)", waiting)]
            assert sizes and max(sizes) <= 50, waiting
        else:
            flooded = pages[-1].poll_until("queue full")  # the flood is refused itself...
            assert "1000 submissions are waiting (max_queue_size=1000)" in flooded
        user.select(2, "other")  # ...and afterwards the user is not
        assert "queue full" not in user.poll_until("other 2")
        assert request(server.url + "/plain", source=USER).status == 200


def test_a_click_flood_over_one_socket_is_refused_on_that_page_only(
    tmp_path: Path, kind: Kind
) -> None:
    """1,100 clicks on a ``trigger_mode="multiple"`` listener sent at once over the page's
    socket: the page holds 20 waiting and is told "queue full" for the rest; another user's
    click on the same listener waits behind those 20 at most, and runs."""
    config = {"TEST_SELECT_SECONDS": 0.02}  # the handler is slower than the flood
    with ServerProcess(APP, tmp_path, kind=kind, config=config) as server:
        flooder = Page(server, "/?g=pics", source=ATTACKER)
        user = Page(server, "/?g=pics", source=USER)
        ws = flooder.socket()
        try:
            for n in range(1100):
                flooder.click(ws, f"select/{n % 3}")
            refused = receive_until(ws, "queue full", limit=60)
            assert "this page already has 20 submissions waiting" in refused
            user.select(1)
            assert "queue full" not in user.poll_until("selected 1", limit=20)
        finally:
            ws.close()


def test_a_hung_handler_fails_after_its_timeout_and_frees_its_listener(
    tmp_path: Path, kind: Kind
) -> None:
    """The ``hang`` handler blocks for 30 s and its listener's limit is 1. With a 1 s timeout,
    the page is told after the timeout, and another page's click on ``hang`` runs at once
    instead of waiting for the hung run (it times out in its turn: the message proves it ran,
    since a waiting submission has no timeout)."""
    config = {"GALLERY_HANDLER_TIMEOUT": 1}
    with ServerProcess(APP, tmp_path, kind=kind, config=config) as server:
        first, second = Page(server, "/?g=hang"), Page(server, "/?g=hang", source=USER)
        ws = first.socket()
        try:
            first.click(ws, "select/0", gallery="hang")
            failed = receive_until(ws, "took longer than its timeout of 1 s and was stopped.")
            assert 'hx-target="#fg-toasts"' in failed and 'role="alert"' in failed
        finally:
            ws.close()
        second.select(1, "hang")
        ran = second.poll_until("took longer than its timeout of 1 s", limit=10)  # not 30 s
        assert 'hx-target="#fg-toasts"' in ran
        assert request(server.url + "/plain").status == 200
