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

import contextlib
import json
import re
import typing as t

from flask import request
from werkzeug.exceptions import BadRequest

from ..media import MediaItem
from ..media.ids import ID_RE
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
    prefix = _media_prefix(state)
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
        media_id = _media_id(url, prefix)
        try:
            items.append(state.media.item(media_id, caption if isinstance(caption, str) else None))
        except LookupError:
            raise BadRequest(f"{where}[{n}]: unknown media item {url[:200]!r}.") from None
    return items


def describe(item: MediaItem) -> dict[str, t.Any]:
    """Gradio's wire form of an item (what ``SelectData.value`` holds), without a server path:
    a handler's copy gets its ``path`` in the handler's worker (:func:`with_paths`)."""
    media = file_data(item)
    return {"video" if item.kind == "video" else "image": media, "caption": item.caption}


def file_data(item: MediaItem, orig_name: str | None = None) -> dict[str, t.Any]:
    """Gradio's ``FileData`` of one item (``ImageData`` of a ``gr.Image``): its URL, never a
    server path; ``orig_name`` when the caller knows a better name than the item's."""
    return {
        "path": None,
        "url": item.url if item.id is None else urls().full(item.id),
        "size": None,
        "orig_name": item.orig_name if orig_name is None else orig_name,
        "mime_type": item.mime_type,
        "is_stream": False,
        "meta": {"_type": "gradio.FileData"},
    }


def own_media_id(state: PageApp, url: str) -> str | None:
    """The id in ``url`` when it is exactly a URL this app gives for a media item (its full
    file, ``<prefix>/media/<id>``, or a thumbnail of it, ``.../w<width>``), else None. The id
    is not checked here: the store refuses ids it did not issue."""
    prefix = _media_prefix(state)
    if not url.startswith(prefix):
        return None
    match = _OWN_MEDIA_TAIL.fullmatch(url, len(prefix))
    return match.group(1) if match is not None else None


#: What follows the media prefix in a URL of one of this app's items: its id, then
#: optionally a thumbnail width.
_OWN_MEDIA_TAIL = re.compile(rf"({ID_RE.pattern})(?:/w[0-9]{{1,5}})?", re.ASCII)


def _media_prefix(state: PageApp) -> str:
    return f"{request.script_root}{state.config['GALLERY_URL_PREFIX']}/media/"


def _media_id(url: str, prefix: str) -> str:
    return url[len(prefix) :].split("/")[0]


def with_paths(state: PageApp, data: t.Any) -> t.Any:
    """``data`` (event data, or items given to a ``preprocess=False`` handler) with each of this
    app's items given its ``path``: the file on the server under the item's own name, as
    Gradio's file data has for handlers. Only handlers see it: a JSON API answer never carries
    a path (:func:`describe`). Made here, in the handler's worker, because a pending item's file
    is encoded on first use, which a click's answer must not wait for."""
    if isinstance(data, list):
        return [with_paths(state, entry) for entry in data]
    if not isinstance(data, dict):
        return data
    out = {
        key: with_paths(state, value) if isinstance(value, (dict, list)) else value
        for key, value in data.items()
    }
    for kind in ("image", "video"):
        media = out.get(kind)
        if isinstance(media, dict) and media.get("path") is None:
            url, prefix = media.get("url"), _media_prefix(state)
            if isinstance(url, str) and url.startswith(prefix):
                name = media.get("orig_name")
                with contextlib.suppress(LookupError):
                    path = state.media.filepath(
                        _media_id(url, prefix), name if isinstance(name, str) else None
                    )
                    out[kind] = {**media, "path": str(path)}
    return out
