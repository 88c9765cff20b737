"""gunicorn with 3 worker processes on one real redis-server (``tests/apps/redis_site.py``), driven
by real HTTP and WebSocket clients: what issue 12 asks of a scaled-out deployment.

A page's requests open a new connection each, so gunicorn spreads them over its workers; where a
test needs a request on a given worker, every other worker is paused (SIGSTOP) for that request
only, as tests/test_processes_live.py does."""

from __future__ import annotations

import concurrent.futures
import contextlib
import html
import os
import signal
import threading
import time
import typing as t
from pathlib import Path

import pytest
import redis

from flask_gallery.queue.redis_backend import LAPSED
from flask_gallery.queue.redis_client import GREEN_CONNECTIONS
from flask_gallery.web.redis_mode import UNAVAILABLE

from .clients import Page, receive_until
from .redis_server import RedisServer
from .servers import ServerProcess

APP = "tests.apps.redis_site:create_app"
#: Seconds any wait of these tests may take at most.
LIMIT = 30.0


@pytest.fixture
def site(tmp_path: Path, redis_url: str) -> t.Iterator[tuple[ServerProcess, redis.Redis]]:
    env = {"FG_REDIS_URL": redis_url, "FG_MEDIA_DIR": str(tmp_path / "media")}
    server = ServerProcess(
        APP,
        tmp_path / "instance",
        kind="gunicorn",
        workers=3,
        threads=64,  # 48 sockets each: the 30 pages may all land on one worker
        env=env,
        config={"GALLERY_JOB_LEASE_SECONDS": 2.0},
    )
    with server:
        deadline = time.monotonic() + LIMIT  # gunicorn starts its workers one by one
        while len(server.worker_pids()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(server.worker_pids()) == 3
        yield server, redis.Redis.from_url(redis_url)


def test_a_limit_of_two_holds_for_thirty_clients_over_three_workers(
    site: tuple[ServerProcess, redis.Redis],
) -> None:
    server, store = site

    def one_user(n: int) -> str:
        page = Page(server, "/page")
        with contextlib.closing(page.socket()) as ws:
            page.select(n % 3, "limited")
            return receive_until(ws, "done in process", LIMIT)

    with concurrent.futures.ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(one_user, range(30), timeout=LIMIT * 2))
    assert len(answers) == 30
    assert int(store.get("test:peak") or 0) == 2  # reached, never passed, across processes
    ran_in = {a.split("done in process ", 1)[1].split("<", 1)[0] for a in answers}
    assert len(ran_in) >= 2 and {int(pid) for pid in ran_in} <= set(server.worker_pids())


def test_a_result_reaches_the_socket_held_by_another_worker(
    site: tuple[ServerProcess, redis.Redis],
) -> None:
    """The socket is opened on one worker, the click posted to another: the result (computed by
    whichever worker claimed it) comes through Redis to the socket's worker."""
    server, _ = site
    holder, clicker, _third = server.worker_pids()
    page = Page(server, "/page")
    with server.only(holder):
        ws = page.socket()  # the handshake happens here, on the holder
    with contextlib.closing(ws):
        with server.only(clicker):
            page.select(2, "g")
        assert "picked 2 (shade 2) in process" in receive_until(ws, "picked 2 (shade 2)", LIMIT)


def test_once_and_always_last_hold_when_clicks_land_on_different_workers(
    site: tuple[ServerProcess, redis.Redis],
) -> None:
    server, _ = site
    first, second, third = server.worker_pids()
    page = Page(server, "/page")
    for gallery, pid, index in (("once", first, 0), ("once", second, 1)):
        with server.only(pid):
            page.select(index, gallery)
    assert "once 0 done" in page.poll_until("once 0 done", LIMIT)
    # The second click came while the first ran: dropped (silently, as Gradio does).
    with pytest.raises(AssertionError, match="never arrived"):
        page.poll_until("once 1 done", 2.0)
    for pid, index in ((first, 0), (second, 1), (third, 2)):
        with server.only(pid):
            page.select(index, "last")
        if index == 0:  # let a worker claim it (all run again): 1 then waits behind a run
            page.poll_until(">processing<", LIMIT)  # its "started" status
    received = page.poll_until("last 2 done", LIMIT)
    assert "last 0 done" in received and "last 1 done" not in received  # 1 was superseded


def test_a_worker_killed_while_running_a_job_leaves_its_page_a_message(
    site: tuple[ServerProcess, redis.Redis],
) -> None:
    server, store = site
    page = Page(server, "/page")
    page.select(0, "hang")
    deadline = time.monotonic() + LIMIT
    while store.get("test:hung-by") is None and time.monotonic() < deadline:
        time.sleep(0.02)
    pid = store.get("test:hung-by")
    assert pid is not None, "the handler never started"
    os.kill(int(pid), signal.SIGKILL)  # as the OOM killer would; gunicorn starts a new worker
    assert LAPSED["error"] in html.unescape(page.poll_until("stopped before it finished", LIMIT))


