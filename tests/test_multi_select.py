"""Multi-select (``selection_mode="multiple"``) at the server: how a toggle and a range change the
page's selection, what a select handler and a ``gallery.selection`` input receive, reading and
setting the selection from a handler and from ``galleries.page()``, and the refusal of forged or
out-of-range selections. HTTP through the app (its test client); the socket against a live
server. What a user sees and does in a browser is tests/browser/test_multi_select.py."""

from __future__ import annotations

import html
import typing as t

import pytest
from bs4 import BeautifulSoup
from flask import Flask

from flask_gallery import FlaskGallery, SelectData
from flask_gallery.page.state import GalleryState

from .browser.conftest import gallery_app
from .clients import Page as LivePage
from .clients import click_frame, receive_until
from .live import LiveServer
from .test_pages_http import Channel, Page, pixels, with_pages

FIELD = "_fg_select"


@pytest.fixture
def site(app: Flask, galleries: FlaskGallery) -> Flask:
    return with_pages(app)


def select(page: Page, index: int, how: str | None = None, name: str = "g") -> t.Any:
    """A click on thumbnail ``index`` as gallery.js posts it: a toggle or range names itself."""
    return page.post(f"{name}/select/{index}", data={FIELD: how} if how else {})


def selected_cells(html: bytes) -> dict[str, str]:
    """``aria-selected`` of each grid cell in an answer, by item index."""
    soup = BeautifulSoup(html, "html.parser")
    return {
        cell.select_one(".fg-thumb")["data-index"]: cell["aria-selected"]
        for cell in soup.select(".fg-item[role=gridcell]")
    }


def drawn(page: Page, answer: t.Any) -> set[str]:
    """The items an answer draws, after checking each is drawn as the page's selection is."""
    cells = selected_cells(answer.data)
    selection = page.state("g").selection
    assert cells == {i: "true" if int(i) in selection else "false" for i in cells}
    return set(cells)


class Seen:
    """What a select handler received: ``(index, selected, indices)`` per run."""

    def __init__(self) -> None:
        self.events: list[tuple[int, bool, list[int]]] = []

    def __call__(self, evt: SelectData) -> str:
        self.events.append((evt.index, evt.selected, evt.indices))
        return "ok"


def test_selection_mode_is_checked_where_it_is_written(galleries: FlaskGallery) -> None:
    with pytest.raises(ValueError, match=r"selection_mode='many'.*'multiple', 'single'"):
        galleries.gallery("g", pixels(2), selection_mode="many")
    with pytest.raises(TypeError, match=r"selected_indices='0, 2' must be a list"):
        galleries.gallery("h", pixels(2), selected_indices="0, 2")
    with pytest.raises(ValueError, match="selected_indices entry=-1 must be at least 0"):
        galleries.gallery("i", pixels(2), selected_indices=[-1])
    gallery = galleries.gallery("j", pixels(2), selection_mode="multiple")
    with pytest.raises(ValueError, match="selection_mode"):
        gallery.update(selection_mode="all")
    with pytest.raises(TypeError, match="selection, which is an input only"):
        gallery.select(lambda: None, outputs=[gallery.selection])


def test_toggles_and_ranges_build_the_selection_and_the_handler_sees_it(
    site: Flask, galleries: FlaskGallery
) -> None:
    gallery = galleries.gallery("g", pixels(6), selection_mode="multiple")
    seen = Seen()
    gallery.select(seen, outputs="#out", trigger_mode="multiple")
    page = Page(site, site.test_client(), ["g"])
    assert page.soup.select_one(".fg-grid-wrap")["aria-multiselectable"] == "true"
    channel = Channel(site, page)

    answer = select(page, 1, "toggle")
    assert answer.status_code == 200
    assert selected_cells(answer.data) == {"1": "true"}  # only what changed is drawn
    assert BeautifulSoup(answer.data, "html.parser").select_one("dialog") is None
    assert drawn(page, select(page, 4, "toggle")) == {"4"}
    # Shift-click: everything from the anchor (4, the last toggled) to 2 joins the selection.
    assert drawn(page, select(page, 2, "range")) == {"2", "3"}
    assert drawn(page, select(page, 3, "toggle")) == {"3"}
    channel.wait(4)
    assert sorted(seen.events) == [
        (1, True, [1]),
        (2, True, [1, 2, 3, 4]),
        (3, False, [1, 2, 4]),
        (4, True, [1, 4]),
    ]
    state = page.state("g")
    assert state.selection == [1, 2, 4] and not state.preview_open

    # A plain click is Gradio's: the item alone, and the preview opens on it.
    answer = select(page, 5)
    assert drawn(page, answer) == {"1", "2", "4", "5"}
    assert BeautifulSoup(answer.data, "html.parser").select_one("dialog.fg-preview[open]")
    channel.wait(1)  # preview_open has no listener: the select only
    assert seen.events[-1] == (5, True, [5])
    # Closing the preview ends the selection, as closing Gradio's preview deselects.
    answer = page.post("g/close")
    assert selected_cells(answer.data) == {"5": "false"}
    assert page.state("g").selection == []


