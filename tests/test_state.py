"""Per-page state: bounded in count and idle time, one lock per page, plain-data round trip."""

from __future__ import annotations

import threading

from flask_gallery.media import MediaItem
from flask_gallery.state import GalleryState, MemoryPageStore, PageState


def test_pages_expire_after_their_ttl_of_idleness() -> None:
    now = [0.0]
    store = MemoryPageStore(ttl=10, max_pages=100, clock=lambda: now[0])
    kept, idle = store.create("s1"), store.create("s1")
    now[0] = 8
    assert store.get(kept.token) is kept  # touching it restarts its clock
    now[0] = 12
    assert store.get(idle.token) is None and store.get(kept.token) is kept
    now[0] = 30
    assert store.get(kept.token) is None and len(store) == 0


def test_live_pages_are_those_not_expired_nor_evicted() -> None:
    """What the media sweeper keeps: every page still kept, none that expired."""
    now = [0.0]
    store = MemoryPageStore(ttl=10, max_pages=2, clock=lambda: now[0])
    evicted, idle = store.create("s"), store.create("s")
    now[0] = 8
    kept = store.create("s")
    assert evicted not in store.live_pages()
    assert store.live_pages() == [idle, kept]
    now[0] = 12
    assert store.live_pages() == [kept]


def test_the_least_recently_used_page_goes_first_when_full() -> None:
    store = MemoryPageStore(ttl=3600, max_pages=2)
    a, b = store.create("s"), store.create("s")
    store.get(a.token)
    c = store.create("s")
    assert store.get(b.token) is None
    assert store.get(a.token) is a and store.get(c.token) is c


def test_tokens_are_random_and_unique() -> None:
    store = MemoryPageStore()
    tokens = {store.create("s").token for _ in range(200)}
    assert len(tokens) == 200 and all(len(t) >= 20 for t in tokens)


def test_edits_of_one_page_never_interleave() -> None:
    store = MemoryPageStore()
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
