"""The windowed grid in a real chromium: a 10,000-item gallery paints one window, keeps its
full scroll height, shows the items wherever the scrollbar is dragged, keeps its DOM bounded
and never moves an item as windows load and drop; the preview's next/previous, the keyboard and
``selected_index`` reach items the grid has not drawn.

The items are a few small PNG files under 10,000 entries: what is measured is the grid, not
the thumbnails (benchmarks/bench_windowed.py measures those)."""

from __future__ import annotations

import typing as t

import pytest
from PIL import Image

from flask_gallery import FlaskGallery

from ..live import LiveServer
from .axe import describe, violations
from .conftest import gallery_app

if t.TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

COUNT = 10_000
WINDOW = 60  # GALLERY_WINDOW_SIZE's default
KEEP = 5  # GALLERY_MAX_WINDOWS's default


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("windowed")
    files = []
    for i in range(8):
        path = folder / f"c{i}.png"
        Image.new("RGB", (64, 64), (30 * i, 120, 220 - 25 * i)).save(path)
        files.append(str(path))
    value = [files[i % len(files)] for i in range(COUNT)]

    def declare(galleries: FlaskGallery) -> None:
        galleries.gallery("big", value, columns=6)
        galleries.gallery("picked", value, columns=6, selected_index=5000)
        galleries.gallery("multi", value, columns=6, selection_mode="multiple")

    app = gallery_app(folder / "instance", declare, GALLERY_MAX_ITEMS=COUNT)
    with LiveServer(app) as live:
        yield live


#: The grid's scroll box, its drawn items and where every window sits (relative to the grid).
LAYOUT = """(id) => {
    const block = document.getElementById(id);
    const wrap = block.querySelector(".fg-grid-wrap");
    return {
        items: block.querySelectorAll(".fg-item").length,
        drawn: block.querySelectorAll(".fg-window[data-drawn]").length,
        tops: [...block.querySelectorAll(".fg-window")].map((w) => w.offsetTop),
        height: wrap.scrollHeight,
    };
}"""

#: True when the grid item ``index`` is drawn, inside the grid's scroll box, with its image
#: loaded: what the user sees there.
SHOWN = """([id, index]) => {
    const block = document.getElementById(id);
    const thumb = document.getElementById(`${id}-t${index}`);
    if (!thumb) return false;
    const box = thumb.getBoundingClientRect();
    const view = block.querySelector(".fg-grid-wrap").getBoundingClientRect();
    const img = thumb.querySelector("img");
    return box.bottom > view.top && box.top < view.bottom && img.complete && img.naturalWidth > 0;
}"""


#: True when every window inside the grid's scroll box is drawn and every image the user sees
#: there has loaded: no placeholder left in view.
FILLED = """(id) => {
    const block = document.getElementById(id);
    const view = block.querySelector(".fg-grid-wrap").getBoundingClientRect();
    const seen = (el) => {
        const box = el.getBoundingClientRect();
        return box.bottom > view.top && box.top < view.bottom;
    };
    const windows = [...block.querySelectorAll(".fg-window")].filter(seen);
    if (!windows.length || windows.some((w) => !w.hasAttribute("data-drawn"))) return false;
    const images = windows.flatMap((w) => [...w.querySelectorAll("img")]).filter(seen);
    return images.length > 0 && images.every((i) => i.complete && i.naturalWidth > 0);
}"""


def scroll_to(page: Page, gallery: str, fraction: float) -> int:
    """Drag the grid's scrollbar to ``fraction`` of its range; returns where it stands."""
    return int(
        page.evaluate(
            """([id, f]) => { const w = document.querySelector(`#${id} .fg-grid-wrap`);
            w.scrollTop = Math.round(f * (w.scrollHeight - w.clientHeight));
            return w.scrollTop; }""",
            [gallery, fraction],
        )
    )


def scroll_top(page: Page, gallery: str) -> int:
    return int(page.eval_on_selector(f"#{gallery} .fg-grid-wrap", "w => w.scrollTop"))


