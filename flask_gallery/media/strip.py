"""Removing metadata from uploaded files, leaving the bytes that draw the picture untouched.

A photo straight from a phone carries where and when it was taken and with which camera (EXIF,
XMP, IPTC), and whoever can see a gallery item can download its file. So the containers are
rewritten without their metadata segments, chunks or boxes, keeping what rendering needs (the
compressed pixels, ICC colour profiles, transparency, animation control) byte for byte: no
re-encoding, no quality lost, and the pixels decode to exactly what the upload held.

Everything here is a parser of untrusted bytes. Every loop advances by at least one byte (or
one bounded unit) per turn, every length is checked against what is left, and anything that
does not parse raises :class:`Malformed`; :func:`strip_image` then answers ``None`` and the
caller re-encodes the decoded pixels instead (see :mod:`.uploads`).

Videos (:func:`strip_video`) cannot be rewritten shorter without rewriting the sample offsets
of their index, so their metadata boxes become ``free`` boxes of the same size with a zeroed
payload: every offset stays valid. What is left, and why, is said there.
"""

from __future__ import annotations

import re
import typing as t

from .containers import Malformed, ebml_children, ebml_document, iso_boxes

# JPEG --------------------------------------------------------------------------------------

#: APPn segments kept, by marker and identifier: JFIF (pixel aspect), the ICC colour profile,
#: Adobe (colour transform of CMYK/YCCK files). Every other APPn (Exif, XMP, IPTC/Photoshop,
#: MPF and its secondary images, maker data) and every comment goes.
_JPEG_KEPT_APPS: dict[int, tuple[bytes, ...]] = {
    0xE0: (b"JFIF\0",),
    0xE2: (b"ICC_PROFILE\0",),
    0xEE: (b"Adobe",),
}
_JPEG_COM = 0xFE
_JPEG_SOS = 0xDA
_JPEG_EOI = 0xD9
#: Markers without a length: TEM and the restart markers.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
#: The end of an entropy-coded scan: 0xFF followed by anything but a stuffed zero, a restart
#: marker or another 0xFF (a fill byte).
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


#: A JFIF segment up to its thumbnail: identifier, version, units and densities.
_JFIF_HEAD = 12


def _jpeg_segment(marker: int, payload: bytes) -> bytes | None:
    """The payload to write for a segment, ``None`` to drop it. JFIF keeps its densities but
    loses its thumbnail: a thumbnail can show what a crop removed."""
    if marker == _JPEG_COM:
        return None
    if not 0xE0 <= marker <= 0xEF or payload.startswith(_JPEG_KEPT_APPS.get(marker, ())):
        if marker == 0xE0 and len(payload) > _JFIF_HEAD + 2:
            return payload[:_JFIF_HEAD] + b"\0\0"
        return payload
    return None


