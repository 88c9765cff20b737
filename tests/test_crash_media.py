"""``kill -9`` of the server at several points of an upload and of a handler's numpy output, then
a restart over the same media folder (issue 11, point 2).

After each restart: every upload answered 200 serves intact (it decodes, to the same pixels);
a handler output is served intact or answered 404 at once (its writer did not run: the value
that made it makes it again); no record without complete data and no orphan temp file remains
on disk; storing the same content again gives a working item. Each attempt stores content no
attempt stored before, so every kill lands on a real write.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import re
import threading
import time
import typing as t
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps
from simple_websocket import ConnectionClosed

from flask_gallery.media.store import PENDING_PIXELS_WAIT

from .apps.media_app import MADE_COUNT, gradient, made_images
from .clients import Page, Response, receive_until
from .servers import ServerProcess

pytestmark = pytest.mark.slow

APP = "tests.apps.media_app:create_app"
#: How the handler's new value of ``made`` reaches the page.
RESULT = '<hx-partial hx-target="#fg-made" hx-swap="outerMorph">'
MEDIA_URL_RE = re.compile(r"/_gallery/media/([0-9a-f]{32}-[0-9a-f]{20})")
#: A re-encoded JPEG (a turned photo is stored upright) differs a little from the original.
JPEG_TOLERANCE = 3.0

Expected = tuple[np.ndarray[t.Any, t.Any], bool]  # pixels, exact


def media_ids(html: str) -> list[str]:
    """The ids of a gallery fragment's items, in order (each appears in several URLs)."""
    return list(dict.fromkeys(MEDIA_URL_RE.findall(html)))


