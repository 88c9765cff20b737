"""A ZIP archive written as a stream of chunks, for "Download all".

The archive is produced while it is sent, one file at a time, so a gallery of hundreds of
full-size images costs a 64 KiB buffer, not the whole archive in memory or on disk. Entries are
stored uncompressed, as Gradio's client-side zip: images are already compressed.
"""

from __future__ import annotations

import io
import time
import typing as t
import zipfile
from pathlib import Path, PurePosixPath

_CHUNK = 64 * 1024


class _Sink(io.RawIOBase):
    """A write-only, unseekable file: zipfile then writes data descriptors and never seeks."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: t.Any) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def unique_names(names: t.Iterable[str]) -> list[str]:
    """Gradio's rule for duplicates: the second ``a.png`` becomes ``a-2.png``, then ``a-3.png``."""
    seen: set[str] = set()
    result = []
    for name in names:
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            path = PurePosixPath(name)
            candidate = f"{path.stem}-{n}{path.suffix}"
        seen.add(candidate)
        result.append(candidate)
    return result


def stream_zip(entries: t.Iterable[tuple[str, Path]]) -> t.Iterator[bytes]:
    """Yield the bytes of a ZIP holding each ``(name, path)``; names must be unique."""
    sink = _Sink()
    stamp = time.localtime()[:6]
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as archive:
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            with path.open("rb") as source, archive.open(info, "w", force_zip64=True) as target:
                while chunk := source.read(_CHUNK):
                    target.write(chunk)
                    yield sink.drain()
            yield sink.drain()
    yield sink.drain()
