"""A light load client for the benchmarks: raw asyncio HTTP/1.1 (keep-alive) and WebSocket.

No httpx, requests or websockets: on 2 cores the load generator competes with the server, so the
client does the least work that still speaks the protocols correctly (Content-Length and chunked
bodies, Set-Cookie, the WebSocket handshake, masked client frames, fragmented and control frames).
Every read has a timeout, so no loop can hang.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import re
import struct
import typing as t

#: Seconds any single read may take before the benchmark gives up on it.
READ_TIMEOUT = 15.0
#: The loopback address connections come from unless one is given (None: the system's choice).
#: The server tells clients apart by address, as it would on a network: the hostile clients
#: speak from an address of their own, the users each from one of many.
SOURCE: str | None = None
_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class HandshakeRefused(ConnectionError):
    """The server answered a WebSocket handshake with ``status`` instead of 101."""

    def __init__(self, path: str, status: int) -> None:
        super().__init__(f"WebSocket handshake to {path} refused: HTTP {status}")
        self.status = status


class Page(t.NamedTuple):
    """What a client reads from a rendered page: the page token, the page's socket and poll
    URLs (None when the page has none), and each gallery's root id and actions URL."""

    token: str
    socket: str | None
    poll: str | None
    galleries: dict[str, tuple[str, str]]


_TOKEN = re.compile(r'data-page="([^"]+)"')
_SOCKET = re.compile(r'hx-ws:connect="([^"]+)"')
_POLL = re.compile(r'data-poll="([^"]+)"')
_GALLERY = re.compile(
    r'<div id="([^"]+)" class="[^"]*" data-gallery="([^"]+)"[^>]*?data-actions="([^"]+)"'
)


def read_page(html: str) -> Page | None:
    """The page's token, socket, poll URL and galleries; None when it has no page token."""
    token = _TOKEN.search(html)
    if token is None:
        return None
    socket, poll = _SOCKET.search(html), _POLL.search(html)
    return Page(
        token.group(1),
        socket.group(1) if socket else None,
        poll.group(1) if poll else None,
        {name: (root, actions) for root, name, actions in _GALLERY.findall(html)},
    )


def click_frame(gallery: str, root: str, action: str = "select", index: int | None = None) -> str:
    """A click as gallery.js sends it over the page's socket: the action and the gallery by
    name, the item's index for the actions whose route takes one."""
    frame: dict[str, t.Any] = {"action": action, "gallery": gallery, "root": root}
    if index is not None:
        frame["index"] = str(index)
    return json.dumps(frame)


class Response(t.NamedTuple):
    status: int
    headers: dict[str, str]  # lower-case names; repeated ones joined with "\n"
    body: bytes


