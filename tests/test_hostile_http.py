"""Hostile HTTP clients against a real server (issue 10, points 5 and 8): refusals cost the
server the request's headers, never its body, and a gallery holds at most ``GALLERY_MAX_ITEMS``.

The body tests speak raw HTTP over a socket, as an attacker's client would: they send the
headers and the first bytes of a body far larger than anything they will send, and the answer
must arrive while most of it is unsent, with nothing spooled to the server's temporary folder
(``TMPDIR`` points the server's spool at a folder the test watches).
"""

from __future__ import annotations

import io
import re
import select
import time
import typing as t
from pathlib import Path

import numpy as np
import pytest
from flask import Flask, render_template_string, request

from flask_gallery import FlaskGallery

from . import test_pages_http as in_process
from .clients import Page, raw_request, read_status
from .clients import request as http
from .servers import ServerProcess
from .test_pages_http import PAGE, Channel, png_bytes

MiB = 1024 * 1024
#: What the attacker announces: far more than the server may ever read.
DECLARED = 300 * MiB
#: What it actually sends before it waits for the answer.
FIRST = 64 * 1024
#: The upload request limit of the servers below (small, so a chunked body reaches it fast).
LIMIT = 8 * MiB
BOUNDARY = "hostile-boundary"
UPLOAD_HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="big.png"\r\n'
    "Content-Type: image/png\r\n\r\n"
).encode()


