"""Issue 11 (points 4 and 5) in a real chromium: what a user saves is named by what it is and
by the name they gave it, never by another user's name, and a file that only starts like a
video is refused with a message the user sees."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from flask_gallery import FlaskGallery

from ..live import LiveServer
from ..media_samples import FILES, leaked, picture, saved
from .conftest import gallery_app, goto_connected

if t.TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def declare(galleries: FlaskGallery) -> None:
    galleries.gallery("uploads", None, interactive=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    app = gallery_app(tmp_path_factory.mktemp("privacy") / "instance", declare)
    with LiveServer(app) as live:
        yield live


def choose(page: Page, name: str, data: bytes, count: int) -> None:
    """Pick a file with the gallery's file input, as "Click to upload" does, and wait until
    the grid holds ``count`` items."""
    upload_input = page.locator("#fg-uploads input[type=file]")
    upload_input.set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}]
    )
    expect(page.locator("#fg-uploads .fg-grid .fg-thumb")).to_have_count(count)


def save_first(page: Page) -> tuple[str, bytes]:
    """Open item 0 and press Download: what the browser saves it as, and its bytes."""
    page.locator("#fg-uploads .fg-grid .fg-thumb[data-index='0']").click()
    with page.expect_download() as info:
        page.locator("#fg-uploads .fg-preview a[aria-label=Download]").click()
    download = info.value
    return download.suggested_filename, Path(download.path()).read_bytes()


def test_an_mp4_named_html_is_saved_as_mp4_and_a_fake_one_is_refused(
    new_page: t.Callable[..., Page], server: LiveServer
) -> None:
    page = new_page()
    goto_connected(page, f"{server.url}/?g=uploads")
    video = (FILES / "clip.mp4").read_bytes()
    choose(page, "invoice.html", video[:32] + b"<script>alert(document.domain)</script>", 0)
    expect(page.locator("#fg-toasts [role=alert]")).to_contain_text(
        ["invoice.html: it starts like an MP4 video, but"]
    )
    page.locator("#fg-toasts").get_by_role("button", name="Close").click()  # it stays: closed
    choose(page, "invoice.html", video, 1)
    name, content = save_first(page)
    assert name == "invoice.mp4"
    assert len(content) == len(video) and not leaked(content)


def test_two_users_uploading_the_same_file_each_save_their_own_name(
    new_page: t.Callable[..., Page], server: LiveServer
) -> None:
    data = saved(picture(seed=23), "PNG")
    alice, bob = new_page(), new_page()  # two contexts: two sessions
    for page, name in ((alice, "alice-hiv-test-result-2026.png"), (bob, "guess.png")):
        goto_connected(page, f"{server.url}/?g=uploads")
        choose(page, name, data, 1)
    assert "alice" not in bob.content()
    assert save_first(bob) == ("guess.png", data)
    assert save_first(alice) == ("alice-hiv-test-result-2026.png", data)
