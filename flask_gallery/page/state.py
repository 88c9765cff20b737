"""Per-page gallery state: what each rendered page's galleries hold now.

A page gets a random token when it is rendered; every later request of that page names it. The
state of each (page, gallery) (its items, selection, whether the preview is open, the template's
overrides) lives here, bounded in count and idle time, so a crowd of abandoned tabs cannot grow
memory without end. No Flask in this module: the views pass plain values in, and a Redis store
can implement the same :class:`PageStore` protocol with the JSON form of :class:`PageState`.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import dataclasses
import itertools
import os
import pickle
import secrets
import string
import threading
import time
import typing as t

from ..media import MediaItem


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
    #: The events a deep link to the preview fired when the page was rendered (``preview_open``,
    #: ``select``), submitted once the page connects (:mod:`.deep_link`).
    linked: list[str] = dataclasses.field(default_factory=list)
    #: A multi-select gallery's selected indices, sorted (``selection_mode="multiple"``); a
    #: single-select gallery's selection is ``selected`` alone.
    selection: list[int] = dataclasses.field(default_factory=list)
    #: Where a Shift-click range starts: the item last clicked or toggled.
    anchor: int | None = None
    #: The content key of ``items`` in a store outside the process (Redis) as last read or
    #: written, so saving the page with the same items does not send them again. The store's
    #: bookkeeping, not the gallery's state: never compared, never serialised.
    items_key: str | None = dataclasses.field(default=None, compare=False, repr=False)

    def to_dict(self, *, items: bool = True) -> dict[str, t.Any]:
        """JSON-safe; without ``items``, everything but the item list (a store that keeps the
        list under its own key)."""
        data: dict[str, t.Any] = {
            "selected": self.selected,
            "preview_open": self.preview_open,
            "overrides": self.overrides,
            "version": self.version,
            "linked": self.linked,
            "selection": self.selection,
            "anchor": self.anchor,
        }
        if items:
            data["items"] = [item.to_dict() for item in self.items]
        return data

    @classmethod
    def from_dict(
        cls, data: t.Mapping[str, t.Any], items: list[MediaItem] | None = None
    ) -> GalleryState:
        """The inverse of :meth:`to_dict`; ``items`` when the list was kept apart."""
        return cls(
            items=[MediaItem.from_dict(i) for i in data["items"]] if items is None else items,
            selected=data["selected"],
            preview_open=data["preview_open"],
            overrides=dict(data["overrides"]),
            version=data["version"],
            linked=list(data.get("linked", ())),
            selection=list(data.get("selection", ())),
            anchor=data.get("anchor"),
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
    #: The page's ``State`` values by name, made from their defaults at first use.
    states: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    #: Whether its ``load`` listeners ran (they run once per page).
    loaded: bool = False

    def to_dict(self, *, items: bool = True) -> dict[str, t.Any]:
        """JSON-safe; without ``items``, the galleries' item lists left out (see
        :meth:`GalleryState.to_dict`)."""
        data = {
            "token": self.token,
            "session_id": self.session_id,
            "galleries": {name: g.to_dict(items=items) for name, g in self.galleries.items()},
            "path": self.path,
            "delivered": self.delivered,
            "loaded": self.loaded,
        }
        if self.states:
            # Any Python value, as Gradio's State: pickled (the store is the server's own Redis).
            data["states"] = base64.b64encode(pickle.dumps(self.states)).decode("ascii")
        return data

    @classmethod
    def from_dict(
        cls, data: t.Mapping[str, t.Any], items: t.Mapping[str, list[MediaItem]] | None = None
    ) -> PageState:
        """The inverse of :meth:`to_dict`; ``items``: the item lists kept apart, by gallery."""
        states = data.get("states")
        kept = items or {}
        return cls(
            token=data["token"],
            session_id=data["session_id"],
            galleries={
                n: GalleryState.from_dict(g, kept.get(n)) for n, g in data["galleries"].items()
            },
            path=data.get("path", "/"),
            delivered=data.get("delivered", 0),
            states=pickle.loads(base64.b64decode(states)) if states else {},
            loaded=data.get("loaded", False),
        )


class PageStore(t.Protocol):
    """Where page state lives: in memory by default, in Redis for several processes."""

    def create(self, session_id: str, path: str = "/") -> PageState: ...

    def get(self, token: str) -> PageState | None:
        """The page, for a request the page made (a click, a poll, its socket): keeps its slot."""

    def session_of(self, token: str) -> str | None:
        """The session of the page, for a request the page made (it keeps its slot), without
        loading the page: ``None`` when it is not kept."""

    def peek(self, token: str) -> PageState | None:
        """The page, for the server's own use (a handler reading or writing its outputs): not
        the page's activity, so its slot is not refreshed."""

    def save(self, page: PageState) -> None: ...

    def edit(self, token: str, *, touch: bool = True) -> t.ContextManager[PageState | None]: ...

    def discard(self, token: str) -> None: ...

    def mark_delivered(self, token: str, seq: int) -> None:
        """The page has been sent the channel's messages up to ``seq`` (its reconnect resumes
        after it)."""

    def connect(self, token: str) -> bool:
        """The page's socket opened: the page counts as active until :meth:`disconnect` (calls
        are counted). False when the page is not kept."""

    def disconnect(self, token: str) -> None:
        """One of the page's sockets closed."""

    def live_pages(self) -> list[PageState]:
        """Every page kept now (the media sweeper keeps what they show)."""


