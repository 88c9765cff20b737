"""The example app's pages in a real chromium: they render their galleries, every image the
user can see loads, and nothing goes wrong on the way (no console error, no failed request, no
request to any host but the app's own: htmx and the styles are vendored, never from a CDN).
The app's own buttons drive its galleries as Gradio's demos do.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

import pytest

from ..live import LiveServer
from .conftest import SHOWN_IMAGES_LOADED, goto_connected

if t.TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page, Request, Response

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def server(example_server: LiveServer) -> LiveServer:
    return example_server


class Trouble:
    """Everything that went wrong while a page loaded, as readable lines."""

    def __init__(self, page: Page, host: str) -> None:
        self.host = host
        self.lines: list[str] = []
        page.on("console", self.console)
        page.on("pageerror", lambda exc: self.lines.append(f"page error: {exc}"))
        page.on("requestfailed", self.failed)
        page.on("response", self.response)
        page.on("request", lambda r: self.check_host(r.url))
        page.on("websocket", lambda ws: self.check_host(ws.url))

    def failed(self, request: Request) -> None:
        # The browser cancels a lazy image's request when a relayout (sizes=auto) makes another
        # srcset candidate the right one: not a failure. An image that never loads is still
        # caught by the wait for every shown image below.
        if request.failure != "net::ERR_ABORTED":
            self.lines.append(f"failed: {request.url} {request.failure}")

    @staticmethod
    def favicon(url: str) -> bool:
        return urlsplit(url).path == "/favicon.ico"

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not self.favicon(message.location.get("url", "")):
            self.lines.append(f"console error: {message.text}")

    def response(self, response: Response) -> None:
        if response.status >= 400 and not self.favicon(response.url):
            self.lines.append(f"HTTP {response.status}: {response.url}")

    def check_host(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "data" and parts.netloc != self.host:
            self.lines.append(f"another host: {url}")


def open_clean(page: Page, server: LiveServer, path: str, images: int = 1) -> None:
    """Open ``path``, wait until the images in view (at least ``images``) have loaded, scroll to
    the end and wait again (lazy images further down load, and could fail, too); then nothing
    may have gone wrong."""
    trouble = Trouble(page, server.host)
    page.goto(server.url + path, wait_until="load")
    page.wait_for_function(SHOWN_IMAGES_LOADED, arg=images)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function(SHOWN_IMAGES_LOADED, arg=0)
    assert trouble.lines == [], path


def test_every_page_in_the_nav_loads_cleanly(
    new_page: t.Callable[..., Page], server: LiveServer
) -> None:
    home = new_page()
    home.goto(server.url + "/")
    links = home.eval_on_selector_all("nav a", "links => links.map(a => a.href)")
    paths = [urlsplit(link).path for link in links]
    assert "/" in paths and "/options" in paths and len(paths) == len(set(paths))
    for path in paths:
        open_clean(new_page(), server, path, images=0)


def test_fake_gan_page(page: Page, server: LiveServer) -> None:
    open_clean(page, server, "/")
    gallery = page.locator("#gallery")
    assert gallery.is_visible()
    assert gallery.locator(".fg-thumb").count() == 3
    assert gallery.locator(".fg-caption-label").all_inner_texts() == [
        "label 0",
        "label 1",
        "label 2",
    ]
    assert page.locator("[data-testid=block-label]").count() == 0  # show_label=False


def test_options_page(page: Page, server: LiveServer) -> None:
    open_clean(page, server, "/options")
    sections = page.locator("section.option")
    assert sections.count() == 9
    for i in range(9):
        assert sections.nth(i).locator(".fg-block").is_visible()
    # The two previews with selected_index / preview=True are open, on the full files.
    previews = page.locator("dialog.fg-preview")
    assert previews.count() == 2
    for i in range(2):
        assert previews.nth(i).is_visible()


def test_fake_gan_button_generates_new_pictures(page: Page, server: LiveServer) -> None:
    goto_connected(page, server.url + "/")
    thumbs = page.locator("#gallery .fg-thumb img")
    before = thumbs.evaluate_all("imgs => imgs.map(i => i.getAttribute('src'))")
    page.get_by_role("button", name="Generate images").click()
    expect(page.locator("#t")).to_have_text("Done")  # the demo's textbox output
    expect(thumbs).to_have_count(3)
    after = thumbs.evaluate_all("imgs => imgs.map(i => i.getAttribute('src'))")
    assert set(after).isdisjoint(before)
    assert page.locator("#gallery .fg-caption-label").all_inner_texts() == [
        "label 0",
        "label 1",
        "label 2",
    ]
