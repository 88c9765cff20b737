"""The rest of the preview toolbar and listener ``js`` in chromium: Fullscreen puts the gallery
in fullscreen, Share only shows where the browser has a share sheet, and a listener's js runs
before the request with its return replacing the inputs, and a form field of the page reaches a
handler as it is when the click is made (the click goes over the page's socket)."""

from __future__ import annotations

import typing as t

import numpy as np
import pytest
from flask import Flask, render_template_string

from flask_gallery import FlaskGallery

from ..live import LiveServer
from .conftest import goto_connected

if t.TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>toolbar</title>
<link rel="icon" href="data:,">{{ gallery_assets() }}</head><body>
<input name="who" value="ada">
{{ gallery("g") }}<output id="out"></output><output id="who"></output></body></html>"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    app = Flask("toolbar_test", instance_path=str(tmp_path_factory.mktemp("toolbar")))
    app.config["SECRET_KEY"] = "k"
    galleries = FlaskGallery(app)
    images = [np.full((60, 60, 3), 50 * i, np.uint8) for i in range(3)]
    gallery = galleries.gallery("g", images, show_share_button=True)

    @gallery.on_select(
        inputs=["who", gallery],
        outputs="#out",
        js="(who, items) => [who.toUpperCase(), items.slice(0, 1)]",
        trigger_mode="multiple",
    )
    def greet(who: str, items: t.Any) -> str:
        return f"{who} sees {len(items)}"

    @gallery.on_preview_close(inputs=["who"], outputs="#who")
    def closed_by(who: str) -> str:
        return f"closed by {who}"

    @app.get("/")
    def page() -> str:
        return render_template_string(PAGE)

    with LiveServer(app) as live:
        yield live


def test_js_runs_before_the_request_and_replaces_the_inputs(page: Page, server: LiveServer) -> None:
    goto_connected(page, server.url + "/")
    page.get_by_role("button", name="Thumbnail 2 of 3").first.click()
    expect(page.locator("#out")).to_have_text("ADA sees 1")


def test_fullscreen_and_share(page: Page, server: LiveServer) -> None:
    goto_connected(page, server.url + "/")
    page.get_by_role("button", name="Thumbnail 1 of 3").first.click()
    preview = page.get_by_role("dialog")
    expect(preview).to_be_visible()
    has_share = page.evaluate("() => typeof navigator.share === 'function'")
    expect(preview.get_by_role("button", name="Share")).to_have_count(1 if has_share else 0)
    preview.get_by_role("button", name="Fullscreen").click()
    page.wait_for_function(
        "() => document.fullscreenElement && document.fullscreenElement.id === 'fg-g'"
    )
    preview.get_by_role("button", name="Fullscreen").click()
    page.wait_for_function("() => document.fullscreenElement === null")


def test_a_form_field_reaches_the_handler_as_typed(page: Page, server: LiveServer) -> None:
    goto_connected(page, server.url + "/")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.get_by_role("button", name="Thumbnail 1 of 3").first.click()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.locator("input[name=who]").fill("grace")
    page.get_by_role("dialog").get_by_role("button", name="Close").click()
    expect(page.locator("#who")).to_have_text("closed by grace")
    assert posts == []  # both clicks went over the socket
