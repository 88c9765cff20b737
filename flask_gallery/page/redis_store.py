"""Page state in Redis, for several processes or hosts (``GALLERY_QUEUE_URL``).

The same :class:`.state.PageStore` contract as :class:`.state.MemoryPageStore`: bounded in
count, per session and in idle time, pages nobody uses dropped first, a page with an open socket
last, so a click, an upload or a poll may reach any process. Each decision is one Lua script
(``queue/lua/pages_*.lua``). ``edit`` holds a lock in Redis, so two processes never change one
page at once; what the block changed is written back when it ends. A gallery's item list is
kept once per value under its own key (:mod:`.redis_items`): a click on a 10,000-item gallery
sends and reads the page's small document, not its items.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import typing as t

import redis

from ..media import MediaItem
from ..queue.jobs import unique_id
from ..queue.redis_client import script
from .redis_items import ItemLists, decode, encode
from .state import PageState, check_limits, new_token

_log = logging.getLogger(__name__)

#: Seconds a page's edit lock lasts if its holder dies holding it.
LOCK_TTL = 30.0
#: Seconds ``edit`` waits for another process's edit of the same page.
LOCK_WAIT = 30.0
#: Pages whose session this process keeps (see :meth:`RedisPageStore.session_of`).
SESSIONS_KEPT = 4096
#: Times a page is loaded again when an item list it named went meanwhile (the page was saved
#: with other items, or dropped, between reading it and its lists), or saved again when Redis
#: lacked a list the save did not send.
ATTEMPTS = 3

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisPageStore:
    """:class:`.state.PageStore` in Redis; see the module doc and :class:`.state.MemoryPageStore`
    for the parameters."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        *,
        ttl: float = 3600.0,
        max_pages: int = 10_000,
        max_pages_per_session: int = 50,
        on_drop: t.Callable[[str], None] | None = None,
        clock: t.Callable[[], float] = time.time,
    ) -> None:
        check_limits(max_pages=max_pages, max_pages_per_session=max_pages_per_session)
        self._client = client
        self._prefix = prefix
        self.ttl = ttl
        self.max_pages = max_pages
        self.max_pages_per_session = max_pages_per_session
        self._on_drop = on_drop
        self._clock = clock
        self._scripts = {
            name: script(client, f"pages_{name}", "pages")
            for name in ("create", "get", "socket", "mark", "session")
        }
        self._unlock = client.register_script(_UNLOCK)
        self._sessions: dict[str, str] = {}
        self._items = ItemLists()
        #: Guards the sessions kept and the locks left (both changed by any thread).
        self._lock = threading.Lock()
        #: Edit locks (page, lock value) whose release Redis missed (it was away): released at
        #: the next call that reaches it, not left to block their pages until they expire.
        self._left_locked: set[tuple[str, str]] = set()

    def _call(self, name: str, *rest: t.Any) -> list[t.Any]:
        if self._left_locked:
            self._release_left()
        reply = self._scripts[name](
            args=[self._prefix, repr(float(self._clock())), self.ttl, *rest]
        )
        return t.cast("list[t.Any]", reply)

    def _report(self, dropped: t.Iterable[bytes | str]) -> None:
        if self._on_drop is not None:
            for token in dropped:
                self._on_drop(token.decode() if isinstance(token, bytes) else token)

    def __len__(self) -> int:
        return int(self._client.hlen(self._prefix + "ptier"))

    def create(self, session_id: str, path: str = "/") -> PageState:
        page = PageState(token=new_token(), session_id=session_id, path=path)
        self.save(page)
        return page

    def save(self, page: PageState) -> None:
        """Keep ``page`` (a new one, or one rendered again), without counting it as used."""
        self._save(page, "")

    def _save(self, page: PageState, lock: str) -> None:
        data = page.to_dict(items=False)
        lists: dict[str, list[MediaItem]] = {}
        given: dict[str, bytes] = {}
        for name, gallery in page.galleries.items():
            if not gallery.items:
                data["galleries"][name]["items"] = []
                continue
            key, blob = self._items.key_of(gallery)
            data["galleries"][name]["items_key"] = key
            lists[key] = gallery.items
            if blob is not None:
                given[key] = blob
        body = json.dumps(data, separators=(",", ":"))
        keys = " ".join(sorted(lists))
        for _ in range(ATTEMPTS):
            pairs = [part for pair in given.items() for part in pair]
            n, *rest = self._call(
                "create",
                page.token,
                page.session_id,
                body,
                self.max_pages,
                self.max_pages_per_session,
                lock,
                keys,
                *pairs,
            )
            self._report(rest[n:])
            if not n:
                return
            for raw in rest[:n]:  # lists this process took for known, gone from Redis
                key = raw.decode()
                given[key] = encode(lists[key])
        raise RuntimeError(f"Page {page.token[:8]}...: Redis kept refusing its item lists.")

    def _load(
        self, token: str, *, touch: bool, lock: str = ""
    ) -> PageState | t.Literal[False] | None:
        """The page (None: not kept); with ``lock``, False when another edit holds it."""
        for _ in range(ATTEMPTS):
            reply = self._call("get", token, "1" if touch else "0", lock, int(LOCK_TTL * 1000))
            if reply[0] == b"locked":
                return False
            body, delivered, *dropped = reply
            self._report(dropped)
            if not body:
                return None
            page = self._page(body)
            if page is not None:
                page.delivered = max(page.delivered, int(delivered))
                return page
        _log.warning("Page %s... kept naming item lists Redis no longer has.", token[:8])
        return None

    def _page(self, body: bytes | str) -> PageState | None:
        """The page of a document (None: an item list it names went since it was read)."""
        return self._pages([body])[0]

    def _pages(self, bodies: list[bytes | str]) -> list[PageState | None]:
        """The pages of documents, their item lists from this process's cache, the others
        read from Redis in one call (None for a page that names a list gone meanwhile)."""
        documents = [json.loads(body) for body in bodies]
        named = [
            {name: g["items_key"] for name, g in data["galleries"].items() if "items_key" in g}
            for data in documents
        ]
        found = {key: self._items.get(key) for keys in named for key in keys.values()}
        unread = [key for key, items in found.items() if items is None]
        if unread:
            blobs = self._client.mget([f"{self._prefix}items:{key}" for key in unread])
            for key, blob in zip(unread, blobs, strict=True):
                if blob is not None:
                    items = found[key] = decode(blob)
                    self._items.put(key, items)
        pages: list[PageState | None] = []
        for data, keys in zip(documents, named, strict=True):
            lists = {name: found[key] for name, key in keys.items()}
            if any(items is None for items in lists.values()):
                pages.append(None)
                continue
            page = PageState.from_dict(
                data, {n: list(t.cast("tuple[MediaItem, ...]", i)) for n, i in lists.items()}
            )
            for name, key in keys.items():
                page.galleries[name].items_key = key
            pages.append(page)
        return pages

    def get(self, token: str) -> PageState | None:
        return t.cast("PageState | None", self._load(token, touch=True))

    def session_of(self, token: str) -> str | None:
        """The session that owns ``token``. A page's session never changes, so it is kept here
        once read: a click's early check costs no round trip (a page dropped meanwhile is found
        gone when the click loads it)."""
        known = self._sessions.get(token)
        if known is not None:
            return known
        session, *dropped = self._call("session", token)
        self._report(dropped)
        if not session:
            return None
        with self._lock:
            if len(self._sessions) >= SESSIONS_KEPT:
                del self._sessions[next(iter(self._sessions))]  # the oldest first
            owner: str = session.decode()
            self._sessions[token] = owner
        return owner

    def peek(self, token: str) -> PageState | None:
        return t.cast("PageState | None", self._load(token, touch=False))

    @contextlib.contextmanager
    def edit(self, token: str, *, touch: bool = True) -> t.Iterator[PageState | None]:
        """Hold the page's lock (in Redis: across processes) while a request changes it; the
        page is written back, and the lock released, in one call when the block ends."""
        mine = unique_id()
        deadline = time.monotonic() + LOCK_WAIT
        pause = 0.001
        while True:
            try:
                loaded = self._load(token, touch=touch, lock=mine)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                self._left(token, mine)  # the lock may have been taken, its reply lost
                raise
            if loaded is not False:
                break
            if time.monotonic() > deadline:  # answered as Redis out of reach: 503, try again
                raise redis.exceptions.TimeoutError(
                    f"Page {token[:8]}... stayed locked for {LOCK_WAIT:g} s."
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.02)
        page: PageState | None = loaded
        done = False
        try:
            yield page
            done = True
        finally:
            try:
                if done and page is not None:
                    self._save(page, mine)  # written back and unlocked in one step
                else:
                    self._unlock(keys=[f"{self._prefix}plock:{token}"], args=[mine])
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                self._left(token, mine)
                raise

    def _left(self, token: str, mine: str) -> None:
        with self._lock:
            self._left_locked.add((token, mine))

    def _release_left(self) -> None:
        with self._lock:
            left, self._left_locked = list(self._left_locked), set()
        for n, (token, mine) in enumerate(left):
            try:
                self._unlock(keys=[f"{self._prefix}plock:{token}"], args=[mine])
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                with self._lock:  # still away: kept for the next call
                    self._left_locked.update(left[n:])
                raise

    def discard(self, token: str) -> None:
        self._report(self._call("mark", token, ""))

    def mark_delivered(self, token: str, seq: int) -> None:
        """A hint for a reconnect that lost its own mark: skipped while Redis is out of reach,
        so the page's socket stays open through a short outage."""
        try:
            self._report(self._call("mark", token, seq))
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            _log.info("Page %s... could not be marked as delivered: %s", token[:8], exc)

    def connect(self, token: str) -> bool:
        kept, *dropped = self._call("socket", token, 1)
        self._report(dropped)
        return bool(kept)

    def disconnect(self, token: str) -> None:
        self._call("socket", token, -1)

    def live_pages(self) -> list[PageState]:
        count, *reply = self._call("mark", "", "")
        self._report(reply[count:])
        tokens = [raw.decode() for raw in reply[:count]]
        pages: list[PageState] = []
        for start in range(0, len(tokens), 500):
            chunk = tokens[start : start + 500]
            bodies = self._client.mget([f"{self._prefix}pg:{token}" for token in chunk])
            found = self._pages([body for body in bodies if body])
            pages += [page for page in found if page is not None]
        return pages
