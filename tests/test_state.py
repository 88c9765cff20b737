"""Per-page state: bounded in count, per session and in idle time, pages in use kept over idle
ones, one lock per page, plain-data round trip; page tokens that say which process made them."""

from __future__ import annotations

import os
import secrets
import string
import threading
import typing as t
import warnings

import pytest

from flask_gallery.media import MediaItem
from flask_gallery.page.state import (
    TAG_LENGTH,
    GalleryState,
    MemoryPageStore,
    PageState,
    new_token,
    process_tag,
    token_tag,
)

URL_SAFE = set(string.ascii_letters + string.digits + "-_")

#: Which store ``make_store`` builds: set per test by :func:`both_stores`.
KIND: dict[str, str | None] = {"redis_url": None}
MADE: list[t.Any] = []


@pytest.fixture(autouse=True, params=["memory", "redis"])
def both_stores(request: pytest.FixtureRequest) -> t.Iterator[str]:
    """Every test runs on both stores (the Redis one on a real redis-server), so they cannot
    drift apart."""
    KIND["redis_url"] = request.getfixturevalue("redis_url") if request.param == "redis" else None
    yield request.param
    KIND["redis_url"] = None


def make_store(**options: t.Any) -> t.Any:
    """A page store of the kind under test, with MemoryPageStore's options."""
    url = KIND["redis_url"]
    if url is None:
        return MemoryPageStore(**options)
    from flask_gallery.page.redis_store import RedisPageStore
    from flask_gallery.queue.redis_client import connect

    return RedisPageStore(connect(url), "test:", **options)


def test_pages_expire_after_their_ttl_of_idleness() -> None:
    now = [0.0]
    store = make_store(ttl=10, max_pages=100, clock=lambda: now[0])
    kept, idle = store.create("s1"), store.create("s1")
    now[0] = 8
    assert store.get(kept.token) == kept  # touching it restarts its clock
    now[0] = 12
    assert store.get(idle.token) is None and store.get(kept.token) == kept
    now[0] = 30
    assert store.get(kept.token) is None and len(store) == 0


def test_live_pages_are_those_not_expired_nor_evicted() -> None:
    """What the media sweeper keeps: every page still kept, none that expired."""
    now = [0.0]
    store = make_store(ttl=10, max_pages=2, clock=lambda: now[0])
    evicted, idle = store.create("s"), store.create("s")
    now[0] = 8
    kept = store.create("s")
    assert evicted not in store.live_pages()
    assert store.live_pages() == [idle, kept]
    now[0] = 12
    assert store.live_pages() == [kept]


def test_the_least_recently_used_page_goes_first_when_full() -> None:
    store = make_store(ttl=3600, max_pages=2)
    a, b = store.create("s"), store.create("s")
    store.get(a.token)
    c = store.create("s")
    assert store.get(b.token) is None
    assert store.get(a.token) == a and store.get(c.token) == c


def test_tokens_are_random_and_unique() -> None:
    store = make_store()
    tokens = {store.create("s").token for _ in range(200)}
    assert len(tokens) == 200 and all(len(t) >= 20 for t in tokens)


def test_edits_of_one_page_never_interleave() -> None:
    store = make_store()
    page = store.create("s")
    page.galleries["g"] = GalleryState(items=[])
    inside, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        with store.edit(page.token) as p:
            assert p is not None
            order.append("first in")
            inside.set()
            release.wait(5)
            order.append("first out")

    def second() -> None:
        with store.edit(page.token):
            order.append("second in")

    a = threading.Thread(target=first)
    a.start()
    assert inside.wait(5)
    b = threading.Thread(target=second)
    b.start()
    b.join(0.2)
    assert b.is_alive()  # waits for the first edit
    release.set()
    a.join(5)
    b.join(5)
    assert order == ["first in", "first out", "second in"]
    with store.edit("unknown") as missing:
        assert missing is None


