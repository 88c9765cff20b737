"""What a user sees in chromium when the page's requests reach the other worker of
``gunicorn -w 2 --threads 4`` without ``GALLERY_QUEUE_URL``: the message, in the gallery, for a
click, an upload, the app's own button (``galleries.page()``), the poll and the page's socket,
and the server's log says why (``tests/test_processes_live.py`` has the answers themselves).

Chromium keeps its connections open, each with the worker that accepted it, so which worker a
click reaches is left to chance (and one worker may win nine times in ten for a while). The test
chooses instead: the requests it steers are sent from the test on a new connection while only the
chosen worker runs (the other one is stopped for those milliseconds), and the browser gets the
server's answer as it came. The page's socket is chromium's own: it connects when the test says,
while only the other worker runs.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from ..clients import Page as PageClient
from ..clients import request
from ..test_pages_http import png_bytes
from ..test_processes_live import (
    ELSEWHERE,
    GONE,
    START,
    WORKERS,
    log_of,
    ready,
    the_line,
    workers_server,
)

if t.TYPE_CHECKING:
    from playwright.sync_api import Page, Route

    from ..servers import ServerProcess

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

#: The page's WebSocket cannot be made: its clicks go by HTTP, its results come by polling.
NO_SOCKET = """
window.WebSocket = class extends window.WebSocket {
    constructor() { throw new Error("this test's page has no WebSocket"); }
};
"""
#: Records the close codes of the page's socket (hx-ws's event carries them).
CLOSES = """
window.fgCloses = [];
document.addEventListener("htmx:ws:close", (e) => window.fgCloses.push(e.detail.code), true);
"""
#: The page's socket connects only when the test calls ``fgConnect()`` (it chooses the worker
#: first): its connection attribute is set aside as the page is parsed, before htmx starts.
LATER = """
new MutationObserver((records, observer) => {
    const socket = document.querySelector(".fg-socket");
    if (!socket) return;
    socket.dataset.later = socket.getAttribute("hx-ws:connect");
    socket.removeAttribute("hx-ws:connect");
    observer.disconnect();
}).observe(document, { childList: true, subtree: true });
window.fgConnect = () => {
    const socket = document.querySelector(".fg-socket");
    socket.setAttribute("hx-ws:connect", socket.dataset.later);
    htmx.process(socket, true);
};
"""
#: Request headers the test's own connection sets itself.
HOP = {"host", "connection", "content-length", "accept-encoding", "keep-alive"}
#: Response headers the browser must not get twice (Playwright writes its own).
HOP_BACK = {"connection", "content-length", "transfer-encoding", "keep-alive"}
#: Milliseconds a page is watched for polls it should no longer make (it polls every second).
QUIET_MS = 2500


class Steered:
    """A server of two workers whose pages the browser opens, and the browser's requests the
    test sends to a chosen worker: the one that drew the request's page (``"own"``) or the
    other one (``"other"``)."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.pids = ready(server)
        #: Each worker by the tag of the pages it draws (a page drawn by each tells it).
        self.by_tag: dict[str, int] = {}
        for pid in self.pids:
            with server.only(pid):
                self.by_tag[PageClient(server, "/").token[:8]] = pid
        self.answers: list[tuple[str, int]] = []

    def worker(self, token: str, which: str) -> int:
        own = self.by_tag[token[:8]]
        return own if which == "own" else next(pid for pid in self.pids if pid != own)

    def steer(self, page: Page, pattern: str, which: str) -> None:
        """Send the page's requests matching ``pattern`` to the worker ``which``."""

        def forward(route: Route) -> None:
            sent = route.request
            headers = {k: v for k, v in sent.all_headers().items() if k.lower() not in HOP}
            headers = {k: v for k, v in headers.items() if not k.startswith(":")}
            try:
                with self.server.only(self.worker(headers["x-gallery-page"], which)):
                    answer = request(
                        sent.url, data=sent.post_data_buffer, headers=headers, method=sent.method
                    )
            except OSError:
                # The server stopped while the page still polled (the test is over, its page
                # not closed yet): the page sees a refused connection, as it would without us.
                route.abort("connectionrefused")
                return
            self.answers.append((sent.url, answer.status))
            back = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BACK}
            route.fulfill(status=answer.status, headers=back, body=answer.body)

        page.route(pattern, forward)

    def refused(self, part: str) -> list[int]:
        return [status for url, status in self.answers if part in url and status == 410]