def test_a_single_select_gallery_is_unchanged_and_says_its_selection(
    site: Flask, galleries: FlaskGallery
) -> None:
    gallery = galleries.gallery("g", pixels(3))
    seen = Seen()
    gallery.select(seen, outputs="#out")
    page = Page(site, site.test_client(), ["g"])
    assert page.soup.select_one(".fg-grid")["role"] == "group"
    assert page.soup.select(".fg-item[role]") == []
    channel = Channel(site, page)
    answer = select(page, 2)
    assert BeautifulSoup(answer.data, "html.parser").select_one(".fg-thumb")["aria-pressed"]
    channel.wait(1)
    assert seen.events == [(2, True, [2])]


@pytest.mark.parametrize(
    ("name", "path", "form", "why"),
    [
        ("g", "select/1", {FIELD: "toggle"}, "selection_mode='multiple'"),  # single-select
        ("m", "select/1", {FIELD: "everything"}, "not a way to select"),
        ("m", "select/9", {FIELD: "range"}, "out of range"),
        ("m", "select/-1", {FIELD: "toggle"}, "out of range"),
    ],
)
def test_forged_selections_are_refused_and_change_nothing(
    site: Flask, galleries: FlaskGallery, name: str, path: str, form: dict[str, str], why: str
) -> None:
    galleries.gallery("g", pixels(3))
    galleries.gallery("m", pixels(3), selection_mode="multiple", selected_indices=[0])
    page = Page(site, site.test_client(), ["g", "m"])
    response = page.post(f"{name}/{path}", data=form)
    assert response.status_code == 400
    assert why in html.unescape(response.text)  # told in a toast
    assert "fg-toast-error" in response.text
    assert page.state("g").selected is None
    assert page.state("m").selection == [0] and page.state("m").selected is None


def test_a_range_never_reaches_past_the_value(site: Flask, galleries: FlaskGallery) -> None:
    """The anchor may be stale (the value shrank under it): the range still ends in range."""
    galleries.gallery("m", pixels(5), selection_mode="multiple")
    page = Page(site, site.test_client(), ["m"])
    select(page, 4, "toggle", name="m")
    with site.app_context():
        page.state("m").items = page.state("m").items[:3]
        page.state("m").selection = []
    select(page, 0, "range", name="m")
    assert page.state("m").selection == [0, 1, 2]


def test_a_selection_input_receives_only_the_selected_items_in_order(
    site: Flask, galleries: FlaskGallery
) -> None:
    gallery = galleries.gallery(
        "g", pixels(5), selection_mode="multiple", type="numpy", selected_indices=[3, 1, 9]
    )
    received: list[t.Any] = []

    @gallery.on_select(inputs=[gallery.selection, gallery], outputs="#out")
    def chosen(selection: t.Any, everything: t.Any) -> str:
        received.append(([int(image[0, 0, 0]) for image, _ in selection or []], len(everything)))
        return "ok"

    page = Page(site, site.test_client(), ["g"])
    # selected_indices starts the selection (an index past the value is dropped)
    cells = selected_cells(str(page.soup).encode())
    assert cells == {str(i): ("true" if i in (1, 3) else "false") for i in range(5)}
    channel = Channel(site, page)
    for index in (0, 1, 3, 4):
        select(page, index, "toggle")
        channel.wait(1)
    assert received == [([0, 40, 120], 5), ([0, 120], 5), ([0], 5), ([0, 160], 5)]


def test_an_empty_selection_input_is_none_as_an_empty_gallery(
    site: Flask, galleries: FlaskGallery
) -> None:
    gallery = galleries.gallery("g", pixels(2), selection_mode="multiple")
    received: list[t.Any] = []

    @gallery.on_select(inputs=[gallery.selection], outputs="#out")
    def chosen(selection: t.Any) -> None:
        received.append(selection)

    page = Page(site, site.test_client(), ["g"])
    channel = Channel(site, page)
    for _ in range(2):
        select(page, 0, "toggle")
        channel.wait(1)
    assert len(received[0]) == 1 and received[1] is None


