"""Metadata stripping, per format: what a camera or an editor writes is gone, what draws the
picture is byte for byte the same, and broken files are refused cleanly (never a crash or a
hang)."""

from __future__ import annotations

import io
import random
import typing as t

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from flask_gallery.media.containers import (
    ISO_MAX_BOXES,
    Malformed,
    ebml_children,
    ebml_document,
    iso_boxes,
)
from flask_gallery.media.strip import (
    strip_gif,
    strip_image,
    strip_iso_media,
    strip_jpeg,
    strip_png,
    strip_video,
    strip_webp,
)
from flask_gallery.media.videos import check_iso_media, detect_video

from .media_samples import (
    FILES,
    SECRETS,
    gps_exif,
    icc_profile,
    jpeg_scan,
    leaked,
    picture,
    saved,
)


def pixels(data: bytes) -> np.ndarray[t.Any, t.Any]:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGBA"))


def info(data: bytes) -> dict[str, t.Any]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return dict(image.info) | {"exif": image.getexif()}


def assert_clean(data: bytes) -> None:
    assert not leaked(data), f"metadata left: {leaked(data)}"


@pytest.mark.parametrize("progressive", [False, True])
def test_jpeg_loses_exif_xmp_and_comments_keeps_icc_and_every_pixel_byte(
    progressive: bool,
) -> None:
    original = saved(
        picture(),
        "JPEG",
        quality=90,
        progressive=progressive,
        exif=gps_exif(),
        icc_profile=icc_profile(),
        comment=b"secret comment",
        xmp=b"<x:xmpmeta>Alice</x:xmpmeta>",
    )
    assert all(secret in original for secret in SECRETS[:4])
    stripped = strip_jpeg(original)
    assert_clean(stripped)
    assert jpeg_scan(stripped) == jpeg_scan(original)
    assert np.array_equal(pixels(stripped), pixels(original))
    kept = info(stripped)
    assert kept["icc_profile"] == icc_profile() and not kept["exif"]
    assert "jfif" in kept and "comment" not in kept


def test_jpeg_keeps_adobe_segment_of_cmyk_files() -> None:
    original = saved(picture().convert("CMYK"), "JPEG", exif=gps_exif())
    assert b"Adobe" in original
    stripped = strip_jpeg(original)
    assert b"Adobe" in stripped
    assert_clean(stripped)
    assert np.array_equal(pixels(stripped), pixels(original))


def test_mpo_becomes_the_plain_jpeg_of_its_first_picture() -> None:
    first, second = picture(), picture().transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    original = saved(first, "MPO", save_all=True, append_images=[second], exif=gps_exif())
    with Image.open(io.BytesIO(original)) as image:
        assert (image.format, getattr(image, "n_frames", 1)) == ("MPO", 2)
    stripped = strip_image(original, "MPO")
    assert stripped is not None
    assert_clean(stripped)
    with Image.open(io.BytesIO(stripped)) as image:
        assert (image.format, getattr(image, "n_frames", 1)) == ("JPEG", 1)
    assert np.array_equal(pixels(stripped), pixels(saved(first, "JPEG")))


def test_jfif_thumbnails_go_with_the_rest() -> None:
    """A JFIF thumbnail can show what a crop removed: the segment keeps its densities only."""
    original = saved(picture(), "JPEG")
    at = original.index(b"JFIF\0") - 4
    thumbnail = bytes([2, 1]) + b"Alice!"  # 2x1 pixels of RGB
    segment = b"\xff\xe0" + (14 + len(thumbnail)).to_bytes(2, "big")
    jfif = segment + original[at + 4 : at + 16] + thumbnail
    with_thumbnail = original[:at] + jfif + original[at + 18 :]
    assert b"Alice!" in with_thumbnail and info(with_thumbnail)["jfif"]
    stripped = strip_jpeg(with_thumbnail)
    assert b"Alice" not in stripped and stripped == strip_jpeg(original) == original
    assert np.array_equal(pixels(stripped), pixels(original))


def test_jpeg_data_after_the_end_marker_goes() -> None:
    original = saved(picture(), "JPEG") + b"<script>alert(1)</script>Alice"
    stripped = strip_jpeg(original)
    assert stripped.endswith(b"\xff\xd9") and b"Alice" not in stripped


def test_png_loses_text_exif_and_time_keeps_icc_and_pixel_chunks() -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Alice")
    text.add_text("Comment", "secret comment", zip=True)
    text.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>Alice</x:xmpmeta>")
    text.add(b"tIME", bytes.fromhex("07ea030a0a0000"))
    text.add(b"prVt", b"Secret X1")  # a private ancillary chunk, as editors write
    original = saved(
        picture("RGBA"), "PNG", pnginfo=text, exif=gps_exif(), icc_profile=icc_profile()
    )
    stripped = strip_png(original)
    assert_clean(stripped)
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME", b"prVt"):
        assert chunk in original and chunk not in stripped
    assert stripped[stripped.index(b"IDAT") - 4 :] == original[original.index(b"IDAT") - 4 :]
    assert np.array_equal(pixels(stripped), pixels(original))
    assert info(stripped)["icc_profile"] == icc_profile()