def strip_jpeg(data: bytes) -> bytes:
    """A JPEG without Exif, XMP, IPTC, comments and anything after its end marker."""
    if data[:2] != b"\xff\xd8":
        raise Malformed("not a JPEG: no start-of-image marker")
    out = [b"\xff\xd8"]
    pos, size = 2, len(data)
    while True:
        if pos >= size or data[pos] != 0xFF:
            raise Malformed(f"expected a marker at byte {pos}")
        while pos < size and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos >= size:
            raise Malformed("the file ends before its end-of-image marker")
        marker = data[pos]
        pos += 1
        if marker == _JPEG_EOI:
            out.append(b"\xff\xd9")
            return b"".join(out)
        if marker in _JPEG_STANDALONE:
            out.append(bytes((0xFF, marker)))
            continue
        if marker == 0x00 or pos + 2 > size:
            raise Malformed(f"bad marker 0x{marker:02x} at byte {pos - 1}")
        length = int.from_bytes(data[pos : pos + 2], "big")
        end = pos + length
        if length < 2 or end > size:
            raise Malformed(f"segment 0x{marker:02x} at byte {pos - 2} runs past the end")
        payload = _jpeg_segment(marker, data[pos + 2 : end])
        if payload is not None:
            out.append(bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big"))
            out.append(payload)
        pos = end
        if marker == _JPEG_SOS:
            match = _SCAN_END.search(data, pos)
            if match is None:
                raise Malformed("the file ends inside a scan")
            out.append(data[pos : match.start()])
            pos = match.start()


# PNG ---------------------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Chunks kept: the critical ones, what affects how the pixels look (colour space, gamma,
#: transparency, background, physical size, HDR), and APNG animation. Text (tEXt, zTXt, iTXt:
#: also where XMP lives), eXIf, tIME and every private or unknown ancillary chunk (C2PA's caBX,
#: editors' own) go.
_PNG_KEPT = frozenset(
    {
        b"IHDR",
        b"PLTE",
        b"IDAT",
        b"IEND",
        b"tRNS",
        b"gAMA",
        b"cHRM",
        b"sRGB",
        b"iCCP",
        b"sBIT",
        b"bKGD",
        b"pHYs",
        b"cICP",
        b"mDCV",
        b"mDCv",
        b"cLLI",
        b"cLLi",
        b"acTL",
        b"fcTL",
        b"fdAT",
    }
)
_CHUNK_TYPE = re.compile(rb"[A-Za-z]{4}")


def strip_png(data: bytes) -> bytes:
    """A PNG (or APNG) without text, eXIf, tIME or private chunks, ending at IEND."""
    if not data.startswith(_PNG_SIGNATURE):
        raise Malformed("not a PNG: bad signature")
    out = [_PNG_SIGNATURE]
    pos, size = len(_PNG_SIGNATURE), len(data)
    while pos + 12 <= size:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if length >= 1 << 31 or end > size or not _CHUNK_TYPE.fullmatch(kind):
            raise Malformed(f"bad chunk at byte {pos}")
        if pos == len(_PNG_SIGNATURE) and kind != b"IHDR":
            raise Malformed("the first chunk is not IHDR")
        if kind in _PNG_KEPT:
            out.append(data[pos:end])
        elif kind[0] < 0x61:  # an unknown critical chunk: no decoder could draw the file
            raise Malformed(f"unknown critical chunk {kind!r}")
        if kind == b"IEND":
            return b"".join(out)
        pos = end
    raise Malformed("the file ends before IEND")


# WebP --------------------------------------------------------------------------------------

#: Chunks kept: the bitstreams, alpha, animation and the ICC profile; EXIF, XMP and unknown
#: chunks go.
_WEBP_KEPT = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})
_WEBP_IMAGES = frozenset({b"VP8 ", b"VP8L", b"ANMF"})
#: VP8X flags announcing EXIF and XMP chunks.
_VP8X_METADATA = 0x08 | 0x04


