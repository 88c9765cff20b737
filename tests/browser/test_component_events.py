"""The example app's gallery_component_events page (/events) in a real chromium: uploads through
the file picker count up, paste from the clipboard (the button and Ctrl+V) and a webcam capture
add an image, and pasting something that is not an image says so."""

from __future__ import annotations

import typing as t

import pytest

from ..live import LiveServer
from .conftest import goto_connected

if t.TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

GALLERY = "#fg-input_gallery"
NO_MEDIA = "No image or video found in clipboard"

#: A PNG of the given size drawn on a canvas, as a Blob (argument: [width, height]).
CANVAS_PNG = """([width, height]) => new Promise((resolve) => {
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#3b82f6";
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = "#f97316";
    ctx.fillRect(0, 0, width / 2, height / 2);
    canvas.toBlob(resolve, "image/png");
})"""


def png(page: Page, width: int, height: int) -> bytes:
    data = page.evaluate(
        f"async (size) => Array.from(new Uint8Array(await (await ({CANVAS_PNG})(size))"
        ".arrayBuffer()))",
        [width, height],
    )
    return bytes(data)


@pytest.fixture
def events(new_page: t.Callable[..., Page], example_server: LiveServer) -> Page:
    """The /events page, allowed to read and write the clipboard, its WebSocket open."""
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    goto_connected(page, example_server.url + "/events")
    return page


def first_image_is(page: Page, width: int, height: int) -> None:
    """The input gallery's first item, opened in the preview, is a ``width`` x ``height`` image."""
    page.locator(f"{GALLERY} .fg-grid .fg-thumb").first.click()
    page.wait_for_function(
        "([sel, w, h]) => { const i = document.querySelector(sel);"
        " return i && i.complete && i.naturalWidth === w && i.naturalHeight === h; }",
        arg=[f"{GALLERY} dialog.fg-preview[open] img.fg-preview-media", width, height],
    )


def test_a_second_upload_counts_two(events: Page) -> None:
    page = events
    picker = page.locator(f"{GALLERY} .fg-file-input")
    thumbs = page.locator(f"{GALLERY} .fg-grid .fg-thumb")
    for count, size in ((1, (40, 30)), (2, (50, 20))):
        picker.set_input_files(
            files=[
                {"name": f"upload-{count}.png", "mimeType": "image/png", "buffer": png(page, *size)}
            ]
        )
        expect(thumbs).to_have_count(count)
        expect(page.locator("#num-upload")).to_have_text(str(count))
        expect(page.locator("#num-change")).to_have_text(str(count))
    # The upload handler copied the value to the output gallery.
    expect(page.locator("#fg-output_gallery .fg-grid .fg-thumb")).to_have_count(2)
    first_image_is(page, 40, 30)


def test_paste_from_clipboard_adds_the_image(events: Page) -> None:
    page = events
    page.evaluate(
        f"async () => {{ const blob = await ({CANVAS_PNG})([64, 48]);"
        " await navigator.clipboard.write([new ClipboardItem({'image/png': blob})]); }"
    )
    page.get_by_role("button", name="Paste from clipboard").click()
    expect(page.locator(f"{GALLERY} .fg-grid .fg-thumb")).to_have_count(1)
    # Gradio: a paste fires change, not upload.
    expect(page.locator("#num-change")).to_have_text("1")
    expect(page.locator("#num-upload")).to_have_text("0")
    expect(page.locator("#fg-toasts .fg-toast")).to_have_count(0)
    first_image_is(page, 64, 48)


def test_a_paste_event_with_an_image_file_adds_it(events: Page) -> None:
    page = events
    page.evaluate(
        f"""async () => {{
            const blob = await ({CANVAS_PNG})([30, 60]);
            const data = new DataTransfer();
            data.items.add(new File([blob], "pasted.png", {{type: "image/png"}}));
            document.querySelector("{GALLERY} .fg-dropzone").dispatchEvent(new ClipboardEvent(
                "paste", {{clipboardData: data, bubbles: true, cancelable: true}}));
        }}"""
    )
    expect(page.locator(f"{GALLERY} .fg-grid .fg-thumb")).to_have_count(1)
    expect(page.locator("#num-change")).to_have_text("1")
    first_image_is(page, 30, 60)


def test_pasting_text_shows_a_warning(events: Page) -> None:
    page = events
    page.evaluate("() => navigator.clipboard.writeText('just some words')")
    page.get_by_role("button", name="Paste from clipboard").click()
    alert = page.locator("#fg-toasts [role=status] .fg-toast-text")
    expect(alert).to_have_text([NO_MEDIA])
    # Ctrl+V of text on the gallery says the same, and nothing was added either time.
    page.evaluate(
        f"""() => {{
            const data = new DataTransfer();
            data.setData("text/plain", "more words");
            document.querySelector("{GALLERY} .fg-dropzone").dispatchEvent(new ClipboardEvent(
                "paste", {{clipboardData: data, bubbles: true, cancelable: true}}));
        }}"""
    )
    expect(alert).to_have_text([NO_MEDIA, NO_MEDIA])
    expect(page.locator(f"{GALLERY} .fg-grid .fg-thumb")).to_have_count(0)
    expect(page.locator("#num-change")).to_have_text("0")


def test_a_webcam_capture_adds_the_frame(
    new_page: t.Callable[..., Page], example_server: LiveServer
) -> None:
    page = new_page(permissions=["camera"])
    goto_connected(page, example_server.url + "/events")
    page.get_by_role("button", name="Webcam").click()
    page.wait_for_function(
        f"() => {{ const v = document.querySelector('{GALLERY} .fg-webcam-view video');"
        " return v && v.readyState >= 2 && v.videoWidth > 0; }"
    )
    size = page.evaluate(
        f"() => {{ const v = document.querySelector('{GALLERY} .fg-webcam-view video');"
        " return [v.videoWidth, v.videoHeight]; }"
    )
    page.get_by_role("button", name="Capture").click()
    expect(page.locator(f"{GALLERY} .fg-webcam-view")).to_have_count(0)
    expect(page.locator(f"{GALLERY} .fg-grid .fg-thumb")).to_have_count(1)
    expect(page.locator("#num-change")).to_have_text("1")  # as a paste: change, not upload
    expect(page.locator("#num-upload")).to_have_text("0")
    first_image_is(page, *size)
