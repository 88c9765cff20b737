"""Gradio's wire form of gallery items, both ways: what clients send, read without trusting
it, and what handlers with ``preprocess=False``, event data and the JSON API get
(:func:`describe`: never a server path).

JSON comes from API calls, a listener's ``js`` result and the page's socket frames. Each is parsed
with :func:`loads`, which turns every way a body can be unreadable into a ``ValueError`` (Python's
parser lets a ``RecursionError`` through for deeply nested arrays, and Flask's
``get_json(silent=True)`` does not catch it). Gallery values in that JSON may only name this
app's media (:func:`items_from_wire`): the server never fetches anything a client names.
"""

from __future__ import annotations

import json
import typing as t

from flask import request
from werkzeug.exceptions import BadRequest

from ..media import MediaItem
from .urls import urls

if t.TYPE_CHECKING:
    from .context import PageApp


def loads(raw: str | bytes) -> t.Any:
    """``json.loads`` for client input: ``ValueError`` for anything unreadable (bad syntax or
    encoding, numbers too long to convert, nesting too deep)."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


def items_from_wire(state: PageApp, value: t.Any, where: str) -> list[MediaItem]:
    """Gallery items in Gradio's wire form (or URL strings) that name this app's media; 400
    for anything else, and for more items than a gallery may hold (``GALLERY_MAX_ITEMS``)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequest(f"{where} must be a list of gallery items or null.")
    max_items = state.config["GALLERY_MAX_ITEMS"]
    if len(value) > max_items:
        raise BadRequest(
            f"{where} has {len(value)} items; a gallery holds at most {max_items} "
            "(GALLERY_MAX_ITEMS)."
        )
    items = []
    prefix = f"{request.script_root}{state.config['GALLERY_URL_PREFIX']}/media/"
    for n, entry in enumerate(value):
        caption = None
        url = entry
        if isinstance(entry, dict):
            media = entry.get("image") or entry.get("video") or {}
            url, caption = (
                media.get("url") if isinstance(media, dict) else None,
                entry.get("caption"),
            )
        if not isinstance(url, str) or not url.startswith(prefix):
            raise BadRequest(
                f"{where}[{n}]: give the URL of a media item of this app (from a gallery or an "
                "earlier result); the server fetches nothing else."
            )
        media_id = url[len(prefix) :].split("/")[0]
        try:
            items.append(state.media.item(media_id, caption if isinstance(caption, str) else None))
        except LookupError:
            raise BadRequest(f"{where}[{n}]: unknown media item {url[:200]!r}.") from None
    return items


def describe(item: MediaItem) -> dict[str, t.Any]:
    """Gradio's wire form of an item (what ``SelectData.value`` holds): never a server path."""
    url = item.url if item.id is None else urls().full(item.id)
    media = {
        "path": None,
        "url": url,
        "size": None,
        "orig_name": item.orig_name,
        "mime_type": item.mime_type,
        "is_stream": False,
        "meta": {"_type": "gradio.FileData"},
    }
    return {"video" if item.kind == "video" else "image": media, "caption": item.caption}