def strip_webp(data: bytes) -> bytes:
    """A WebP without EXIF and XMP chunks, its VP8X flags and RIFF size fixed."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise Malformed("not a WebP: bad RIFF header")
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    if riff_end > len(data):
        raise Malformed("the file is shorter than its RIFF size")
    out: list[bytes] = []
    images = 0
    pos = 12
    while pos < riff_end:
        if pos + 8 > riff_end:
            raise Malformed(f"a chunk header at byte {pos} runs past the end")
        kind = data[pos : pos + 4]
        length = int.from_bytes(data[pos + 4 : pos + 8], "little")
        end = pos + 8 + length + (length & 1)
        if end > riff_end:
            raise Malformed(f"chunk {kind!r} at byte {pos} runs past the end")
        if kind == b"VP8X":
            if length < 10:
                raise Malformed("VP8X chunk too short")
            flags = bytes((data[pos + 8] & ~_VP8X_METADATA,))
            out.append(data[pos : pos + 8] + flags + data[pos + 9 : end])
        elif kind in _WEBP_KEPT:
            out.append(data[pos:end])
        images += kind in _WEBP_IMAGES
        pos = end
    if not images:
        raise Malformed("no image data")
    body = b"".join(out)
    return b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WEBP" + body


# GIF ---------------------------------------------------------------------------------------

_GIF_EXTENSION, _GIF_IMAGE, _GIF_TRAILER = 0x21, 0x2C, 0x3B
#: Extensions kept: graphic control (frame timing, transparency) and plain text (a rendering
#: block; dropping it would hand its graphic control to the next frame).
_GIF_KEPT_EXTENSIONS = frozenset({0xF9, 0x01})
#: Application extensions kept: looping.
_GIF_KEPT_APPLICATIONS = frozenset({b"NETSCAPE2.0", b"ANIMEXTS1.0"})


def _gif_sub_blocks_end(data: bytes, pos: int) -> int:
    """Where the data sub-blocks starting at ``pos`` end (after their zero terminator)."""
    size = len(data)
    while True:
        if pos >= size:
            raise Malformed("the file ends inside data sub-blocks")
        length = data[pos]
        pos += 1 + length
        if length == 0:
            return pos


def _gif_color_table(flags: int) -> int:
    return 3 << ((flags & 0x07) + 1) if flags & 0x80 else 0


def strip_gif(data: bytes) -> bytes:
    """A GIF without comments, XMP or other application extensions except looping."""
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        raise Malformed("not a GIF: bad header")
    pos = 13 + _gif_color_table(data[10])
    if pos > len(data):
        raise Malformed("the global colour table runs past the end")
    out = [data[:pos]]
    while pos < len(data):
        block = data[pos]
        if block == _GIF_TRAILER:
            out.append(b";")
            return b"".join(out)
        if block == _GIF_IMAGE:
            if pos + 10 > len(data):
                raise Malformed("an image descriptor runs past the end")
            start = pos + 10 + _gif_color_table(data[pos + 9]) + 1  # + LZW minimum code size
            end = _gif_sub_blocks_end(data, start)
            out.append(data[pos:end])
        elif block == _GIF_EXTENSION and pos + 2 <= len(data):
            label = data[pos + 1]
            end = _gif_sub_blocks_end(data, pos + 2)
            identity = data[pos + 3 : pos + 14] if data[pos + 2 : pos + 3] == b"\x0b" else b""
            if label in _GIF_KEPT_EXTENSIONS or (
                label == 0xFF and identity in _GIF_KEPT_APPLICATIONS
            ):
                out.append(data[pos:end])
        else:
            raise Malformed(f"unknown block 0x{block:02x} at byte {pos}")
        pos = end
    raise Malformed("the file ends before its trailer")


# Images ------------------------------------------------------------------------------------

#: Pillow format name -> rewriter. MPO is how Pillow names a JPEG carrying an MPF segment
#: (phones' depth maps and HDR gain maps): stripped, it is the plain JPEG of its first picture.
IMAGE_REWRITERS: dict[str, t.Callable[[bytes], bytes]] = {
    "JPEG": strip_jpeg,
    "MPO": strip_jpeg,
    "PNG": strip_png,
    "WEBP": strip_webp,
    "GIF": strip_gif,
}
#: Formats that have no place for metadata: kept as uploaded.
IMAGE_WITHOUT_METADATA = frozenset({"BMP", "DIB", "PCX", "QOI"})


def strip_image(data: bytes, format: str | None) -> bytes | None:
    """``data`` (an image Pillow identified as ``format``) without its metadata; ``None`` when
    the format cannot be rewritten here or the file does not parse, so the caller must
    re-encode the pixels instead."""
    if format in IMAGE_WITHOUT_METADATA:
        return data
    rewrite = IMAGE_REWRITERS.get(format or "")
    if rewrite is None:
        return None
    try:
        return rewrite(data)
    except Malformed:
        return None


# Videos ------------------------------------------------------------------------------------

#: Boxes whose payload is metadata: user data (QuickTime's ©xyz location, ©mak/©mod camera,
#: Samsung's and GoPro's own), ``meta`` (Apple's keys: com.apple.quicktime.location.ISO6709,
#: make, model, software; iTunes-style tags) and ``uuid`` boxes (XMP, Canon's and Sony's
#: camera data). Blanked where they sit at the top level, in ``moov``, a ``trak`` or ``mdia``.
_ISO_METADATA = frozenset({b"udta", b"meta", b"uuid"})
_ISO_CONTAINERS = frozenset({b"moov", b"trak", b"mdia"})
#: Headers carrying creation and modification times (when it was filmed): zeroed.
_ISO_TIMED = frozenset({b"mvhd", b"tkhd", b"mdhd"})
_ISO_MAX_DEPTH = 4


#: Same-length replacements of a video's bytes: ``(offset, new bytes)``.
Patches = list[tuple[int, bytes]]


def patched(data: bytes, patches: Patches) -> bytes:
    """``data`` with each same-length patch applied, copied once (a 50 MiB video costs one
    more 50 MiB, not two), or ``data`` itself when there is nothing to change."""
    if not patches:
        return data
    view, pos = memoryview(data), 0
    pieces: list[bytes | memoryview] = []
    for offset, replacement in sorted(patches):
        pieces += (view[pos:offset], replacement)
        pos = offset + len(replacement)
    pieces.append(view[pos:])
    return b"".join(pieces)


def _iso_patches(data: bytes, start: int, end: int, depth: int, patches: Patches) -> None:
    for kind, box, payload, box_end in iso_boxes(data, start, end):
        if kind in _ISO_METADATA:
            patches += ((box + 4, b"free"), (payload, bytes(box_end - payload)))
        elif kind in _ISO_TIMED and payload < box_end:
            stamps = 16 if data[payload] == 1 else 8
            if payload + 4 + stamps <= box_end:
                patches.append((payload + 4, bytes(stamps)))
        elif kind in _ISO_CONTAINERS and depth < _ISO_MAX_DEPTH:
            _iso_patches(data, payload, box_end, depth + 1, patches)


def strip_iso_media(data: bytes) -> bytes:
    """An MP4/MOV of the same length, its metadata boxes turned into zeroed ``free`` boxes and
    its creation times zeroed.

    Left as they are: the ``ftyp`` brands and codec parameters (what a player needs), and
    timed metadata tracks whose samples live in ``mdat`` (GoPro's GPMF and ``camm`` telemetry,
    which can hold GPS tracks): blanking those means rewriting the sample tables, and phones
    do not write them.
    """
    patches: Patches = []
    _iso_patches(data, 0, len(data), 0, patches)
    return patched(data, patches)


#: WebM elements blanked: Tags (titles, dates, locations, encoder settings) and, in the
#: Segment's Info, its Title and DateUTC (when it was recorded).
_WEBM_TAGS, _WEBM_INFO = 0x1254C367, 0x1549A966
_WEBM_INFO_BLANKED = frozenset({0x7BA9, 0x4461})
_EBML_VOID = 0xEC


def ebml_void(total: int) -> bytes:
    """A Void element of exactly ``total`` bytes (zeroed), to put in another's place."""
    length = min(8, total - 1)  # bytes of the size field; 8 holds any payload
    payload = total - 1 - length
    if length < 1 or payload >= (1 << (7 * length)) - 1:
        raise Malformed(f"an element of {total} bytes cannot become Void")
    size = (1 << (7 * length)) | payload
    return bytes((_EBML_VOID,)) + size.to_bytes(length, "big") + bytes(payload)


