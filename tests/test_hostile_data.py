"""Hostile data against a real server (issue 11, points 3-6): what uploads and handlers hand
the server must not leak its uploader's location, camera or file name, must be served under
what it is, and must not reach files outside the app's folders.

Each server is the app in a process of its own (:mod:`tests.servers`), driven as a browser
drives it (:mod:`tests.clients`): uploads as multipart posts with the page's token, links
taken from the HTML the server drew.
"""

from __future__ import annotations

import html
import io
import os
import pathlib
import re
import typing as t
import zipfile

import numpy as np
import pytest
from bs4 import BeautifulSoup
from PIL import Image, PngImagePlugin

from .clients import Page, Response, fetch_bytes, receive_until, request
from .media_samples import (
    FILES,
    GPS,
    MAKE,
    ORIENTATION,
    gps_exif,
    icc_profile,
    jpeg_scan,
    leaked,
    phone_jpeg,
    picture,
    saved,
)
from .servers import ServerProcess

HOSTILE = "tests.apps.hostile:create_app"
PATHS = "tests.apps.paths:create_app"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[ServerProcess]:
    with ServerProcess(HOSTILE, tmp_path_factory.mktemp("hostile_data")) as running:
        yield running


class Shown:
    """One item of a gallery as the page shows it: the URLs the browser would fetch."""

    def __init__(self, page: Page, index: int, gallery: str = "uploads") -> None:
        answer = page.post(gallery, f"select/{index}")
        assert answer.status == 200, answer
        soup = BeautifulSoup(answer.body, "html.parser")
        base = page.server.url
        download = soup.select_one("a[aria-label=Download]")
        full = soup.select_one("[data-testid=detailed-image], video")
        assert download is not None and full is not None, answer.body[:2000]
        self.download = base + html.unescape(str(download["href"]))
        self.full = base + str(full["src"])
        self.media_id = re.findall(r"/media/([0-9a-f]+-[0-9a-f]+)", self.full)[0]
        drawn = request(f"{base}/_gallery/p/{page.token}/{gallery}", headers=page.headers())
        grid = BeautifulSoup(drawn.body, "html.parser")
        thumbs = set()  # every width the grid offers (src and srcset)
        for img in grid.select(".fg-grid img"):
            thumbs.add(str(img["src"]))
            thumbs.update(part.split()[0] for part in str(img.get("srcset", "")).split(",") if part)
        self.thumbs = [base + src for src in sorted(thumbs) if self.media_id in src]
        zip_link = grid.select_one("a[aria-label='Download all']")
        self.zip = base + html.unescape(str(zip_link["href"])) if zip_link else None


def upload(page: Page, name: str, data: bytes) -> Response:
    answer = page.upload("uploads", [(name, data)])
    assert answer.status == 200, answer
    return answer


def get(url: str) -> tuple[bytes, t.Any]:
    status, body, headers = fetch_bytes(url)
    assert status == 200, (url, status, body[:300])
    return body, headers


def saved_as(headers: t.Any) -> str:
    match = re.fullmatch(r'attachment; filename="([^"]*)"(;.*)?', headers["Content-Disposition"])
    assert match, headers["Content-Disposition"]
    return match.group(1)


def zip_names(url: str) -> list[str]:
    body, _ = get(url)
    return zipfile.ZipFile(io.BytesIO(body)).namelist()


def exif_of(data: bytes) -> dict[int, t.Any]:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif())


# Point 3: no metadata leaks --------------------------------------------------------------


def test_gps_and_camera_exif_reach_no_one(server: ServerProcess) -> None:
    original = phone_jpeg(comment=b"secret comment")
    assert exif_of(original)[MAKE] == "PhoneCorp" and GPS in exif_of(original)
    page = Page(server, "/?g=uploads")
    upload(page, "holiday.jpg", original)
    shown = Shown(page, 0)
    full, full_headers = get(shown.full)
    download, download_headers = get(shown.download)
    assert full_headers["Content-Type"] == "image/jpeg"
    assert saved_as(download_headers) == "holiday.jpg"
    assert shown.thumbs, "the grid shows no thumbnail of the upload"
    for body in (full, download, *(get(url)[0] for url in shown.thumbs)):
        assert not leaked(body) and exif_of(body) == {}
    assert full == download
    assert jpeg_scan(full) == jpeg_scan(original)  # not re-encoded: the pixels' bytes as sent
    with Image.open(io.BytesIO(full)) as image:
        assert image.info["icc_profile"] == icc_profile()


