"""Multi-select in a real chromium: Ctrl-click toggles, Shift-click selects a range, Space on a
focused thumbnail toggles, Enter and a plain click stay Gradio's single select; handlers see
``SelectData.selected``/``indices`` and a ``gallery.selection`` input; the app's own view reads
``page.selected_indices`` and sets ``selected_indices``; screen readers are told through
``aria-selected``, and axe finds nothing to fix. Under a strict Content-Security-Policy, over the
socket and (without one) over HTTP."""

from __future__ import annotations

import typing as t

import numpy as np
import pytest
from flask import render_template_string, request

from flask_gallery import FlaskGallery, SelectData

from ..live import LiveServer
from .axe import describe, violations
from .conftest import gallery_app, goto_connected, strict_csp

if t.TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>multi-select</title>
<link rel="icon" href="data:,">
{{ gallery_assets(nonce=nonce) }}
</head><body><main>
{% for name in names %}{{ gallery(name) }}{% endfor %}
<p>Last select: <output id="out"></output></p>
<p>Picked: <output id="picked"></output></p>
<p>Read: <output id="read"></output></p>
<button type="button" id="read-button" hx-post="/read" hx-swap="none">Read the selection</button>
<button type="button" id="set-button" hx-post="/set" hx-swap="none">Select the ends</button>
</main></body></html>"""

#: No WebSocket in the page: every click goes by HTTP, every result comes by polling.
NO_SOCKET = "window.WebSocket = function () { throw new Error('no sockets in this test'); };"


def picture(index: int) -> np.ndarray:
    return np.full((24, 24, 3), (index * 40, 90, 200 - index * 30), np.uint8)


def declare(galleries: FlaskGallery) -> None:
    multi = galleries.gallery(
        "multi", [picture(i) for i in range(6)], label="Pictures", selection_mode="multiple"
    )

    @multi.on_select(outputs="#out", trigger_mode="multiple")
    def said(evt: SelectData) -> str:
        return f"{evt.index} {evt.selected} {evt.indices}"

    @multi.on_select(inputs=[multi.selection], outputs="#picked", trigger_mode="always_last")
    def picked(selection: t.Any) -> str:
        return f"{len(selection or [])} picked"

    scripted = galleries.gallery(
        "scripted", [picture(i) for i in range(3)], selection_mode="multiple"
    )

    # A listener's js runs in the page before the click's request: it sees the selection as
    # the page shows it then, and its return replaces the handler's inputs.
    @scripted.on_select(inputs=[scripted.selection], outputs="#picked", js="(chosen) => [chosen]")
    def seen_by_js(selection: t.Any) -> str:
        return f"{len(selection or [])} picked before"

    galleries.gallery(
        "edit",
        [picture(i) for i in range(3)],
        label="Editable",
        selection_mode="multiple",
        interactive=True,
        selected_indices=[1],
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    declared: list[FlaskGallery] = []
    app = gallery_app(
        tmp_path_factory.mktemp("multi_select") / "instance",
        lambda galleries: (declared.append(galleries), declare(galleries)),
    )
    (galleries,) = declared
    nonce = strict_csp(app)

    @app.get("/m")
    def multi_page() -> str:
        names = request.args.getlist("g") or ["multi"]
        return render_template_string(PAGE, names=names, nonce=nonce())

    @app.post("/read")
    def read() -> str:
        indices = galleries.page().selected_indices("multi")
        return f'<hx-partial hx-target="#read" hx-swap="innerHTML">{indices}</hx-partial>'

    @app.post("/set")
    def set_ends() -> t.Any:
        return galleries.page().update("multi", selected_indices=[0, 5])

    with LiveServer(app) as live:
        yield live


def thumb(page: Page, n: int, of: int = 6) -> t.Any:
    return page.get_by_role("button", name=f"Thumbnail {n} of {of}", exact=True)


def selected(page: Page) -> list[str]:
    """The accessible names of the thumbnails in selected grid cells, as a screen reader
    finds them."""
    cells = page.get_by_role("gridcell", selected=True)
    return [
        cells.nth(i).get_by_role("button").first.get_attribute("aria-label") or ""
        for i in range(cells.count())
    ]


def test_shift_click_selects_a_range_under_a_strict_policy(page: Page, server: LiveServer) -> None:
    goto_connected(page, server.url + "/m?csp=1")
    thumb(page, 2).click(modifiers=["Control"])
    expect(page.locator("#out")).to_have_text("1 True [1]")
    thumb(page, 5).click(modifiers=["Shift"])
    expect(page.locator("#out")).to_have_text("4 True [1, 2, 3, 4]")
    expect(page.locator("#picked")).to_have_text("4 picked")
    assert selected(page) == [f"Thumbnail {n} of 6" for n in (2, 3, 4, 5)]
    expect(page.get_by_role("dialog")).to_have_count(0)  # a selection, not a preview
    expect(page.locator(".fg-item[aria-selected=true] .fg-thumb.fg-selected")).to_have_count(4)
    assert not page.evaluate("window.fgInlineRan === true")


def test_ctrl_click_and_space_toggle_and_a_plain_click_is_gradios(
    page: Page, server: LiveServer
) -> None:
    goto_connected(page, server.url + "/m")
    thumb(page, 3).click(modifiers=["Control"])
    expect(page.locator("#out")).to_have_text("2 True [2]")
    thumb(page, 3).click(modifiers=["Control"])
    expect(page.locator("#out")).to_have_text("2 False []")
    expect(page.locator("#picked")).to_have_text("0 picked")
    thumb(page, 4).focus()
    page.keyboard.press("Space")
    expect(page.locator("#out")).to_have_text("3 True [3]")
    thumb(page, 6).focus()
    page.keyboard.press("Space")
    expect(page.locator("#out")).to_have_text("5 True [3, 5]")
    page.keyboard.press("Space")
    expect(page.locator("#out")).to_have_text("5 False [3]")
    assert selected(page) == ["Thumbnail 4 of 6"]
    # Enter is a plain click: the item alone, and the preview opens on it.
    thumb(page, 1).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#out")).to_have_text("0 True [0]")
    expect(page.get_by_role("dialog")).to_be_visible()
    # The open preview covers the grid, which is then out of the accessibility tree: the
    # selection reads in its markup.
    assert page.eval_on_selector_all(
        "#fg-multi [aria-selected=true] > .fg-thumb", "ts => ts.map(t => t.ariaLabel)"
    ) == ["Thumbnail 1 of 6"]


def test_the_apps_view_reads_and_sets_the_selection(page: Page, server: LiveServer) -> None:
    goto_connected(page, server.url + "/m")
    thumb(page, 2).click(modifiers=["Control"])
    thumb(page, 4).click(modifiers=["Control"])
    expect(page.locator(".fg-item[aria-selected=true]")).to_have_count(2)
    page.locator("#read-button").click()
    expect(page.locator("#read")).to_have_text("[1, 3]")
    page.locator("#set-button").click()
    # Waits for the swap itself: two items were selected before it too.
    for index, state in ((0, "true"), (1, "false"), (3, "false"), (5, "true")):
        expect(page.locator(f"#fg-multi-item-{index}")).to_have_attribute("aria-selected", state)
    assert selected(page) == ["Thumbnail 1 of 6", "Thumbnail 6 of 6"]
    # The range's anchor went with the old selection: a Shift-click starts from the item.
    thumb(page, 3).click(modifiers=["Shift"])
    expect(page.locator("#out")).to_have_text("2 True [0, 2, 5]")


def test_a_listeners_js_reads_the_selection_the_page_shows(page: Page, server: LiveServer) -> None:
    goto_connected(page, server.url + "/m?g=scripted")
    thumb(page, 1, of=3).click(modifiers=["Control"])
    expect(page.locator("#picked")).to_have_text("0 picked before")
    expect(page.locator(".fg-item[aria-selected=true]")).to_have_count(1)
    thumb(page, 3, of=3).click(modifiers=["Control"])
    expect(page.locator("#picked")).to_have_text("1 picked before")


def test_without_a_socket_the_clicks_go_by_http(page: Page, server: LiveServer) -> None:
    page.add_init_script(NO_SOCKET)
    page.goto(server.url + "/m")
    thumb(page, 1).click(modifiers=["Control"])
    expect(page.locator(".fg-item[aria-selected=true]")).to_have_count(1)
    thumb(page, 3).click(modifiers=["Shift"])
    expect(page.locator(".fg-item[aria-selected=true]")).to_have_count(3)
    expect(page.locator("#out")).to_have_text("2 True [0, 1, 2]", timeout=15_000)


def test_axe_finds_nothing_in_multi_select_galleries(page: Page, server: LiveServer) -> None:
    goto_connected(page, server.url + "/m?g=multi&g=edit")
    thumb(page, 2).click(modifiers=["Control"])
    thumb(page, 3).click(modifiers=["Control"])
    expect(page.locator("#out")).to_have_text("2 True [1, 2]")
    grid = page.get_by_role("grid", name="Pictures")
    expect(grid).to_have_attribute("aria-multiselectable", "true")
    expect(
        page.get_by_role("grid", name="Editable").get_by_role("gridcell", selected=True)
    ).to_have_count(1)
    found = violations(page)
    assert not found, describe(found)
