"""Real-browser fixtures: a live Werkzeug server on loopback, Debian's chromium through
Playwright (one browser per session), and a fresh context and page per test.

Without playwright or chromium the browser tests skip on a developer machine, but fail under CI
(``CI=true``): a CI run that silently skips them proves nothing.
"""

from __future__ import annotations

import os
import secrets
import time
import typing as t
from pathlib import Path

import pytest
from flask import Flask, Response, g, render_template_string, request

from flask_gallery import FlaskGallery, SelectData

from ..live import LiveServer  # also imported from here by benchmarks/bench_first_paint.py

if t.TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Request

    from flask_gallery import Gallery

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    # A synthetic camera for the webcam source, allowed without a prompt.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]

#: True when every image the user can see (rendered, in the viewport, and inside its scroll
#: container) has loaded, and there are at least ``minimum`` (argument, default 1) of them:
#: what "the first paint is complete" means to a user.
SHOWN_IMAGES_LOADED = """(minimum = 1) => {
    const inside = (box, area) => box.bottom > area.top && box.top < area.bottom
        && box.right > area.left && box.left < area.right;
    const view = {top: 0, left: 0, bottom: innerHeight, right: innerWidth};
    const shown = [...document.images].filter(i => {
        const box = i.getBoundingClientRect();
        const wrap = i.closest(".fg-grid-wrap");
        return i.checkVisibility() && inside(box, view)
            && (!wrap || inside(box, wrap.getBoundingClientRect()));
    });
    return shown.length >= minimum && shown.every(i => i.complete && i.naturalWidth > 0);
}"""

#: A page holding one or more galleries, with nothing else that could move them around.
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ names|join(", ") }}</title>
<link rel="icon" href="data:,">
{{ gallery_assets() }}
<style>body { margin: 0; font-family: sans-serif; }</style>
</head><body>
<main{% if width %} style="width: {{ width }}px"{% endif %}>
{% for name in names %}{{ gallery(name) }}{% endfor %}
</main>
<p id="after">below the galleries</p>
</body></html>"""


#: Records when the page's WebSocket opens (hx-ws fires this on the connection element).
WATCH_SOCKET = """
window.fgSocketOpen = false;
document.addEventListener("htmx:ws:after:connection", () => { window.fgSocketOpen = true; }, true);
"""


def goto_connected(page: Page, url: str) -> None:
    """Open ``url`` and wait until the page's WebSocket is open, so results come over it (never
    by the polling fallback, which starts after a few seconds)."""
    page.add_init_script(WATCH_SOCKET)
    page.goto(url)
    page.wait_for_function("() => window.fgSocketOpen")


#: A strict policy: scripts only with the page's nonce, no 'unsafe-inline', no 'unsafe-eval'.
CSP = (
    "default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'"
)


def strict_csp(app: Flask) -> t.Callable[[], str | None]:
    """Serve ``app``'s pages under :data:`CSP` when their request asks (``?csp=1``). Returns
    what a view calls for the nonce its template passes to ``gallery_assets(nonce=...)``: None
    without ``?csp``."""

    @app.after_request
    def add_policy(response: Response) -> Response:
        nonce = g.get("csp_nonce")
        if nonce:
            response.headers["Content-Security-Policy"] = CSP.format(nonce=nonce)
        return response

    def nonce() -> str | None:
        if not request.args.get("csp"):
            return None
        g.csp_nonce = secrets.token_urlsafe(16)
        return t.cast(str, g.csp_nonce)

    return nonce


def report_preview(gallery: Gallery, **select: t.Any) -> None:
    """Listeners writing what a click did into the page's elements, for a test to read: the
    selected item's index and caption into ``#out`` (``select``: the select listener's own
    arguments), ``open`` into ``#opened`` and ``closed`` into ``#closed`` as the preview opens
    and closes."""

    @gallery.on_select(outputs="#out", **select)
    def show_selection(evt: SelectData) -> str:
        return f"{evt.index}:{evt.value['caption']}"

    @gallery.on_preview_open(outputs="#opened", trigger_mode="multiple")
    def opened() -> str:
        return "open"

    @gallery.on_preview_close(outputs="#closed", trigger_mode="multiple")
    def closed() -> str:
        return "closed"


def unavailable(reason: str) -> t.NoReturn:
    """Skip locally; under CI a missing browser is a failure, not a skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def gallery_app(
    instance: Path, declare: t.Callable[[FlaskGallery], object], **config: t.Any
) -> Flask:
    """A small app whose media store lives in ``instance``, with ``config`` over the defaults.
    ``declare`` declares its galleries; ``/?g=a&g=b`` shows galleries ``a`` and ``b`` (all of
    them without ``g``) on :data:`PAGE`, ``&width=600`` in a column 600 px wide (the full width
    without it)."""
    app = Flask("gallery_browser_test", instance_path=str(instance))
    app.config.update(SECRET_KEY="browser-test-secret", **config)
    galleries = FlaskGallery(app)
    declare(galleries)

    @app.get("/")
    def page() -> str:
        names = request.args.getlist("g") or list(galleries.galleries)
        width = request.args.get("width", type=int)
        return render_template_string(PAGE, names=names, width=width)

    return app


@pytest.fixture(scope="session")
def browser() -> t.Iterator[Browser]:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        unavailable("the Python package 'playwright' is not installed (pip install playwright)")
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        except Error as exc:
            unavailable(f"chromium at {CHROMIUM} does not start: {exc.message}")
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Browser) -> t.Iterator[t.Callable[..., Page]]:
    """Opens a page in a fresh context (cold cache, no cookies); keyword arguments go to
    ``browser.new_context`` (``viewport``, ``device_scale_factor``...). Closed after the test."""
    opened: list[tuple[BrowserContext, set[Request]]] = []

    def open_page(**options: t.Any) -> Page:
        options.setdefault("viewport", {"width": 1280, "height": 800})
        ctx = browser.new_context(**options)
        pending: set[Request] = set()
        ctx.on("request", lambda r: pending.add(r))
        ctx.on("requestfinished", lambda r: pending.discard(r))
        ctx.on("requestfailed", lambda r: pending.discard(r))
        opened.append((ctx, pending))
        return ctx.new_page()

    yield open_page
    for ctx, pending in opened:
        settle(ctx, pending)
        ctx.close()


def settle(ctx: BrowserContext, pending: set[Request], limit: float = 10.0) -> None:
    """Let the requests still in flight finish before the context closes.

    Closing drops their connections, and Werkzeug's dev server then skips closing the response
    (its cleanup read raises on the reset socket), so a served file is left to the garbage
    collector: a ResourceWarning in a server thread, an error under ``filterwarnings=error``.
    """
    deadline = time.monotonic() + limit
    while pending and ctx.pages and time.monotonic() < deadline:
        ctx.pages[0].wait_for_timeout(20)  # a poll tick: Playwright delivers events meanwhile


@pytest.fixture(scope="module")
def example_server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    """The example app (``example_app.create_app``) on a live server, its media store in a
    temporary instance folder."""
    from example_app import create_app

    instance = tmp_path_factory.mktemp("example") / "instance"
    with pytest.MonkeyPatch.context() as mp:  # keep its media store out of the checkout
        mp.setattr(Flask, "auto_find_instance_path", lambda self: str(instance))
        app = create_app()
    assert Path(app.instance_path) == instance
    with LiveServer(app) as live:
        yield live


@pytest.fixture
def page(new_page: t.Callable[..., Page]) -> Page:
    """A fresh page at a 1280x800 viewport."""
    return new_page()