def test_apng_keeps_its_animation() -> None:
    frames = [picture(), picture().transpose(Image.Transpose.ROTATE_180)]
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Alice")
    original = saved(
        frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100, pnginfo=text
    )
    stripped = strip_png(original)
    assert b"Alice" not in stripped
    with Image.open(io.BytesIO(stripped)) as image:
        assert getattr(image, "n_frames", 1) == 2
        image.seek(1)
        assert np.array_equal(np.asarray(image.convert("RGB")), np.asarray(frames[1]))


@pytest.mark.parametrize("options", [{"lossless": True}, {"quality": 80}])
def test_webp_loses_exif_and_xmp_with_flags_and_size_fixed(options: dict[str, t.Any]) -> None:
    original = saved(
        picture(),
        "WEBP",
        exif=gps_exif(),
        xmp=b"<x:xmpmeta>Alice</x:xmpmeta>",
        icc_profile=icc_profile(),
        **options,
    )
    stripped = strip_webp(original)
    assert_clean(stripped)
    assert b"EXIF" not in stripped and b"XMP " not in stripped
    assert int.from_bytes(stripped[4:8], "little") == len(stripped) - 8
    flags = stripped[stripped.index(b"VP8X") + 8]
    assert flags & 0x0C == 0 and flags & 0x20  # EXIF and XMP flags off, ICC flag on
    assert np.array_equal(pixels(stripped), pixels(original))
    assert info(stripped)["icc_profile"] == icc_profile()


def test_animated_webp_keeps_its_frames() -> None:
    frames = [picture(), picture().transpose(Image.Transpose.ROTATE_180)]
    original = saved(
        frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True, exif=gps_exif()
    )
    stripped = strip_webp(original)
    assert_clean(stripped)
    with Image.open(io.BytesIO(stripped)) as image:
        assert getattr(image, "n_frames", 1) == 2


def gif_with_xmp(data: bytes) -> bytes:
    """``data`` (a GIF) with an XMP application extension before its first image, as Adobe's
    tools write it."""
    xmp = b"<x:xmpmeta>Alice</x:xmpmeta>"
    extension = b"\x21\xff\x0bXMP DataXMP" + bytes([len(xmp)]) + xmp + b"\x00"
    at = data.index(b"\x2c", 13 + 3 * 256)
    return data[:at] + extension + data[at:]


def test_gif_loses_comments_and_xmp_keeps_looping_and_frames() -> None:
    frames = [picture().convert("P"), picture().transpose(Image.Transpose.ROTATE_180).convert("P")]
    original = gif_with_xmp(
        saved(
            frames[0],
            "GIF",
            save_all=True,
            append_images=frames[1:],
            loop=0,
            duration=100,
            comment=b"secret comment",
        )
    )
    stripped = strip_gif(original)
    assert_clean(stripped)
    assert b"NETSCAPE2.0" in stripped and b"XMP DataXMP" not in stripped
    with Image.open(io.BytesIO(stripped)) as image:
        assert getattr(image, "n_frames", 1) == 2 and image.info.get("loop") == 0
    assert np.array_equal(pixels(stripped), pixels(original))


def test_formats_without_metadata_are_kept() -> None:
    data = saved(picture(), "BMP")
    assert strip_image(data, "BMP") == data


@pytest.mark.parametrize("format", ["TIFF", "ICO", "PPM", None])
def test_other_formats_ask_for_a_re_encode(format: str | None) -> None:
    assert strip_image(b"anything", format) is None


def samples() -> dict[str, bytes]:
    """One file of each rewritable format, with metadata to strip."""
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Alice")
    return {
        "JPEG": saved(picture(), "JPEG", exif=gps_exif(), comment=b"c", progressive=True),
        "PNG": saved(picture(), "PNG", pnginfo=text, exif=gps_exif()),
        "WEBP": saved(picture(), "WEBP", exif=gps_exif(), xmp=b"<x/>"),
        "GIF": gif_with_xmp(saved(picture().convert("P"), "GIF", comment=b"c")),
    }


