"""What a user sees when an upload meets the limits, in a real chromium: a request over
``GALLERY_MAX_UPLOAD_REQUEST_BYTES`` (refused before the server reads it) and files past
``GALLERY_MAX_ITEMS`` are named in the gallery's alert area, and the gallery keeps what fit."""

from __future__ import annotations

import io
import typing as t

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from flask_gallery import FlaskGallery

from ..live import LiveServer
from .conftest import gallery_app, goto_connected

#: The upload request limit of this app: small, so a test file goes over it.
LIMIT = 64 * 1024


def declare(galleries: FlaskGallery) -> None:
    galleries.gallery("edit", [np.zeros((8, 8, 3), np.uint8)], interactive=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    instance = tmp_path_factory.mktemp("upload_limits") / "instance"
    app = gallery_app(
        instance, declare, GALLERY_MAX_ITEMS=3, GALLERY_MAX_UPLOAD_REQUEST_BYTES=LIMIT
    )
    with LiveServer(app) as live:
        yield live


def png(seed: int, size: int = 16) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (size, size, 3), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def choose(page: Page, files: list[tuple[str, bytes]]) -> None:
    page.locator("#fg-edit .fg-file-input").set_input_files(
        [{"name": name, "mimeType": "image/png", "buffer": data} for name, data in files]
    )


def open_edit(page: Page, server: LiveServer) -> Locator:
    """The page with the gallery, connected; its thumbnails (one to start with)."""
    goto_connected(page, f"{server.url}/?g=edit")
    thumbs = page.locator("#fg-edit .fg-grid .fg-thumb")
    expect(thumbs).to_have_count(1)
    return thumbs


def test_a_request_over_the_limit_is_named_and_changes_nothing(
    page: Page, server: LiveServer
) -> None:
    thumbs = open_edit(page, server)
    big = png(1, 256)  # about 197 KB of noise: over the 64 KiB request limit
    assert len(big) > LIMIT
    choose(page, [("big.png", big)])
    alert = page.locator("#fg-toasts [role=alert]")
    expect(alert).to_contain_text(f"at most {LIMIT} bytes")
    expect(thumbs).to_have_count(1)


def test_files_past_the_item_limit_are_named_and_the_rest_kept(
    page: Page, server: LiveServer
) -> None:
    thumbs = open_edit(page, server)
    choose(page, [(f"photo-{n}.png", png(n)) for n in range(4)])
    expect(thumbs).to_have_count(3)
    alerts = page.locator("#fg-toasts [role=alert] .fg-toast-text")
    expect(alerts).to_have_text(
        [
            "photo-2.png: the gallery holds at most 3 items.",
            "photo-3.png: the gallery holds at most 3 items.",
        ]
    )