def turned_jpeg(seed: int) -> tuple[bytes, Expected]:
    """A photo whose EXIF says "turn 90 degrees": stored upright, re-encoded."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(gradient(seed, 1200, 900)).save(buffer, "JPEG", exif=exif, quality=95)
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(buffer.getvalue())))
    return buffer.getvalue(), (np.asarray(upright.convert("RGB")), False)


def plain_png(seed: int) -> tuple[bytes, Expected]:
    """A PNG with a noisy half (a few MiB to write), stored byte for byte."""
    pixels = gradient(seed, 1000, 800)
    pixels[:400] = np.random.default_rng(seed).integers(0, 256, (400, 1000, 3), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue(), (pixels, True)


UPLOADS: dict[str, tuple[t.Callable[[int], tuple[bytes, Expected]], ...]] = {
    "turned": (turned_jpeg,),
    "png": (plain_png,),
    "several": (turned_jpeg, plain_png, plain_png),
}

#: (what is uploaded, when the server is killed): None right on the 200, else that fraction of
#: the same kind's upload time after sending it (mid-request, or just after the answer).
UPLOAD_ATTEMPTS: tuple[tuple[str, float | None], ...] = (
    ("turned", None),
    ("png", None),
    ("several", None),
    ("several", 0.5),
    ("turned", 0.8),
)

#: Seconds after a handler's result reached the page before the kill; -1: right after the
#: click's answer, while the handler may still run.
OUTPUT_ATTEMPTS = (-1.0, 0.0, 0.0, 0.2)


@pytest.fixture
def server(tmp_path: Path) -> t.Iterator[ServerProcess]:
    with ServerProcess(APP, tmp_path / "instance") as server:
        yield server


def media_root(server: ServerProcess) -> Path:
    return server.instance / "flask_gallery_media"


def decoded(data: bytes) -> np.ndarray[t.Any, t.Any]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return np.asarray(image.convert("RGB"))


def assert_serves(server: ServerProcess, media_id: str, expected: Expected) -> None:
    """The full file answers 200 and decodes to the expected pixels."""
    response = fetch(server, media_id)
    assert response.status == 200, (media_id, response.status)
    pixels, exact = expected
    served = decoded(response.body)
    assert served.shape == pixels.shape
    if exact:
        assert np.array_equal(served, pixels), media_id
    else:
        difference = np.abs(served.astype(np.int16) - pixels.astype(np.int16)).mean()
        assert difference < JPEG_TOLERANCE, (media_id, difference)


class Binary(t.NamedTuple):
    status: int
    body: bytes


def fetch(server: ServerProcess, media_id: str) -> Binary:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{server.url}/_gallery/media/{media_id}", timeout=30) as r:
            return Binary(r.status, r.read())
    except urllib.error.HTTPError as error:
        with error:
            return Binary(error.code, error.read())


def assert_store_is_consistent(root: Path) -> None:
    """Every record has its complete data; no temp file of the killed process is left."""
    staging = root / ".staging"
    assert not staging.exists() or not list(staging.iterdir()), "the killed server's temp files"
    for folder in root.glob("??/*"):
        assert not [p.name for p in folder.iterdir() if p.name.startswith(".")], folder
        meta = folder / "meta.json"
        if not meta.exists():
            continue
        record = json.loads(meta.read_bytes())
        full, pixels = folder / f"full.{record['ext']}", folder / "pixels.npy"
        assert full.exists() or pixels.exists(), f"a record without data: {folder}"
        size = (record["height"], record["width"])
        if pixels.exists():
            array = np.load(pixels, allow_pickle=False)
            assert array.shape[:2] == size, folder
        if full.exists():
            with Image.open(full) as image:
                image.load()
                assert image.size == size[::-1], folder


def upload_files(kind: str, seed: int) -> tuple[list[tuple[str, bytes]], list[Expected]]:
    files, expected = [], []
    for number, make in enumerate(UPLOADS[kind]):
        data, pixels = make(seed * 10 + number)
        files.append((f"{kind}-{seed}-{number}.{'jpg' if make is turned_jpeg else 'png'}", data))
        expected.append(pixels)
    return files, expected


def upload_then_kill(
    server: ServerProcess, page: Page, files: list[tuple[str, bytes]], delay: float | None
) -> tuple[Response | None, float]:
    """Upload; kill -9 on the answer (``delay`` None) or ``delay`` s after sending. Returns the
    answer if one came before the kill, and how long the upload took."""
    outcome: dict[str, t.Any] = {}

    def send() -> None:
        start = time.monotonic()
        try:
            outcome["response"] = page.upload("uploads", files)
        except (OSError, http.client.HTTPException):
            return  # the server died under the request
        outcome["seconds"] = time.monotonic() - start
        if delay is None:
            server.kill()

    sender = threading.Thread(target=send)
    sender.start()
    if delay is not None:
        time.sleep(delay)
        server.kill()
    sender.join(60)
    assert not sender.is_alive()
    if delay is None:
        assert "response" in outcome, "the upload got no answer"
    return outcome.get("response"), outcome.get("seconds", 0.0)


def test_uploads_answered_200_survive_kill_9(server: ServerProcess) -> None:
    took: dict[str, float] = {}
    for seed, (kind, fraction) in enumerate(UPLOAD_ATTEMPTS, start=1):
        files, expected = upload_files(kind, seed)
        page = Page(server, "/?g=uploads")
        delay = None if fraction is None else fraction * took[kind]
        response, seconds = upload_then_kill(server, page, files, delay)
        if fraction is None:
            took[kind] = seconds
        server.start()
        assert_store_is_consistent(media_root(server))
        if response is not None:
            assert response.status == 200, response
            ids = media_ids(response.body)
            assert len(ids) == len(files)
            for media_id, pixels in zip(ids, expected, strict=True):
                assert_serves(server, media_id, pixels)
        again = Page(server, "/?g=uploads").upload("uploads", files)
        assert again.status == 200, again
        for media_id, pixels in zip(media_ids(again.body), expected, strict=True):
            assert_serves(server, media_id, pixels)
        assert_store_is_consistent(media_root(server))  # uploads are written before the 200


def click(server: ServerProcess, seed: int, kill_after: float | None = None) -> list[str]:
    """Make ``seed``'s images in a handler; the ids the page got. With ``kill_after``, kill -9
    that many seconds after they reached the page; -1: right after the click's answer, while
    the handler may still run (no ids then)."""
    page = Page(server, "/?g=seed&g=made")
    ws = page.socket()
    try:
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        clicked = page.post("seed", "select/0", f"n={seed}".encode(), **form)
        assert clicked.status == 200, clicked
        if kill_after == -1:
            server.kill()
            return []
        received = receive_until(ws, RESULT, limit=60)
        if kill_after is not None:
            time.sleep(kill_after)
            server.kill()
    finally:
        # The server may be dead: the client's reader may have closed the socket already.
        with contextlib.suppress(ConnectionClosed, OSError):
            ws.close()
    result = received.rsplit(RESULT, 1)[1].split("</hx-partial>", 1)[0]
    ids = media_ids(result)
    assert len(ids) == MADE_COUNT
    return ids


def test_numpy_outputs_are_intact_or_absent_after_kill_9_and_made_again(
    server: ServerProcess,
) -> None:
    for seed, delay in enumerate(OUTPUT_ATTEMPTS, start=100):
        expected = [(pixels, True) for pixels in made_images(seed)]
        ids = click(server, seed, kill_after=delay)
        server.start()
        assert_store_is_consistent(media_root(server))
        for media_id, pixels in zip(ids, expected[: len(ids)], strict=True):
            start = time.monotonic()
            response = fetch(server, media_id)
            if response.status == 404:  # its writer never ran: nothing of it is left
                assert time.monotonic() - start < PENDING_PIXELS_WAIT
            else:
                assert_serves(server, media_id, pixels)
        remade = click(server, seed)
        if ids:
            assert remade == ids
        for media_id, pixels in zip(remade, expected, strict=True):
            assert_serves(server, media_id, pixels)