def open_connection(
    host: str, port: int, source: str | None = None
) -> t.Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A TCP connection to ``host:port`` from the local address ``source`` (or :data:`SOURCE`)."""
    local = source or SOURCE
    return asyncio.open_connection(host, port, local_addr=(local, 0) if local else None)


class HttpConnection:
    """One keep-alive HTTP/1.1 connection to ``host:port``; requests go one at a time."""

    def __init__(self, host: str, port: int, source: str | None = None) -> None:
        self.host, self.port, self.source = host, port, source
        self.cookies: dict[str, str] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await open_connection(self.host, self.port, self.source)

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Response:
        """One request; on a kept-alive connection the server closed meanwhile (gunicorn does
        after 2 s idle), sent again once on a new one, as browsers do."""
        reused = self._writer is not None
        try:
            return await self._request(method, path, headers, body)
        except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as exc:
            partial = getattr(exc, "partial", b"")
            if not reused or partial:
                raise
            await self.close()
            return await self._request(method, path, headers, body)

    async def _request(
        self, method: str, path: str, headers: dict[str, str] | None, body: bytes
    ) -> Response:
        if self._writer is None:
            await self._connect()
        assert self._reader is not None and self._writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if self.cookies:
            lines.append(f"Cookie: {self.cookie_header()}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        response = await asyncio.wait_for(read_response(self._reader), READ_TIMEOUT)
        for cookie in response.headers.get("set-cookie", "").split("\n"):
            if "=" in cookie:
                name, _, rest = cookie.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.headers.get("connection", "").lower() == "close":
            await self.close()
        return response

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(self._writer.wait_closed(), 2)
        self._reader = self._writer = None


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status_line, *header_lines = head[:-4].split("\r\n")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}\n{value.strip()}" if key in headers else value.strip()
    return int(status_line.split(" ", 2)[1]), headers


async def read_response(reader: asyncio.StreamReader) -> Response:
    status, headers = await read_head(reader)
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))  # the chunk and its CRLF
            if size == 0:  # the last chunk (no trailers are sent to us)
                break
        body = b"".join(p[:-2] for p in parts)
    elif status in (204, 304) or status < 200:
        body = b""
    else:
        body = await reader.read()
    return Response(status, headers, body)


def _masked(payload: bytes, mask: bytes) -> bytes:
    """``payload`` XOR the repeated 4-byte ``mask`` (as one big integer: large frames too)."""
    n = len(payload)
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


class WebSocket:
    """A client WebSocket (RFC 6455): text messages in, pongs and the close frame out."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        #: The code of the server's close frame, once it sent one.
        self.close_code: int | None = None

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        path: str,
        headers: dict[str, str] | None = None,
        source: str | None = None,
    ) -> WebSocket:
        reader, writer = await open_connection(host, port, source)
        try:
            return await cls._handshake(reader, writer, host, port, path, headers)
        except BaseException:  # refused, or given up on: never leave the connection open
            writer.close()
            raise

    @classmethod
    async def _handshake(
        cls,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        host: str,
        port: int,
        path: str,
        headers: dict[str, str] | None,
    ) -> WebSocket:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{k}: {v}" for k, v in (headers or {}).items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        status, response = await asyncio.wait_for(read_head(reader), READ_TIMEOUT)
        accept = base64.b64encode(hashlib.sha1(key.encode() + _WS_GUID).digest()).decode()
        if status != 101 or response.get("sec-websocket-accept") != accept:
            raise HandshakeRefused(path, status)
        return cls(reader, writer)

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        header = bytes([0x80 | opcode])
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        self._writer.write(header + mask + _masked(payload, mask))

    def send(self, text: str) -> None:
        """A text message (as the page's script sends a click)."""
        self._send(0x1, text.encode())

    def send_bytes(self, data: bytes) -> None:
        """A binary message (no page sends one)."""
        self._send(0x2, data)

    async def recv(self, timeout: float | None = None) -> str | None:
        """The next text message, or None once the server closed the socket."""
        return await asyncio.wait_for(self._recv(), timeout)

    async def _recv(self) -> str | None:
        parts: list[bytes] = []
        while True:
            try:
                b0, b1 = await self._reader.readexactly(2)
            except (asyncio.IncompleteReadError, ConnectionError):
                return None
            n = b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", await self._reader.readexactly(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", await self._reader.readexactly(8))
            mask = await self._reader.readexactly(4) if b1 & 0x80 else b""
            payload = await self._reader.readexactly(n)
            if mask:
                payload = _masked(payload, mask)
            opcode = b0 & 0x0F
            if opcode == 0x8:  # close: answer it and stop
                if len(payload) >= 2:
                    (self.close_code,) = struct.unpack("!H", payload[:2])
                self._send(0x8, payload[:2])
                return None
            if opcode == 0x9:  # ping
                self._send(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            parts.append(payload)
            if b0 & 0x80:  # FIN: the message is complete
                return b"".join(parts).decode("utf-8", "replace")

    async def close(self) -> None:
        try:
            self._send(0x8, struct.pack("!H", 1000))
            self._writer.close()
            await asyncio.wait_for(self._writer.wait_closed(), 2)
        except (OSError, TimeoutError, RuntimeError):
            pass