def test_every_ticks_once_per_page_whichever_workers_run_the_ticks(
    site: tuple[ServerProcess, redis.Redis],
) -> None:
    """A gallery with ``every=0.3`` on a page whose socket is open for 3 s: about 10 ticks in
    all, as one process gives, not one series per worker."""
    server, store = site
    page = Page(server, "/ticking")
    before = int(store.get("test:ticks") or 0)  # the render's own evaluation
    started = time.monotonic()
    with contextlib.closing(page.socket()) as ws:
        receive_until(ws, "tick", LIMIT)  # ticking
        time.sleep(3.0)
        ticks = int(store.get("test:ticks") or 0) - before
        elapsed = time.monotonic() - started
    assert 5 <= ticks <= elapsed / 0.3 + 2, (ticks, elapsed)  # one series: 3 would be ~30


def test_redis_restarted_under_load_loses_no_accepted_click(tmp_path: Path) -> None:
    """Pages clicking on 3 workers while redis-server (append-only file, fsync always) stops
    and starts again: a click answered 200 was accepted and gets its result; a click during
    the outage is refused (503 with the message), never answered 200 and then lost."""
    store = RedisServer(tmp_path / "redis", persistent=True)
    env = {"FG_REDIS_URL": store.url, "FG_MEDIA_DIR": str(tmp_path / "media")}
    server = ServerProcess(
        APP, tmp_path / "instance", kind="gunicorn", workers=3, threads=16, env=env
    )
    accepted: dict[Page, int] = {}  # clicks answered 200, by page
    refused: list[int] = []
    stop = threading.Event()

    def clicking(n: int) -> None:
        page: Page | None = None
        for k in range(300):  # bounded: a few seconds of clicks
            if stop.is_set():
                return
            if page is None or accepted.get(page, 0) >= 5:  # a new page every 5 clicks
                try:
                    page = Page(server, "/page")
                except AssertionError:  # not drawn during the outage: try again
                    time.sleep(0.05)
                    continue
            answer = page.post("g", f"select/{(n + k) % 3}")
            if answer.status == 200:
                accepted[page] = accepted.get(page, 0) + 1
            else:
                assert answer.status == 503 and UNAVAILABLE in html.unescape(answer.body)
                refused.append(answer.status)
            time.sleep(0.02)

    try:
        with server:
            with concurrent.futures.ThreadPoolExecutor(6) as pool:
                users = [pool.submit(clicking, n) for n in range(6)]
                time.sleep(1.0)
                store.stop()
                time.sleep(1.0)
                # Redis stays away until a click met the outage (on a slow machine the users may
                # all be between pages for that second), within LIMIT.
                deadline = time.monotonic() + LIMIT
                while not refused and time.monotonic() < deadline:
                    time.sleep(0.05)
                store.start()
                time.sleep(1.0)
                stop.set()
                for user in users:
                    user.result(LIMIT)
            assert accepted and refused, (len(accepted), len(refused))
            # The listener runs one click at a time (concurrency_limit 1) for every page: the
            # queue left by the outage drains for a while, so each page gets its own LIMIT, as
            # each click's poll_until had before the clicks were counted per page.
            for page, clicks in accepted.items():
                deadline = time.monotonic() + LIMIT
                while page.poll(0).body.count("picked ") < clicks:
                    assert time.monotonic() < deadline, (page.poll(0).body, clicks)
                    time.sleep(0.1)
    finally:
        store.stop()


def test_gevent_workers_on_redis_serve_many_sockets_over_a_few_connections(
    tmp_path: Path, redis_url: str
) -> None:
    """gunicorn's gevent worker (the deployment for many open pages), two processes on Redis:
    40 pages with open sockets each get their result, whichever worker holds the socket, and
    the sockets do not each hold a Redis connection (a greenlet per page is no reason for one)."""
    env = {"FG_REDIS_URL": redis_url, "FG_MEDIA_DIR": str(tmp_path / "media")}
    server = ServerProcess(  # 48 sockets each: the 40 pages may all land on one worker
        APP, tmp_path / "instance", kind="gevent", workers=2, threads=64, env=env
    )
    store = redis.Redis.from_url(redis_url)
    before = _connections(store)  # the shared server's, from earlier tests too
    with server, contextlib.ExitStack() as sockets:
        pages = [Page(server, "/page") for _ in range(40)]
        opened = [sockets.enter_context(contextlib.closing(page.socket())) for page in pages]
        for n, (page, ws) in enumerate(zip(pages, opened, strict=True)):
            page.click(ws, f"select/{n % 3}", "g")
        for n, ws in enumerate(opened):
            receive_until(ws, f"picked {n % 3} (shade {n % 3})", LIMIT)
        # Each process: its pool's few, its pub/sub reader's one.
        assert _connections(store) - before <= 2 * (GREEN_CONNECTIONS + 1)


def _connections(store: redis.Redis) -> int:
    return int(t.cast(dict, store.info("clients"))["connected_clients"])
