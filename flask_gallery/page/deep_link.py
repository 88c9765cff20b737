"""Deep links to a gallery's preview: ``?fg-preview=<gallery name>:<item id>``.

gallery.js puts the parameter in the address bar when a preview opens (one value per gallery
whose preview is open, so several galleries on a page each keep theirs). A page rendered from
such a URL shows the preview open on that item and, once the page connects, fires what a click
on the item would have fired (Gradio's ``preview_open`` then ``select``): a rendered page has
no channel for handler results until then, which is also when ``load`` runs.

The item is named by its opaque id (:func:`.view.item_key`), never by its index: an index goes
stale when the list changes, and the id is the same wherever the item moves. A link naming no
item of the gallery (stale, or made up) is ignored: the page renders as without it.
"""

from __future__ import annotations

import typing as t

from . import interactions
from .outputs import fire
from .view import find_item
from .wire import describe

if t.TYPE_CHECKING:
    from ..request import Request
    from .context import PageApp
    from .state import GalleryState, PageState

#: The query parameter of a deep link (repeated, one value per gallery).
PARAM = "fg-preview"


def linked_key(values: t.Iterable[str], name: str) -> str | None:
    """The item id the parameter's ``values`` name for gallery ``name`` (neither gallery names
    nor item ids hold a colon), or None."""
    for value in values:
        gallery, colon, key = value.partition(":")
        if colon and gallery == name:
            return key
    return None


def follow(gallery_state: GalleryState, key: str, allow_preview: bool) -> bool:
    """Open the preview on the item ``key`` names, as a click on it would (the events it fires
    wait in ``gallery_state.linked`` for :func:`fire_linked`). False, and nothing changed,
    when no item has that id or the gallery has no preview."""
    index = find_item(gallery_state.items, key) if allow_preview else None
    if index is None:
        return False
    fired = interactions.select(gallery_state, index, True, describe)
    gallery_state.linked = [event for event, _ in fired]
    return True


def fire_linked(state: PageApp, seen: PageState, request: Request | None) -> list[str]:
    """The page connected (its socket, or its first poll): submit the events its deep links
    fired, once. ``seen`` is the page as the caller read it: most pages have no deep link, and
    their connection then costs no page write. The select's data is the item the preview
    shows now (the user may have moved on before the page connected)."""
    if not any(g.linked for g in seen.galleries.values()):
        return []
    pending: list[tuple[str, interactions.Fired]] = []
    with state.pages.edit(seen.token) as page:
        if page is None:
            return []
        for name, gallery_state in page.galleries.items():
            index, events = gallery_state.selected, gallery_state.linked
            gallery_state.linked = []
            if index is None or not events:
                continue
            data = interactions.select_data(index, gallery_state.items[index], describe)
            pending.append((name, [(e, data if e == "select" else None) for e in events]))
    known = state.registry.galleries
    return [
        job
        for name, fired in pending
        if name in known
        for job in fire(state, known[name], page, fired, {}, request)
    ]