def test_a_rotated_photo_is_stored_upright_without_its_metadata(server: ServerProcess) -> None:
    array = np.zeros((30, 40, 3), np.uint8)
    array[:, :20] = 255  # left half white: after turning 90 degrees clockwise, the top half
    original = saved(Image.fromarray(array), "JPEG", exif=gps_exif(orientation=6))
    page = Page(server, "/?g=uploads")
    upload(page, "turned.jpg", original)
    full, _ = get(Shown(page, 0).full)
    assert not leaked(full) and ORIENTATION not in exif_of(full)
    with Image.open(io.BytesIO(full)) as image:
        assert image.size == (30, 40)
        upright = np.asarray(image.convert("L"))
    assert upright[:15].mean() > 200 and upright[25:].mean() < 50


def test_png_text_and_exif_chunks_are_gone(server: ServerProcess) -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Alice")
    text.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>Secret X1</x:xmpmeta>")
    original = saved(picture(), "PNG", pnginfo=text, exif=gps_exif(), icc_profile=icc_profile())
    page = Page(server, "/?g=uploads")
    upload(page, "drawing.png", original)
    full, _ = get(Shown(page, 0).full)
    assert not leaked(full)
    assert not {b"tEXt", b"iTXt", b"zTXt", b"eXIf"} & {full[i : i + 4] for i in range(len(full))}
    with Image.open(io.BytesIO(full)) as image, Image.open(io.BytesIO(original)) as before:
        assert image.info["icc_profile"] == icc_profile()
        assert np.array_equal(np.asarray(image), np.asarray(before))


def test_keep_metadata_serves_uploads_as_sent(tmp_path: pathlib.Path) -> None:
    original = phone_jpeg()
    with ServerProcess(HOSTILE, tmp_path, config={"GALLERY_KEEP_METADATA": True}) as keeping:
        page = Page(keeping, "/?g=uploads")
        upload(page, "holiday.jpg", original)
        shown = Shown(page, 0)
        assert get(shown.full)[0] == original
        assert get(shown.download)[0] == original


# Point 4: names belong to the item ----------------------------------------------------------


def test_the_same_bytes_keep_each_uploaders_name(server: ServerProcess) -> None:
    data = saved(picture(seed=11), "PNG")
    alice, bob = Page(server, "/?g=uploads"), Page(server, "/?g=uploads")
    assert alice.cookie != bob.cookie
    upload(alice, "alice-hiv-test-result-2026.png", data)
    bob_answer = upload(bob, "guess.png", data)
    assert "alice" not in bob_answer.body
    at_alice, at_bob = Shown(alice, 0), Shown(bob, 0)
    assert at_alice.media_id == at_bob.media_id  # stored once
    assert saved_as(get(at_bob.download)[1]) == "guess.png"
    assert saved_as(get(at_alice.download)[1]) == "alice-hiv-test-result-2026.png"
    assert at_alice.zip and at_bob.zip
    assert zip_names(at_bob.zip) == ["guess.png"]
    assert zip_names(at_alice.zip) == ["alice-hiv-test-result-2026.png"]
    forged = at_bob.download.replace("name=guess.png", "name=alice-hiv-test-result-2026.png")
    assert fetch_bytes(forged)[0] == 404
    for url in (at_bob.full, at_bob.download, *at_bob.thumbs):
        assert b"alice" not in get(url)[0]


# Point 5: downloads named by what they are, videos checked ----------------------------------


def test_an_mp4_header_with_a_script_named_html_is_refused(server: ServerProcess) -> None:
    polyglot = (FILES / "clip.mp4").read_bytes()[:32] + b"<script>alert(document.domain)</script>"
    page = Page(server, "/?g=uploads")
    answer = upload(page, "invoice.html", polyglot)
    alerts = BeautifulSoup(answer.body, "html.parser").select("[role=alert]")
    assert any("invoice.html: it starts like an MP4 video, but" in a.text for a in alerts), alerts
    assert "Thumbnail 1 of" not in answer.body  # nothing was added


