"""A page as a browser holds it, for tests against a live server (:class:`tests.live.LiveServer`
in this process, or :class:`tests.servers.ServerProcess`): its token and session cookie, its
clicks as gallery.js sends them (an HTTP POST, or a frame on the page's socket), uploads, and a
WebSocket client that sends what a browser sends.

A client may speak from another loopback address (``source="127.0.0.2"``): the server then sees
another remote address, as it would see another machine (Linux routes all of 127/8 to lo).
"""

from __future__ import annotations

import functools
import http.client
import json
import re
import socket
import time
import typing as t
import urllib.request
import uuid
from urllib.error import HTTPError

from simple_websocket import Client
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, RejectConnection
from wsproto.events import Request as WsRequest
from wsproto.extensions import PerMessageDeflate


class Server(t.Protocol):
    url: str
    host: str


class BrowserClient(Client):
    """``simple_websocket``'s client sends ``Host`` without the port; a browser sends
    ``host:port``, and the server compares ``Origin`` with it. A refused handshake closes the
    client's socket (the library leaves it open)."""

    def handshake(self) -> None:
        self.host = f"{self.host}:{self.port}"
        try:
            super().handshake()
        except BaseException:
            self.sock.close()  # a refused handshake would leave it open
            raise
        # Frames read together with the handshake's answer (a socket the server closes at
        # once) stay in wsproto's buffer, and simple_websocket's reader never looks there
        # again: the close would read as 1005, without its reason. Take them now; the reader
        # still starts, and ends with the connection.
        self._handle_events()
        self.connected = True


class Response(t.NamedTuple):
    status: int
    body: str
    headers: t.Any


class _FromAddress(urllib.request.HTTPHandler):
    """Connects from a given local address."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connect = functools.partial(http.client.HTTPConnection, source_address=(self.source, 0))
        return self.do_open(connect, req)


def request(
    url: str,
    data: bytes | None = None,
    headers: t.Mapping[str, str] | None = None,
    method: str | None = None,
    timeout: float = 10.0,
    source: str | None = None,
) -> Response:
    """One HTTP request (from the local address ``source``, if given); an error status is
    returned, not raised."""
    req = urllib.request.Request(url, data=data, headers=dict(headers or {}), method=method)
    opener = urllib.request.build_opener(_FromAddress(source)) if source else None
    try:
        with (opener.open if opener else urllib.request.urlopen)(req, timeout=timeout) as response:
            return Response(
                response.status, response.read().decode(errors="replace"), response.headers
            )
    except HTTPError as error:
        with error:
            return Response(error.code, error.read().decode(errors="replace"), error.headers)


def fetch_bytes(
    url: str, headers: t.Mapping[str, str] | None = None, timeout: float = 10.0
) -> tuple[int, bytes, t.Any]:
    """``(status, body, headers)`` of a GET whose body is binary (media, downloads, zips)."""
    req = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.read(), response.headers
    except HTTPError as error:
        with error:
            return error.code, error.read(), error.headers


def click_frame(route: str, gallery: str = "pics", **values: str) -> str:
    """The socket frame gallery.js sends for the click whose HTTP route ends in ``route``."""
    action, _, index = route.partition("/")
    frame: dict[str, t.Any] = {"action": action, "gallery": gallery, "values": values}
    if index:
        frame["index"] = index
    return json.dumps({**frame, "root": f"fg-{gallery}"})


class Page:
    """One rendered page (``GET path``): its token and its session cookie. ``cookie`` reuses a
    session, as a browser's second tab does; ``source`` is the local address every HTTP request
    of the page comes from."""

    def __init__(
        self,
        server: Server,
        path: str = "/",
        cookie: str | None = None,
        source: str | None = None,
    ) -> None:
        self.server = server
        self.source = source
        headers = {"Cookie": cookie} if cookie else {}
        response = request(server.url + path, headers=headers, source=source)
        assert response.status == 200, response
        match = re.search(r'class="fg-socket"[^>]*data-page="([^"]+)"', response.body)
        assert match, "the page has no WebSocket connection element"
        self.token = match.group(1)
        cookies = response.headers.get_all("Set-Cookie") or []
        self.cookie = cookie or "; ".join(c.split(";", 1)[0] for c in cookies)
        assert self.cookie.startswith("session="), cookies
        self.html = response.body

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "X-Gallery-Page": self.token,
            "Cookie": self.cookie,
            "Origin": self.server.url,
            "HX-Request": "true",
            **extra,
        }

    def socket(self, origin: str | None = None, cookie: str | None = None) -> Client:
        headers = {"Origin": origin or self.server.url, "Cookie": self.cookie}
        if cookie is not None:
            headers["Cookie"] = cookie
        return BrowserClient(f"ws://{self.server.host}/_gallery/ws/{self.token}", headers=headers)

    def post(
        self, gallery: str, action: str, data: bytes = b"", *, timeout: float = 10.0, **headers: str
    ) -> Response:
        """An action of ``gallery`` as its htmx request (``select/1``, ``close``...)."""
        url = f"{self.server.url}/_gallery/p/{self.token}/{gallery}/{action}"
        return request(
            url,
            data=data,
            headers=self.headers(**headers),
            method="POST",
            timeout=timeout,
            source=self.source,
        )

    def select(self, index: int, gallery: str = "pics") -> None:
        response = self.post(gallery, f"select/{index}")
        assert response.status == 200, response

    def click(self, ws: Client, route: str, gallery: str = "pics", **values: str) -> None:
        """A click as gallery.js sends it over the open socket: ``route`` is the tail of the
        action's HTTP route (``"select/2"``, ``"close"``), split into action and index."""
        ws.send(click_frame(route, gallery, **values))

    def trigger(self, ws: Client, element: str, event: str = "click", **values: str) -> None:
        """An event of an element of the page, as gallery.js sends it over the open socket."""
        frame = {"action": "trigger", "element": element, "event": event, "values": values}
        frame["root"] = element
        ws.send(json.dumps(frame))

    def upload(
        self,
        gallery: str,
        files: t.Sequence[tuple[str, bytes]],
        source: str = "upload",
        timeout: float = 10.0,
    ) -> Response:
        """Files as gallery.js posts them: multipart, one ``files`` part each."""
        body, content_type = multipart({"source": source}, [("files", n, d) for n, d in files])
        return self.post(gallery, "upload", body, timeout=timeout, **{"Content-Type": content_type})

    def poll(self, after: int = 0) -> Response:
        url = f"{self.server.url}/_gallery/poll/{self.token}?after={after}"
        return request(url, headers=self.headers(), source=self.source)

    def poll_until(self, needle: str, limit: float = 10.0) -> str:
        """Everything the page's polls received until one contains ``needle`` (fails after
        ``limit`` s), as the page's fallback without a WebSocket receives it."""
        received: list[str] = []
        after = 0
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            response = self.poll(after)
            assert response.status == 200, response
            received.append(response.body)
            if needle in response.body:
                return "".join(received)
            after = int(response.headers.get("X-Gallery-Seq", after))
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} never arrived; received: {received!r}")

    def raw_socket(self, *, compress: bool = False) -> RawSocket:
        """The page's socket opened over a plain TCP connection, nothing read after the
        handshake: a client that costs this process no thread (thousands of open pages).
        ``compress`` offers permessage-deflate, as browsers do."""
        headers = {"Origin": self.server.url, "Cookie": self.cookie}
        path = f"/_gallery/ws/{self.token}"
        return raw_socket(self.server, path, headers, compress=compress, source=self.source)


