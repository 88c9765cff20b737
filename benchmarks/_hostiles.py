"""The hostile clients of bench_hostile.py, one of each kind, in a process of their own.

A process of their own: some of them send as fast as they can, and in the users' process they
would delay the users' own clocks. Run by bench_hostile.py, never by hand::

    python benchmarks/_hostiles.py --port P --kinds decode_bomb,page_evictor --seconds S

It prints ``ready`` once its payloads are made, attacks until SIGTERM (or ``--seconds``), then
prints one JSON line: for each kind, the requests it made, what they were answered (status, or
the exception that ended them) and a few notes (what it managed to hold or to cause). Each kind
is bounded in count and rate (the constants below), so a run always ends. The attacks are those
of issue 10, in its order.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import re
import secrets
import signal
import time
import typing as t

import _light_client
from _light_client import (
    HandshakeRefused,
    HttpConnection,
    Page,
    WebSocket,
    click_frame,
    open_connection,
    read_page,
    read_response,
)
from _payloads import DecodeBombs, tiny_pngs
from _users import HOST, alert_kind, events_of, multipart

#: The hostile clients' address (the users each have one of 127.0.1.x).
SOURCE = "127.0.0.2"
#: Decode bombs uploaded, one after another, each followed by all its thumbnails at once.
BOMBS = 4
#: The socket hoarder's sessions, pages per session, sockets per page (at most 200 held).
HOARD = (5, 5, 8)
#: Click frames the queue flooder sends at once over its socket, and how many such bursts.
FLOOD_BURST, FLOOD_BURSTS = 1100, 5
#: Page loads + POST select with the cookie dropped after each.
FLOOD_PAGES = 1050
#: Page loads without a cookie, over two connections.
EVICTOR_LOADS = 20_000
#: Bodies of BIG_BODY bytes sent to a made-up page token.
BIG_UPLOADS, BIG_BODY = 2, 300 * 1024 * 1024
#: Uploads that declare OVER_LIMIT bytes, send 64 KiB and wait OVER_LIMIT_WAIT s for an answer.
OVER_LIMIT_TRIES, OVER_LIMIT, OVER_LIMIT_WAIT = 5, 8 * 1024**3, 5.0
#: Pages whose ``hang`` thumbnail is clicked, one a second.
HANG_PAGES = 20
#: Nested-JSON API calls and malformed socket frames, each; sent at most MALFORMED_RATE a second.
MALFORMED, MALFORMED_RATE = 100, 20
#: Files per upload request of the item flooder, and how far past GALLERY_MAX_ITEMS it goes.
ITEM_BATCH, ITEMS_PAST = 100, 200
#: Seconds any one exchange of a hostile may take in all (the light client also gives up on an
#: answer that takes over its READ_TIMEOUT, 15 s, to arrive).
REQUEST_TIMEOUT = 60.0

NESTED = "[" * 100_000 + "]" * 100_000
API_BODIES = {
    "nested array": NESTED.encode(),
    "nested data": b'{"data": ' + NESTED.encode() + b"}",
    "nested event_data": b'{"data": [], "event_data": ' + NESTED.encode() + b"}",
    "bad utf-8": b'{"data": ["\xff\xfe"]}',
    "wrong types": b'{"data": "x", "event_data": {"index": "DROP TABLE"}}',
}
_MEDIA = re.compile(r"/_gallery/media/([\w-]+)/w(\d+)")
_ITEM = re.compile(r'class="fg-item"')


class Tally:
    """What one hostile sent and got back."""

    def __init__(self) -> None:
        self.sent = 0
        self.status: collections.Counter[str] = collections.Counter()
        self.notes: dict[str, t.Any] = {}

    def got(self, what: str, status: int | str) -> None:
        self.sent += 1
        self.status[f"{what} {status}"] += 1

    def failed(self, what: str, exc: BaseException) -> None:
        self.got(what, type(exc).__name__)

    def add(self, note: str, n: int = 1) -> None:
        self.notes[note] = self.notes.get(note, 0) + n

    def most(self, note: str, value: float) -> None:
        self.notes[note] = round(max(self.notes.get(note, 0), value), 2)

    def as_json(self) -> dict[str, t.Any]:
        return {"sent": self.sent, "status": dict(self.status), "notes": self.notes}


class Attack:
    """What every kind shares: the server, the stop signal, its tally."""

    def __init__(self, port: int, stop: asyncio.Event, tally: Tally) -> None:
        self.port, self.stop, self.tally = port, stop, tally
        self.origin = f"http://{HOST}:{port}"
        self.held: list[WebSocket] = []
        self.closing = False

    @property
    def stopped(self) -> bool:
        return self.stop.is_set()

    async def pause(self, seconds: float) -> bool:
        """Sleep, or less if told to stop; True when told to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)
        return self.stopped

    async def request(
        self,
        conn: HttpConnection,
        what: str,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> str | None:
        """One request, tallied as ``what``; its body, or None when it failed."""
        try:
            response = await asyncio.wait_for(
                conn.request(method, path, headers, body), REQUEST_TIMEOUT
            )
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            self.tally.failed(what, exc)
            await conn.close()
            return None
        self.tally.got(what, response.status)
        return response.body.decode(errors="replace") if response.status < 400 else None

    async def upload(
        self, conn: HttpConnection, page: Page, files: t.Sequence[tuple[str, bytes]]
    ) -> str | None:
        """``files`` uploaded to the page's ``uploads`` gallery, as gallery.js posts them."""
        fields = [("files", name, data) for name, data in files]
        body, content_type = multipart({"source": "upload"}, fields)
        start = time.perf_counter()
        html = await self.request(
            conn,
            "upload",
            "POST",
            f"{page.galleries['uploads'][1]}/upload",
            self.headers(page, "uploads", **{"Content-Type": content_type}),
            body,
        )
        self.tally.most("slowest upload s", time.perf_counter() - start)
        return html

    async def page(self, conn: HttpConnection, path: str) -> Page | None:
        html = await self.request(conn, "page", "GET", path)
        return read_page(html) if html else None

    def headers(self, page: Page, gallery: str, **extra: str) -> dict[str, str]:
        return {
            "X-Gallery-Page": page.token,
            "X-Gallery-Root": page.galleries[gallery][0] if gallery in page.galleries else "",
            "HX-Request": "true",
            "Origin": self.origin,
            **extra,
        }

    async def socket(self, conn: HttpConnection, page: Page) -> WebSocket | None:
        """The page's socket, held until the end; None when refused (tallied)."""
        if page.socket is None:
            self.tally.got("socket", "none on the page")
            return None
        try:
            ws = await asyncio.wait_for(
                WebSocket.connect(
                    HOST,
                    self.port,
                    page.socket,
                    {"Cookie": conn.cookie_header(), "Origin": self.origin},
                ),
                5.0,
            )
        except HandshakeRefused as exc:
            self.tally.got("socket", exc.status)
            return None
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            self.tally.failed("socket", exc)
            return None
        self.tally.got("socket", 101)
        self.held.append(ws)
        return ws

    async def drain(self, ws: WebSocket, count: t.Callable[[str], None] | None = None) -> None:
        """Read ``ws`` until the server closes it (``count`` sees each message)."""
        while (message := await ws.recv()) is not None:
            if count is not None:
                count(message)
        if not self.closing:
            self.tally.add(f"sockets closed by the server ({ws.close_code})")

    def count_answers(self, message: str) -> None:
        for kind, text in events_of(message):
            self.tally.add("results" if kind != "alert" else f"alert: {alert_kind(text)}")

    async def close(self) -> None:
        """Close every socket still held (noting how many were, if any was opened)."""
        if self.held:
            closed = sum(n for k, n in self.tally.notes.items() if k.startswith("sockets closed"))
            self.tally.notes["sockets open at the end"] = len(self.held) - closed
        self.closing = True
        await asyncio.gather(*(ws.close() for ws in self.held), return_exceptions=True)


# The kinds, in the order ------------------------------------------------------------------


async def decode_bomb(a: Attack, bombs: DecodeBombs) -> None:
    """Issue 10 point 1: new 8000x8000 RGBA PNGs of zeros, each followed by every thumbnail
    width of it at once."""
    conn = HttpConnection(HOST, a.port)
    page = await a.page(conn, "/?g=uploads")
    if page is None:
        return
    for n in range(BOMBS):
        html = await a.upload(conn, page, [(f"bomb-{n}.png", bombs.make())])
        media = _MEDIA.findall(html or "")
        if media:
            last = media[-1][0]
            widths = sorted({int(w) for m, w in media if m == last})
            a.tally.notes["thumbnail widths"] = widths
            start = time.perf_counter()
            await asyncio.gather(*(thumbnail(a, last, w) for w in widths))
            a.tally.most("slowest thumbnails s", time.perf_counter() - start)
        if await a.pause(1.0):
            break
    await conn.close()


async def thumbnail(a: Attack, media_id: str, width: int) -> None:
    conn = HttpConnection(HOST, a.port)
    await a.request(conn, "thumbnail", "GET", f"/_gallery/media/{media_id}/w{width}")
    await conn.close()


async def socket_hoarder(a: Attack) -> None:
    """Point 2: as many sockets as the server gives, on one page, many pages, many sessions."""
    sessions, pages, per_page = HOARD
    readers = []
    for _ in range(sessions):
        conn = HttpConnection(HOST, a.port)
        for _ in range(pages):
            page = await a.page(conn, "/?g=pics")
            if page is None or a.stopped:
                break
            for _ in range(per_page):
                ws = await a.socket(conn, page)
                if ws is None or a.stopped:
                    break
                readers.append(asyncio.create_task(a.drain(ws)))
        await conn.close()
        if a.stopped:
            break
    await a.stop.wait()


async def queue_flooder(a: Attack) -> None:
    """Point 3: socket clicks on the ``multiple`` listener as fast as possible, and page loads
    each followed by a POST select with the cookie dropped."""
    await asyncio.gather(_flood_socket(a), _flood_pages(a))


async def _flood_socket(a: Attack) -> None:
    conn = HttpConnection(HOST, a.port)
    page = await a.page(conn, "/?g=pics")
    ws = await a.socket(conn, page) if page else None
    if page is None or ws is None:
        return
    reader = asyncio.create_task(a.drain(ws, a.count_answers))
    root, _ = page.galleries["pics"]
    for _ in range(FLOOD_BURSTS):
        for n in range(FLOOD_BURST):
            ws.send(click_frame("pics", root, "select", n % 3))
        a.tally.add("click frames", FLOOD_BURST)
        if reader.done() or await a.pause(2.0):
            break
    await a.stop.wait()
    reader.cancel()
    await conn.close()


async def _flood_pages(a: Attack) -> None:
    conn = HttpConnection(HOST, a.port)
    for n in range(FLOOD_PAGES):
        conn.cookies.clear()
        page = await a.page(conn, "/?g=pics")
        if page is not None:
            actions = page.galleries["pics"][1]
            await a.request(
                conn, "select", "POST", f"{actions}/select/{n % 3}", a.headers(page, "pics")
            )
        if a.stopped:
            break
    await conn.close()


async def page_evictor(a: Attack) -> None:
    """Point 4: page loads without cookies, as fast as possible."""

    async def load(budget: int) -> None:
        conn = HttpConnection(HOST, a.port)
        for _ in range(budget):
            conn.cookies.clear()
            await a.request(conn, "page", "GET", "/?g=pics")
            if a.stopped:
                break
        await conn.close()

    await asyncio.gather(load(EVICTOR_LOADS // 2), load(EVICTOR_LOADS // 2))


async def big_body(a: Attack) -> None:
    """Point 5: 300 MiB bodies for a made-up page token without a cookie, and a real page's
    upload declaring more than any limit."""
    for _ in range(BIG_UPLOADS):
        path = f"/_gallery/p/{secrets.token_urlsafe(16)}/uploads/upload"
        start = time.perf_counter()
        status, sent = await _stream(a, path, {}, BIG_BODY, BIG_BODY)
        a.tally.got("300 MiB, made-up token", status)
        a.tally.most("MiB sent before the answer (made-up token)", sent / 2**20)
        a.tally.most("slowest answer s (made-up token)", time.perf_counter() - start)
        if await a.pause(1.0):
            return
    conn = HttpConnection(HOST, a.port)
    page = await a.page(conn, "/?g=uploads")
    if page is None:
        return
    headers = {**a.headers(page, "uploads"), "Cookie": conn.cookie_header()}
    path = f"{page.galleries['uploads'][1]}/upload"
    for _ in range(OVER_LIMIT_TRIES):
        status, _ = await _stream(a, path, headers, OVER_LIMIT, 64 * 1024, OVER_LIMIT_WAIT)
        a.tally.got("Content-Length 8 GiB", status)
        if await a.pause(1.0):
            break
    await conn.close()


async def _stream(
    a: Attack,
    path: str,
    headers: dict[str, str],
    declared: int,
    send: int,
    wait: float = REQUEST_TIMEOUT,
) -> tuple[int | str, int]:
    """POST a multipart upload declaring ``declared`` bytes and sending the first ``send`` of
    them, until the server answers: its status (or what ended the exchange), and bytes sent."""
    boundary = secrets.token_hex(8)
    prefix = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {HOST}:{a.port}",
        f"Content-Type: multipart/form-data; boundary={boundary}",
        f"Content-Length: {declared}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    try:
        reader, writer = await asyncio.wait_for(open_connection(HOST, a.port), 10)
    except (OSError, TimeoutError) as exc:
        return type(exc).__name__, 0
    answer = asyncio.create_task(read_response(reader))
    sent = 0
    chunk = bytes(1024 * 1024)
    try:
        try:
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + prefix)
            while sent < send and not answer.done() and not a.stopped:
                n = min(len(chunk), send - sent)
                writer.write(chunk[:n])
                await asyncio.wait_for(writer.drain(), 10)
                sent += n
        except (OSError, TimeoutError):  # the server stopped reading, or closed: its answer?
            wait = min(wait, 5.0)
        response = await asyncio.wait_for(asyncio.shield(answer), wait)
        return response.status, sent
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        return ("no answer" if isinstance(exc, TimeoutError) else type(exc).__name__), sent
    finally:
        answer.cancel()
        writer.close()


async def hung_handler(a: Attack) -> None:
    """Point 6: clicks on ``hang``, whose handler never returns within the run."""
    conn = HttpConnection(HOST, a.port)
    for _ in range(HANG_PAGES):
        page = await a.page(conn, "/?g=hang")
        if page is not None:
            actions = page.galleries["hang"][1]
            await a.request(conn, "select", "POST", f"{actions}/select/0", a.headers(page, "hang"))
        if await a.pause(1.0):
            break
    await conn.close()


async def malformed_json(a: Attack) -> None:
    """Point 7: nested JSON and wrong types to the JSON API and over a page's socket."""
    conn = HttpConnection(HOST, a.port)
    sockets = HttpConnection(HOST, a.port)
    names = list(API_BODIES)
    ws: WebSocket | None = None
    reader: asyncio.Task[None] | None = None
    for n in range(MALFORMED):
        name = names[n % len(names)]
        await a.request(
            conn,
            f"api {name}",
            "POST",
            "/_gallery/api/show",
            {"Content-Type": "application/json", "Origin": a.origin},
            API_BODIES[name],
        )
        if ws is None or (reader is not None and reader.done()):
            page = await a.page(sockets, "/?g=pics")
            ws = await a.socket(sockets, page) if page else None
            if page is not None and ws is not None:
                reader = asyncio.create_task(a.drain(ws, a.count_answers))
                frames = _frames(page)
        if ws is not None:
            frame = frames[n % len(frames)]
            if isinstance(frame, bytes):
                ws.send_bytes(frame)
            else:
                ws.send(frame)
            a.tally.add("socket frames")
        if await a.pause(1 / MALFORMED_RATE):
            break
    if reader is not None:
        reader.cancel()
    await conn.close()
    await sockets.close()


def _frames(page: Page) -> list[str | bytes]:
    root, _ = page.galleries["pics"]
    return [
        NESTED,
        '{"action": ' + NESTED + "}",
        click_frame("pics", root, "select", 0)[:-1] + ', "values": ' + NESTED + "}",
        "{",
        '{"action": 5}',
        click_frame("pics", root, "select", 0).replace('"0"', '"x"'),
        b"\xff\xfe",
    ]


async def item_flooder(a: Attack, max_items: int) -> None:
    """Point 8: uploads into one page up to and past GALLERY_MAX_ITEMS."""
    conn = HttpConnection(HOST, a.port)
    page = await a.page(conn, "/?g=uploads")
    if page is None:
        return
    files = tiny_pngs(ITEM_BATCH)
    attempted = 0
    while attempted < max_items + ITEMS_PAST and not a.stopped:
        html = await a.upload(conn, page, files)
        attempted += len(files)
        a.tally.notes["files sent"] = attempted
        if html is not None:
            a.tally.notes["items in the gallery"] = len(_ITEM.findall(html))
            a.tally.most("largest answer KiB", len(html) / 1024)
            refused = sum(kind == "alert" for kind, _ in events_of(html))
            a.tally.add("files refused", refused)
        if await a.pause(0.5):
            break
    await conn.close()


KINDS = (
    "decode_bomb",
    "socket_hoarder",
    "queue_flooder",
    "page_evictor",
    "big_body",
    "hung_handler",
    "malformed_json",
    "item_flooder",
)


async def attack(
    port: int, kinds: t.Sequence[str], seconds: float, bombs: DecodeBombs | None, max_items: int
) -> dict[str, t.Any]:
    """Run ``kinds`` side by side until SIGTERM or ``seconds``; their tallies."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.call_later(seconds, stop.set)
    runs: dict[str, t.Callable[[Attack], t.Awaitable[None]]] = {
        "decode_bomb": lambda a: decode_bomb(a, t.cast(DecodeBombs, bombs)),
        "socket_hoarder": socket_hoarder,
        "queue_flooder": queue_flooder,
        "page_evictor": page_evictor,
        "big_body": big_body,
        "hung_handler": hung_handler,
        "malformed_json": malformed_json,
        "item_flooder": lambda a: item_flooder(a, max_items),
    }
    attacks = {kind: Attack(port, stop, Tally()) for kind in kinds}

    async def run(kind: str) -> None:
        a = attacks[kind]
        start = time.perf_counter()
        try:
            await runs[kind](a)
        except asyncio.CancelledError:  # still waiting for the server after the stop
            a.tally.notes["stopped"] = "waiting for an answer"
        except Exception as exc:  # one kind's failure must not end the others
            a.tally.notes["ended by"] = repr(exc)[:200]
        a.tally.notes["seconds"] = round(time.perf_counter() - start, 1)

    tasks = [asyncio.create_task(run(kind)) for kind in kinds]
    await stop.wait()
    _, pending = await asyncio.wait(tasks, timeout=3.0)  # time to notice the stop
    for task in pending:
        task.cancel()
    await asyncio.wait(tasks, timeout=10.0)
    await asyncio.wait_for(
        asyncio.gather(*(a.close() for a in attacks.values()), return_exceptions=True), 10.0
    )
    return {kind: a.tally.as_json() for kind, a in attacks.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--kinds", required=True, help="comma-separated, from: " + ", ".join(KINDS))
    parser.add_argument("--seconds", type=float, required=True, help="stop after this at most")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-items", type=int, default=1000, help="the server's GALLERY_MAX_ITEMS"
    )
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown kinds {unknown}: use some of {', '.join(KINDS)}")
    bombs = DecodeBombs(args.seed) if "decode_bomb" in kinds else None
    _light_client.SOURCE = SOURCE  # one attacker: one address, apart from the users'
    print("ready", flush=True)
    print(json.dumps(asyncio.run(attack(args.port, kinds, args.seconds, bombs, args.max_items))))


if __name__ == "__main__":
    main()
