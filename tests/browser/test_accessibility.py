"""Accessibility in a real chromium, beyond Gradio's gallery: axe-core's WCAG 2.0-2.2 A and AA
rules (and label-content-name-mismatch) find nothing on every page of the example app, on an
open preview and on an interactive gallery; the keyboard alone reaches every control of the
gallery, each shows a focus ring of its own, and Enter and Space work them; motion follows
``prefers-reduced-motion``."""

from __future__ import annotations

import io
import typing as t

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from flask_gallery import FlaskGallery

from ..live import LiveServer
from .axe import describe, violations
from .conftest import gallery_app, goto_connected

pytestmark = pytest.mark.browser

EXAMPLE_PAGES = ["/", "/options", "/selections", "/events", "/generate", "/search"]


def declare(galleries: FlaskGallery) -> None:
    pictures = [(np.full((40, 60, 3), 60 * i, np.uint8), f"Picture {i}") for i in range(3)]
    galleries.gallery(
        "edit",
        pictures,
        interactive=True,
        sources=["upload", "clipboard", "webcam"],
        buttons=["download", "download_all", "fullscreen"],
        label="Your pictures",
    )
    galleries.gallery("pics", pictures, preview=True, buttons=["download_all", "fullscreen"])


def serve(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    """Galleries ``edit`` (interactive, every source) and ``pics`` (opens on its preview)."""
    instance = tmp_path_factory.mktemp("a11y") / "instance"
    with LiveServer(gallery_app(instance, declare)) as live:
        yield live


server = pytest.fixture(scope="module", name="server")(serve)


def assert_no_violations(page: Page, context: str | None = None) -> None:
    found = violations(page, context)
    assert not found, describe(found)


@pytest.mark.parametrize("path", EXAMPLE_PAGES)
def test_every_example_page_passes_axe(page: Page, example_server: LiveServer, path: str) -> None:
    goto_connected(page, example_server.url + path)
    expect(page.locator(".fg-block").first).to_be_attached()
    assert_no_violations(page)


def test_an_open_preview_passes_axe(page: Page, example_server: LiveServer) -> None:
    goto_connected(page, example_server.url + "/")
    page.locator(".fg-grid .fg-thumb").first.click()
    expect(page.locator("dialog.fg-preview[open]")).to_be_visible()
    assert_no_violations(page)


def test_an_interactive_gallery_passes_axe(page: Page, server: LiveServer) -> None:
    goto_connected(page, f"{server.url}/?g=edit")
    expect(page.locator("#fg-edit .fg-delete")).to_have_count(3)
    expect(page.locator("#fg-edit .fg-file-input")).to_be_attached()
    assert_no_violations(page)


#: Reads what marks keyboard focus on an element: its outline and box-shadow.
RING = """el => { const s = getComputedStyle(el);
    return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.outlineOffset, s.boxShadow,
            s.opacity].join(" | "); }"""

#: Names the focused element: its gallery class and item index, so each control is told apart.
FOCUSED = """() => { const el = document.activeElement;
    const cls = Array.from(el.classList)
        .filter(c => c.startsWith("fg-") && c !== "fg-selected").join(".");
    return `${el.tagName.toLowerCase()}.${cls}#${el.dataset.index ?? ""}`; }"""


def tab_through(page: Page, limit: int = 40) -> list[str]:
    """Tab round the page until the focus comes back to a control of the gallery it had (at
    most ``limit`` presses); each stop in the gallery by name, its focus ring checked against
    its look before anything had the focus."""
    page.evaluate(
        f"""() => {{ document.activeElement.blur();
            for (const el of document.querySelectorAll('#fg-edit *')) {{
                el.dataset.look = ({RING})(el); delete el.dataset.tabbed; }} }}"""
    )
    seen: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        where = page.evaluate(
            """() => { const el = document.activeElement;
                if (!el.closest('#fg-edit')) return 'out';
                if (el.dataset.tabbed) return 'again';
                el.dataset.tabbed = '1'; return 'new'; }"""
        )
        if where == "again":
            break
        if where == "out":
            continue
        name = t.cast(str, page.evaluate(FOCUSED))
        focused, unfocused = page.evaluate(
            f"() => [({RING})(document.activeElement), document.activeElement.dataset.look]"
        )
        assert focused != unfocused, f"{name} shows no focus: {focused}"
        seen.append(name)
    return seen


def test_tab_reaches_every_control_of_the_gallery_with_a_visible_focus(
    page: Page, server: LiveServer
) -> None:
    goto_connected(page, f"{server.url}/?g=edit")
    expect(page.locator("#fg-edit .fg-delete")).to_have_count(3)
    reached = tab_through(page)
    for i in range(3):
        assert f"a.fg-thumb#{i}" in reached, reached
    assert reached.count("button.fg-delete#") == 3, reached
    for control in (
        "a.fg-button#",
        "button.fg-button.fg-fullscreen#",
        "input.fg-file-input#",
        "button.fg-button.fg-paste#",
        "button.fg-button.fg-webcam#",
    ):
        assert control in reached, reached
    # The preview's controls: its buttons and every item of its strip.
    page.locator("#fg-edit .fg-thumb").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#fg-edit dialog.fg-preview[open]")).to_be_visible()
    reached = tab_through(page)
    for control in (
        "a.fg-button#",
        "button.fg-button.fg-fullscreen#",
        "button.fg-button.fg-close#",
    ):
        assert control in reached, reached
    for i in range(3):
        assert f"button.fg-strip-thumb#{i}" in reached, reached


def thumb(page: Page, i: int) -> Locator:
    return page.locator(f"#fg-edit .fg-grid .fg-thumb[data-index='{i}']")


@pytest.mark.parametrize("key", ["Enter", " "])
def test_enter_and_space_open_and_close_the_preview(
    page: Page, server: LiveServer, key: str
) -> None:
    goto_connected(page, f"{server.url}/?g=edit")
    thumb(page, 1).focus()
    scrolled = page.evaluate("() => window.scrollY")
    page.keyboard.press(key)
    preview = page.locator("#fg-edit dialog.fg-preview[open]")
    expect(preview).to_be_visible()
    expect(preview.locator(".fg-strip-thumb[aria-current=true]")).to_have_attribute(
        "data-index", "1"
    )
    assert page.evaluate("() => window.scrollY") == scrolled  # Space did not scroll the page
    preview.locator(".fg-close").focus()
    page.keyboard.press(key)
    expect(preview).to_have_count(0)
    expect(thumb(page, 1)).to_be_focused()


@pytest.mark.parametrize("key", ["Enter", " "])
def test_enter_and_space_delete_an_item(page: Page, server: LiveServer, key: str) -> None:
    goto_connected(page, f"{server.url}/?g=edit")
    deletes = page.locator("#fg-edit .fg-delete")
    expect(deletes).to_have_count(3)
    deletes.nth(0).focus()
    page.keyboard.press(key)
    expect(deletes).to_have_count(2)
    expect(page.locator("#fg-edit .fg-thumb").first).to_have_attribute(
        "aria-label", "Thumbnail 1 of 2: Picture 1"
    )


#: Draws an upload's progress bar in the gallery (as gallery.js does while a file goes up) and
#: reads how long its bar takes to move.
PROGRESS_TRANSITION = """() => {
    const bar = document.createElement("div");
    bar.className = "fg-upload-progress";
    bar.innerHTML = "<span></span>";
    document.querySelector("#fg-edit").appendChild(bar);
    const duration = getComputedStyle(bar.firstChild).transitionDuration;
    bar.remove();
    return parseFloat(duration);
}"""


@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
def test_reduced_motion_stops_the_gallerys_transitions(
    new_page: t.Callable[..., Page], server: LiveServer, motion: str
) -> None:
    page = new_page(reduced_motion=motion)
    goto_connected(page, f"{server.url}/?g=edit")
    duration = page.evaluate(PROGRESS_TRANSITION)
    assert (duration <= 0.001) == (motion == "reduce"), duration


@pytest.mark.parametrize("key", ["Enter", " "])
def test_the_keyboard_uploads_through_the_upload_zone(
    page: Page, server: LiveServer, key: str
) -> None:
    goto_connected(page, f"{server.url}/?g=edit")
    with page.expect_file_chooser() as chooser:
        page.locator("#fg-edit .fg-file-input").press(key)  # focuses it, then the key
    buffer = io.BytesIO()
    Image.new("RGB", (12, 12), "blue").save(buffer, "PNG")
    blue = {"name": "blue.png", "mimeType": "image/png", "buffer": buffer.getvalue()}
    chooser.value.set_files([blue])
    expect(page.locator("#fg-edit .fg-grid .fg-thumb")).to_have_count(4)