class RawSocket(t.NamedTuple):
    """A WebSocket handshake's answer: its status, the extensions agreed, the connection."""

    status: int
    extensions: list[str]
    sock: socket.socket


def raw_socket(
    server: Server,
    path: str,
    headers: t.Mapping[str, str],
    *,
    compress: bool = False,
    source: str | None = None,
) -> RawSocket:
    """Send a browser's WebSocket handshake for ``path`` (wsproto writes and reads it), from the
    local address ``source`` if given."""
    connection = WSConnection(ConnectionType.CLIENT)
    offer = WsRequest(
        host=server.host,
        target=path,
        extra_headers=[(name.encode(), value.encode()) for name, value in headers.items()],
        extensions=[PerMessageDeflate()] if compress else [],
    )
    host, port = server.host.split(":")
    local = (source, 0) if source else None
    sock = socket.create_connection((host, int(port)), timeout=10, source_address=local)
    try:
        sock.sendall(connection.send(offer))
        for _ in range(1000):  # the answer's head, a few packets at most
            chunk = sock.recv(4096)
            assert chunk, "the server closed the connection during the handshake"
            connection.receive_data(chunk)
            for event in connection.events():
                if isinstance(event, AcceptConnection):
                    return RawSocket(101, [str(x.name) for x in event.extensions], sock)
                if isinstance(event, RejectConnection):
                    sock.close()
                    return RawSocket(event.status_code, [], sock)
    except BaseException:
        sock.close()
        raise
    raise AssertionError("no answer to the WebSocket handshake")


def multipart(
    fields: t.Mapping[str, str], files: t.Sequence[tuple[str, str, bytes]]
) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body and its Content-Type."""
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    for name, filename, data in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def receive_until(ws: Client, needle: str, limit: float = 10.0) -> str:
    """Everything received until a message contains ``needle`` (fails after ``limit`` s)."""
    received: list[str] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        message = ws.receive(timeout=max(0.0, deadline - time.monotonic()))
        if message is None:
            break
        received.append(str(message))
        if needle in str(message):
            return "".join(received)
    raise AssertionError(f"{needle!r} never arrived; received: {received!r}")


def raw_request(
    server: Server, path: str, headers: t.Mapping[str, str], body: bytes = b"", method: str = "POST"
) -> socket.socket:
    """The request line, headers and ``body`` sent on a new connection, which stays open: the
    body may be only the start of what ``Content-Length`` announces (a client that is still
    sending), and the test decides what else to send."""
    port = int(server.host.rpartition(":")[2])
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {server.host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    # Latin-1, as HTTP/1.1 reads it: a test may send any byte in the path or a header.
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    return sock


def read_status(sock: socket.socket, limit: float = 10.0) -> int:
    """The status code of the response arriving on ``sock`` (fails after ``limit`` s)."""
    sock.settimeout(limit)
    received = b""
    while b"\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection without an answer: {received!r}"
        received += chunk
    return int(received.split(b" ", 2)[1])
