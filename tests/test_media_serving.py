"""send_media: caching headers, conditional and range requests, downloads, and refusals."""

from __future__ import annotations

import os
import pathlib
import typing as t
from urllib.parse import quote

import numpy as np
import pytest
from flask import Flask, Response, request
from werkzeug.exceptions import NotFound

from flask_gallery.media import MediaItem, MediaStore, send_media
from flask_gallery.media.serving import MEDIA_CSP
from tests.conftest import fetch


@pytest.fixture
def store(tmp_path: pathlib.Path) -> t.Iterator[MediaStore]:
    with MediaStore(tmp_path / "media", "secret", background=False) as store:
        yield store


@pytest.fixture
def client(store: MediaStore) -> t.Any:
    app = Flask(__name__)

    @app.get("/media/<path:media_id>")
    def media(media_id: str) -> Response:
        width = request.args.get("w", type=int)
        variant = t.cast(t.Any, request.args.get("variant", "full"))
        download = "download" in request.args
        name = request.args.get("name")
        return send_media(store, media_id, variant, width, download=download, download_name=name)

    return app.test_client()


@pytest.fixture
def item(store: MediaStore) -> MediaItem:
    (item,) = store.postprocess([np.full((400, 800, 3), 90, np.uint8)])
    return item


def test_full_file_has_immutable_caching_and_safe_headers(client: t.Any, item: MediaItem) -> None:
    response = fetch(client, f"/media/{item.id}")
    assert response.status_code == 200
    assert response.mimetype == "image/webp"
    assert response.data[:4] == b"RIFF"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == MEDIA_CSP
    assert response.headers["ETag"]
    assert "Content-Disposition" not in response.headers


def test_conditional_requests_get_304(client: t.Any, item: MediaItem) -> None:
    etag = fetch(client, f"/media/{item.id}").headers["ETag"]
    again = fetch(client, f"/media/{item.id}", headers={"If-None-Match": etag})
    assert (again.status_code, again.data) == (304, b"")
    thumb = fetch(client, f"/media/{item.id}?variant=thumb&w=384")
    assert thumb.headers["ETag"] != etag


def test_head_requests_get_the_headers_only(client: t.Any, item: MediaItem) -> None:
    full = fetch(client, f"/media/{item.id}")
    response = client.head(f"/media/{item.id}")
    response.close()
    assert (response.status_code, response.data) == (200, b"")
    assert response.headers["Content-Length"] == str(len(full.data))
    assert response.headers["ETag"] == full.headers["ETag"]


def test_thumbnails_are_sized_jpeg(client: t.Any, item: MediaItem) -> None:
    response = fetch(client, f"/media/{item.id}?variant=thumb&w=384")
    assert response.mimetype == "image/jpeg"
    assert response.data[:2] == b"\xff\xd8"
    default = fetch(client, f"/media/{item.id}?variant=thumb")
    assert default.data == response.data