@pytest.fixture(scope="module", params=["werkzeug", "gunicorn"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> t.Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp(f"hostile_http_{request.param}")
    spool = folder / "spool"
    spool.mkdir()
    with ServerProcess(
        "tests.apps.hostile:create_app",
        folder / "instance",
        kind=request.param,
        config={"GALLERY_MAX_UPLOAD_REQUEST_BYTES": LIMIT},
        env={"TMPDIR": str(spool)},
    ) as served:
        served.spool = spool  # type: ignore[attr-defined]
        yield served


def spooled(server: ServerProcess) -> int:
    return server.held_bytes(server.spool)  # type: ignore[attr-defined]


def still_serves(server: ServerProcess) -> None:
    """Another client is answered within a second (the issue's liveness bound)."""
    started = time.monotonic()
    assert http(server.url + "/plain", timeout=5).status == 200
    assert time.monotonic() - started < 1.0


def upload_headers(page: Page | None, server: ServerProcess, **extra: str) -> dict[str, str]:
    headers = page.headers() if page is not None else {"Origin": server.url}
    return {**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}", **extra}


def refused_while_sending(server: ServerProcess, path: str, headers: dict[str, str]) -> int:
    """Announce :data:`DECLARED` bytes, send :data:`FIRST`, and return the status that
    arrives: the rest of the body is never sent."""
    headers = {**headers, "Content-Length": str(DECLARED)}
    with raw_request(server, path, headers, UPLOAD_HEAD + b"\0" * FIRST) as sock:
        status = read_status(sock)
    assert spooled(server) == 0
    return status


@pytest.mark.parametrize(
    "attempt",
    ["made-up page, no cookie", "no page header", "foreign origin", "another session's page"],
)
def test_a_refused_upload_is_answered_before_its_body_is_read(
    server: ServerProcess, attempt: str
) -> None:
    page, other = Page(server, "/?g=uploads"), Page(server, "/?g=uploads")
    token, headers = page.token, upload_headers(page, server)
    if attempt == "made-up page, no cookie":
        token = "made-up-token"
        headers = upload_headers(None, server, **{"X-Gallery-Page": token})
    elif attempt == "no page header":
        del headers["X-Gallery-Page"]
    elif attempt == "foreign origin":
        headers["Origin"] = "https://evil.example"
    else:
        headers["Cookie"] = other.cookie
    path = f"/_gallery/p/{token}/uploads/upload"
    assert refused_while_sending(server, path, headers) == 403
    still_serves(server)


def test_an_expired_page_is_answered_before_its_body_is_read(server: ServerProcess) -> None:
    page = Page(server, "/?g=uploads")
    headers = upload_headers(page, server, **{"X-Gallery-Page": "expired-token"})
    assert refused_while_sending(server, "/_gallery/p/expired-token/uploads/upload", headers) == 410


def test_a_content_length_over_the_limit_is_refused_unread(server: ServerProcess) -> None:
    page = Page(server, "/?g=uploads&g=pics")
    path = f"/_gallery/p/{page.token}/uploads/upload"
    assert refused_while_sending(server, path, upload_headers(page, server)) == 413
    # Every other gallery POST carries form fields: 1 MiB at most.
    select = f"/_gallery/p/{page.token}/pics/select/0"
    form = {**page.headers(), "Content-Type": "application/x-www-form-urlencoded"}
    assert refused_while_sending(server, select, form) == 413
    # The page is intact and still served.
    page.select(1)
    still_serves(server)


def test_a_chunked_upload_is_cut_off_at_the_limit(server: ServerProcess) -> None:
    """No Content-Length to refuse: the server reads the stream up to the limit, then
    answers 413 while the client is still sending."""
    page = Page(server, "/?g=uploads")
    headers = upload_headers(page, server, **{"Transfer-Encoding": "chunked"})
    chunk = 256 * 1024
    frame = f"{chunk:x}\r\n".encode() + b"\0" * chunk + b"\r\n"
    pending = f"{len(UPLOAD_HEAD):x}\r\n".encode() + UPLOAD_HEAD + b"\r\n"
    sent, peak, status = 0, 0, None
    deadline = time.monotonic() + 30
    with raw_request(server, f"/_gallery/p/{page.token}/uploads/upload", headers) as sock:
        sock.setblocking(False)
        while status is None and sent < 16 * LIMIT and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            peak = max(peak, spooled(server))
            if readable:
                sock.setblocking(True)
                status = read_status(sock)
            elif writable:
                n = sock.send(pending)
                sent, pending = sent + n, pending[n:] or frame
    assert status == 413, f"sent {sent} bytes, no answer"
    assert sent < 4 * LIMIT
    assert peak <= LIMIT
    still_serves(server)


def test_uploads_past_max_items_are_refused_by_name(server: ServerProcess) -> None:
    """1,006 files in 11 requests, into a gallery that holds 1,000 (the default)."""
    page = Page(server, "/?g=uploads")
    png = png_bytes((4, 4))

    def upload(first: int, count: int) -> str:
        names = [(f"f{n}.png", png) for n in range(first, first + count)]
        response = page.upload("uploads", names)
        assert response.status == 200, response
        return response.body

    for start in range(0, 900, 100):
        upload(start, 100)
    body = upload(900, 95)
    # Every label names the count (the grid draws its first window of them).
    assert "Thumbnail 1 of 995" in body
    body = upload(995, 10)  # five fit, five are refused by name
    assert "Thumbnail 1 of 1000" in body and "of 1001" not in body
    refused = re.findall(r"(f\d+\.png): the gallery holds at most 1000 items\.", body)
    assert refused == [f"f{n}.png" for n in range(1000, 1005)]
    body = upload(1005, 1)
    assert "f1005.png: the gallery holds at most 1000 items." in body
    assert "Thumbnail 1 of 1000" in body
    still_serves(server)


# In process: what runs before a refusal, and the limits' defaults


class CountingStream(io.RawIOBase):
    """A request body of ``size`` bytes (made as it is read) that counts what the server
    reads of it."""

    def __init__(self, size: int) -> None:
        self.size, self.position, self.read_bytes = size, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = offset if whence == 0 else self.size + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: t.Any) -> int:
        n = max(0, min(len(buffer), self.size - self.position))
        buffer[:n] = b"\0" * n
        self.position += n
        self.read_bytes += n
        return n


@pytest.fixture
def guarded_app(tmp_path: Path) -> tuple[Flask, list[str]]:
    """An app with Flask-WTF's CSRFProtect and a before_request hook of its own that reads
    every form: both would read a body, if a refused request reached them."""
    from flask_wtf.csrf import CSRFProtect

    app = Flask("refusals", instance_path=str(tmp_path))
    app.config.update(SECRET_KEY="k", WTF_CSRF_ENABLED=True)
    CSRFProtect(app)
    galleries = FlaskGallery(app)
    galleries.gallery("up", None, interactive=True)
    galleries.gallery("g", [np.zeros((8, 8, 3), np.uint8)] * 2)
    forms: list[str] = []

    @app.before_request
    def log_forms() -> None:
        forms.append(",".join(request.form))

    @app.get("/page")
    def page() -> str:
        return render_template_string(PAGE, names=["up", "g"])

    @app.post("/own")
    def own() -> str:
        return str(len(request.get_data()))

    return app, forms


def test_nothing_reads_the_body_of_a_refused_request(guarded_app: tuple[Flask, list[str]]) -> None:
    app, forms = guarded_app
    client = app.test_client()
    page = in_process.Page(app, client, ["up", "g"])
    forms.clear()
    content = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    anonymous = app.test_client()  # no session cookie
    cases = [
        (anonymous, "made-up", {**content, "X-Gallery-Page": "made-up"}, DECLARED, 403),
        (client, "made-up", {**page.headers(), **content, "X-Gallery-Page": "made-up"}, 9, 410),
        (
            client,
            page.token,
            {**page.headers(), **content, "Origin": "https://evil.example"},
            9,
            403,
        ),
        (client, page.token, {**page.headers(), **content}, 200 * MiB + 1, 413),  # the default
    ]
    for sender, token, headers, size, status in cases:
        body = CountingStream(size)
        response = sender.post(
            f"/_gallery/p/{token}/up/upload",
            input_stream=body,
            headers={**headers, "Content-Length": str(size)},
        )
        assert response.status_code == status, response.text
        assert body.read_bytes == 0
    assert forms == []  # the app's hooks never ran for them


def test_the_apps_own_views_keep_their_limit(guarded_app: tuple[Flask, list[str]]) -> None:
    """The extension bounds its own requests only: the app's views read what its
    ``MAX_CONTENT_LENGTH`` (here none) allows."""
    app, _ = guarded_app
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    page = in_process.Page(app, client, ["g"])
    big = b"x=" + b"1" * (2 * MiB)
    assert client.post("/own", data=big).text == str(len(big))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert page.post("g/select/0", data=big, headers={**page.headers(), **form}).status_code == 413
    assert page.post("g/select/0").status_code == 200


# Bounded galleries: every way items enter one


@pytest.fixture
def small_app(tmp_path: Path) -> tuple[Flask, FlaskGallery]:
    app = Flask("small", instance_path=str(tmp_path))
    app.config.update(SECRET_KEY="k", TESTING=True, GALLERY_MAX_ITEMS=3)
    galleries = FlaskGallery(app)

    @app.get("/page")
    def page() -> str:
        return render_template_string(PAGE, names=request.args.getlist("n"))

    return app, galleries


def pixels(n: int) -> list[np.ndarray]:
    return [np.full((8, 8, 3), 10 * i, np.uint8) for i in range(n)]


def test_a_handler_output_over_the_limit_fails_naming_the_setting(
    small_app: tuple[Flask, FlaskGallery],
) -> None:
    app, galleries = small_app
    gallery = galleries.gallery("g", pixels(2))
    gallery.select(lambda: pixels(4), outputs=gallery)
    page = in_process.Page(app, app.test_client(), ["g"])
    channel = Channel(app, page)
    assert page.post("g/select/0").status_code == 200
    (failed,) = [m for m in channel.wait(1) if m["type"] == "failed"]
    assert "GALLERY_MAX_ITEMS" in failed["error"] and "at most 3" in failed["error"]
    assert len(page.state("g").items) == 2  # the value is as it was


def test_page_update_over_the_limit_is_refused(small_app: tuple[Flask, FlaskGallery]) -> None:
    app, galleries = small_app
    galleries.gallery("g", pixels(2))

    @app.post("/grow")
    def grow() -> t.Any:
        return galleries.page().update("g", value=pixels(4))

    client = app.test_client()
    page = in_process.Page(app, client, ["g"])
    with pytest.raises(ValueError, match="GALLERY_MAX_ITEMS"):
        client.post("/grow", headers=page.headers())
    assert len(page.state("g").items) == 2


def test_a_declared_value_over_the_limit_fails_at_first_render(
    small_app: tuple[Flask, FlaskGallery],
) -> None:
    app, galleries = small_app
    galleries.gallery("g", pixels(4))
    galleries.gallery("c", lambda: pixels(5))
    for name, count in (("g", 4), ("c", 5)):
        with pytest.raises(ValueError, match=rf"'{name}' was given {count} items.*at most 3"):
            app.test_client().get(f"/page?n={name}")