def check_limits(**limits: int) -> None:
    """A store must keep at least one page, per session too."""
    for name, value in limits.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name!r} must be an int >= 1 (pages kept), got {value!r}.")


#: Characters of the tag a page token starts with: which process made it (:func:`process_tag`).
TAG_LENGTH = 8
#: Characters of a token's random part: 128 bits, URL-safe base64.
_RANDOM_LENGTH = 22
_URL_SAFE = frozenset(string.ascii_letters + string.digits + "-_")


def _new_tag() -> str:
    return secrets.token_urlsafe(6)  # 48 random bits, 8 characters


#: This process's tag, random at every start and drawn again in a forked child (gunicorn's
#: workers, also when the app was loaded before the fork), so no two processes share one.
_tag = _new_tag()


def _forked() -> None:
    global _tag
    _tag = _new_tag()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_forked)


def process_tag() -> str:
    """The tag of this process: random, so it says which process made a token and nothing else
    (never a pid)."""
    return _tag


def new_token() -> str:
    """This process's tag, then 128 random bits, URL safe: unguessable, so a token is also the
    page's CSRF secret, and a process that does not hold a page can tell whether another process
    made it (:func:`token_tag`)."""
    return _tag + secrets.token_urlsafe(16)


def token_tag(token: str) -> str | None:
    """The tag of the process that made ``token``, or None when it is not shaped as
    :func:`new_token` makes them (made up, or made before tokens carried a tag)."""
    if len(token) != TAG_LENGTH + _RANDOM_LENGTH or not _URL_SAFE.issuperset(token):
        return None
    return token[:TAG_LENGTH]


#: A page's standing when the store must drop one: lowest first.
_FRESH, _ACTIVE, _CONNECTED = 0, 1, 2


class _Entry:
    __slots__ = ("page", "sockets", "tier", "touched")

    def __init__(self, page: PageState, touched: float) -> None:
        self.page = page
        self.touched = touched
        self.tier = _FRESH
        self.sockets = 0


