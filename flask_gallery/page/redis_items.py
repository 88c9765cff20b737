"""Gallery item lists as the Redis page store keeps them: once per value, not once per page.

A 10,000-item gallery is megabytes of JSON. Kept inside its page's document, every click would
send it to Redis and back and decode it again. Instead a list is stored under the SHA-256 of
its JSON (``<prefix>items:<key>``), which the page's document names; a list cannot change under
its key, so a process keeps the lists it read or wrote, decoded, in a bounded cache that is
never stale, and knows a page's items are unchanged when they are the very items it loaded.
"""

from __future__ import annotations

import collections
import hashlib
import json
import operator
import threading

from ..media import MediaItem
from .state import GalleryState

#: Items (over every list) this process keeps decoded at most; the most recent list is kept
#: whatever its size.
ITEMS_CACHED = 100_000
#: Python lists whose key this process remembers (a fixed gallery value is one list object,
#: shown by every page the app renders).
LISTS_KNOWN = 256


def encode(items: list[MediaItem] | tuple[MediaItem, ...]) -> bytes:
    """The JSON of a list, the same bytes for the same items (what its key is the hash of)."""
    return json.dumps([item.to_dict() for item in items], separators=(",", ":")).encode()


def decode(blob: bytes | str) -> tuple[MediaItem, ...]:
    return tuple(MediaItem.from_dict(item) for item in json.loads(blob))


class ItemLists:
    """This process's decoded lists by key, least recently used dropped first."""

    def __init__(self, max_items: int = ITEMS_CACHED) -> None:
        self._max_items = max_items
        self._lists: collections.OrderedDict[str, tuple[MediaItem, ...]] = collections.OrderedDict()
        self._count = 0
        #: id() of a list -> the key of its items when it was last encoded; checked item by
        #: item before use, so an id reused by another list costs nothing but the check.
        self._by_list: collections.OrderedDict[int, str] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[MediaItem, ...] | None:
        with self._lock:
            found = self._lists.get(key)
            if found is not None:
                self._lists.move_to_end(key)
            return found

    def put(self, key: str, items: tuple[MediaItem, ...]) -> None:
        with self._lock:
            if key in self._lists:
                self._lists.move_to_end(key)
                return
            self._lists[key] = items
            self._count += len(items)
            while self._count > self._max_items and len(self._lists) > 1:
                _, old = self._lists.popitem(last=False)
                self._count -= len(old)

    def key_of(self, gallery: GalleryState) -> tuple[str, bytes | None]:
        """The key of the gallery's items, and their JSON when this process has not seen the
        list in Redis (None: most likely there already; the store sends it if Redis says not).
        Items that are the very objects of a list this process loaded or saved (the gallery's
        own as loaded, or a fixed value every page shows) are not encoded again."""
        with self._lock:
            remembered = self._by_list.get(id(gallery.items))
        for key in (gallery.items_key, remembered):
            known = self.get(key) if key is not None else None
            if key is not None and known is not None and _same(gallery.items, known):
                gallery.items_key = key
                return key, None
        blob = encode(gallery.items)
        key = hashlib.sha256(blob).hexdigest()
        seen = self.get(key) is not None
        self.put(key, tuple(gallery.items))
        with self._lock:
            self._by_list[id(gallery.items)] = key
            self._by_list.move_to_end(id(gallery.items))
            if len(self._by_list) > LISTS_KNOWN:
                self._by_list.popitem(last=False)
        gallery.items_key = key
        return key, None if seen else blob


def _same(items: list[MediaItem], known: tuple[MediaItem, ...]) -> bool:
    """Whether ``items`` are ``known``'s objects, in order (frozen, so the same JSON)."""
    return len(items) == len(known) and all(map(operator.is_, items, known))
