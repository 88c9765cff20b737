"""Recognising an uploaded video by its container structure, not only its first bytes.

A file that starts like an MP4 may be anything after its first box: an HTML page, a script.
Served inline it is harmless (nosniff, a sandbox CSP), but it would be stored, listed and
downloaded as a video. So a video is accepted only when its container parses from start to end:

- MP4/MOV (ISO base media): ``ftyp`` first, then top-level boxes whose sizes chain exactly to
  the end of the file, among them a ``moov`` (the movie header players need) and an ``mdat``
  (the media data);
- WebM: an EBML header whose DocType is ``webm``, then a Segment reaching exactly to the end of
  the file (or of unknown size, as live recordings write it), whose top-level elements chain
  and include Tracks;
- Ogg: pages from the first byte to the last, each with a valid header, the first one a
  beginning-of-stream page whose CRC checks out, the last one ending a stream.

Only headers are read (a few hundred per file); the media data itself is not decoded.
"""

from __future__ import annotations

import typing as t

from .containers import Malformed, ebml_children, ebml_document, iso_boxes
from .probe import Detected


class BadVideo(ValueError):
    """Bytes that start like a video but are not one; the message says what is wrong."""


_MP4 = Detected("video", "video/mp4", "mp4", frozenset({"mp4", "m4v"}))
_MOV = Detected("video", "video/quicktime", "mov", frozenset({"mov", "qt"}))
_WEBM = Detected("video", "video/webm", "webm", frozenset({"webm"}))
_OGG = Detected("video", "video/ogg", "ogv", frozenset({"ogg", "ogv"}))
_NAMES = {"mp4": "an MP4", "mov": "a QuickTime", "webm": "a WebM", "ogv": "an Ogg"}
#: Brands of still images (HEIF, AVIF) in an ISO container: not videos.
_HEIF_BRANDS = (b"avif", b"avis", b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1")
#: Top-level box types that start a QuickTime file written without ``ftyp``.
_QUICKTIME_STARTS = (b"moov", b"mdat", b"wide", b"free")

_TRACKS = 0x1654AE6B
#: Ogg pages walked at most (a real 50 MiB file has about 12,000).
MAX_OGG_PAGES = 200_000


def detect_video(data: bytes) -> Detected | None:
    """What video ``data`` is; ``None`` when it does not start like one, :class:`BadVideo`
    when it does but its structure does not parse."""
    kind = sniff_video(data)
    if kind is None:
        return None
    check = _CHECKS[kind.ext]
    reason = check(data)
    if reason is not None:
        name = _NAMES[kind.ext]
        raise BadVideo(f"it starts like {name} video, but {reason}")
    return kind


def sniff_video(data: bytes) -> Detected | None:
    """The kind of video ``data`` claims to be by its first bytes (nothing checked yet)."""
    box = data[4:8]
    if box == b"ftyp" and not data[8:12].startswith(_HEIF_BRANDS):
        return _MOV if data[8:10] == b"qt" else _MP4
    if box in _QUICKTIME_STARTS:
        return _MOV
    if data[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in data[:64]:
        return _WEBM
    if data[:4] == b"OggS":
        return _OGG
    return None


def check_iso_media(data: bytes) -> str | None:
    """Why ``data`` is not a well-formed MP4/MOV, or ``None`` when it is."""
    try:
        kinds = [kind for kind, *_ in iso_boxes(data, 0, len(data))]
    except Malformed as exc:
        return f"its boxes do not chain to the end of the file ({exc}); it may be truncated."
    if kinds[0] != b"ftyp":
        return "it does not begin with an 'ftyp' box."
    if b"moov" not in kinds:
        return "it has no 'moov' box (the movie header players need)."
    if b"mdat" not in kinds:
        return "it has no 'mdat' box (the media data); it may be truncated."
    return None


def check_webm(data: bytes) -> str | None:
    """Why ``data`` is not a well-formed WebM, or ``None`` when it is."""
    try:
        doctype, start, end = ebml_document(data)
        if doctype != b"webm":
            return f"its DocType is {doctype.decode('latin-1')!r}, not 'webm'."
        if end != len(data):
            return "its Segment does not end where the file does (truncated, or data after it)."
        children = {i for i, *_ in ebml_children(data, start, end)}
    except Malformed as exc:
        return f"its elements do not parse ({exc})."
    if _TRACKS not in children:
        return "its Segment has no Tracks."
    return None


_OGG_HEADER = 27


def _crc_table() -> list[int]:
    table = []
    for index in range(256):
        crc = index << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return table


_CRC_TABLE = _crc_table()


def _ogg_crc(page: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected); only the first page (at most
    64 KiB) is checked, so a plain loop is fast enough."""
    crc = 0
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[(crc >> 24) ^ byte]
    return crc


def check_ogg(data: bytes) -> str | None:
    """Why ``data`` is not a well-formed Ogg stream, or ``None`` when it is."""
    pos, pages, size = 0, 0, len(data)
    last_flags = 0
    while pos < size:
        pages += 1
        if pages > MAX_OGG_PAGES:
            return f"it has more than {MAX_OGG_PAGES} pages."
        header = data[pos : pos + _OGG_HEADER]
        if len(header) < _OGG_HEADER or header[:4] != b"OggS" or header[4] != 0:
            return f"byte {pos} is not the start of an Ogg page; it is truncated or has other data."
        if header[5] & ~0x07:
            return f"the page at byte {pos} has unknown flags."
        segments = header[26]
        table = data[pos + _OGG_HEADER : pos + _OGG_HEADER + segments]
        end = pos + _OGG_HEADER + segments + sum(table)
        if len(table) < segments or end > size:
            return f"the page at byte {pos} runs past the end of the file; it may be truncated."
        if pages == 1:
            page = data[:end]
            stored = int.from_bytes(page[22:26], "little")
            if not header[5] & 0x02 or _ogg_crc(page[:22] + bytes(4) + page[26:]) != stored:
                return "its first page is not a valid beginning of a stream."
        pos = end
        last_flags = header[5]
    if not last_flags & 0x04:
        return "its last page does not end the stream; it may be truncated."
    return None


_CHECKS: dict[str, t.Callable[[bytes], str | None]] = {
    "mp4": check_iso_media,
    "mov": check_iso_media,
    "webm": check_webm,
    "ogv": check_ogg,
}
