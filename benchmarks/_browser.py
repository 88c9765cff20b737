"""Headless chromium for the benchmarks that click in a real browser (bench_events.py,
bench_floor.py): the browser tests' chromium and launch arguments, and the gallery page of
``_events_app.py`` opened until its socket is connected, so each benchmark times clicks on the
same page set up the same way.
"""

from __future__ import annotations

import sys
import typing as t
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS

if t.TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright, ViewportSize

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}


def launch(p: Playwright) -> Browser:
    """Debian's chromium, headless, with the browser tests' arguments."""
    return p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)


def open_gallery(page: Page, url: str) -> list[str]:
    """Load ``_events_app.py``'s page from the server at ``url`` and wait until the page's
    socket is connected (clicks then go over it). Returns the selectors bench_events'
    ``CLICKS_JS`` takes: the thumbnails, the answer, the class of a selected thumbnail."""
    page.add_init_script(
        "document.addEventListener('htmx:ws:after:connection',"
        " () => { window.__fgSocket = true; }, true);"
    )
    page.goto(url + "/", wait_until="load")
    page.wait_for_function("window.__fgSocket === true", timeout=15_000)
    return ['[data-gallery="bench"] .fg-thumb', "#out", "fg-selected"]
