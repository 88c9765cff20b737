"""Which stored media this process still references, so retention never deletes it: the items
of every live page, the inputs and event data of every queued, deferred or running job, and the
app's declared (fixed) gallery values. No Flask here: the app state passes its parts in."""

from __future__ import annotations

import typing as t

from ..media import MediaItem, MediaStore
from ..media.ids import ID_RE

if t.TYPE_CHECKING:
    from ..queue.jobs import Job
    from .state import PageState

#: How deep job inputs and event data are searched for media (Gradio's wire dicts nest 3 deep).
MAX_DEPTH = 8


def page_keys(store: MediaStore, pages: t.Iterable[PageState]) -> set[str]:
    keys: set[str] = set()
    for page in pages:
        for gallery in list(page.galleries.values()):
            keys.update(item_keys(store, list(gallery.items)))
    return keys


def job_keys(store: MediaStore, jobs: t.Iterable[Job]) -> set[str]:
    """Keys a job's inputs (galleries' items) or event data (items' URLs) name."""
    keys: set[str] = set()
    for job in jobs:
        _collect(store, job.inputs, keys, 0)
        _collect(store, job.event_data, keys, 0)
    return keys


def item_keys(store: MediaStore, items: t.Iterable[MediaItem]) -> set[str]:
    keys = (store.key(item.id) for item in items if item.id is not None)
    return {key for key in keys if key is not None}


def _collect(store: MediaStore, value: object, keys: set[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    if isinstance(value, MediaItem):
        keys.update(item_keys(store, [value]))
    elif isinstance(value, str):
        for match in ID_RE.finditer(value):
            key = store.key(match.group(0))
            if key is not None:
                keys.add(key)
    elif isinstance(value, dict):
        for inner in list(value.values()):
            _collect(store, inner, keys, depth + 1)
    elif isinstance(value, (list, tuple)):
        for inner in list(value):
            _collect(store, inner, keys, depth + 1)
