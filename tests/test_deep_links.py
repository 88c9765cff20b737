"""Deep links to a preview over HTTP: ``?fg-preview=<gallery>:<item id>`` renders the page with
the preview open on that item, and the page's first connection (here its first poll) fires
``preview_open`` and ``select`` as a click would, once; links naming no item change nothing.
The browser side (history, Back) is in tests/browser/test_deep_links.py."""

from __future__ import annotations

import typing as t
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup
from flask import Flask

from flask_gallery import FlaskGallery, SelectData

from .test_pages_http import Channel, Page, pixels, with_pages


def open_page(app: Flask, names: list[str], links: t.Sequence[tuple[str, str]] = ()) -> Page:
    query = [("n", n) for n in names] + [("fg-preview", f"{g}:{key}") for g, key in links]
    client = app.test_client()
    page = Page.__new__(Page)
    page.app, page.client = app, client
    page.soup = BeautifulSoup(client.get("/page?" + urlencode(query)).data, "html.parser")
    root = page.soup.select_one(".fg-block[data-page]")
    assert root is not None
    page.token = str(root["data-page"])
    page.sent = {"X-Gallery-Page": page.token}
    return page


def item_ids(app: Flask, name: str) -> list[str]:
    """The ids a deep link names the items of gallery ``name`` by (from a plain page)."""
    page = open_page(app, [name])
    return [str(item.id) for item in page.state(name).items]


def connect(page: Page) -> None:
    """What the page does once its script runs: poll (or open its socket)."""
    response = page.client.get(f"/_gallery/poll/{page.token}?after=0", headers=page.headers())
    assert response.status_code == 200


@pytest.fixture
def site(app: Flask, galleries: FlaskGallery) -> Flask:
    return with_pages(app)


def watched(galleries: FlaskGallery, name: str, count: int = 3) -> list[t.Any]:
    """Gallery ``name`` of ``count`` items whose preview_open and select handlers note what
    they got, in ``seen``."""
    gallery = galleries.gallery(name, [(a, f"c{i}") for i, a in enumerate(pixels(count))])
    seen: list[t.Any] = []

    @gallery.on_preview_open
    def opened() -> None:
        seen.append("open")

    @gallery.on_select
    def picked(evt: SelectData) -> None:
        seen.append((evt.index, evt.value["caption"]))

    return seen


def test_a_deep_link_opens_the_preview_and_fires_its_events_once_connected(
    site: Flask, galleries: FlaskGallery
) -> None:
    seen = watched(galleries, "g")
    ids = item_ids(site, "g")
    page = open_page(site, ["g"], [("g", ids[2])])
    dialog = page.soup.select_one("#fg-g dialog.fg-preview[open]")
    assert dialog is not None and dialog["data-link"] == ids[2]
    assert dialog.select_one(".fg-strip-thumb[aria-current=true]")["data-index"] == "2"
    assert page.state("g").selected == 2 and page.state("g").preview_open
    channel = Channel(site, page)
    assert seen == []  # nothing runs before the page can receive results
    connect(page)
    channel.wait(2)
    assert sorted(seen, key=str) == sorted(["open", (2, "c2")], key=str)
    connect(page)  # a second poll (or a reconnect) fires nothing again
    assert len(channel.ended()) == 2 and page.state("g").linked == []


def test_a_link_names_the_item_not_its_position(site: Flask, galleries: FlaskGallery) -> None:
    """The same picture at another index (the value changed): the link follows the picture."""
    first = pixels(3)
    calls: list[int] = []

    def value() -> list[t.Any]:
        calls.append(1)
        return first if len(calls) == 1 else list(reversed(first))

    galleries.gallery("g", value)
    ids = item_ids(site, "g")  # the first render: in order
    page = open_page(site, ["g"], [("g", ids[0])])  # the second: reversed
    assert page.state("g").selected == 2


@pytest.mark.parametrize(
    "value",
    [
        "g:0",  # an index is not an id
        "g:0123456789abcdef0123456789abcdef-0123456789abcdef0123",  # made up
        "other:{id}",  # another gallery's name
        "g",  # no item
        "",
    ],
)
def test_a_link_naming_no_item_renders_the_page_as_without_it(
    site: Flask, galleries: FlaskGallery, value: str
) -> None:
    seen = watched(galleries, "g")
    ids = item_ids(site, "g")
    client = site.test_client()
    query = urlencode([("n", "g"), ("fg-preview", value.format(id=ids[1]))])
    response = client.get(f"/page?{query}")
    assert response.status_code == 200
    soup = BeautifulSoup(response.data, "html.parser")
    assert soup.select_one("dialog.fg-preview") is None
    token = str(soup.select_one(".fg-block[data-page]")["data-page"])
    client.get(f"/_gallery/poll/{token}?after=0", headers={"X-Gallery-Page": token})
    assert seen == []


def test_a_gallery_without_preview_ignores_links(site: Flask, galleries: FlaskGallery) -> None:
    """``allow_preview=False``: a click only selects, so there is no preview to link to."""
    galleries.gallery("g", pixels(2), allow_preview=False)
    ids = item_ids(site, "g")
    page = open_page(site, ["g"], [("g", ids[1])])
    assert page.soup.select_one("dialog.fg-preview") is None
    assert page.state("g").selected is None


def test_each_gallery_of_a_page_follows_its_own_link(site: Flask, galleries: FlaskGallery) -> None:
    """One value per gallery (the parameter repeats)."""
    watched(galleries, "a-1")
    watched(galleries, "b_2")
    a_ids, b_ids = item_ids(site, "a-1"), item_ids(site, "b_2")
    page = open_page(site, ["a-1", "b_2"], [("a-1", a_ids[1]), ("b_2", b_ids[2])])
    assert page.state("a-1").selected == 1 and page.state("b_2").selected == 2
