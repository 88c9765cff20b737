"""``gunicorn -w 2 --threads 4`` without ``GALLERY_QUEUE_URL``, on loopback: each worker keeps the
pages it drew, so a request that reaches the other worker cannot be served. It must never fail
silently: the click, the upload, the poll, the page's socket and the app's own view through
``galleries.page()`` are each answered with the message the gallery shows, the log says that
several processes need ``GALLERY_QUEUE_URL`` (at most a line a minute per process, whatever a
client sends), and gunicorn's ``-w 2`` is warned about once per process as it loads the app.

gunicorn gives each new connection to whichever worker accepts it first, and on a busy machine
one worker may win nine times in ten for a while. So the tests choose: while a request is sent,
the other workers are stopped (``SIGSTOP``, as a machine too busy to schedule them would leave
them), and go on right after (``SIGCONT``); the request, its connection and both workers are
real. What the browser shows of the same answers: ``tests/browser/test_processes.py``.
"""

from __future__ import annotations

import contextlib
import secrets
import time
import typing as t
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from simple_websocket import ConnectionClosed

from flask_gallery.page.state import TAG_LENGTH
from flask_gallery.web.tokens import PageElsewhere, PageGone

from .clients import Page, fetch_bytes, request
from .servers import ServerProcess
from .test_pages_http import png_bytes

APP = "tests.apps.workers:create_app"
WORKERS = 2
ELSEWHERE = PageElsewhere.description
#: The start warning of one process, and the line about a page of another process.
START = f"gunicorn runs {WORKERS} worker processes (--workers {WORKERS}) and GALLERY_QUEUE_URL"
LINE = "named a gallery page made by another process of this server"
#: The close code of a socket whose page is not here.
GONE = 4410
#: A file every worker serves alike.
STATIC = "/_gallery/static/flask_gallery/gallery.css"


class Workers(t.NamedTuple):
    """A server of two workers: ``own`` drew the page the test uses, ``other`` did not."""

    server: ServerProcess
    own: int
    other: int


def workers_server(tmp_path: Path, **env: str) -> ServerProcess:
    """``gunicorn -w 2 --threads 4`` serving :mod:`tests.apps.workers`; stdout and stderr in
    ``tmp_path / "server.log"``."""
    return ServerProcess(
        APP,
        tmp_path / "instance",
        kind="gunicorn",
        workers=WORKERS,
        threads=4,
        env=env,
        log=tmp_path / "server.log",
    )


def ready(server: ServerProcess, limit: float = 30.0) -> list[int]:
    """The workers' pids, once each of them has answered a request of its own."""
    deadline = time.monotonic() + limit
    pids = server.worker_pids()
    while len(pids) < WORKERS:
        assert time.monotonic() < deadline, f"{len(pids)} of {WORKERS} workers started"
        time.sleep(0.05)
        pids = server.worker_pids()
    for pid in pids:
        with server.only(pid):
            try:
                status, _, _ = fetch_bytes(f"{server.url}{STATIC}", timeout=limit)
            except OSError as error:  # the server's log says why (a worker that did not boot)
                log = log_of(server)
                raise AssertionError(f"worker {pid} of {pids}: {error}\n{log}") from error
            assert status == 200
    return pids


def page_of(workers: Workers, path: str = "/") -> Page:
    """A page drawn by ``workers.own``."""
    with workers.server.only(workers.own):
        return Page(workers.server, path)


@pytest.fixture
def workers(tmp_path: Path) -> t.Iterator[Workers]:
    with workers_server(tmp_path) as server:
        own, other = ready(server)
        yield Workers(server, own, other)


def log_of(server: ServerProcess) -> str:
    assert server.log is not None
    return server.log.read_text(errors="replace")


def wait_for_log(server: ServerProcess, needle: str, count: int = 1, limit: float = 20.0) -> str:
    """The server's log once ``needle`` is in it ``count`` times (fails after ``limit`` s)."""
    deadline = time.monotonic() + limit
    while log_of(server).count(needle) < count:
        assert time.monotonic() < deadline, f"{needle!r} x{count} not logged: {log_of(server)}"
        time.sleep(0.05)
    return log_of(server)


def the_line(server: ServerProcess, endpoint: str) -> str:
    """The one log line about a page of another process; it names ``endpoint``, the key and
    README's section."""
    wait_for_log(server, LINE)
    (line,) = [line for line in log_of(server).splitlines() if LINE in line]
    assert f"to {endpoint!r} named" in line
    assert "Several worker processes or hosts need GALLERY_QUEUE_URL" in line
    assert "README.md#deployment" in line
    return line


def alert_text(html: str) -> str:
    alert = BeautifulSoup(html, "html.parser").select_one("[role=alert] .fg-toast-text")
    assert alert is not None, html
    return alert.get_text()


