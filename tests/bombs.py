"""Decompression bombs and the attack that sends them, for tests/test_hostile_decode.py and
benchmarks/bench_decode.py.

An 8000x8000 RGBA PNG of zeros is 249 KB and decodes to 256 MB, exactly at
``GALLERY_MAX_IMAGE_PIXELS``. Each client uploads its own (a text chunk makes the bytes, so
the content keys, differ), then asks for its four thumbnail widths and its full file at once.
"""

from __future__ import annotations

import concurrent.futures
import io
import re
import struct
import zlib
from pathlib import Path

from PIL import Image

from tests.clients import Page, fetch_bytes, request
from tests.servers import ServerProcess

APP = "tests.apps.hostile:create_app"
SIDE = 8000
#: Bytes one bomb decodes to (RGBA).
DECODED = SIDE * SIDE * 4
MIB = 1 << 20
WIDTHS = (192, 384, 640, 960)
CLIENTS = 4
#: Seconds the whole attack may take (four 256 MB decodes in turn on a busy machine).
ATTACK_LIMIT = 240.0


def with_text(png: bytes, text: str) -> bytes:
    """``png`` with a tEXt chunk before IEND: other bytes, the same pixels."""
    body = b"Comment\0" + text.encode()
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + body))
    assert png[-12:-8] == b"\0\0\0\0" and png[-8:-4] == b"IEND"
    return png[:-12] + chunk + png[-12:]


def make_bombs(folder: Path, clients: int = CLIENTS) -> list[bytes]:
    """One PNG per client: the same zeros, different bytes."""
    path = folder / "zeros.png"
    Image.new("RGBA", (SIDE, SIDE)).save(path)
    zeros = path.read_bytes()
    assert len(zeros) < 300_000
    return [with_text(zeros, f"client {n}") for n in range(clients)]


def upload(server: ServerProcess, name: str, data: bytes) -> str:
    """Upload ``data`` on a new page; the full file's URL of the item it became."""
    page = Page(server, "/?g=uploads")
    response = page.upload("uploads", [(name, data)], timeout=ATTACK_LIMIT)
    assert response.status == 200, response.body[:500]
    assert "was refused" not in response.body and 'role="alert"' not in response.body, (
        response.body[:2000]
    )
    (full,) = re.findall(r'data-full="([^"]+)"', response.body)
    return f"{server.url}{full}"


def fetch_all(full: str) -> dict[str, tuple[int, bytes]]:
    """The four thumbnail widths and the full file, asked for in parallel as a browser would."""
    urls = [f"{full}/w{width}" for width in WIDTHS] + [full]
    with concurrent.futures.ThreadPoolExecutor(len(urls)) as pool:
        answers = pool.map(lambda url: fetch_bytes(url, timeout=ATTACK_LIMIT)[:2], urls)
        return dict(zip(urls, answers, strict=True))


def attack(server: ServerProcess, n: int, bomb: bytes) -> dict[str, tuple[int, bytes]]:
    return fetch_all(upload(server, f"bomb-{n}.png", bomb))


def warm_up(server: ServerProcess, clients: int = CLIENTS) -> None:
    """What any server has done before an attacker comes: codecs loaded, and as many request
    threads (each with its glibc arena) started as the attack will use, each client with its
    own small image."""

    def visit(n: int) -> None:
        buffer = io.BytesIO()
        Image.new("RGBA", (400, 300), (n, 90, 200, 255)).save(buffer, "PNG")
        for _ in range(2):
            answers = fetch_all(upload(server, f"warm-{n}.png", buffer.getvalue()))
            assert all(status == 200 for status, _ in answers.values())

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(visit, range(clients)))
    assert request(server.url + "/plain").status == 200
