"""Sending stored media as Flask responses (the only module that knows about HTTP).

Ids are content addressed, so every response is immutable: a strong ETag, a year of caching,
and 304 for conditional requests. Byte ranges are answered for video seeking. Every response
carries a sandboxing CSP, so an SVG (or any file a browser might render as a document) cannot
run scripts in the page's origin even when opened directly.
"""

from __future__ import annotations

import typing as t
import unicodedata
import urllib.parse

from flask import Response, current_app, request
from werkzeug.exceptions import NotFound
from werkzeug.wsgi import wrap_file

from .item import MediaVariant
from .names import attachment_name

if t.TYPE_CHECKING:
    from .store import MediaStore

#: Content addressed: the bytes behind an id never change.
CACHE_MAX_AGE = 31536000
MEDIA_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'"
_SAFE_MIME_PREFIXES = ("image/", "video/")


def send_media(
    store: MediaStore,
    media_id: str,
    variant: MediaVariant = "full",
    width: int | None = None,
    download: bool = False,
    download_name: str | None = None,
) -> Response:
    """The response for one variant of a stored item, inside a request.

    :param variant: "full" (preview, download) or "thumb" (grid; ``width`` one of the store's
        ``thumbnail_widths``, default its grid width).
    :param download: Send ``Content-Disposition: attachment``.
    :param download_name: The name to save as: the item's original file name where known,
        else e.g. "image-3". Its extension is the stored file's type ("image-3.webp"; an
        ``invoice.html`` that is an MP4 is saved as "invoice.mp4"). Default "image.<ext>".
    :raises NotFound: for an id this store did not issue, an unknown variant or width.
    """
    stored = store.open(media_id, variant, width)
    if stored is None:
        raise NotFound()
    mime_type = stored.mime_type
    if not mime_type.startswith(_SAFE_MIME_PREFIXES):
        mime_type = "application/octet-stream"
    response = current_app.response_class(
        wrap_file(request.environ, stored.file), mimetype=mime_type, direct_passthrough=True
    )
    response.content_length = stored.size
    response.set_etag(stored.etag)
    response.cache_control.public = True
    response.cache_control.max_age = CACHE_MAX_AGE
    response.cache_control.immutable = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = MEDIA_CSP
    if download:
        name = attachment_name(download_name, stored.ext)
        response.headers["Content-Disposition"] = content_disposition(name)
    response.call_on_close(stored.file.close)
    response.make_conditional(request, accept_ranges=True, complete_length=stored.size)
    if response.status_code == 304 or request.method == "HEAD":
        stored.file.close()  # no body will be read, so no server will close it
    return response


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and RFC 5987 ``filename*`` for other names."""
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        quoted = urllib.parse.quote(name, safe="!#$&+-.^_`|~")
        return f"attachment; filename=\"{simple or 'download'}\"; filename*=UTF-8''{quoted}"
    return f'attachment; filename="{name}"'
