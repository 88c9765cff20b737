"""What a download is called: the item's own name, with the extension of what the file is.

Names belong to items, not to content: two users uploading the same bytes share one stored
file, and each must download it under the name they gave it, learning nothing of the other's.
So the store keeps no names; the page that shows an item puts the item's name in its download
URL, signed with the app's secret (:func:`name_signature`), so a link cannot be edited into
another name (``invoice.pdf`` of a photo, or a name that misleads whoever is sent the link).

The extension comes from the stored file's detected type, never from the name: ``invoice.html``
that is an MP4 downloads as ``invoice.mp4``.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import os
import pathlib
import secrets
import shutil
import urllib.parse

from .probe import extension_of, mime_from_name

_CONTEXT = b"flask_gallery.media.name:"
#: The folder, beside a key's files, holding its full file under the names items gave it.
NAMED = "named"
#: Hex digits of a name's signature (80 bits, as media ids).
SIGNATURE_LENGTH = 20


def name_signature(secret: bytes, media_id: str, name: str) -> str:
    """The signature of ``name`` for ``media_id``."""
    message = _CONTEXT + media_id.encode() + b"\0" + name.encode("utf-8", "surrogatepass")
    return hmac.digest(secret, message, "sha256").hex()[:SIGNATURE_LENGTH]


@functools.lru_cache(maxsize=4096)
def name_query(secret: bytes, media_id: str, name: str) -> str:
    """The query string a download URL carries ``name`` in; cached, as a page is drawn many
    times with the same items."""
    quoted = urllib.parse.quote(name, safe="")
    return f"?name={quoted}&sig={name_signature(secret, media_id, name)}"


def name_is_signed(secret: bytes, media_id: str, name: str, signature: str) -> bool:
    """Compared as bytes: ``compare_digest`` raises on a non-ASCII str, and the signature
    comes from the URL."""
    expected = name_signature(secret, media_id, name).encode()
    return hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass"))


def same_type(suffix: str, ext: str) -> bool:
    """Whether two extensions name the same type (``jpeg`` and ``jpg``)."""
    if suffix == ext:
        return True
    mime = mime_from_name(f"x.{suffix}")
    return mime is not None and mime == mime_from_name(f"x.{ext}")


def attachment_name(name: str | None, ext: str) -> str:
    """A safe file name to save a file of type ``ext`` as: no directories, control characters
    or quotes, and an extension naming that type (the name's own is kept when it names the
    same type, ``photo.jpeg``; replaced otherwise, ``invoice.html`` -> ``invoice.mp4``)."""
    base = pathlib.PurePosixPath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"').strip(" .")
    if not base:
        base = "image"
    suffix = extension_of(base)
    if suffix and same_type(suffix, ext):
        return base
    stem = pathlib.PurePosixPath(base).stem if suffix else base
    return f"{stem}.{ext}"


def named_file(full: pathlib.Path, folder: pathlib.Path, name: str, ext: str) -> pathlib.Path:
    """``full`` under the item's own ``name`` (cleaned, the extension of its type), in
    ``folder``: a hard link (no bytes copied; a copy where links are refused), made once per
    name and atomically, so two users' names for one content are two paths to one file. Falls
    back to ``full`` itself when the name cannot be a file name here (too long)."""
    target = folder / attachment_name(name, ext)
    if target.exists():
        return target
    temp = folder / f".tmp-{secrets.token_hex(8)}"
    try:
        folder.mkdir(exist_ok=True)
        try:
            os.link(full, temp)
        except OSError:
            shutil.copyfile(full, temp)
        os.replace(temp, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        return full
    return target