@pytest.mark.parametrize("format", ["JPEG", "PNG", "WEBP", "GIF"])
def test_truncated_files_are_refused_cleanly(format: str) -> None:
    """Every prefix of a file (stepping through it) either strips or is refused with None: no
    exception, no endless loop."""
    data = samples()[format]
    for end in range(0, len(data) - 1, max(1, len(data) // 300)):
        result = strip_image(data[:end], format)
        assert result is None or isinstance(result, bytes)
    assert strip_image(data, format) is not None


@pytest.mark.parametrize("format", ["JPEG", "PNG", "WEBP", "GIF"])
def test_corrupted_files_never_crash_or_grow(format: str) -> None:
    """300 copies with random bytes changed (seeded): each is refused, or stripped into
    something no longer than it was."""
    data = samples()[format]
    rng = random.Random(format)
    for _ in range(300):
        broken = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            broken[rng.randrange(len(broken))] = rng.randrange(256)
        result = strip_image(bytes(broken), format)
        assert result is None or len(result) <= len(broken)


def test_hostile_lengths_are_refused() -> None:
    huge_chunk = b"\x89PNG\r\n\x1a\n" + b"\x7f\xff\xff\xff" + b"IHDR" + bytes(20)
    with pytest.raises(Malformed):
        strip_png(huge_chunk)
    riff_too_long = b"RIFF\xff\xff\xff\x00WEBPVP8 " + bytes(16)
    with pytest.raises(Malformed):
        strip_webp(riff_too_long)
    short_segment = b"\xff\xd8\xff\xe1\x00\x01"
    with pytest.raises(Malformed):
        strip_jpeg(short_segment)
    endless_sub_blocks = b"GIF89a" + bytes(7) + b"\x21\xfe" + b"\x05abcde" * 100
    with pytest.raises(Malformed):
        strip_gif(endless_sub_blocks)


@pytest.mark.parametrize("file", ["clip.mp4", "clip.mov"])
def test_iso_media_metadata_becomes_zeroed_free_boxes_with_offsets_unchanged(file: str) -> None:
    original = (FILES / file).read_bytes()
    assert b"48.8584" in original and b"PhoneCorp" in original
    stripped = strip_video(original, file.rsplit(".", 1)[1])
    assert len(stripped) == len(original)
    assert_clean(stripped)
    assert check_iso_media(stripped) is None
    top = [(kind, start, end) for kind, start, _, end in iso_boxes(stripped, 0, len(stripped))]
    assert top == [(k, s, e) for k, s, _, e in iso_boxes(original, 0, len(original))]
    mdat = next((s, e) for k, s, e in top if k == b"mdat")
    assert stripped[mdat[0] : mdat[1]] == original[mdat[0] : mdat[1]]
    moov = next((s, e) for k, s, e in top if k == b"moov")
    inner = [kind for kind, *_ in iso_boxes(stripped, moov[0] + 8, moov[1])]
    assert b"udta" not in inner and b"meta" not in inner and b"free" in inner
    mvhd = stripped.index(b"mvhd") + 4
    assert stripped[mvhd + 4 : mvhd + 12] == bytes(8)  # creation and modification times


def test_webm_tags_title_and_date_become_void_elements_of_the_same_size() -> None:
    original = (FILES / "clip.webm").read_bytes()
    assert b"48.8584" in original and b"Secret X1" in original and b"PhoneCorp" in original
    stripped = strip_video(original, "webm")
    assert len(stripped) == len(original)
    assert_clean(stripped)
    assert detect_video(stripped) is not None  # still a WebM whose Segment holds its Tracks
    _, start, end = ebml_document(stripped)
    before = [(i, s, e) for i, s, _, e in ebml_children(original, start, end)]
    after = [(i, s, e) for i, s, _, e in ebml_children(stripped, start, end)]
    assert [(s, e) for _, s, e in before] == [(s, e) for _, s, e in after]  # no offset moved
    kinds = zip((i for i, _, _ in before), (i for i, _, _ in after), strict=True)
    changed = {(old, new) for old, new in kinds if old != new}
    assert changed == {(0x1254C367, 0xEC)}  # Tags became Void, nothing else changed kind
    cluster = next((s, e) for i, s, e in before if i == 0x1F43B675)
    assert stripped[cluster[0] : cluster[1]] == original[cluster[0] : cluster[1]]


def test_ogg_is_kept_as_it_is() -> None:
    data = (FILES / "clip.ogg").read_bytes()
    assert strip_video(data, "ogv") == data


def test_a_64_bit_metadata_box_keeps_its_size_fields() -> None:
    large_udta = b"\x00\x00\x00\x01udta" + (16 + 9).to_bytes(8, "big") + b"PhoneCorp"
    moov = (8 + len(large_udta)).to_bytes(4, "big") + b"moov" + large_udta
    data = b"\x00\x00\x00\x10ftypisom\x00\x00\x00\x00" + moov
    stripped = strip_iso_media(data)
    assert b"PhoneCorp" not in stripped and len(stripped) == len(data)
    inner = list(iso_boxes(stripped, 24, len(stripped)))
    assert inner == [(b"free", 24, 40, len(data))]


def test_a_video_without_metadata_is_not_copied() -> None:
    bare = b"\x00\x00\x00\x10ftypisom\x00\x00\x00\x00\x00\x00\x00\x08mdat"
    assert strip_iso_media(bare) is bare


def test_iso_walks_are_bounded() -> None:
    many = b"\x00\x00\x00\x08free" * (ISO_MAX_BOXES + 1)
    with pytest.raises(Malformed, match="more than"):
        list(iso_boxes(many, 0, len(many)))
    with pytest.raises(Malformed):
        strip_iso_media(b"\x00\x00\x00\x18ftypisom" + b"\x00\x00\x00\x04moov")
    zero_sized = b"\x00\x00\x00\x10ftypisom\x00\x00\x00\x00" + b"\x00\x00\x00\x00moov" + bytes(8)
    assert len(strip_iso_media(zero_sized)) == len(zero_sized)  # a last box up to the end
