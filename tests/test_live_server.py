"""The live server the browser and socket tests run on: a client that resets its connection
while an image is sent leaves no file open (Werkzeug's dev server skips the response's close
then; an unclosed file's ResourceWarning would fail whichever test the collector ran in)."""

from __future__ import annotations

import re
import socket
import struct
import typing as t
import urllib.request

import numpy as np

from .browser.conftest import gallery_app
from .live import LiveServer


def declare(galleries: t.Any) -> None:
    galleries.gallery("pics", [np.random.default_rng(0).integers(0, 255, (600, 600, 3), np.uint8)])


def test_a_client_that_resets_mid_download_leaves_no_file_open(tmp_path: t.Any) -> None:
    with LiveServer(gallery_app(tmp_path / "instance", declare)) as server:
        page = urllib.request.urlopen(f"{server.url}/?g=pics").read().decode()
        match = re.search(r'data-full="([^"]+)"', page)
        assert match is not None
        # About one reset in six lands in the server's drain: 50 make a leak all but certain.
        for _ in range(50):
            with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))) as s:
                s.sendall(f"GET {match.group(1)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                assert s.recv(100).startswith(b"HTTP/1.1 200")
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # pytest reports an unclosed file's ResourceWarning (an error here) after the test.