def test_range_requests_for_seeking(
    client: t.Any, store: MediaStore, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "clip.webm"
    path.write_bytes(b"\x1a\x45\xdf\xa3webm" + bytes(range(200)))
    (video,) = store.postprocess([path])
    response = fetch(client, f"/media/{video.id}", headers={"Range": "bytes=8-11"})
    assert response.status_code == 206
    assert response.data == bytes(range(4))
    assert response.mimetype == "video/webm"
    thumb = fetch(client, f"/media/{video.id}?variant=thumb")
    assert thumb.data == path.read_bytes()


def test_download_supplies_the_extension(client: t.Any, item: MediaItem) -> None:
    response = fetch(client, f"/media/{item.id}?download&name=image-3")
    assert response.headers["Content-Disposition"] == 'attachment; filename="image-3.webp"'


def test_download_uses_the_items_own_name(
    client: t.Any, store: MediaStore, tmp_path: pathlib.Path
) -> None:
    """The store keeps no names: the caller passes the item's, and the store's copy of the
    same bytes under another name changes nothing."""
    path = tmp_path / "chat été.png"
    path.write_bytes(b"\x89PNG not really")
    (named,) = store.postprocess([path])
    assert named.orig_name == "chat été.png"
    response = fetch(client, f"/media/{named.id}?download&name={quote(named.orig_name)}")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="chat ete.png"')
    assert "filename*=UTF-8''chat%20%C3%A9t%C3%A9.png" in disposition
    unnamed = fetch(client, f"/media/{named.id}?download")
    assert unnamed.headers["Content-Disposition"] == 'attachment; filename="image.png"'


def test_download_extension_is_the_files_type(client: t.Any, item: MediaItem) -> None:
    renamed = fetch(client, f"/media/{item.id}?download&name=invoice.html")
    assert renamed.headers["Content-Disposition"] == 'attachment; filename="invoice.webp"'
    same_type = fetch(client, f"/media/{item.id}?download&name=photo.WEBP")
    assert same_type.headers["Content-Disposition"] == 'attachment; filename="photo.WEBP"'


def test_download_names_cannot_carry_directories(client: t.Any, item: MediaItem) -> None:
    sneaky = fetch(client, f"/media/{item.id}?download&name=../../etc/passwd")
    assert sneaky.headers["Content-Disposition"] == 'attachment; filename="passwd.webp"'


def test_svg_is_served_sandboxed(client: t.Any, store: MediaStore, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "x.svg"
    path.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    (svg,) = store.postprocess([path])
    response = fetch(client, f"/media/{svg.id}")
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Content-Security-Policy"].startswith("sandbox;")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_files_that_are_not_media_are_never_served_as_documents(
    client: t.Any, store: MediaStore, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "page.html"
    path.write_text("<script>alert(document.cookie)</script>")
    (page,) = store.postprocess([path])
    assert fetch(client, f"/media/{page.id}").mimetype == "application/octet-stream"


@pytest.mark.parametrize(
    "bad",
    [
        "../../etc/passwd",
        "%2e%2e/%2e%2e/etc/passwd",
        "..%2f..%2fetc%2fpasswd",
        "..\\..\\etc\\passwd",
        "0" * 32 + "-" + "0" * 20,
        "0" * 32 + "-" + "0" * 20 + "%00",
        "0" * 32 + "%00" + "0" * 20,
        "",
    ],
)
def test_traversal_and_unknown_ids_are_not_found(client: t.Any, bad: str) -> None:
    assert fetch(client, f"/media/{bad}").status_code == 404


@pytest.mark.parametrize(
    "bad",
    [
        "/etc/passwd",
        "../" + "0" * 29,
        "0" * 32 + "-" + "0" * 19 + "\0",
        "0" * 32 + "-" + "0" * 20 + "\n",
    ],
)
def test_send_media_refuses_bad_ids_before_any_routing(store: MediaStore, bad: str) -> None:
    with Flask(__name__).test_request_context("/"), pytest.raises(NotFound):
        send_media(store, bad)


def test_ids_from_another_secret_are_not_found(client: t.Any, tmp_path: pathlib.Path) -> None:
    with MediaStore(tmp_path / "media", "another app", background=False) as other:
        (foreign,) = other.postprocess([np.zeros((4, 4), np.uint8)])
    assert fetch(client, f"/media/{foreign.id}").status_code == 404


def test_ids_with_a_suffix_or_case_change_are_not_found(client: t.Any, item: MediaItem) -> None:
    assert item.id is not None
    assert fetch(client, f"/media/{item.id}").status_code == 200
    for variant in (item.id + "/../x", item.id.upper(), item.id + "%0a", " " + item.id):
        assert fetch(client, f"/media/{variant}").status_code == 404


def test_symlinks_planted_in_the_store_do_not_reach_outside(
    client: t.Any, store: MediaStore, tmp_path: pathlib.Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    source = tmp_path / "a.png"
    source.write_bytes(b"\x89PNG not decodable")
    (item,) = store.postprocess([source])
    assert item.id is not None
    key = item.id.split("-")[0]
    directory = store.root / key[:2] / key
    (directory / "full.png").unlink()
    (directory / "full.png").symlink_to(secret)
    assert fetch(client, f"/media/{item.id}").status_code == 404

    # A whole key directory swapped for a symlink to elsewhere is refused too.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "full.png").write_text("top secret")
    (outside / "meta.json").write_bytes((directory / "meta.json").read_bytes())
    for name in os.listdir(directory):
        os.unlink(directory / name)
    directory.rmdir()
    directory.symlink_to(outside, target_is_directory=True)
    with MediaStore(store.root, "secret", background=False) as fresh:
        assert fresh.open(item.id) is None


def test_a_planted_symlink_to_a_derived_file_is_replaced_not_followed(
    client: t.Any, store: MediaStore, item: MediaItem, tmp_path: pathlib.Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    assert item.id is not None
    key = item.id.split("-")[0]
    (store.root / key[:2] / key / "thumb-192.jpg").symlink_to(secret)
    response = fetch(client, f"/media/{item.id}?variant=thumb&w=192")
    assert response.data[:2] == b"\xff\xd8"
    assert secret.read_text() == "top secret"
