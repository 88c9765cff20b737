"""Uploads: judged by content against file_types, size and pixel limits, stored upright and
without metadata."""

from __future__ import annotations

import io
import pathlib
import struct
import typing as t
import zlib

import numpy as np
import pytest
from PIL import Image

from flask_gallery.media import MediaStore, UploadRejected

from .media_samples import FILES, MAKE, jpeg_scan, leaked, phone_jpeg, picture, saved

LIMITS = {"max_bytes": 1_000_000, "max_pixels": 10_000_000}


@pytest.fixture
def store(tmp_path: pathlib.Path) -> t.Iterator[MediaStore]:
    with MediaStore(tmp_path / "media", "secret", background=False) as store:
        yield store


def encoded(format: str, size: tuple[int, int] = (40, 30), mode: str = "RGB", **kw: t.Any) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "orange").save(buffer, format=format, **kw)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size but holds no pixels: what a decompression bomb looks like."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="3" height="2"/>'


def test_an_image_is_stored_with_its_name_size_and_type(store: MediaStore) -> None:
    item = store.add_upload(encoded("PNG"), "photos/holiday.png", **LIMITS)
    assert (item.kind, item.mime_type, item.orig_name) == ("image", "image/png", "holiday.png")
    assert (item.width, item.height) == (40, 30)
    assert item.id is not None and store.filepath(item.id).read_bytes() == encoded("PNG")


def test_streams_are_accepted(store: MediaStore) -> None:
    item = store.add_upload(io.BytesIO(encoded("JPEG")), "a.jpg", **LIMITS)
    assert item.mime_type == "image/jpeg"


def test_the_content_decides_not_the_name(store: MediaStore) -> None:
    item = store.add_upload(encoded("PNG"), "looks.jpg", file_types=[".png"], **LIMITS)
    assert item.mime_type == "image/png"
    with pytest.raises(UploadRejected) as info:
        store.add_upload(encoded("PNG"), "looks.jpg", file_types=[".jpg"], **LIMITS)
    assert info.value.filename == "looks.jpg"
    assert "image/png by its content" in info.value.reason
    with pytest.raises(UploadRejected, match="not an image Pillow can read"):
        store.add_upload(b"#!/bin/sh\nrm -rf /\n", "evil.png", **LIMITS)


@pytest.mark.parametrize(
    ("file_types", "accepted"),
    [
        (None, True),
        (["image"], True),
        (["png"], True),
        ([".PNG"], True),
        (["image/png"], True),
        (["image/*"], True),
        (["video"], False),
        ([".gif", ".webp"], False),
    ],
)
def test_file_types_in_gradio_notation(
    store: MediaStore, file_types: list[str] | None, accepted: bool
) -> None:
    if accepted:
        store.add_upload(encoded("PNG"), "a.png", file_types=file_types, **LIMITS)
    else:
        with pytest.raises(UploadRejected, match="does not accept"):
            store.add_upload(encoded("PNG"), "a.png", file_types=file_types, **LIMITS)


def test_jpeg_accepts_both_spellings(store: MediaStore) -> None:
    for notation in (".jpg", ".jpeg", "jpe"):
        store.add_upload(encoded("JPEG"), "a", file_types=[notation], **LIMITS)


def test_too_many_bytes_is_refused(store: MediaStore) -> None:
    data = encoded("PNG")
    with pytest.raises(UploadRejected, match=f"larger than the limit of {len(data) - 1} bytes"):
        store.add_upload(io.BytesIO(data), "a.png", max_bytes=len(data) - 1, max_pixels=10**6)


def test_too_many_pixels_is_refused_before_decoding(store: MediaStore) -> None:
    with pytest.raises(UploadRejected, match=r"4000x3000 = 12000000 pixels.*limit of 100 pixels"):
        store.add_upload(png_header_only(4000, 3000), "bomb.png", max_bytes=10**6, max_pixels=100)


@pytest.mark.parametrize("size", [(10_000, 10_000), (20_000, 20_000)])
def test_pillows_own_bomb_checks_are_a_rejection_not_an_escape(
    store: MediaStore, size: tuple[int, int]
) -> None:
    """100 Mpx makes Pillow warn (an error under pytest), 400 Mpx makes it raise."""
    with pytest.raises(UploadRejected, match="too many pixels"):
        store.add_upload(png_header_only(*size), "bomb.png", max_bytes=10**6, max_pixels=10**12)


