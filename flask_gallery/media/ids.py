"""Media ids: a content key plus a MAC keyed with the app's secret.

The browser sees ``<key>-<mac>``. The key (a truncated content hash) names the files on disk,
so identical media are stored once; the MAC makes an id unforgeable: knowing an image's bytes
is not enough to ask for it, and an id minted by another app (another secret) is refused.
Ids are checked against a strict pattern before anything touches the filesystem, so nothing
like ``../`` or a NUL byte can ever reach a path.
"""

from __future__ import annotations

import hashlib
import hmac
import re

#: Hex digits of the content key (128 bits of SHA-256).
KEY_LENGTH = 32
#: Hex digits of the MAC (80 bits: far beyond guessing over HTTP).
MAC_LENGTH = 20

KEY_RE = re.compile(rf"[0-9a-f]{{{KEY_LENGTH}}}", re.ASCII)
ID_RE = re.compile(rf"([0-9a-f]{{{KEY_LENGTH}}})-([0-9a-f]{{{MAC_LENGTH}}})", re.ASCII)

_MAC_CONTEXT = b"flask_gallery.media.id:"


def secret_bytes(secret: str | bytes) -> bytes:
    """The secret as bytes; an empty one is refused because it would make ids guessable."""
    raw = secret.encode() if isinstance(secret, str) else bytes(secret)
    if not raw:
        raise ValueError("The media store needs a non-empty secret (the app's SECRET_KEY).")
    return raw


def content_key(digest: bytes) -> str:
    """The on-disk key for a content digest."""
    return digest.hex()[:KEY_LENGTH]


def _mac(secret: bytes, key: str) -> str:
    return hmac.new(secret, _MAC_CONTEXT + key.encode(), hashlib.sha256).hexdigest()[:MAC_LENGTH]


def mint_id(secret: bytes, key: str) -> str:
    """The id the browser sees for ``key``."""
    if not KEY_RE.fullmatch(key):
        raise ValueError(f"Not a media key: {key!r}.")
    return f"{key}-{_mac(secret, key)}"


def key_from_id(secret: bytes, media_id: object) -> str | None:
    """The content key of an id this secret issued, or ``None`` for anything else."""
    if not isinstance(media_id, str):
        return None
    match = ID_RE.fullmatch(media_id)
    if match is None:
        return None
    key, mac = match.groups()
    if not hmac.compare_digest(mac, _mac(secret, key)):
        return None
    return key
