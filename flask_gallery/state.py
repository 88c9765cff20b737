"""Per-page gallery state: what each rendered page's galleries hold now.

A page gets a random token when it is rendered; every later request of that page names it. The
state of each (page, gallery) (its items, selection, whether the preview is open, the template's
overrides) lives here, bounded in count and idle time, so a crowd of abandoned tabs cannot grow
memory without end. No Flask in this module: the views pass plain values in, and a Redis store
can implement the same :class:`PageStore` protocol with the JSON form of :class:`PageState`.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import secrets
import threading
import time
import typing as t

from .media import MediaItem


@dataclasses.dataclass
class GalleryState:
    """One gallery on one page."""

    items: list[MediaItem]
    selected: int | None = None
    preview_open: bool = False
    #: The template call's overrides (and later ``gallery.update`` changes), re-applied at
    #: every re-render so a swapped fragment looks like the one the page was rendered with.
    overrides: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    #: Bumped on every change, so a request made against an older version can be recognised.
    version: int = 0

    def to_dict(self) -> dict[str, t.Any]:
        return {
            "items": [item.to_dict() for item in self.items],
            "selected": self.selected,
            "preview_open": self.preview_open,
            "overrides": self.overrides,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: t.Mapping[str, t.Any]) -> GalleryState:
        return cls(
            items=[MediaItem.from_dict(item) for item in data["items"]],
            selected=data["selected"],
            preview_open=data["preview_open"],
            overrides=dict(data["overrides"]),
            version=data["version"],
        )


@dataclasses.dataclass
class PageState:
    """A rendered page: its token, the session it belongs to, and its galleries."""

    token: str
    session_id: str
    galleries: dict[str, GalleryState] = dataclasses.field(default_factory=dict)
    #: The rendered page's URL path, for the snapshot handlers receive as ``flask.request``.
    path: str = "/"
    #: The sequence number of the last channel message sent to the page (a reconnect resumes
    #: after it).
    delivered: int = 0

    def to_dict(self) -> dict[str, t.Any]:
        return {
            "token": self.token,
            "session_id": self.session_id,
            "galleries": {name: g.to_dict() for name, g in self.galleries.items()},
            "path": self.path,
            "delivered": self.delivered,
        }

    @classmethod
    def from_dict(cls, data: t.Mapping[str, t.Any]) -> PageState:
        return cls(
            token=data["token"],
            session_id=data["session_id"],
            galleries={n: GalleryState.from_dict(g) for n, g in data["galleries"].items()},
            path=data.get("path", "/"),
            delivered=data.get("delivered", 0),
        )


class PageStore(t.Protocol):
    """Where page state lives: in memory by default, in Redis for several processes."""

    def create(self, session_id: str, path: str = "/") -> PageState: ...

    def get(self, token: str) -> PageState | None: ...

    def save(self, page: PageState) -> None: ...

    def edit(self, token: str) -> t.ContextManager[PageState | None]: ...

    def discard(self, token: str) -> None: ...

    def live_pages(self) -> list[PageState]:
        """Every page kept now (the media sweeper keeps what they show)."""
        ...


def new_token() -> str:
    """128 random bits, URL safe: unguessable, so a token is also the page's CSRF secret."""
    return secrets.token_urlsafe(16)


class MemoryPageStore:
    """Page state in this process, least recently used first out, idle pages expire.

    :param ttl: seconds a page may stay untouched before it expires.
    :param max_pages: how many pages are kept at most; the least recently used go first.
    """

    def __init__(
        self,
        *,
        ttl: float = 3600.0,
        max_pages: int = 10_000,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_pages = max_pages
        self._clock = clock
        self._pages: collections.OrderedDict[str, tuple[float, PageState]] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()
        self._page_locks: dict[str, threading.Lock] = {}

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._pages)

    def create(self, session_id: str, path: str = "/") -> PageState:
        page = PageState(token=new_token(), session_id=session_id, path=path)
        self.save(page)
        return page

    def get(self, token: str) -> PageState | None:
        with self._lock:
            self._expire()
            entry = self._pages.get(token)
            if entry is None:
                return None
            self._pages[token] = (self._clock(), entry[1])
            self._pages.move_to_end(token)
            return entry[1]

    def save(self, page: PageState) -> None:
        with self._lock:
            self._pages[page.token] = (self._clock(), page)
            self._pages.move_to_end(page.token)
            self._page_locks.setdefault(page.token, threading.Lock())
            while len(self._pages) > self.max_pages:
                token, _ = self._pages.popitem(last=False)
                self._page_locks.pop(token, None)

    @contextlib.contextmanager
    def edit(self, token: str) -> t.Iterator[PageState | None]:
        """Hold the page's own lock while a request changes it: a select and an upload on the
        same page never interleave, while other pages go on in parallel."""
        with self._lock:
            lock = self._page_locks.get(token)
        if lock is None:
            yield None
            return
        with lock:
            page = self.get(token)
            yield page
            if page is not None:
                self.save(page)

    def discard(self, token: str) -> None:
        with self._lock:
            self._pages.pop(token, None)
            self._page_locks.pop(token, None)

    def live_pages(self) -> list[PageState]:
        with self._lock:
            self._expire()
            return [page for _, page in self._pages.values()]

    def _expire(self) -> None:
        deadline = self._clock() - self.ttl
        while self._pages:
            token, (touched, _) = next(iter(self._pages.items()))
            if touched > deadline:
                break
            self._pages.popitem(last=False)
            self._page_locks.pop(token, None)
