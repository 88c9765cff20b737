"""Walking the structure of media containers (ISO base media boxes, EBML elements) in
untrusted bytes, for :mod:`.videos` (is this really a video?) and :mod:`.strip` (where is its
metadata?).

Every walk is bounded: each step advances by at least a header, every size is checked against
its parent before it is used, and the number of boxes or elements is capped, so a file of
millions of tiny boxes is refused rather than walked. Anything that does not parse raises
:class:`Malformed`.
"""

from __future__ import annotations

import typing as t


class Malformed(ValueError):
    """The bytes do not parse as the format they claimed; nothing was rewritten."""


#: More boxes than any real file has: a file of millions of 8-byte boxes is refused rather
#: than walked.
ISO_MAX_BOXES = 100_000


def iso_boxes(
    data: bytes | bytearray, start: int, end: int
) -> t.Iterator[tuple[bytes, int, int, int]]:
    """``(type, box start, payload start, box end)`` of each box in ``data[start:end]``;
    :class:`Malformed` for a size that is impossible or runs past ``end``."""
    pos, count = start, 0
    while pos < end:
        count += 1
        if count > ISO_MAX_BOXES:
            raise Malformed(f"more than {ISO_MAX_BOXES} boxes")
        if pos + 8 > end:
            raise Malformed(f"a box header at byte {pos} runs past the end")
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = bytes(data[pos + 4 : pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise Malformed(f"a box header at byte {pos} runs past the end")
            size, header = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
        elif size == 0:  # the last box, up to the end
            size = end - pos
        if size < header:
            raise Malformed(f"box {kind!r} at byte {pos} has an impossible size ({size})")
        if pos + size > end:
            raise Malformed(f"box {kind!r} at byte {pos} runs past the end")
        yield kind, pos, pos + header, pos + size
        pos += size


#: EBML elements walked at most in one parent (a real 50 MiB WebM has hundreds).
MAX_ELEMENTS = 100_000


def ebml_id(data: bytes | bytearray, pos: int) -> tuple[int, int]:
    """An element ID (its length marker kept, as specs write IDs) and where it ends."""
    if pos >= len(data):
        raise Malformed(f"an element ID at byte {pos} runs past the end")
    first = data[pos]
    length = 8 - first.bit_length() + 1
    if not 1 <= length <= 4 or pos + length > len(data):
        raise Malformed(f"bad element ID at byte {pos}")
    return int.from_bytes(data[pos : pos + length], "big"), pos + length


def ebml_size(data: bytes | bytearray, pos: int) -> tuple[int | None, int]:
    """An element's data size (``None``: unknown) and where the size field ends."""
    if pos >= len(data) or data[pos] == 0:
        raise Malformed(f"bad element size at byte {pos}")
    length = 8 - data[pos].bit_length() + 1
    if pos + length > len(data):
        raise Malformed(f"an element size at byte {pos} runs past the end")
    value = int.from_bytes(data[pos : pos + length], "big") & ((1 << (7 * length)) - 1)
    return (None if value == (1 << (7 * length)) - 1 else value), pos + length


def ebml_children(
    data: bytes | bytearray, start: int, end: int
) -> t.Iterator[tuple[int, int, int, int | None]]:
    """``(id, element start, data start, data end)`` of the elements in ``data[start:end]``;
    the end is ``None`` for an element of unknown size, after which the walk stops."""
    pos, count = start, 0
    while pos < end:
        count += 1
        if count > MAX_ELEMENTS:
            raise Malformed(f"more than {MAX_ELEMENTS} elements")
        element, header = ebml_id(data, pos)
        size, body = ebml_size(data, header)
        if size is None:
            yield element, pos, body, None
            return
        if body + size > end:
            raise Malformed(f"element 0x{element:X} runs past the end")
        yield element, pos, body, body + size
        pos = body + size


EBML_HEADER, DOCTYPE, SEGMENT = 0x1A45DFA3, 0x4282, 0x18538067


def ebml_document(data: bytes | bytearray) -> tuple[bytes, int, int]:
    """``(DocType, Segment data start, Segment end)`` of an EBML file (WebM, Matroska); the
    end is the file's end when the Segment's size is unknown (live recordings), and may lie
    beyond it when the file is truncated."""
    element, pos = ebml_id(data, 0)
    size, pos = ebml_size(data, pos)
    if element != EBML_HEADER or size is None or pos + size > len(data):
        raise Malformed("the EBML header does not parse")
    doctype = next(
        (bytes(data[s:e]) for i, _, s, e in ebml_children(data, pos, pos + size) if i == DOCTYPE),
        b"",
    )
    element, pos = ebml_id(data, pos + size)
    size, pos = ebml_size(data, pos)
    if element != SEGMENT:
        raise Malformed("no Segment follows the EBML header")
    return doctype.rstrip(b"\0"), pos, len(data) if size is None else pos + size