def test_corrupt_images_are_refused_with_a_reason(store: MediaStore) -> None:
    data = encoded("PNG", size=(200, 200))
    with pytest.raises(UploadRejected, match="corrupt or truncated"):
        store.add_upload(data[: len(data) // 2], "half.png", **LIMITS)
    with pytest.raises(UploadRejected, match="empty"):
        store.add_upload(b"", "nothing.png", **LIMITS)


def test_exif_orientation_is_applied(store: MediaStore) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    array = np.zeros((30, 40, 3), np.uint8)
    array[:, :20] = 255  # left half white: after rotating 90 degrees clockwise, the top half
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", exif=exif)
    item = store.add_upload(buffer.getvalue(), "phone.jpg", **LIMITS)
    assert (item.width, item.height, item.orig_name) == (30, 40, "phone.jpg")
    assert item.id is not None
    with Image.open(store.filepath(item.id)) as image:
        assert image.size == (30, 40)
        assert image.getexif().get(0x0112) is None
        upright = np.asarray(image.convert("L"))
    assert upright[:15].mean() > 200 and upright[25:].mean() < 50


@pytest.mark.parametrize(
    ("file", "mime_type"),
    [
        ("clip.mp4", "video/mp4"),
        ("clip.mov", "video/quicktime"),
        ("clip.webm", "video/webm"),
        ("clip.ogg", "video/ogg"),
    ],
)
def test_videos_are_recognised_by_their_container(
    store: MediaStore, file: str, mime_type: str
) -> None:
    data = (FILES / file).read_bytes()
    item = store.add_upload(data, "clip.bin", file_types=["video"], **LIMITS)
    assert (item.kind, item.mime_type, item.orig_name) == ("video", mime_type, "clip.bin")
    with pytest.raises(UploadRejected, match="does not accept"):
        store.add_upload(data, "clip.mp4", file_types=["image"], **LIMITS)


def test_svg_uploads_must_be_svg_xml(store: MediaStore) -> None:
    item = store.add_upload(SVG, "logo.svg", file_types=["image"], **LIMITS)
    assert item.is_svg and item.mime_type == "image/svg+xml"
    with pytest.raises(UploadRejected):
        store.add_upload(b"<html><body>hi</body></html>", "page.svg", **LIMITS)
    with pytest.raises(UploadRejected):
        store.add_upload(b"<svg><unclosed></svg>", "broken.svg", **LIMITS)


def test_svg_entity_bombs_are_refused(store: MediaStore) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>'
    )
    with pytest.raises(UploadRejected):
        store.add_upload(bomb, "bomb.svg", **LIMITS)


def test_rejections_are_value_errors_naming_the_file_without_directories(
    store: MediaStore,
) -> None:
    with pytest.raises(ValueError, match=r"^'x\.png' was refused: "):
        store.add_upload(b"nope", "..\\..\\x.png", **LIMITS)


def test_uploads_lose_their_metadata_not_their_pixels(store: MediaStore) -> None:
    original = phone_jpeg(comment=b"Alice")
    item = store.add_upload(original, "holiday.jpg", **LIMITS)
    assert item.id is not None
    stored = store.filepath(item.id).read_bytes()
    assert not leaked(stored) and jpeg_scan(stored) == jpeg_scan(original)


def test_keep_metadata_stores_the_upload_as_sent(tmp_path: pathlib.Path) -> None:
    original = phone_jpeg()
    with MediaStore(tmp_path / "m", "secret", background=False, keep_metadata=True) as store:
        item = store.add_upload(original, "holiday.jpg", **LIMITS)
        assert item.id is not None and store.filepath(item.id).read_bytes() == original


def test_formats_that_cannot_be_rewritten_become_lossless_pngs(store: MediaStore) -> None:
    exif = Image.Exif()
    exif[MAKE] = "PhoneCorp"  # Pillow's TIFF writer takes no GPS block
    item = store.add_upload(saved(picture(), "TIFF", exif=exif), "scan.tiff", **LIMITS)
    assert item.id is not None and item.mime_type == "image/png"
    stored = store.filepath(item.id).read_bytes()
    assert b"PhoneCorp" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "PNG" and np.array_equal(np.asarray(image), np.asarray(picture()))


@pytest.mark.parametrize("file", ["clip.mp4", "clip.mov"])
def test_video_uploads_lose_location_and_camera(store: MediaStore, file: str) -> None:
    original = (FILES / file).read_bytes()
    item = store.add_upload(original, file, **LIMITS)
    assert item.id is not None
    stored = store.filepath(item.id).read_bytes()
    assert len(stored) == len(original)
    assert b"48.8584" not in stored and b"PhoneCorp" not in stored and b"Secret X1" not in stored


def test_a_file_that_only_starts_like_a_video_is_refused(store: MediaStore) -> None:
    polyglot = (FILES / "clip.mp4").read_bytes()[:32] + b"<script>alert(1)</script>"
    with pytest.raises(UploadRejected, match=r"'invoice\.html' was refused: it starts like an MP4"):
        store.add_upload(polyglot, "invoice.html", **LIMITS)


def test_identical_uploads_keep_their_own_names(store: MediaStore) -> None:
    """Names belong to items: the second uploader of the same bytes gets their own name back,
    and the store keeps no name at all."""
    data = encoded("PNG")
    alice = store.add_upload(data, "alice-hiv-test-result-2026.png", **LIMITS)
    bob = store.add_upload(data, "guess.png", **LIMITS)
    assert alice.id == bob.id and bob.orig_name == "guess.png"
    assert alice.orig_name == "alice-hiv-test-result-2026.png"
    assert bob.id is not None and store.item(bob.id).orig_name is None
    stored = b"".join(p.read_bytes() for p in store.root.rglob("*") if p.is_file())
    assert b"alice" not in stored


def test_records_written_with_a_name_reveal_it_no_more(tmp_path: pathlib.Path) -> None:
    """A store written before names moved to items has the first uploader's name in its
    meta.json: it is ignored, not served and not an error."""
    with MediaStore(tmp_path / "m", "secret", background=False) as store:
        item = store.add_upload(encoded("PNG"), "alice.png", **LIMITS)
    (meta,) = (tmp_path / "m").rglob("meta.json")
    meta.write_text(meta.read_text().replace("{", '{"orig_name": "alice.png", ', 1))
    with MediaStore(tmp_path / "m", "secret", background=False) as reopened:
        assert item.id is not None and reopened.item(item.id).orig_name is None
