"""A page refused its WebSocket (the server already holds as many as it allows) still works in a
real chromium: its clicks go by HTTP and its handlers' results arrive by polling, while hx-ws
tries the socket again after a growing delay, not in a loop."""

from __future__ import annotations

import time
import typing as t
from pathlib import Path

import pytest

from ..clients import Page as PageClient
from ..servers import ServerProcess
from .conftest import WATCH_SOCKET

if t.TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

#: Seconds the page is watched for socket attempts: hx-ws waits 0.5 s, 1 s, 2 s, 4 s (each
#: +-30 %) between them, so 5 attempts at most; a page retrying in a loop makes dozens.
WATCHED = 6.0


def test_a_page_refused_its_socket_works_by_polling(
    new_page: t.Callable[..., Page], tmp_path: Path
) -> None:
    config = {"GALLERY_MAX_SOCKETS": 1}
    with ServerProcess("tests.apps.hostile:create_app", tmp_path / "instance", config=config) as (
        server
    ):
        holder = PageClient(server, "/?g=pics")
        ws = holder.socket()  # the server's one socket
        try:
            page = new_page()
            attempts: list[float] = []
            page.on("websocket", lambda _: attempts.append(time.monotonic()))
            page.add_init_script(WATCH_SOCKET)
            loaded = time.monotonic()
            page.goto(server.url + "/?g=pics")
            page.get_by_role("button", name="Thumbnail 2 of 3").click()
            expect(page.locator("#out")).to_have_text("selected 1", timeout=15_000)
            preview = page.get_by_role("dialog")  # opened by the first click's answer
            preview.get_by_role("button", name="Thumbnail 3 of 3").click()
            expect(page.locator("#out")).to_have_text("selected 2", timeout=15_000)
            page.wait_for_timeout(max(0.0, loaded + WATCHED - time.monotonic()) * 1000)
            assert not page.evaluate("window.fgSocketOpen")  # all of it came by polling
            tried = [at for at in attempts if at < loaded + WATCHED]
            assert 1 <= len(tried) <= 5, f"{len(tried)} socket attempts in {WATCHED:.0f} s"
        finally:
            ws.close()
