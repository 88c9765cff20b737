"""The extension's media routes over HTTP: what they serve, with which headers, and what they
refuse (every refusal is a 404 that reveals nothing)."""

from __future__ import annotations

import io
import re
import typing as t
import zipfile
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from PIL import Image

from flask_gallery import FlaskGallery

from .conftest import Renderer, fetch


def ids_in(html: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"/media/([^/\"\s]+)", html)))


@pytest.fixture
def served(galleries: FlaskGallery, render: Renderer, tmp_path: Path) -> dict[str, t.Any]:
    photo = tmp_path / "holiday photo.png"
    Image.new("RGB", (800, 600), (200, 30, 30)).save(photo)
    svg = tmp_path / "logo.svg"
    svg.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        "<script>alert(1)</script></svg>"
    )
    array = np.zeros((700, 700, 3), np.uint8)
    array[:, :350] = 255
    galleries.gallery("g", [(photo, "a photo"), array, svg, array])
    root = render.gallery("g", selected_index=0)
    html = str(root)
    thumbs = [str(img["src"]) for img in root.select(".fg-grid img")]
    return {"root": root, "html": html, "thumbs": thumbs, "photo": photo, "svg": svg}


def test_thumbnail_and_full_file_with_cache_headers(
    client: t.Any, served: dict[str, t.Any]
) -> None:
    thumb = fetch(client, served["thumbs"][0])
    assert thumb.status_code == 200
    assert thumb.mimetype in {"image/jpeg", "image/webp"}
    assert "immutable" in thumb.headers["Cache-Control"]
    assert "max-age=31536000" in thumb.headers["Cache-Control"]
    assert thumb.headers["X-Content-Type-Options"] == "nosniff"
    assert thumb.headers["ETag"]
    small = Image.open(io.BytesIO(thumb.data))
    assert small.width < 800  # a thumbnail, not the original
    again = fetch(client, served["thumbs"][0], headers={"If-None-Match": thumb.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    full_url = str(served["root"].select_one("[data-testid=detailed-image]")["src"])
    full = fetch(client, full_url)
    assert full.status_code == 200
    assert Image.open(io.BytesIO(full.data)).size == (800, 600)
    assert full.data == served["photo"].read_bytes()  # files are served as given


def test_numpy_output_is_encoded_in_the_gallery_format(
    client: t.Any, served: dict[str, t.Any]
) -> None:
    media_id = ids_in(served["thumbs"][1])[0]
    full = fetch(client, f"/_gallery/media/{media_id}")
    assert full.mimetype == "image/webp"
    assert np.asarray(Image.open(io.BytesIO(full.data)).convert("RGB"))[10, 10, 0] > 200


def test_identical_content_gets_one_id(served: dict[str, t.Any]) -> None:
    assert ids_in(served["thumbs"][1]) == ids_in(served["thumbs"][3])


def test_svg_is_sandboxed(client: t.Any, served: dict[str, t.Any]) -> None:
    svg = fetch(client, served["thumbs"][2])
    assert svg.mimetype == "image/svg+xml"
    assert "sandbox" in svg.headers["Content-Security-Policy"]
    assert "<script>" not in served["html"]  # never inlined into the page


def test_download_uses_the_items_signed_name_or_image_n(
    client: t.Any, served: dict[str, t.Any]
) -> None:
    photo_id = ids_in(served["thumbs"][0])[0]
    array_id = ids_in(served["thumbs"][1])[0]
    link = str(served["root"].select_one("a[aria-label=Download]")["href"])
    assert link.startswith(f"/_gallery/media/{photo_id}/download/1?name=holiday%20photo.png&sig=")
    named = fetch(client, link)
    assert named.headers["Content-Disposition"] == 'attachment; filename="holiday photo.png"'
    anonymous = fetch(client, f"/_gallery/media/{array_id}/download/2")
    assert anonymous.headers["Content-Disposition"] == 'attachment; filename="image-2.webp"'
    unnamed = fetch(client, f"/_gallery/media/{photo_id}/download/1")
    assert unnamed.headers["Content-Disposition"] == 'attachment; filename="image-1.png"'


def test_a_download_name_cannot_be_forged(client: t.Any, served: dict[str, t.Any]) -> None:
    link = str(served["root"].select_one("a[aria-label=Download]")["href"])
    forged = link.replace("name=holiday%20photo.png", "name=invoice.pdf")
    assert fetch(client, forged).status_code == 404
    other_item = link.replace(ids_in(link)[0], ids_in(served["thumbs"][1])[0])
    assert fetch(client, other_item).status_code == 404
    assert fetch(client, link.split("&sig=")[0]).status_code == 404
    assert fetch(client, link.split("&sig=")[0] + "&sig=%C3%A9%00").status_code == 404


def test_download_all_streams_a_zip_of_the_gallery(
    client: t.Any, galleries: FlaskGallery, render: Renderer, tmp_path: Path
) -> None:
    a = tmp_path / "a.png"
    Image.new("RGB", (20, 20), "blue").save(a)
    b = tmp_path / "sub" / "a.png"
    b.parent.mkdir()
    Image.new("RGB", (20, 20), "green").save(b)
    galleries.gallery("z", [a, b, np.zeros((5, 5, 3), np.uint8), "https://example.com/x.png"])
    link = render.gallery("z").select_one("a[aria-label='Download all']")
    assert link is not None
    response = fetch(client, str(link["href"]))
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert 'filename="gallery.zip"' in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.namelist() == ["a.png", "a-2.png", "image-3.webp"]  # URLs are never fetched
    assert archive.read("a.png") == a.read_bytes()
    assert archive.read("a-2.png") == b.read_bytes()


def test_download_all_hidden_when_nothing_is_stored(
    galleries: FlaskGallery, render: Renderer
) -> None:
    galleries.gallery("urls", ["https://example.com/x.png"])
    assert render.gallery("urls").select_one("[aria-label='Download all']") is None


@pytest.mark.parametrize(
    "path",
    [
        "/_gallery/media/../../../../etc/passwd",
        "/_gallery/media/..%2f..%2f..%2fetc%2fpasswd",
        "/_gallery/media/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/_gallery/media/%2e%2e",
        "/_gallery/media/..",
        "/_gallery/media//etc/passwd",
        "/_gallery/media/%2fetc%2fpasswd",
        "/_gallery/media/C:%5cWindows%5cwin.ini",
        "/_gallery/media/%00",
        "/_gallery/media/00000000000000000000000000000000-00000000000000000000",
        "/_gallery/media/not-an-id",
        "/_gallery/media/gallery.css",
        "/_gallery/zip/unknown/gallery.zip",
    ],
)
def test_paths_that_are_not_issued_ids_are_refused(
    client: t.Any, served: dict[str, t.Any], path: str
) -> None:
    response = fetch(client, path)
    assert response.status_code == 404
    assert b"root:" not in response.data


def test_forged_ids_and_widths_are_refused(client: t.Any, served: dict[str, t.Any]) -> None:
    media_id = ids_in(served["thumbs"][0])[0]
    digest, mac = media_id.split("-")
    forged = f"{digest}-{mac[:-1]}{'0' if mac[-1] != '0' else '1'}"
    other_content = f"{'f' * len(digest)}-{mac}"
    for url in (
        f"/_gallery/media/{forged}",
        f"/_gallery/media/{other_content}",
        f"/_gallery/media/{media_id}/w7",
        f"/_gallery/media/{media_id}/w99999",
        f"/_gallery/media/{forged}/download/1",
        f"/_gallery/media/{media_id}/../{media_id}",
    ):
        assert fetch(client, url).status_code == 404, url
    assert fetch(client, f"/_gallery/media/{media_id}").status_code == 200


def test_another_apps_ids_are_refused(
    tmp_path: Path, galleries: FlaskGallery, served: dict[str, t.Any]
) -> None:
    # Same media directory, same content, another secret: the ids differ and cross-use fails.
    other = Flask("other", instance_path=str(tmp_path / "instance"))
    other.config["SECRET_KEY"] = "another-secret"
    FlaskGallery(other)
    media_id = ids_in(served["thumbs"][0])[0]
    assert fetch(other.test_client(), f"/_gallery/media/{media_id}").status_code == 404


def test_a_symlink_planted_in_the_store_is_not_followed(
    client: t.Any, app: Flask, served: dict[str, t.Any], tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    root = Path(app.instance_path) / "flask_gallery_media"
    planted = 0
    for stored in root.rglob("*"):
        if stored.is_file() and stored.suffix in {".png", ".svg"}:
            stored.unlink()
            stored.symlink_to(secret)
            planted += 1
    assert planted
    for url in served["thumbs"][:3]:
        response = fetch(client, url)
        assert b"top secret" not in response.data


def test_download_sets_are_bounded_by_their_items(
    app: Flask, galleries: FlaskGallery, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Names make sets bigger: the table is bounded by items in all sets, not only sets, and
    a forgotten set is a 404, never another set."""
    from flask_gallery.media import MediaItem
    from flask_gallery.web import app_state

    monkeypatch.setattr(app_state, "DOWNLOAD_ITEMS", 10)
    state = app.extensions["flask_gallery"]
    (media,) = state.media.postprocess([np.zeros((2, 2, 3), np.uint8)])
    keys = []
    for n in range(6):
        items = [MediaItem(media.id, "image", orig_name=f"{'x' * 200}-{n}-{i}") for i in range(4)]
        keys.append(state.download_set(items))
    kept = [key for key in keys if state.download_entries(key) is not None]
    assert kept == keys[-2:]  # 2 sets of 4 items: at most 10 items kept
    entries = state.download_entries(keys[-1])
    assert entries is not None and entries[0][1] == f"{'x' * 200}-5-0"
