"""The legitimate users of bench_hostile.py: browser tabs driven as gallery.js drives them.

Each user loads the page in a session of its own, opens the page's socket (or, where it is
refused or the page has none, polls every second as gallery.js does), then until the phase ends
clicks thumbnails of ``pics`` and now and then uploads a small photo to ``uploads``, waits for
the handler's answer (``selected N`` in ``#out``, ``N uploaded`` in ``#uploaded``) and thinks a
while. Clicks go over the socket while it is open, else as HTTP POSTs; uploads are always POSTs.
Every wait is bounded: a result that does not come within the timeout is *lost*, an alert that
comes instead is *refused*, a page the server calls expired is loaded again (as the user would).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import math
import random
import re
import sys
import time
import typing as t
from html import unescape
from pathlib import Path

from _light_client import (
    HandshakeRefused,
    HttpConnection,
    Page,
    WebSocket,
    click_frame,
    read_page,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.clients import multipart

HOST = "127.0.0.1"
#: gallery.js's POLL_MS: a page without a socket asks for its results once a second.
POLL_SECONDS = 1.0
#: The page a user loads: the two galleries it uses.
PATH = "/?g=pics&g=uploads"
_RESULT = re.compile(r'<hx-partial hx-target="#(out|uploaded)" hx-swap="innerHTML">([^<]*)<')
_ALERT = re.compile(
    r'class="fg-toast fg-toast-(?:error|warning)"[^>]*>.*?<p class="fg-toast-text">([^<]*)<'
)
_SEQ = re.compile(r"^<!--fg-seq:(\d+)-->")
_ITEM = re.compile(r'class="fg-item"')


def events_of(html: str) -> list[tuple[str, str]]:
    """The results and alerts in a frame, a poll or an HTTP answer, in order."""
    found = [(m.start(), m.group(1), m.group(2)) for m in _RESULT.finditer(html)]
    found += [(m.start(), "alert", m.group(1)) for m in _ALERT.finditer(html)]
    return [(kind, text) for _, kind, text in sorted(found)]


def alert_kind(text: str) -> str:
    """An alert's text without its numbers, so alerts of one kind are counted together."""
    return re.sub(r"\d+", "N", unescape(text).strip())[:90]


class Record:
    """What the users of one phase saw."""

    def __init__(self) -> None:
        #: Seconds from the action to its result: "socket click", "polled click", "upload",
        #: "page" (the page load and its socket's handshake).
        self.latencies: dict[str, list[float]] = collections.defaultdict(list)
        #: Seconds the upload POST itself took (part of its "upload" latency): tells the
        #: request's own time from the wait for the handler's result.
        self.upload_requests: list[float] = []
        #: When each result came (``time.perf_counter()``), pages not counted.
        self.finished: list[float] = []
        #: Clicks and uploads started ("click", "upload"); each ends in a result, lost,
        #: refused or an error. A page that did not load is a "page" failure instead.
        self.attempted: collections.Counter[str] = collections.Counter()
        self.page_failures = 0
        self.lost: collections.Counter[str] = collections.Counter()
        self.refused: collections.Counter[str] = collections.Counter()
        self.status_4xx: collections.Counter[str] = collections.Counter()
        self.status_5xx: collections.Counter[str] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        #: How pages got their results: "socket", "refused <status>", "no socket on the page",
        #: "closed by the server (<code>)".
        self.sockets: collections.Counter[str] = collections.Counter()
        self.reloads = 0

    def status(self, what: str, status: int) -> None:
        if status >= 500:
            self.status_5xx[f"{what} {status}"] += 1
        elif status >= 400:
            self.status_4xx[f"{what} {status}"] += 1

    def error(self, what: str, exc: BaseException) -> None:
        self.errors[f"{what}: {type(exc).__name__}"] += 1

    @property
    def results(self) -> int:
        return sum(len(v) for k, v in self.latencies.items() if k != "page")

    @property
    def unanswered(self) -> int:
        """Actions without their result (lost, refused, failed requests) and pages that did
        not load: every time a user was left without an answer."""
        return sum(self.attempted.values()) - self.results + self.page_failures

    def clicks(self) -> list[float]:
        return self.latencies["socket click"] + self.latencies["polled click"]

    def clicks_with_failures(self) -> list[float]:
        """Click latencies, with every click that got no result, and every page that did not
        load (its user could not click), counted as never answered."""
        failed = self.attempted["click"] - len(self.clicks()) + self.page_failures
        return self.clicks() + [math.inf] * failed

    def waits_with_failures(self) -> list[float]:
        """Every wait a user had (page loads, clicks, uploads), with every action that got no
        result and every page that did not load counted as never answered: a server that
        stalls pages or uploads shows here even when the clicks that got through were quick."""
        waits = [x for values in self.latencies.values() for x in values]
        return waits + [math.inf] * self.unanswered


