"""A page as a browser holds it, for tests against a live server (:class:`tests.live.LiveServer`
in this process, or :class:`tests.servers.ServerProcess`): its token and session cookie, its
clicks as gallery.js sends them (an HTTP POST, or a frame on the page's socket), uploads, and a
WebSocket client that sends what a browser sends."""

from __future__ import annotations

import json
import re
import time
import typing as t
import urllib.request
import uuid
from urllib.error import HTTPError

from simple_websocket import Client


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


class Response(t.NamedTuple):
    status: int
    body: str
    headers: t.Any


def request(
    url: str,
    data: bytes | None = None,
    headers: t.Mapping[str, str] | None = None,
    method: str | None = None,
    timeout: float = 10.0,
) -> Response:
    """One HTTP request; an error status is returned, not raised."""
    req = urllib.request.Request(url, data=data, headers=dict(headers or {}), method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return Response(
                response.status, response.read().decode(errors="replace"), response.headers
            )
    except HTTPError as error:
        with error:
            return Response(error.code, error.read().decode(errors="replace"), error.headers)


def fetch_bytes(url: str, timeout: float = 30.0) -> tuple[int, bytes]:
    """A GET's status and body as bytes (media); an error status is returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except HTTPError as error:
        with error:
            return error.code, error.read()


class Page:
    """One rendered page (``GET path``): its token and its session cookie. ``cookie`` reuses a
    session, as a browser's second tab does."""

    def __init__(self, server: Server, path: str = "/", cookie: str | None = None) -> None:
        self.server = server
        headers = {"Cookie": cookie} if cookie else {}
        response = request(server.url + path, headers=headers)
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
        headers = self.headers(**headers)
        return request(url, data=data, headers=headers, method="POST", timeout=timeout)

    def select(self, index: int, gallery: str = "pics") -> None:
        response = self.post(gallery, f"select/{index}")
        assert response.status == 200, response

    def click(self, ws: Client, action: str, gallery: str = "pics", **values: str) -> None:
        """A click as gallery.js sends it over the open socket."""
        url = f"/_gallery/p/{self.token}/{gallery}/{action}"
        ws.send(json.dumps({"action": url, "values": values, "root": f"fg-{gallery}"}))

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
        return request(url, headers=self.headers())


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
