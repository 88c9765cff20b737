"""The gallery in a chromium with JavaScript disabled: the grid shows its thumbnails, each a link
that loads its full image; the upload zone is a form whose post comes back to the page with the
new image, or with the reason a file was refused; nothing that needs the script is offered."""

from __future__ import annotations

import io
import typing as t

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from ..live import LiveServer
from .axe import describe, violations
from .test_accessibility import serve

pytestmark = pytest.mark.browser
server = pytest.fixture(scope="module", name="server")(serve)  # galleries "edit" and "pics"


@pytest.fixture
def page(new_page: t.Callable[..., Page]) -> Page:
    return new_page(java_script_enabled=False)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (12, 12), "blue").save(buffer, "PNG")
    return buffer.getvalue()


def test_thumbnails_are_links_that_load_their_full_image(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/?g=pics")
    thumbs = page.locator("#fg-pics .fg-grid a.fg-thumb")
    expect(thumbs).to_have_count(3)
    for i in range(3):
        expect(thumbs.nth(i).locator("img")).to_have_js_property("complete", True)
        assert thumbs.nth(i).locator("img").evaluate("img => img.naturalWidth") > 0
    # preview=True opens it with the script; without, the grid is what shows, and no button
    # that would do nothing when pressed.
    expect(page.locator("#fg-pics .fg-preview")).to_be_hidden()
    expect(page.locator("#fg-pics .fg-toolbar")).to_be_visible()
    expect(page.locator("#fg-pics .fg-toolbar .fg-fullscreen")).to_be_hidden()
    href = thumbs.nth(1).get_attribute("href")
    thumbs.nth(1).click()
    page.wait_for_url(f"{server.url}{href}")
    assert page.evaluate("document.images[0].naturalWidth") == 60


def test_upload_by_form_post_comes_back_with_the_new_image(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/?g=edit")
    thumbs = page.locator("#fg-edit .fg-grid a.fg-thumb")
    expect(thumbs).to_have_count(3)
    # Only the script can delete, paste or open the webcam: none of them is offered.
    for control in (".fg-delete", ".fg-paste", ".fg-webcam"):
        expect(page.locator(f"#fg-edit {control}").first).to_be_attached()
        expect(page.locator(f"#fg-edit {control}:visible")).to_have_count(0)
    page.locator("#fg-edit .fg-file-input").set_input_files(
        [{"name": "blue.png", "mimeType": "image/png", "buffer": png()}]
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url(f"{server.url}/?g=edit")
    expect(thumbs).to_have_count(4)
    expect(thumbs.nth(3).locator("img")).to_have_js_property("complete", True)
    assert thumbs.nth(3).locator("img").evaluate("img => img.naturalWidth") > 0
    expect(page.locator("#fg-toasts [role=alert]")).to_have_count(0)


def test_a_refused_upload_shows_its_reason_on_the_page(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/?g=edit")
    page.locator("#fg-edit .fg-file-input").set_input_files(
        [{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a picture"}]
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url(f"{server.url}/?g=edit")
    alert = page.locator("#fg-toasts [role=alert]")
    expect(alert).to_contain_text("notes.txt")
    expect(page.locator("#fg-edit .fg-grid a.fg-thumb")).to_have_count(3)


def test_the_page_as_drawn_for_no_script_passes_axe(
    new_page: t.Callable[..., Page], server: LiveServer
) -> None:
    """axe itself needs scripting, so this page runs everything but gallery.js: what the server
    draws, styled as for a browser without JavaScript (no ``fg-js`` class)."""
    page = new_page()
    page.route("**/gallery.js*", lambda route: route.abort())
    page.goto(f"{server.url}/?g=pics&g=edit")
    expect(page.locator("#fg-edit .fg-upload-submit")).to_be_visible()
    assert not page.evaluate("() => document.documentElement.classList.contains('fg-js')")
    found = violations(page)
    assert not found, describe(found)