@pytest.mark.parametrize("preload", [False, True], ids=["workers load the app", "--preload"])
def test_a_click_on_the_other_worker_is_told_to_reload_and_the_log_says_why(
    tmp_path: Path, preload: bool
) -> None:
    """Loaded in each worker, the app warns in each; loaded once before gunicorn forks
    (``--preload``), once for all: either way once per process, and each worker tags its pages
    with a tag of its own."""
    env = {"GUNICORN_CMD_ARGS": "--preload"} if preload else {}
    with workers_server(tmp_path, **env) as server:
        own, other = ready(server)
        workers = Workers(server, own, other)
        page = page_of(workers)
        with server.only(own):  # its own worker serves it
            assert page.post("pics", "select/1").status == 200
        with server.only(other):
            answer = page.post("pics", "select/2", **{"X-Gallery-Root": "fg-pics"})
        assert answer.status == 410 and alert_text(answer.body) == ELSEWHERE
        assert answer.headers["HX-Retarget"] == "#fg-toasts"  # a toast of the page
        line = the_line(server, "flask_gallery.select")
        assert page.token not in log_of(server) and repr(page.token[:TAG_LENGTH]) in line
        log = log_of(server)
    start = [line for line in log.splitlines() if START in line]
    assert len(start) == (1 if preload else WORKERS), log
    assert "or run one process (gunicorn -w 1 --threads N" in start[0]
    assert "README.md#deployment" in start[0]


def test_an_upload_on_the_other_worker_is_told_to_reload(workers: Workers) -> None:
    page = page_of(workers)
    with workers.server.only(workers.other):
        answer = page.upload("uploads", [("red.png", png_bytes())])
    assert answer.status == 410
    assert alert_text(answer.body) == ELSEWHERE  # gallery.js shows the text of the answer
    the_line(workers.server, "flask_gallery.upload")


def test_a_poll_on_the_other_worker_is_told_to_reload(workers: Workers) -> None:
    page = page_of(workers)
    with workers.server.only(workers.other):
        answer = page.poll()
    assert answer.status == 410 and alert_text(answer.body) == ELSEWHERE
    the_line(workers.server, "flask_gallery.poll")


def test_the_socket_on_the_other_worker_is_closed_with_the_reason(workers: Workers) -> None:
    """Opened, then closed at once with code 4410 and the message: a refused handshake would
    reach the page's script as a bare 1006, and hx-ws would try again and again."""
    page = page_of(workers)
    with workers.server.only(workers.other):
        ws = page.socket()
    try:
        with pytest.raises(ConnectionClosed) as closed:
            ws.receive(timeout=10)
    finally:
        with contextlib.suppress(ConnectionClosed):
            ws.close()
    assert (closed.value.reason, closed.value.message) == (GONE, ELSEWHERE)
    assert len(ELSEWHERE.encode()) <= 123  # what a close frame's reason can hold
    the_line(workers.server, "flask_gallery.relay")
    with workers.server.only(workers.own):  # its own worker keeps the page's socket open
        ws = page.socket()
    try:
        assert ws.receive(timeout=0.5) is None and ws.connected
    finally:
        ws.close()


def test_the_apps_own_view_on_the_other_worker_shows_it_in_every_gallery(
    workers: Workers,
) -> None:
    page = page_of(workers)

    def mark() -> t.Any:
        url = f"{workers.server.url}/mark"
        return request(url, data=b"", headers=page.headers(), method="POST")

    with workers.server.only(workers.own):
        done = mark()
    assert done.status == 200 and "marked" in done.body
    with workers.server.only(workers.other):
        answer = mark()
    assert answer.status == 410
    partial = BeautifulSoup(answer.body, "html.parser").select_one("hx-partial")
    assert partial is not None and partial["hx-target"] == "#fg-toasts", answer.body
    assert alert_text(answer.body) == ELSEWHERE
    the_line(workers.server, "mark")


#: Forged requests sent at most, and seconds.
FORGED, FORGED_SECONDS = 300, 30.0


def test_forged_tokens_cannot_flood_the_log(workers: Workers) -> None:
    """An anonymous client (no cookie) polling with made-up tokens of the right shape, each
    with a tag of its own, to both workers: every one is answered, the log holds a line per
    process at most (the next one, a minute later, would count the others), and no token."""
    server = workers.server
    forged: list[str] = []
    deadline = time.monotonic() + FORGED_SECONDS
    while len(forged) < FORGED and time.monotonic() < deadline:
        token = secrets.token_urlsafe(6) + secrets.token_urlsafe(16)
        with server.only((workers.own, workers.other)[len(forged) % 2]):
            response = request(
                f"{server.url}/_gallery/poll/{token}",
                headers={"X-Gallery-Page": token, "Origin": server.url},
            )
        assert response.status == 410 and alert_text(response.body) == ELSEWHERE
        forged.append(token)
    assert len(forged) >= 50, f"only {len(forged)} requests in {FORGED_SECONDS:.0f} s"
    # Shaped otherwise (text a log line must never carry): an expired page, nothing logged.
    for in_path, token in (("%3Cscript%3E" + "a" * 22, "<script>" + "a" * 22), ("x", "x")):
        response = request(
            f"{server.url}/_gallery/poll/{in_path}",
            headers={"X-Gallery-Page": token, "Origin": server.url},
        )
        assert response.status == 410 and alert_text(response.body) == PageGone.description
    wait_for_log(server, LINE, count=WORKERS)
    time.sleep(0.5)  # a line still being written
    log = log_of(server)
    assert log.count(LINE) == WORKERS, log  # one a process
    assert not any(token in log for token in forged)
    assert "<script>" not in log and "more such requests" not in log
