"""The app's own button and view in a real chromium: ``galleries.page().update(...)`` answers
with the gallery's update, and the view may add swaps of its own elements to that answer."""

from __future__ import annotations

import typing as t

import numpy as np
import pytest
from flask import render_template_string
from markupsafe import Markup

from flask_gallery import FlaskGallery

from ..live import LiveServer
from .conftest import goto_connected

if t.TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

PAGE = """<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
{{ gallery_assets() }}</head><body>
{{ gallery("photos") }}
<button id="more" hx-post="/more" hx-swap="none">One more</button>
<p id="status">nothing yet</p>
</body></html>"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    from flask import Flask

    app = Flask("own_views", instance_path=str(tmp_path_factory.mktemp("own") / "instance"))
    app.config["SECRET_KEY"] = "own-views-secret"
    galleries = FlaskGallery(app)
    galleries.gallery("photos", [np.full((8, 8, 3), 50, np.uint8)])

    @app.get("/")
    def page() -> str:
        return render_template_string(PAGE)

    @app.post("/more")
    def more() -> Markup:
        page = galleries.page()
        count = len(page.value("photos") or []) + 1
        images = [np.full((8, 8, 3), 40 * n, np.uint8) for n in range(count)]
        status = Markup('<hx-partial hx-target="#status" hx-swap="innerHTML">{}</hx-partial>')
        return page.update("photos", value=images) + status.format(f"{count} images")

    with LiveServer(app) as live:
        yield live


def test_a_view_adds_its_own_swaps_to_the_gallerys_update(page: Page, server: LiveServer) -> None:
    goto_connected(page, server.url + "/")
    page.locator("#more").click()
    expect(page.locator("#fg-photos .fg-thumb")).to_have_count(2)
    expect(page.locator("#status")).to_have_text("2 images")
    page.locator("#more").click()
    expect(page.locator("#fg-photos .fg-thumb")).to_have_count(3)
    expect(page.locator("#status")).to_have_text("3 images")