def test_page_state_round_trips_as_plain_data() -> None:
    item = MediaItem(id="k-m", kind="image", caption="c", width=3, height=2, thumbnail_widths=(2,))
    page = PageState(
        token="t",
        session_id="s",
        galleries={"g": GalleryState([item], selected=0, preview_open=True, overrides={"a": 1})},
        path="/x",
        delivered=7,
    )
    again = PageState.from_dict(page.to_dict())
    assert again == page


class Clock:
    """A fake monotonic clock the tests move by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def store_with(**options: t.Any) -> tuple[t.Any, Clock, list[str]]:
    """A store on a fake clock, and the tokens its ``on_drop`` was called with, in order."""
    clock, dropped = Clock(), []
    store = make_store(clock=clock, on_drop=dropped.append, **options)
    return store, clock, dropped


def kept(store: t.Any, *pages: PageState) -> list[bool]:
    return [store.peek(page.token) == page for page in pages]


def test_a_flood_of_page_loads_evicts_its_own_pages_not_pages_in_use() -> None:
    store, _, dropped = store_with(max_pages=3)
    clicked, connected = store.create("alice"), store.create("bob")
    store.get(clicked.token)  # a click (or a poll) of the page
    assert store.connect(connected.token)  # its socket opened
    flood = [store.create(f"anonymous {i}") for i in range(50)]
    assert kept(store, clicked, connected) == [True, True]
    assert dropped == [page.token for page in flood[:-1]]  # each new load dropped the last one
    assert kept(store, flood[-1]) == [True]  # the page just loaded is never the one dropped


def test_of_pages_in_use_the_one_idle_the_longest_goes_first_and_connected_ones_last() -> None:
    store, clock, dropped = store_with(max_pages=3)
    old, recent, connected = (store.create(s) for s in ("a", "b", "c"))
    assert store.connect(connected.token)
    clock.now = 1
    store.get(old.token)
    clock.now = 2
    store.get(recent.token)
    clock.now = 3
    store.get(connected.token)  # its clicks are the newest, yet it is kept over idle ones
    newcomer = store.create("d")
    assert dropped == [old.token]
    store.get(newcomer.token)
    store.create("e")
    assert dropped == [old.token, recent.token]
    assert kept(store, connected) == [True]


def test_connected_pages_are_dropped_only_when_nothing_else_can_be() -> None:
    store, _, dropped = store_with(max_pages=2)
    first, second = store.create("a"), store.create("b")
    assert store.connect(first.token) and store.connect(second.token)
    third = store.create("c")
    assert dropped == [first.token]  # the oldest connected page, never the page being made
    assert kept(store, second, third) == [True, True]


def test_a_session_keeps_its_newest_pages_and_other_sessions_keep_theirs() -> None:
    store, clock, dropped = store_with(max_pages=100, max_pages_per_session=3)
    other = store.create("other")
    first, second, third = (store.create("one") for _ in range(3))
    clock.now = 1
    store.get(first.token)  # used again: now the session's most recent
    fourth = store.create("one")
    assert dropped == [second.token]
    assert kept(store, other, first, third, fourth) == [True, True, True, True]


def test_a_session_over_its_cap_drops_its_unconnected_pages_first() -> None:
    store, _, dropped = store_with(max_pages=100, max_pages_per_session=2)
    connected, idle = store.create("s"), store.create("s")
    assert store.connect(connected.token)
    store.create("s")
    assert dropped == [idle.token]
    assert kept(store, connected) == [True]


def test_an_open_socket_keeps_its_page_past_the_ttl_and_its_idle_time_starts_at_close() -> None:
    store, clock, dropped = store_with(ttl=10)
    page = store.create("s")
    assert store.connect(page.token) and store.connect(page.token)  # an old and a new socket
    clock.now = 100
    assert store.peek(page.token) == page
    store.disconnect(page.token)
    clock.now = 200
    assert store.peek(page.token) == page  # one socket is still open
    store.disconnect(page.token)
    clock.now = 209
    assert store.peek(page.token) == page
    clock.now = 211
    assert store.peek(page.token) is None
    assert dropped == [page.token]
    assert not store.connect(page.token)  # a dropped page cannot be connected again


def test_a_handlers_reads_and_writes_do_not_keep_a_page() -> None:
    store, clock, dropped = store_with(ttl=10, max_pages=2)
    page = store.create("s")
    clock.now = 8
    assert store.peek(page.token) == page
    with store.edit(page.token, touch=False) as edited:
        assert edited == page
    clock.now = 11
    assert store.peek(page.token) is None  # expired 10 s after the render, not the handler
    unused, other = store.create("s"), store.create("t")
    with store.edit(unused.token, touch=False):
        pass
    store.create("u")
    assert dropped == [page.token, unused.token]  # still never used: the first to go
    assert kept(store, other) == [True]


def test_every_drop_is_reported_outside_the_lock() -> None:
    """Expired, evicted, over the session's cap and discarded pages all reach ``on_drop``, which
    may use the store itself (the engine's cancellation reads pages)."""
    clock = Clock()
    seen: list[tuple[str, int]] = []
    store: t.Any

    def on_drop(token: str) -> None:
        seen.append((token, len(store.live_pages())))  # would deadlock under the store's lock

    store = make_store(ttl=10, max_pages=3, max_pages_per_session=2, clock=clock, on_drop=on_drop)
    expired = store.create("a")
    clock.now = 11
    session_old = store.create("b")
    store.create("b")
    store.create("b")  # the session's third page
    evicted = store.create("c")
    store.get(evicted.token)
    store.create("d")
    store.create("e")  # the store's fourth page
    store.discard(evicted.token)
    tokens = [token for token, _ in seen]
    assert tokens[:2] == [expired.token, session_old.token]
    assert evicted.token in tokens and len(tokens) == len(set(tokens)) == 5
    assert len(store) == 2


def test_live_pages_are_every_page_kept() -> None:
    store, clock, _ = store_with(ttl=10, max_pages=3)
    pages = [store.create("s") for _ in range(4)]
    clock.now = 5
    store.get(pages[1].token)
    clock.now = 12
    assert store.live_pages() == [pages[1]]


@pytest.mark.parametrize("option", ["max_pages", "max_pages_per_session"])
def test_a_store_that_keeps_no_page_is_refused(option: str) -> None:
    with pytest.raises(ValueError, match=f"'{option}' must be an int >= 1"):
        make_store(**{option: 0})


def test_a_token_is_this_processs_tag_then_128_random_bits() -> None:
    tokens = {new_token() for _ in range(500)}
    assert len(tokens) == 500
    for token in tokens:
        assert len(token) == TAG_LENGTH + 22 and set(token) <= URL_SAFE
        assert token.startswith(process_tag()) and token_tag(token) == process_tag()
    # The random part alone is what a token was before: 22 URL-safe characters, 128 bits.
    assert len({token[TAG_LENGTH:] for token in tokens}) == 500


@pytest.mark.parametrize(
    "token",
    [
        "made-up",
        secrets.token_urlsafe(16),  # a token of a version without tags
        "a" * (TAG_LENGTH + 22 - 1) + ".",
        "<script>" + "a" * 22,
        "abcdefgh" + "a" * 20 + "\n\r",
        "",
    ],
)
def test_a_token_not_shaped_as_ours_has_no_tag(token: str) -> None:
    assert token_tag(token) is None


def test_a_forked_process_gets_its_own_tag() -> None:
    """gunicorn forks its workers, also after loading the app (``--preload``): each worker
    must tag its pages with a tag of its own, or it would take another's pages for its own."""
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() of a threaded process
        pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        try:
            os.write(write, new_token()[:TAG_LENGTH].encode())
        finally:
            os._exit(0)
    os.close(write)
    try:
        child = os.read(read, 100).decode()
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    assert len(child) == TAG_LENGTH and child != process_tag()