def test_scrolled_to_the_end_the_last_items_show_and_the_dom_stays_bounded(
    page: Page, server: LiveServer
) -> None:
    page.goto(f"{server.url}/?g=big")
    page.wait_for_function(SHOWN, arg=["fg-big", 0])
    first = page.evaluate(LAYOUT, "fg-big")
    assert first["items"] == WINDOW
    # Full scroll height from the first paint: one window per 60 items, each of 10 rows.
    assert len(first["tops"]) == -(-COUNT // WINDOW)
    assert first["height"] > COUNT // 6 * 100

    scroll_to(page, "fg-big", 1.0)  # the scrollbar dragged straight to the end
    page.wait_for_function(SHOWN, arg=["fg-big", COUNT - 1])
    # A fetched window's thumbnails act as the first window's do.
    page.locator(f"#fg-big-t{COUNT - 1}").click()
    preview = page.locator("#fg-big-preview")
    expect(preview).to_have_attribute("aria-label", "Gallery: Thumbnail 10000 of 10000")
    page.keyboard.press("Escape")
    expect(preview).to_have_count(0)
    # Then back and forth through the whole gallery, as a user hunting for one photo.
    for fraction in (0.5, 0.1, 0.9, 0.3, 0.7, 0.2):
        where = scroll_to(page, "fg-big", fraction)
        page.wait_for_function(FILLED, arg="fg-big")
        assert scroll_top(page, "fg-big") == where  # what the user looks at did not move
        layout = page.evaluate(LAYOUT, "fg-big")
        assert layout["drawn"] <= KEEP
        assert layout["items"] <= KEEP * WINDOW
        # Windows load and drop without moving anything: every window where it was at first.
        assert layout["tops"] == first["tops"]
        assert layout["height"] == first["height"]


def test_preview_next_and_previous_reach_items_the_grid_has_not_drawn(
    page: Page, server: LiveServer
) -> None:
    page.goto(f"{server.url}/?g=big")
    preview = page.locator("#fg-big-preview")
    page.locator("#fg-big-t59").click()  # the last item of the first window
    expect(preview).to_have_attribute("aria-label", "Gallery: Thumbnail 60 of 10000")
    page.keyboard.press("ArrowRight")  # into the second window, not drawn yet
    expect(preview).to_have_attribute("aria-label", "Gallery: Thumbnail 61 of 10000")
    page.keyboard.press("ArrowLeft")
    expect(preview).to_have_attribute("aria-label", "Gallery: Thumbnail 60 of 10000")
    page.keyboard.press("Escape")
    expect(page.locator("#fg-big-t59")).to_be_focused()
    page.locator("#fg-big-t0").click()
    expect(preview).to_have_attribute("aria-label", "Gallery: Thumbnail 1 of 10000")
    page.keyboard.press("ArrowLeft")  # wraps round to the last item, as Gradio's
    expect(preview).to_have_attribute("aria-label", "Gallery: Thumbnail 10000 of 10000")
    expect(page.locator("#fg-big-s9999")).to_have_attribute("aria-current", "true")
    page.keyboard.press("Escape")
    # Closed on an item the grid never drew: the grid scrolls to it, draws it and gives it the
    # focus, as it does for a drawn one.
    last = page.locator("#fg-big-t9999")
    expect(last).to_be_focused()
    page.wait_for_function(SHOWN, arg=["fg-big", COUNT - 1])


def test_tab_walks_on_into_the_next_window(page: Page, server: LiveServer) -> None:
    """A keyboard user tabbing through the grid: focusing the first window's last thumbnail
    scrolls the next window near, it is fetched, and Tab goes on into it."""
    page.goto(f"{server.url}/?g=big")
    page.locator(f"#fg-big-t{WINDOW - 2}").focus()
    page.keyboard.press("Tab")
    expect(page.locator(f"#fg-big-t{WINDOW - 1}")).to_be_focused()
    page.wait_for_function(SHOWN, arg=["fg-big", WINDOW])  # the next window, drawn
    page.keyboard.press("Tab")
    expect(page.locator(f"#fg-big-t{WINDOW}")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#fg-big-preview")).to_have_attribute(
        "aria-label", f"Gallery: Thumbnail {WINDOW + 1} of {COUNT}"
    )


def test_selected_index_outside_the_first_window(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/?g=picked")
    preview = page.locator("#fg-picked-preview")
    expect(preview).to_have_attribute("aria-label", "Gallery: Thumbnail 5001 of 10000")
    expect(page.locator("#fg-picked-s5000")).to_have_attribute("aria-current", "true")
    assert page.locator("#fg-picked-t5000").count() == 0  # the grid drew its first window only
    page.locator("#fg-picked-preview .fg-close").click()
    thumb = page.locator("#fg-picked-t5000")
    expect(thumb).to_be_focused()
    page.wait_for_function(SHOWN, arg=["fg-picked", 5000])
    assert page.evaluate(LAYOUT, "fg-picked")["items"] <= KEEP * WINDOW


def test_a_multi_selection_spans_windows_and_comes_with_every_window_drawn_later(
    page: Page, server: LiveServer
) -> None:
    """A Shift-click range reaching into windows the page never drew: each window drawn later
    shows its items selected, and the items before the range stay unselected."""
    page.goto(f"{server.url}/?g=multi")
    page.locator("#fg-multi-t2").click(modifiers=["Control"])
    cell = page.locator("#fg-multi-item-2")
    expect(cell).to_have_attribute("aria-selected", "true")
    scroll_to(page, "fg-multi", 1.0)
    page.wait_for_function(SHOWN, arg=["fg-multi", COUNT - 1])
    page.locator(f"#fg-multi-t{COUNT - 1}").click(modifiers=["Shift"])
    expect(page.locator(f"#fg-multi-item-{COUNT - 1}")).to_have_attribute("aria-selected", "true")
    scroll_to(page, "fg-multi", 0.5)  # a window drawn only now, after the selection was made
    page.wait_for_function(FILLED, arg="fg-multi")
    states = page.eval_on_selector_all(  # the drawn windows between the first and the last
        "#fg-multi .fg-window[data-drawn]",
        f"""ws => ws.filter(w => w.dataset.start > 0 && w.dataset.start < {COUNT - WINDOW})
            .flatMap(w => [...w.querySelectorAll('.fg-item')])
            .map(c => c.getAttribute('aria-selected'))""",
    )
    assert states and set(states) == {"true"}
    scroll_to(page, "fg-multi", 0.0)
    page.wait_for_function(FILLED, arg="fg-multi")
    for index, state in ((0, "false"), (1, "false"), (2, "true"), (3, "true")):
        expect(page.locator(f"#fg-multi-item-{index}")).to_have_attribute("aria-selected", state)
    found = violations(page, "#fg-multi")
    assert not found, describe(found)


def test_the_windowed_grid_passes_axe(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/?g=big")
    scroll_to(page, "fg-big", 0.5)
    page.wait_for_function(FILLED, arg="fg-big")
    found = violations(page, "#fg-big")
    assert not found, describe(found)