def test_a_handler_and_the_apps_view_read_and_set_the_selection(
    site: Flask, galleries: FlaskGallery
) -> None:
    gallery = galleries.gallery("g", pixels(6), selection_mode="multiple")
    other = galleries.gallery("o", pixels(4), selection_mode="multiple")
    selects: list[int] = []

    @other.on_select(outputs="#out")
    def counted(evt: SelectData) -> None:
        selects.append(evt.index)

    @gallery.on_select(outputs=other)
    def mirror(evt: SelectData) -> t.Any:
        return other.update(selected_indices=[*evt.indices, 5])  # 5: past o's value, dropped

    read: dict[str, t.Any] = {}

    @site.post("/pick")
    def pick() -> t.Any:
        handle = galleries.page()
        read["before"] = handle.selected_indices("o")
        return handle.update("o", selected_indices=[0, 3])

    page = Page(site, site.test_client(), ["g", "o"])
    channel = Channel(site, page)
    for index in (1, 2):
        select(page, index, "toggle")
        channel.wait(1)
    assert page.state("o").selection == [1, 2]
    assert selects == []  # a programmatic selection fires no select
    response = page.client.post("/pick", headers=page.headers())
    assert response.status_code == 200
    assert read["before"] == [1, 2]
    assert page.state("o").selection == [0, 3]
    cells = selected_cells(response.data)
    assert [i for i, v in cells.items() if v == "true"] == ["0", "3"]


def test_delete_keeps_the_selection_on_the_same_items(site: Flask, galleries: FlaskGallery) -> None:
    galleries.gallery(
        "g", pixels(5), selection_mode="multiple", interactive=True, selected_indices=[1, 2, 4]
    )
    page = Page(site, site.test_client(), ["g"])
    assert page.post("g/delete/2").status_code == 200
    assert page.state("g").selection == [1, 3]


def test_select_data_keeps_an_empty_selection() -> None:
    """The last item toggled off leaves ``indices`` empty, never the toggled index."""
    assert SelectData(None, {"index": 2, "selected": False, "indices": []}).indices == []
    assert SelectData(None, {"index": 2}).indices == [2]  # built by hand, as Gradio's


def test_the_selection_survives_the_page_store_round_trip() -> None:
    """A Redis page store keeps a page as JSON: the selection and its anchor come back."""
    state = GalleryState(items=[], selection=[1, 4], anchor=4)
    assert GalleryState.from_dict(state.to_dict()) == state
    old = {k: v for k, v in state.to_dict().items() if k not in ("selection", "anchor")}
    assert GalleryState.from_dict(old).selection == []  # a page stored before multi-select


def declare(galleries: t.Any) -> None:
    pics = galleries.gallery("pics", pixels(4), selection_mode="multiple")

    @pics.on_select(outputs="#out", trigger_mode="multiple")
    def show(evt: SelectData) -> str:
        return f"indices {evt.indices}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    app = gallery_app(tmp_path_factory.mktemp("multi_live") / "instance", declare)
    with LiveServer(app) as live:
        yield live


def test_a_toggle_and_a_range_over_the_socket(server: LiveServer) -> None:
    page = LivePage(server)
    ws = page.socket()
    try:
        ws.send(click_frame("select/0", **{FIELD: "toggle"}))
        received = receive_until(ws, "indices [0]")
        assert '<hx-partial hx-target="#fg-pics-item-0" hx-swap="outerMorph">' in received
        ws.send(click_frame("select/2", **{FIELD: "range"}))
        received = receive_until(ws, "indices [0, 1, 2]")
        assert 'aria-selected="true"' in received
        ws.send(click_frame("select/7", **{FIELD: "range"}))
        assert "out of range" in receive_until(ws, "out of range")
    finally:
        ws.close()


def test_a_selection_input_of_an_api_call_is_the_items_the_caller_sends(
    site: Flask, galleries: FlaskGallery
) -> None:
    """An API call has no page, so no selection: the caller sends the items, as for a gallery
    input, and they must name this app's media."""
    galleries.api_guard(lambda listener: True)
    gallery = galleries.gallery("g", pixels(3), selection_mode="multiple", type="numpy")

    @gallery.on_select(inputs=[gallery.selection], outputs="#out", api_name="count", show_api=True)
    def count(chosen: t.Any) -> str:
        return f"{len(chosen)} of shade {int(chosen[0][0][0, 0, 0])}"

    page = Page(site, site.test_client(), ["g"])
    info = page.client.get("/_gallery/api").get_json()["endpoints"]["/count"]
    assert [i["component"] for i in info["inputs"]] == ["gallery"]
    url = page.soup.select(".fg-thumb")[2]["data-full"]
    call = {"data": [[{"image": {"url": url}}]], "event_data": {"index": 0}}
    response = page.client.post("/_gallery/api/count", json=call)
    assert response.status_code == 200, response.text
    assert response.get_json()["data"] == ["1 of shade 80"]
    forged = {"data": [[{"image": {"url": "/_gallery/media/abc-def"}}]], "event_data": {"index": 0}}
    assert page.client.post("/_gallery/api/count", json=forged).status_code == 400
