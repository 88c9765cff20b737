"""Videos are recognised by their container structure, not their first bytes: real files pass,
files that only start like a video are refused with a reason a user can act on."""

from __future__ import annotations

import pathlib

import pytest

from flask_gallery.media.videos import BadVideo, detect_video

FILES = pathlib.Path(__file__).parent / "files"
MP4_HEADER = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"


@pytest.mark.parametrize(
    ("file", "mime_type", "ext"),
    [
        ("clip.mp4", "video/mp4", "mp4"),
        ("clip.mov", "video/quicktime", "mov"),
        ("clip.webm", "video/webm", "webm"),
        ("clip.ogg", "video/ogg", "ogv"),
    ],
)
def test_real_videos_are_recognised(file: str, mime_type: str, ext: str) -> None:
    detected = detect_video((FILES / file).read_bytes())
    assert detected is not None
    assert (detected.kind, detected.mime_type, detected.ext) == ("video", mime_type, ext)


def test_other_files_are_not_videos() -> None:
    assert detect_video(b"<html><script>alert(1)</script></html>") is None
    assert detect_video(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic") is None  # HEIF


def test_an_mp4_header_with_a_script_behind_it_is_refused() -> None:
    polyglot = MP4_HEADER + b"<script>alert(document.domain)</script>"
    with pytest.raises(BadVideo, match=r"starts like an MP4 video, but its boxes do not chain"):
        detect_video(polyglot)


def test_an_mp4_without_a_movie_header_is_refused() -> None:
    no_moov = MP4_HEADER + b"\x00\x00\x00\x10mdat" + bytes(8)
    with pytest.raises(BadVideo, match="no 'moov' box"):
        detect_video(no_moov)
    no_mdat = MP4_HEADER + b"\x00\x00\x00\x10moov" + bytes(8)
    with pytest.raises(BadVideo, match="no 'mdat' box"):
        detect_video(no_mdat)
    no_ftyp = b"\x00\x00\x00\x10free" + bytes(8) + (FILES / "clip.mp4").read_bytes()
    with pytest.raises(BadVideo, match="does not begin with an 'ftyp' box"):
        detect_video(no_ftyp)


@pytest.mark.parametrize("file", ["clip.mp4", "clip.mov", "clip.webm", "clip.ogg"])
def test_truncated_or_extended_videos_are_refused(file: str) -> None:
    data = (FILES / file).read_bytes()
    for broken in (data[:-7], data + b"<script>alert(1)</script>", data[: len(data) // 2]):
        with pytest.raises(BadVideo, match="but"):
            detect_video(broken)


def test_every_prefix_of_a_video_is_refused_or_accepted_cleanly() -> None:
    """No prefix crashes the parsers or makes them loop; only the whole file passes."""
    for file in ("clip.mp4", "clip.webm", "clip.ogg"):
        data = (FILES / file).read_bytes()
        for end in range(len(data)):
            try:
                detect_video(data[:end])
            except BadVideo:
                pass
            else:
                assert detect_video(data[:end]) is None, f"{file}[:{end}] was accepted"


def test_webm_must_hold_tracks() -> None:
    data = (FILES / "clip.webm").read_bytes()
    header_end = 5 + (data[4] & 0x7F)  # EBML ID (4 bytes) + 1-byte size + the header's data
    void = b"\xec\x81\x00"  # a Void element of one byte
    segment = b"\x18\x53\x80\x67" + bytes([0x80 | len(void)]) + void
    with pytest.raises(BadVideo, match="no Tracks"):
        detect_video(data[:header_end] + segment)


def test_ogg_first_page_must_check_out() -> None:
    data = bytearray((FILES / "clip.ogg").read_bytes())
    data[40] ^= 0xFF  # inside the first page: its CRC no longer matches
    with pytest.raises(BadVideo, match="first page"):
        detect_video(bytes(data))