class MemoryPageStore:
    """Page state in this process, bounded in count, per session and in idle time.

    When it must drop a page, a page nobody uses goes first: one rendered but never clicked,
    polled or connected (what a crawler or a flood of page loads leaves), then the one idle the
    longest; a page with an open socket is active for as long as it stays open, and goes last.
    So a flood of page loads, even from many sessions, evicts its own pages, not the pages of
    people using theirs. Each session keeps at most ``max_pages_per_session`` pages, its least
    recently used unconnected page dropped first. Every operation is O(1) (a session's cap
    skips its connected pages, a handful at most).

    :param ttl: seconds a page may stay untouched (no request, no open socket) before it expires.
    :param max_pages: how many pages are kept at most.
    :param max_pages_per_session: how many pages one session keeps at most.
    :param on_drop: called with the token of every page dropped (expired, evicted, over its
        session's cap, discarded), outside the store's lock.
    """

    def __init__(
        self,
        *,
        ttl: float = 3600.0,
        max_pages: int = 10_000,
        max_pages_per_session: int = 50,
        on_drop: t.Callable[[str], None] | None = None,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        check_limits(max_pages=max_pages, max_pages_per_session=max_pages_per_session)
        self.ttl = ttl
        self.max_pages = max_pages
        self.max_pages_per_session = max_pages_per_session
        self._on_drop = on_drop
        self._clock = clock
        #: Every page by token, in three queues by standing, least recently used first.
        self._entries: dict[str, _Entry] = {}
        self._tiers: tuple[collections.OrderedDict[str, _Entry], ...] = (
            collections.OrderedDict(),
            collections.OrderedDict(),
            collections.OrderedDict(),
        )
        #: The queues whose pages expire when idle (a connected page is never idle).
        self._idle_tiers = self._tiers[:_CONNECTED]
        #: Each session's tokens, least recently used first.
        self._sessions: dict[str, collections.OrderedDict[str, None]] = {}
        self._lock = threading.Lock()
        self._page_locks: dict[str, threading.Lock] = {}

    def __len__(self) -> int:
        dropped: list[str] = []
        with self._lock:
            self._expire(dropped)
            count = len(self._entries)
        self._report(dropped)
        return count

    def create(self, session_id: str, path: str = "/") -> PageState:
        page = PageState(token=new_token(), session_id=session_id, path=path)
        self.save(page)
        return page

    def get(self, token: str) -> PageState | None:
        dropped: list[str] = []
        with self._lock:
            self._expire(dropped)
            entry = self._entries.get(token)
            if entry is not None:
                self._touch(entry, _ACTIVE)
        self._report(dropped)
        return None if entry is None else entry.page

    def session_of(self, token: str) -> str | None:
        page = self.get(token)
        return None if page is None else page.session_id

    def peek(self, token: str) -> PageState | None:
        dropped: list[str] = []
        with self._lock:
            self._expire(dropped)
            entry = self._entries.get(token)
        self._report(dropped)
        return None if entry is None else entry.page

    def save(self, page: PageState) -> None:
        """Keep ``page`` (a new one, or one rendered again), without counting it as used."""
        dropped: list[str] = []
        with self._lock:
            entry = self._entries.get(page.token)
            if entry is not None:
                entry.page = page
                self._touch(entry, entry.tier)
            else:
                self._add(page, dropped)
        self._report(dropped)

    @contextlib.contextmanager
    def edit(self, token: str, *, touch: bool = True) -> t.Iterator[PageState | None]:
        """Hold the page's own lock while a request changes it: a select and an upload on the
        same page never interleave, while other pages go on in parallel. ``touch=False`` for
        the server's own changes (a handler's outputs), which do not keep the page's slot."""
        with self._lock:
            lock = self._page_locks.get(token)
        if lock is None:
            yield None
            return
        with lock:
            yield self.get(token) if touch else self.peek(token)

    def discard(self, token: str) -> None:
        dropped: list[str] = []
        with self._lock:
            if token in self._entries:
                self._drop(token, dropped)
        self._report(dropped)

    def mark_delivered(self, token: str, seq: int) -> None:
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None:
                entry.page.delivered = max(entry.page.delivered, seq)

    def connect(self, token: str) -> bool:
        dropped: list[str] = []
        with self._lock:
            self._expire(dropped)
            entry = self._entries.get(token)
            if entry is not None:
                entry.sockets += 1
                self._touch(entry, _CONNECTED)
        self._report(dropped)
        return entry is not None

    def disconnect(self, token: str) -> None:
        with self._lock:
            entry = self._entries.get(token)
            if entry is None or entry.sockets == 0:
                return
            entry.sockets -= 1
            if entry.sockets == 0:  # its idle time starts now
                self._touch(entry, _ACTIVE)

    def live_pages(self) -> list[PageState]:
        dropped: list[str] = []
        with self._lock:
            self._expire(dropped)
            pages = [entry.page for entry in self._entries.values()]
        self._report(dropped)
        return pages

    def _report(self, dropped: list[str]) -> None:
        """Tell ``on_drop`` of the pages dropped, once the store's lock is released (the
        callback may take other locks, or read the store)."""
        if self._on_drop is not None:
            for token in dropped:
                self._on_drop(token)

    def _add(self, page: PageState, dropped: list[str]) -> None:
        """Keep a new page, then drop what its session's cap and the store's cap leave over."""
        self._expire(dropped)
        entry = self._entries[page.token] = _Entry(page, self._clock())
        self._tiers[_FRESH][page.token] = entry
        session = self._sessions.setdefault(page.session_id, collections.OrderedDict())
        session[page.token] = None
        self._page_locks[page.token] = threading.Lock()
        if len(session) > self.max_pages_per_session:
            self._drop(self._session_victim(session, page.token), dropped)
        while len(self._entries) > self.max_pages:
            self._drop(self._victim(page.token), dropped)

    def _touch(self, entry: _Entry, tier: int) -> None:
        """Mark the page used now, standing ``tier`` (a connected page stays connected)."""
        token = entry.page.token
        if entry.sockets:
            tier = _CONNECTED
        if tier != entry.tier:
            del self._tiers[entry.tier][token]
            entry.tier = tier
            self._tiers[tier][token] = entry
        else:
            self._tiers[tier].move_to_end(token)
        entry.touched = self._clock()
        self._sessions[entry.page.session_id].move_to_end(token)

    def _victim(self, keep: str) -> str:
        """The page the store drops first: the least recently used of the lowest standing,
        never ``keep`` (the page being added)."""
        for tier in self._tiers:
            for token in itertools.islice(tier, 2):
                if token != keep:
                    return token
        raise AssertionError("a store over its limit holds another page")

    def _session_victim(self, session: t.Mapping[str, None], keep: str) -> str:
        """The session's least recently used page without an open socket (its oldest if all
        have one), never ``keep``."""
        oldest = None
        for token in session:
            if token == keep:
                continue
            if not self._entries[token].sockets:
                return token
            oldest = oldest or token
        assert oldest is not None, "a session over its limit holds another page"
        return oldest

    def _drop(self, token: str, dropped: list[str]) -> None:
        entry = self._entries.pop(token)
        del self._tiers[entry.tier][token]
        session = self._sessions[entry.page.session_id]
        del session[token]
        if not session:
            del self._sessions[entry.page.session_id]
        self._page_locks.pop(token, None)
        dropped.append(token)

    def _expire(self, dropped: list[str]) -> None:
        """Drop the pages idle longer than the TTL: the oldest of each queue but the connected
        one (a page is idle only without a socket), in order, so this costs what it drops."""
        deadline = self._clock() - self.ttl
        for tier in self._idle_tiers:
            while tier:
                token, entry = next(iter(tier.items()))
                if entry.touched > deadline:
                    break
                self._drop(token, dropped)
