"""The Redis page store keeps a gallery's items once per value, not once per page: a click on a
10,000-item gallery sends Redis the page's small document, pages showing the same value share
one list, and a list lives exactly as long as a page names it. On a real redis-server; the bytes
are Redis's own count of what it received (``INFO stats``)."""

from __future__ import annotations

import json
import typing as t

import pytest

from flask_gallery.media import MediaItem
from flask_gallery.page.redis_items import encode
from flask_gallery.page.redis_store import RedisPageStore
from flask_gallery.page.state import GalleryState, PageState
from flask_gallery.queue.redis_client import connect

PREFIX = "test:"
#: The README's "Large galleries" bound (GALLERY_MAX_ITEMS).
LARGE = 10_000


def value(count: int, tag: str = "a") -> list[MediaItem]:
    """A gallery value as uploads or a handler's outputs make them: ids, sizes, captions."""
    return [
        MediaItem(
            id=f"{tag}{i:06d}-0123456789abcdef",
            kind="image",
            caption=f"Photo {i} of the {tag} set",
            mime_type="image/webp",
            width=1024,
            height=768,
            thumbnail_widths=(160, 320),
        )
        for i in range(count)
    ]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def redis(redis_url: str) -> t.Any:
    return connect(redis_url)


def store(redis: t.Any, **options: t.Any) -> RedisPageStore:
    """A store as one process has it (each has its own cache of lists)."""
    return RedisPageStore(redis, PREFIX, **options)


def page_with(pages: RedisPageStore, items: list[MediaItem], session: str = "s") -> PageState:
    page = pages.create(session)
    page.galleries["g"] = GalleryState(items=items)
    pages.save(page)
    return page


def received(redis: t.Any) -> int:
    return int(redis.info("stats")["total_net_input_bytes"])


def lists(redis: t.Any) -> list[bytes]:
    return sorted(redis.scan_iter(match=PREFIX + "items:*", count=1000))


def test_a_select_on_a_10000_item_gallery_sends_redis_the_small_document_not_the_items(
    redis: t.Any,
) -> None:
    pages = store(redis)
    items = value(LARGE)
    size = len(encode(items))
    before = received(redis)
    page = page_with(pages, items)
    first = received(redis) - before
    assert first > size  # the list went once, with the page that first showed it

    for index in (1, 4321):  # the first also sends the scripts Redis has not seen yet
        before = received(redis)
        with pages.edit(page.token) as loaded:  # what a click does: load, select, write back
            assert loaded is not None and loaded.galleries["g"].items == items
            loaded.galleries["g"].selected = index
            loaded.galleries["g"].version += 1
    click = received(redis) - before
    assert click < 4_000 < size // 100, (click, size)

    # Another process reads the list once, then clicks as cheaply.
    other = store(redis)
    assert other.peek(page.token) is not None
    before = received(redis)
    with other.edit(page.token) as again:
        assert again is not None and again.galleries["g"].selected == 4321
        again.galleries["g"].selected = 7
    assert received(redis) - before < 4_000
    assert store(redis).peek(page.token).galleries["g"].selected == 7  # type: ignore[union-attr]


def test_a_page_loaded_again_shares_the_decoded_items_instead_of_decoding_them(
    redis: t.Any,
) -> None:
    pages = store(redis)
    page = page_with(pages, value(LARGE))
    first, second = pages.get(page.token), pages.peek(page.token)
    assert first is not None and second is not None
    assert first == second == page
    shown, again = first.galleries["g"].items, second.galleries["g"].items
    assert all(a is b for a, b in zip(shown, again, strict=True))
    first.galleries["g"].items.append(MediaItem(id="k-new", kind="image"))  # a list of its own
    assert len(second.galleries["g"].items) == LARGE


def test_pages_showing_the_same_value_share_one_list(redis: t.Any) -> None:
    one, other = store(redis), store(redis)  # two processes
    items = value(50)
    first = page_with(one, items, "s1")
    second = page_with(other, list(items), "s2")
    assert len(lists(redis)) == 1
    assert json.loads(redis.get(lists(redis)[0])) == [item.to_dict() for item in items]
    for pages in (one, other):
        assert pages.peek(first.token) == first and pages.peek(second.token) == second
    third = page_with(one, value(5, "t"), "s3")
    assert store(redis).live_pages() == [first, second, third]  # a new process, read at once