@pytest.fixture
def steered(tmp_path: Path) -> t.Iterator[Steered]:
    with workers_server(tmp_path) as server:
        yield Steered(server)


def open_without_socket(new_page: t.Callable[..., Page], steered: Steered, polls: str) -> Page:
    """The page as a browser opens it where its socket cannot connect, its polls sent to the
    worker ``polls``."""
    page = new_page()
    page.add_init_script(NO_SOCKET)
    steered.steer(page, "**/_gallery/poll/**", polls)
    page.goto(steered.server.url + "/")
    return page


def shown_once(page: Page) -> None:
    """The message is one error toast of the page, however many galleries it has."""
    toasts = page.locator("#fg-toasts").get_by_role("alert").locator(".fg-toast-text")
    expect(toasts).to_have_text([ELSEWHERE])


def click_a_thumbnail(page: Page, tmp_path: Path) -> None:
    page.locator("#fg-pics").get_by_role("button", name="Thumbnail 2 of 3").click()


def upload_a_picture(page: Page, tmp_path: Path) -> None:
    picture = tmp_path / "red.png"
    picture.write_bytes(png_bytes())
    page.locator("#fg-uploads .fg-file-input").set_input_files(picture)


def press_the_apps_button(page: Page, tmp_path: Path) -> None:
    """README's button: ``hx-post`` to a view of the app's own with ``hx-swap="none"``."""
    page.locator("#mark").click()


@pytest.mark.parametrize(
    ("act", "pattern", "sent", "endpoint"),
    [
        (click_a_thumbnail, "**/_gallery/p/**", "/select/1", "flask_gallery.select"),
        (upload_a_picture, "**/_gallery/p/**", "/upload", "flask_gallery.upload"),
        (press_the_apps_button, "**/mark", "/mark", "mark"),
    ],
    ids=["click", "upload", "galleries.page()"],
)
def test_a_request_on_the_other_worker_shows_the_message(
    new_page: t.Callable[..., Page],
    steered: Steered,
    tmp_path: Path,
    act: t.Callable[[Page, Path], None],
    pattern: str,
    sent: str,
    endpoint: str,
) -> None:
    page = open_without_socket(new_page, steered, polls="own")
    steered.steer(page, pattern, "other")
    act(page, tmp_path)
    shown_once(page)
    assert steered.refused(sent) == [410]
    assert not steered.refused("/poll/")  # the message came with the request's answer
    the_line(steered.server, endpoint)
    assert log_of(steered.server).count(START) == WORKERS  # and at start, once per worker


def test_a_poll_on_the_other_worker_shows_the_message_and_polling_stops(
    new_page: t.Callable[..., Page], steered: Steered
) -> None:
    page = open_without_socket(new_page, steered, polls="other")
    shown_once(page)
    page.wait_for_timeout(QUIET_MS)
    polls = [url for url, _ in steered.answers if "/poll/" in url]
    assert steered.refused("/poll/") == [410] and len(polls) == 1, steered.answers
    the_line(steered.server, "flask_gallery.poll")


def test_the_socket_on_the_other_worker_shows_the_message_and_nothing_retries(
    new_page: t.Callable[..., Page], steered: Steered
) -> None:
    """The page's own socket, by chromium and hx-ws: it connects once the other worker alone
    runs, which opens it and closes it at once with code 4410 and the message."""
    page = new_page()
    page.add_init_script(CLOSES + LATER)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/_gallery/poll/" in r.url else None)
    page.goto(steered.server.url + "/")
    token = page.locator(".fg-socket").get_attribute("data-page") or ""
    with steered.server.only(steered.worker(token, "other")):
        page.evaluate("fgConnect()")
        page.wait_for_function("window.fgCloses.length > 0")
    shown_once(page)
    page.wait_for_timeout(QUIET_MS)
    assert page.evaluate("window.fgCloses") == [GONE]
    assert len(sockets) == 1 and not polls  # no reconnect, no polling: the page is gone
    the_line(steered.server, "flask_gallery.relay")
