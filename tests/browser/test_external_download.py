"""An external URL item's Download in a real chromium, as Gradio's: the browser fetches the
file from the other site and saves it under its name; where that site does not allow the fetch
(no CORS), the file opens in a new tab instead. The server never fetches it."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from flask import Flask, Response

from flask_gallery import FlaskGallery

from ..live import LiveServer
from ..media_samples import picture, saved
from .conftest import gallery_app, goto_connected

if t.TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

#: The other site's address, known once it listens (the gallery's value reads it at render).
OTHER: dict[str, str] = {}
PNG = saved(picture(), "PNG")


def other_site() -> Flask:
    """Another origin on loopback: one file it lets other sites fetch, one it does not."""
    app = Flask("other_site")

    @app.get("/shared/sunrise.png")
    def shared() -> Response:
        return Response(PNG, mimetype="image/png", headers={"Access-Control-Allow-Origin": "*"})

    @app.get("/private/moon.png")
    def private() -> Response:
        return Response(PNG, mimetype="image/png")

    return app


def declare(galleries: FlaskGallery) -> None:
    galleries.gallery(
        "ext",
        lambda: [f"{OTHER['url']}/shared/sunrise.png", f"{OTHER['url']}/private/moon.png"],
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    with LiveServer(other_site()) as other:
        OTHER["url"] = other.url
        app = gallery_app(tmp_path_factory.mktemp("external") / "instance", declare)
        with LiveServer(app) as live:
            yield live


def open_preview(page: Page, server: LiveServer, index: int) -> t.Any:
    goto_connected(page, server.url + "/")
    page.locator(f'#fg-ext .fg-grid .fg-thumb[data-index="{index}"]').click()
    return page.locator("#fg-ext .fg-preview button[aria-label=Download]")


def test_a_file_the_other_site_shares_is_saved_under_its_name(
    page: Page, server: LiveServer
) -> None:
    download_button = open_preview(page, server, 0)
    with page.expect_download() as info:
        download_button.click()
    assert info.value.suggested_filename == "sunrise.png"
    assert Path(info.value.path()).read_bytes() == PNG


def test_a_file_the_other_site_keeps_to_itself_opens_in_a_new_tab(
    page: Page, server: LiveServer
) -> None:
    download_button = open_preview(page, server, 1)
    with page.context.expect_page() as opened:
        download_button.click()
    assert opened.value.url == f"{OTHER['url']}/private/moon.png"
