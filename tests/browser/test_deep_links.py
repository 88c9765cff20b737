"""Deep links to the preview in a real chromium: opening a preview puts it in the address bar
(by the item's id, never its index) as a new history entry; Back closes it; the URL opened in
another browser opens the page on that item and runs the handlers a click would; a link naming
no item is dropped; each gallery of a page keeps its own link."""

from __future__ import annotations

import re
import typing as t
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import goto_connected
from .preview_site import current, serve, thumb, wait_full

if t.TYPE_CHECKING:
    from playwright.sync_api import Page

    from ..live import LiveServer

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

LINKED = re.compile("fg-preview=")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("links") / "instance") as live:
        yield live


def links(page: Page) -> list[str]:
    """The deep-link values in the page's address."""
    return parse_qs(urlsplit(page.url).query).get("fg-preview", [])


def mark(page: Page) -> None:
    """Mark the page's DOM, to tell later that it was not fetched and drawn again."""
    page.evaluate("() => { document.querySelector('main').fgMark = true; }")


def still_marked(page: Page) -> bool:
    return t.cast(bool, page.evaluate("() => document.querySelector('main').fgMark === true"))


def media_id(page: Page, gallery: str, index: int) -> str:
    """Item ``index``'s media id, from its grid thumbnail's URL (``/media/<id>/w<width>``)."""
    src = thumb(page, gallery, index).locator("img").get_attribute("src") or ""
    return src.split("/media/")[1].split("/")[0]


def test_opening_the_preview_puts_the_item_in_the_address_and_back_closes_it(
    page: Page, server: LiveServer
) -> None:
    """...and Forward, back onto the entry that names the item, opens it there again."""
    goto_connected(page, f"{server.url}/t?g=pics")
    start = page.url
    mark(page)
    thumb(page, "pics", 2).click()
    expect(current(page, "pics")).to_have_attribute("data-index", "2")
    expect(page).to_have_url(LINKED)
    assert links(page) == [f"pics:{media_id(page, 'pics', 2)}"]  # the id, not the index
    # Moving to another item replaces the entry: Back closes the preview, whatever it shows.
    page.keyboard.press("ArrowRight")
    expect(current(page, "pics")).to_have_attribute("data-index", "3")
    expect(page).to_have_url(re.compile(media_id(page, "pics", 3)))
    page.go_back()
    expect(page.locator("#fg-pics dialog.fg-preview")).to_have_count(0)
    expect(page.locator("#closed")).to_have_text("closed")  # the server was told: preview_close
    assert page.url == start
    assert still_marked(page)  # the same page: htmx did not restore it from the server
    # Focus went back to the grid, as after Close.
    page.wait_for_function("() => document.activeElement.matches('#fg-pics .fg-thumb')")
    page.go_forward()
    expect(current(page, "pics")).to_have_attribute("data-index", "3")
    assert links(page) == [f"pics:{media_id(page, 'pics', 3)}"]
    page.go_back()  # the entry stayed the one Forward went to: Back closes it again
    expect(page.locator("#fg-pics dialog.fg-preview")).to_have_count(0)
    assert page.url == start
    assert still_marked(page)


def test_close_takes_the_link_out_of_the_address(page: Page, server: LiveServer) -> None:
    goto_connected(page, f"{server.url}/t?g=pics")
    start = page.url
    mark(page)
    thumb(page, "pics", 1).click()
    expect(page).to_have_url(LINKED)
    page.keyboard.press("Escape")
    expect(page.locator("#fg-pics dialog.fg-preview")).to_have_count(0)
    expect(page).to_have_url(start)
    # The entry the preview pushed is gone: the one before it is this page's.
    assert page.evaluate("() => (history.state || {}).fgPreview") is None
    assert still_marked(page)


def test_a_deep_link_opens_the_page_on_its_item_and_runs_the_click_handlers(
    page: Page, new_page: t.Callable[..., Page], server: LiveServer
) -> None:
    goto_connected(page, f"{server.url}/t?g=pics")
    thumb(page, "pics", 3).click()
    expect(page).to_have_url(LINKED)
    link = page.url
    # Another browser (no cookies, no cache) opens the link.
    other = new_page()
    goto_connected(other, link)
    expect(current(other, "pics")).to_have_attribute("data-index", "3")
    wait_full(other, "pics")
    expect(other.locator("#opened")).to_have_text("open")
    expect(other.locator("#out")).to_have_text("3:cap 3")
    assert other.url == link  # nothing pushed: the page's own URL names the item already
    # Closing a preview the page opened with takes the link out of its address in place.
    history = other.evaluate("() => history.length")
    other.locator("#fg-pics dialog.fg-preview .fg-close").click()
    expect(other.locator("#closed")).to_have_text("closed")
    expect(other).not_to_have_url(LINKED)
    assert other.evaluate("() => history.length") == history


def test_a_link_naming_no_item_opens_nothing_and_is_dropped(page: Page, server: LiveServer) -> None:
    forged = "0123456789abcdef0123456789abcdef-0123456789abcdef0123"
    goto_connected(page, f"{server.url}/t?g=pics&fg-preview=pics:{forged}&fg-preview=pics:2")
    expect(page).not_to_have_url(LINKED)
    assert page.locator("#fg-pics dialog.fg-preview").count() == 0
    page.wait_for_timeout(500)  # a select would have written its result by now
    expect(page.locator("#out")).to_have_text("")
    expect(page.locator("#opened")).to_have_text("")


def test_each_gallery_keeps_its_own_link(page: Page, server: LiveServer) -> None:
    goto_connected(page, f"{server.url}/t?g=pics&g=other")
    thumb(page, "pics", 0).click()
    expect(current(page, "pics")).to_have_attribute("data-index", "0")
    thumb(page, "other", 2).click()
    expect(current(page, "other")).to_have_attribute("data-index", "2")
    expect(page).to_have_url(re.compile("fg-preview=.*fg-preview="))
    pics, other = f"pics:{media_id(page, 'pics', 0)}", f"other:{media_id(page, 'other', 2)}"
    assert links(page) == [pics, other]
    # The URL opened elsewhere shows both previews.
    link = page.url
    # Back closes the last one opened, then the first.
    page.go_back()
    expect(page.locator("#fg-other dialog.fg-preview")).to_have_count(0)
    expect(current(page, "pics")).to_have_attribute("data-index", "0")
    assert links(page) == [pics]
    page.go_back()
    expect(page.locator("#fg-pics dialog.fg-preview")).to_have_count(0)
    assert links(page) == []
    goto_connected(page, link)
    expect(current(page, "pics")).to_have_attribute("data-index", "0")
    expect(current(page, "other")).to_have_attribute("data-index", "2")
    expect(page.locator("#other-out")).to_have_text("2:other 2")


def test_a_preview_open_from_the_start_is_named_without_a_history_entry(
    page: Page, server: LiveServer
) -> None:
    """``selected_index`` opens the preview as the page is drawn: the user did not open it, so
    Back leaves the page as it would without it; the URL names the item all the same."""
    goto_connected(page, f"{server.url}/t?g=pics")
    plain = page.evaluate("() => history.length")
    goto_connected(page, f"{server.url}/t?g=start")
    expect(current(page, "start")).to_have_attribute("data-index", "1")
    expect(page).to_have_url(LINKED)
    assert links(page) == [f"start:{media_id(page, 'start', 1)}"]
    assert page.evaluate("() => history.length") == plain + 1  # the page's own entry only
    page.go_back()
    expect(page).to_have_url(re.compile(r"/t\?g=pics$"))