def strip_webm(data: bytes) -> bytes:
    """A WebM of the same length, its Tags and its Info's Title and DateUTC turned into Void
    elements (zeroed; players skip them, and the SeekHead and Cues offsets stay valid).

    Left: Tags written after a Cluster of unknown size (live recordings; the walk cannot
    reach past it) and the names of tracks, attachments and chapters (not where recorders put
    locations)."""
    patches: Patches = []
    _, start, end = ebml_document(data)
    for element, at, body, stop in ebml_children(data, start, min(end, len(data))):
        if stop is None:
            break
        if element == _WEBM_TAGS:
            patches.append((at, ebml_void(stop - at)))
        elif element == _WEBM_INFO:
            for child, child_at, _, child_stop in ebml_children(data, body, stop):
                if child in _WEBM_INFO_BLANKED and child_stop is not None:
                    patches.append((child_at, ebml_void(child_stop - child_at)))
    return patched(data, patches)


def strip_video(data: bytes, ext: str) -> bytes:
    """A video of the same length without the metadata that can be removed in place (see
    :func:`strip_iso_media`, :func:`strip_webm`). Ogg is kept as uploaded: its comments
    (Vorbis/Opus/Theora comment headers: title, encoder, sometimes a date or place) sit in a
    packet whose pages would need their lacing and CRCs rewritten. :class:`Malformed` when
    the container does not parse."""
    if ext in ("mp4", "mov"):
        return strip_iso_media(data)
    if ext == "webm":
        return strip_webm(data)
    return data