def test_a_real_mp4_named_html_downloads_as_mp4(server: ServerProcess) -> None:
    page = Page(server, "/?g=uploads")
    upload(page, "invoice.html", (FILES / "clip.mp4").read_bytes())
    shown = Shown(page, 0)
    video, headers = get(shown.full)
    assert headers["Content-Type"] == "video/mp4" and not leaked(video)
    assert saved_as(get(shown.download)[1]) == "invoice.mp4"
    assert shown.zip and zip_names(shown.zip) == ["invoice.mp4"]


# Point 6: handler paths confined --------------------------------------------------------------


@pytest.fixture
def folders(tmp_path: pathlib.Path) -> dict[str, pathlib.Path]:
    """The paths app's instance (its outputs folder holds ``cat.png``, a symlink pointing
    outside and a ``private`` folder) and, beside it, a folder the app must not serve. The
    server's temp folder is its own (``TMPDIR``), so pytest's folders are outside it."""
    outputs = tmp_path / "instance" / "outputs"
    (outputs / "private").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    for path in (outputs / "cat.png", outputs / "private" / "key.png", outside / "secret.png"):
        Image.new("RGB", (6, 6), "teal").save(path)
    (outputs / "link.png").symlink_to(outside / "secret.png")
    (tmp_path / "server-tmp").mkdir()
    return {"root": tmp_path, "outputs": outputs, "outside": outside}


def paths_server(folders: dict[str, pathlib.Path], **config: t.Any) -> ServerProcess:
    return ServerProcess(
        PATHS,
        folders["root"] / "instance",
        config=config,
        env={"TMPDIR": str(folders["root"] / "server-tmp")},
    )


def render(server: ServerProcess, prompt: str, expect: str) -> str:
    """Click the picture with ``prompt`` in the form, as the page does over its socket; what
    arrived until ``expect`` did."""
    page = Page(server)
    ws = page.socket()
    try:
        page.click(ws, "select/0", gallery="outputs", prompt=prompt)
        return receive_until(ws, expect)
    finally:
        ws.close()


REFUSED = (
    "Gallery item 0: the file is outside the folders this app may serve (its root, instance "
    "and media folders and the temp folder). Add its folder to GALLERY_ALLOWED_PATHS"
)


def test_handler_paths_outside_the_app_are_refused_in_the_page(
    folders: dict[str, pathlib.Path],
) -> None:
    with paths_server(folders) as running:
        assert "shown cat" in render(running, "cat", "shown cat")
        escaped = render(running, "../../outside/secret", "GALLERY_ALLOWED_PATHS")
        assert REFUSED in html.unescape(escaped) and "shown ../../outside" not in escaped
        assert str(folders["root"]) not in escaped  # no server path reaches the page
        through_link = render(running, "link", "GALLERY_ALLOWED_PATHS")
        assert REFUSED in html.unescape(through_link)
        system = render(running, "../" * 12 + "etc/hostname", "GALLERY_ALLOWED_PATHS")
        assert "Add its folder to GALLERY_ALLOWED_PATHS to serve it." in html.unescape(system)
        assert "shown cat" in render(running, "cat", "shown cat")  # the server goes on serving


def test_allowed_paths_let_one_through_and_blocked_paths_win(
    folders: dict[str, pathlib.Path],
) -> None:
    config = {
        "GALLERY_ALLOWED_PATHS": [str(folders["outside"])],
        "GALLERY_BLOCKED_PATHS": [str(folders["outputs"] / "private")],
    }
    with paths_server(folders, **config) as running:
        shown = render(running, "../../outside/secret", "shown ../../outside/secret")
        media = set(re.findall(r"/_gallery/media/[0-9a-f]+-[0-9a-f]+", shown))
        served = [get(running.url + url)[0] for url in media]
        assert (folders["outside"] / "secret.png").read_bytes() in served
        blocked = render(running, "private/key", "GALLERY_BLOCKED_PATHS")
        assert "shown private/key" not in blocked
        assert "shown cat" in render(running, "cat", "shown cat")


def test_the_refusal_is_logged_for_the_developer(
    folders: dict[str, pathlib.Path], capfd: pytest.CaptureFixture[str]
) -> None:
    with paths_server(folders) as running:
        render(running, "link", "GALLERY_ALLOWED_PATHS")
    logged = capfd.readouterr().err
    assert "Gallery 'outputs': Gallery item 0: '" in logged
    assert f"{folders['outputs']}/link.png' is outside the folders" in logged
    assert os.path.islink(folders["outputs"] / "link.png")  # nothing followed or changed it