class Expired(Exception):
    """The server no longer knows the user's page: load it again."""


class NoPage(Exception):
    """The page did not load (its status is recorded): try again after a while."""


class User:
    """One browser tab with a session of its own."""

    def __init__(
        self,
        port: int,
        rng: random.Random,
        photos: t.Sequence[tuple[str, bytes]],
        record: Record,
        *,
        timeout: float,
        think: float,
        upload_share: float,
        sockets: bool = True,
        source: str | None = None,
    ) -> None:
        self.port, self.rng, self.photos, self.record = port, rng, photos, record
        self.sockets = sockets  # False: a network that blocks WebSockets (gallery.js polls)
        self.timeout, self.think, self.upload_share = timeout, think, upload_share
        self.source = source  # the user's own address (None: the system's choice)
        self.origin = f"http://{HOST}:{port}"
        self.http = HttpConnection(HOST, port, source)
        self.poller = HttpConnection(HOST, port, source)
        self.poller.cookies = self.http.cookies  # one browser, one cookie jar
        self.page: Page | None = None
        self.ws: WebSocket | None = None
        self.seq = 0
        self.items = 0
        self.index = 0
        self.events: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []

    # The page and its results -------------------------------------------------------------------

    def headers(self, gallery: str, **extra: str) -> dict[str, str]:
        assert self.page is not None
        return {
            "X-Gallery-Page": self.page.token,
            "X-Gallery-Root": self.page.galleries[gallery][0],
            "HX-Request": "true",
            "Origin": self.origin,
            **extra,
        }

    async def load(self) -> None:
        """GET the page, then its socket, as a browser does; polling where there is none."""
        await self.leave()
        start = time.perf_counter()
        response = await self.http.request("GET", PATH)
        self.record.status("page", response.status)
        page = read_page(response.body.decode()) if response.status == 200 else None
        if page is None or not {"pics", "uploads"} <= page.galleries.keys():
            raise NoPage(f"the page answered {response.status} without its galleries")
        self.page, self.seq, self.items = page, 0, 0
        if page.socket is None:
            self.record.sockets["no socket on the page"] += 1
        elif not self.sockets:
            self.record.sockets["WebSockets blocked: polling"] += 1
        else:
            try:
                self.ws = await asyncio.wait_for(
                    WebSocket.connect(
                        HOST,
                        self.port,
                        page.socket,
                        {"Cookie": self.http.cookie_header(), "Origin": self.origin},
                        self.source,
                    ),
                    self.timeout,
                )
            except HandshakeRefused as exc:
                self.record.sockets[f"refused {exc.status}"] += 1
            except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
                self.record.sockets[f"handshake failed ({type(exc).__name__})"] += 1
        self.record.latencies["page"].append(time.perf_counter() - start)
        if self.ws is not None:
            self.record.sockets["socket"] += 1
            self.ws.send(json.dumps({"resume": 0}))  # what gallery.js sends on every connection
            self.tasks.append(asyncio.create_task(self._read(self.ws)))
        else:
            self._start_polling()

    def _start_polling(self) -> None:
        if self.page is not None and self.page.poll is None:
            self.record.sockets["no poll URL either: results never come"] += 1
        elif self.page is not None:
            self.tasks.append(asyncio.create_task(self._poll(self.page)))

    async def leave(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks = []
        await self.poller.close()  # a poll cut short leaves it unusable
        if self.ws is not None:
            await self.ws.close()
            self.ws = None
        self.page = None

    def _take(self, html: str) -> None:
        for event in events_of(html):
            self.events.put_nowait(event)

    async def _read(self, ws: WebSocket) -> None:
        while (message := await ws.recv()) is not None:
            if seq := _SEQ.match(message):
                self.seq = max(self.seq, int(seq.group(1)))
            self._take(message)
        # Closed by the server: gallery.js polls from now on.
        self.record.sockets[f"closed by the server ({ws.close_code})"] += 1
        if self.ws is ws:
            self.ws = None
            self._start_polling()

    async def _poll(self, page: Page) -> None:
        while True:
            try:
                response = await self.poller.request(
                    "GET", f"{page.poll}?after={self.seq}", {"X-Gallery-Page": page.token}
                )
            except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
                self.record.error("poll", exc)
                await self.poller.close()
            else:
                self.record.status("poll", response.status)
                if response.status == 200:
                    self.seq = max(self.seq, int(response.headers.get("x-gallery-seq") or 0))
                    self._take(response.body.decode())
                elif response.status == 410:
                    self.events.put_nowait(("expired", "poll"))
            await asyncio.sleep(POLL_SECONDS)

    async def _wait(self, kind: str, text: str, start: float, what: str) -> None:
        """Until ``text`` arrives as a ``kind`` result: its latency is recorded as ``what``."""
        deadline = start + self.timeout
        while True:
            left = deadline - time.perf_counter()
            try:
                got, value = await asyncio.wait_for(self.events.get(), max(left, 0.0))
            except TimeoutError:
                self.record.lost[what] += 1
                return
            if got == kind and value == text:
                now = time.perf_counter()
                self.record.latencies[what].append(now - start)
                self.record.finished.append(now)
                return
            if got == "expired":
                self.record.refused["the page expired (its poll answered 410)"] += 1
                raise Expired(value)
            if got == "alert":
                self.record.refused[alert_kind(value)] += 1
                if "expired" in value:
                    raise Expired(value)
                return

    def _drain(self) -> None:
        """Forget results of earlier actions that came after their timeout."""
        while not self.events.empty():
            self.events.get_nowait()

    def _answered(self, what: str, status: int) -> None:
        self.record.status(what, status)
        if status == 410:
            raise Expired(f"{what} answered 410")

    # Actions -------------------------------------------------------------------------------------

    async def click(self) -> None:
        assert self.page is not None
        self.record.attempted["click"] += 1
        self.index = (self.index + 1 + self.rng.randrange(2)) % 3  # never the same twice
        root, actions = self.page.galleries["pics"]
        url = f"{actions}/select/{self.index}"
        self._drain()
        start = time.perf_counter()
        if self.ws is not None:
            self.ws.send(click_frame("pics", root, "select", self.index))
            what = "socket click"
        else:
            response = await self.http.request("POST", url, self.headers("pics"))
            self._answered("select", response.status)
            if response.status != 200:
                return
            what = "polled click"
        await self._wait("out", f"selected {self.index}", start, what)

    async def upload(self) -> None:
        assert self.page is not None
        self.record.attempted["upload"] += 1
        name, data = self.rng.choice(self.photos)
        body, content_type = multipart({"source": "upload"}, [("files", name, data)])
        url = f"{self.page.galleries['uploads'][1]}/upload"
        self._drain()
        start = time.perf_counter()
        response = await self.http.request(
            "POST", url, self.headers("uploads", **{"Content-Type": content_type}), body
        )
        self._answered("upload", response.status)
        self.record.upload_requests.append(time.perf_counter() - start)
        if response.status != 200:
            return
        html = response.body.decode()
        refused = [text for kind, text in events_of(html) if kind == "alert"]
        if refused:
            for text in refused:
                self.record.refused[alert_kind(text)] += 1
            return
        self.items = len(_ITEM.findall(html))
        await self._wait("uploaded", f"{self.items} uploaded", start, "upload")

    async def run(self, deadline: float) -> None:
        """Act until ``deadline`` (``time.perf_counter()``); every step bounded in time."""
        try:
            while time.perf_counter() < deadline:
                what = "page"
                try:
                    if self.page is None:
                        await asyncio.wait_for(self.load(), self.timeout)
                    if self.rng.random() < self.upload_share:
                        what = "upload"
                        await asyncio.wait_for(self.upload(), self.timeout * 2)
                    else:
                        what = "select"
                        await asyncio.wait_for(self.click(), self.timeout * 2)
                except Expired:
                    self.record.reloads += 1
                    self.page = None
                except NoPage:
                    self.record.page_failures += 1
                    self.page = None
                except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
                    self.record.error(what, exc)
                    await self.http.close()  # a request cut short leaves it unusable
                    if what == "page":
                        self.record.page_failures += 1
                        self.page = None
                await asyncio.sleep(self.think * self.rng.uniform(0.5, 1.5))
        finally:
            await self.leave()
            await self.http.close()
            await self.poller.close()