def test_a_changed_value_writes_a_new_list_and_the_old_one_goes_with_its_last_page(
    redis: t.Any,
) -> None:
    pages = store(redis)
    page = page_with(pages, value(20, "a"))
    keep = page_with(pages, value(20, "a"))
    [old] = lists(redis)
    with pages.edit(page.token) as loaded:
        assert loaded is not None
        loaded.galleries["g"].items = value(20, "b")
    assert len(lists(redis)) == 2 and old in lists(redis)  # still shown by ``keep``
    assert pages.peek(page.token).galleries["g"].items == value(20, "b")  # type: ignore[union-attr]
    with pages.edit(keep.token) as loaded:
        assert loaded is not None
        loaded.galleries["g"].items = loaded.galleries["g"].items[:5]
    assert old not in lists(redis) and len(lists(redis)) == 2
    pages.discard(page.token)
    pages.discard(keep.token)
    assert lists(redis) == []
    assert redis.hlen(PREFIX + "iref") == redis.hlen(PREFIX + "pitems") == 0


def test_a_list_lives_as_long_as_a_page_that_names_it_is_kept(redis: t.Any) -> None:
    clock = Clock()
    pages = store(redis, ttl=10, max_pages=2, clock=clock)
    used = page_with(pages, value(10, "u"), "s1")
    idle = page_with(pages, value(10, "i"), "s2")
    assert len(lists(redis)) == 2
    clock.now += 8
    assert pages.get(used.token) is not None  # used: its idle time starts again
    clock.now += 8
    assert pages.get(idle.token) is None  # expired, and its list with it
    assert len(lists(redis)) == 1
    assert pages.get(used.token) == used
    # Over the store's cap: the page dropped (one never used) takes its list along.
    fresh = page_with(pages, value(10, "n"), "s3")
    newest = page_with(pages, value(10, "m"), "s4")
    assert pages.peek(fresh.token) is None and pages.peek(newest.token) == newest
    assert len(lists(redis)) == 2 == len(pages)
    assert pages.peek(used.token) == used


def test_a_list_gone_from_redis_that_a_process_still_knows_is_sent_again(redis: t.Any) -> None:
    pages = store(redis)
    items = value(30)
    pages.discard(page_with(pages, items).token)  # the list went; this process still knows it
    assert lists(redis) == []
    saved = page_with(pages, items)  # a page saved with it
    pages.discard(saved.token)
    edited = page_with(pages, value(3, "o"))
    with pages.edit(edited.token) as loaded:  # an edit that shows it
        assert loaded is not None
        loaded.galleries["g"].items = list(items)
    assert store(redis).peek(edited.token).galleries["g"].items == items  # type: ignore[union-attr]
    pages.discard(edited.token)
    saved = page_with(pages, items)
    assert store(redis).peek(saved.token).galleries["g"].items == items  # type: ignore[union-attr]


def test_a_restarted_process_reads_the_pages_back(redis: t.Any) -> None:
    pages = store(redis)
    shown = page_with(pages, value(LARGE))
    shown.galleries["small"] = GalleryState(items=value(3, "s"), selected=2)
    shown.galleries["empty"] = GalleryState(items=[])
    pages.save(shown)
    restarted = store(redis)
    assert restarted.get(shown.token) == shown
    assert restarted.live_pages() == [shown]


def test_a_page_saved_by_an_earlier_version_with_its_items_inside_still_loads(
    redis: t.Any,
) -> None:
    pages = store(redis)
    page = page_with(pages, [])
    page.galleries["g"] = GalleryState(items=value(4), selected=3)
    redis.set(f"{PREFIX}pg:{page.token}", json.dumps(page.to_dict()))  # the earlier layout
    assert store(redis).get(page.token) == page
    with pages.edit(page.token) as loaded:  # written back in the new layout
        assert loaded is not None
    assert len(lists(redis)) == 1 and store(redis).peek(page.token) == page
