"""Issue 4 in a real chromium: what a user does with a gallery (click, keyboard, download, delete,
drop) and what the page shows of the handlers behind it (results pushed over the WebSocket, the
polling fallback, trigger modes, errors, queue position and progress), also under a strict
Content-Security-Policy.

One app serves every gallery of this module; each test opens ``/t?g=<name>`` in a fresh context.
Slow handlers wait on a :class:`Gate` the test opens, so nothing here depends on timing.
"""

from __future__ import annotations

import io
import re
import threading
import time
import typing as t
import zipfile
from pathlib import Path

import numpy as np
import pytest
from bs4 import BeautifulSoup
from flask import render_template_string, request
from PIL import Image

from flask_gallery import Error, FlaskGallery, Progress, SelectData
from flask_gallery.events import EventData

from ..live import LiveServer
from .conftest import WATCH_SOCKET, gallery_app, goto_connected, report_preview, strict_csp

if t.TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

#: Widths of the items of the "pics" gallery: the big image's naturalWidth tells which is shown.
WIDTHS = (200, 240, 280, 320)
OUTPUTS = (
    "out",
    "opened",
    "closed",
    "once-out",
    "last-out",
    "fail-out",
    "slow-out",
    "deleted",
    "uploaded",
)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>interactions</title>
<link rel="icon" href="data:,">
{{ gallery_assets(nonce=nonce) }}
<style>output { display: block; position: relative; min-height: 3em; }</style>
</head><body>
{% if nonce %}<script>window.fgInlineRan = true</script>{% endif %}
{% for name in names %}{{ gallery(name) }}{% endfor %}
{% for id in outputs %}<p>{{ id }}: <output id="{{ id }}"></output></p>{% endfor %}
</body></html>"""


def picture(index: int, width: int) -> np.ndarray:
    """A distinct square picture per index (the store is content addressed)."""
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    tint = np.array([(index * 37) % 256, (index * 91) % 256, (index * 53) % 256], np.float32)
    return np.broadcast_to((ramp + tint) % 256, (width, width, 3)).astype(np.uint8)


def png_bytes(index: int, width: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture(index, width)).save(buffer, format="PNG")
    return buffer.getvalue()


class Gate:
    """Holds slow handlers: ``started`` is set when one runs, they go on once the test opens."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.open = threading.Event()
        self.runs: dict[str, list[t.Any]] = {}
        self.lock = threading.Lock()

    def run(self, name: str, value: t.Any) -> None:
        with self.lock:
            self.runs.setdefault(name, []).append(value)
        self.started.set()
        if not self.open.wait(20):
            raise RuntimeError("the test never opened the gate")

    def ran(self, name: str) -> list[t.Any]:
        with self.lock:
            return list(self.runs.get(name, []))


GATE = Gate()


def gated(name: str) -> t.Callable[[SelectData], str]:
    """A select handler that waits at the gate, then shows which item it ran for."""

    def handler(evt: SelectData) -> str:
        GATE.run(name, evt.index)
        return f"{name} {evt.index}"

    handler.__name__ = f"gated_{name}"
    return handler


def declare(galleries: FlaskGallery, files: Path) -> None:
    pics = galleries.gallery(
        "pics",
        [(picture(i, w), f"cap {i}") for i, w in enumerate(WIDTHS)],
        columns=4,
        label="Pictures",
    )
    report_preview(pics)

    (files / "sunset-beach.png").write_bytes(png_bytes(50, 120))
    (files / "night sky.png").write_bytes(png_bytes(51, 160))
    galleries.gallery(
        "files",
        [str(files / "sunset-beach.png"), (str(files / "night sky.png"), "night")],
        buttons=["download", "download_all"],
        columns=2,
    )

    for name, mode, seed in (("once", "once", 10), ("last", "always_last", 20)):
        held = galleries.gallery(
            name, [picture(seed + i, 100) for i in range(4)], allow_preview=False, columns=4
        )
        held.select(gated(name), outputs=f"#{name}-out", trigger_mode=mode)

    fail = galleries.gallery(
        "fail", [picture(30 + i, 100) for i in range(2)], allow_preview=False, columns=2
    )

    @fail.on_select(outputs="#fail-out")
    def failing(evt: SelectData) -> str:
        GATE.run("fail", evt.index)
        if evt.index == 0:
            raise Error("Cannot use item 0: it is too dark")
        raise ValueError("secret internals at /srv/app/config.py")

    slow = galleries.gallery(
        "slow", [picture(40 + i, 100) for i in range(2)], allow_preview=False, columns=2
    )

    @slow.on_select(outputs="#slow-out", trigger_mode="multiple", concurrency_limit=1)
    def with_progress(evt: SelectData, progress: Progress = Progress()) -> str:
        progress(0.5, desc="Halfway")
        GATE.run("slow", evt.index)
        return f"slow {evt.index}"

    edit = galleries.gallery(
        "edit",
        [(picture(60 + i, 100), f"item {i}") for i in range(3)],
        interactive=True,
        allow_preview=False,
        columns=3,
    )

    @edit.on_delete(outputs="#deleted", trigger_mode="multiple")
    def deleted(evt: EventData) -> str:
        return f"deleted {evt.index} {evt.value['caption']}"

    @edit.on_upload(inputs=edit, outputs="#uploaded", trigger_mode="multiple")
    def uploaded(value: t.Any, evt: EventData) -> str:
        return f"{len(value)} items, {len(evt._data)} new"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the "files" gallery's originals live, under their own names."""
    return tmp_path_factory.mktemp("files")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, files: Path) -> t.Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("interactions")
    app = gallery_app(root / "instance", lambda galleries: declare(galleries, files))

    nonce = strict_csp(app)

    @app.get("/t")
    def test_page() -> str:
        names = request.args.getlist("g")
        return render_template_string(PAGE, names=names, outputs=OUTPUTS, nonce=nonce())

    with LiveServer(app) as live:
        yield live


@pytest.fixture(autouse=True)
def gate() -> t.Iterator[Gate]:
    """A fresh gate per test, opened at its end so no handler outlives it."""
    global GATE
    GATE = Gate()
    yield GATE
    GATE.open.set()


def open_page(
    page: Page, server: LiveServer, *names: str, csp: bool = False, socket: bool = True
) -> None:
    """Open the test page with galleries ``names``; with ``socket`` wait until its WebSocket
    is open, so results come over it (never by the polling fallback) in tests about results."""
    query = "&".join(f"g={name}" for name in names) + ("&csp=1" if csp else "")
    if socket:
        goto_connected(page, f"{server.url}/t?{query}")
    else:
        page.goto(f"{server.url}/t?{query}")


def thumb(page: Page, gallery: str, index: int) -> Locator:
    return page.locator(f"#fg-{gallery} .fg-grid .fg-thumb[data-index='{index}']")


def natural_width(page: Page, selector: str) -> int:
    return t.cast(int, page.eval_on_selector(selector, "img => img.complete && img.naturalWidth"))


def full_url(thumb_src: str) -> str:
    """The full file's URL of a grid thumbnail's ``/media/<id>/w<width>`` URL."""
    return re.sub(r"/w\d+$", "", thumb_src)


def preview_shows(page: Page, gallery: str, index: int, width: int) -> None:
    """The open preview's big image is item ``index``'s full file, loaded at its real size."""
    grid_src = thumb(page, gallery, index).locator("img").get_attribute("src") or ""
    big = page.locator(f"#fg-{gallery} dialog.fg-preview[open] img.fg-preview-media")
    expect(big).to_have_attribute("src", full_url(grid_src))
    expect(page.locator(f"#fg-{gallery} .fg-strip-thumb[aria-current=true]")).to_have_attribute(
        "data-index", str(index)
    )
    page.wait_for_function(
        "([sel, width]) => { const i = document.querySelector(sel);"
        " return i && i.complete && i.naturalWidth === width; }",
        arg=[f"#fg-{gallery} img.fg-preview-media", width],
    )


@pytest.mark.parametrize("n", [0, 2, 3])
def test_thumbnail_n_of_m_opens_the_preview_on_item_n(
    page: Page, server: LiveServer, n: int
) -> None:
    open_page(page, server, "pics")
    thumbs = page.locator("#fg-pics .fg-grid .fg-thumb")
    expect(thumbs).to_have_count(len(WIDTHS))
    expect(thumbs.nth(n)).to_have_attribute(
        "aria-label", f"Thumbnail {n + 1} of {len(WIDTHS)}: cap {n}"
    )
    thumbs.nth(n).click()
    preview = page.locator("#fg-pics dialog.fg-preview[open]")
    expect(preview).to_be_visible()
    expect(page.get_by_role("dialog", name=re.compile(r"^Pictures: "))).to_have_count(1)
    preview_shows(page, "pics", n, WIDTHS[n])
    expect(preview.locator(".fg-preview-caption")).to_have_text(f"cap {n}")
    # The handlers' answers arrive over the WebSocket: select's SelectData, preview_open.
    expect(page.locator("#out")).to_have_text(f"{n}:cap {n}")
    expect(page.locator("#opened")).to_have_text("open")


def test_keyboard_wraps_around_fires_select_and_escape_closes(
    page: Page, server: LiveServer
) -> None:
    open_page(page, server, "pics")
    thumb(page, "pics", 0).click()
    out = page.locator("#out")
    expect(out).to_have_text("0:cap 0")
    preview_shows(page, "pics", 0, WIDTHS[0])
    # Focus moved into the dialog, so the arrows act on it.
    page.wait_for_function("() => !!document.activeElement.closest('#fg-pics .fg-preview')")
    last = len(WIDTHS) - 1
    for key, index in (("ArrowLeft", last), ("ArrowRight", 0), ("ArrowRight", 1)):
        page.keyboard.press(key)
        expect(out).to_have_text(f"{index}:cap {index}")
        preview_shows(page, "pics", index, WIDTHS[index])
        page.wait_for_function("() => !!document.activeElement.closest('#fg-pics .fg-preview')")
    page.keyboard.press("Escape")
    expect(page.locator("#fg-pics dialog.fg-preview")).to_have_count(0)
    expect(page.locator("#closed")).to_have_text("closed")
    # Focus is back on the thumbnail of the item the preview showed last.
    page.wait_for_function(
        "() => document.activeElement.matches('#fg-pics .fg-grid .fg-thumb[data-index=\"1\"]')"
    )


def test_the_halves_of_the_big_image_go_back_and_forward(page: Page, server: LiveServer) -> None:
    open_page(page, server, "pics")
    thumb(page, "pics", 0).click()
    preview_shows(page, "pics", 0, WIDTHS[0])
    expect(page.locator("#out")).to_have_text("0:cap 0")  # select runs once at a time
    big = page.locator("#fg-pics img.fg-preview-media")
    box = big.bounding_box()
    assert box is not None
    big.click(position={"x": box["width"] * 0.25, "y": box["height"] / 2})
    expect(page.locator("#out")).to_have_text(f"{len(WIDTHS) - 1}:cap {len(WIDTHS) - 1}")
    preview_shows(page, "pics", len(WIDTHS) - 1, WIDTHS[-1])
    box = big.bounding_box()
    assert box is not None
    big.click(position={"x": box["width"] * 0.75, "y": box["height"] / 2})
    expect(page.locator("#out")).to_have_text("0:cap 0")
    preview_shows(page, "pics", 0, WIDTHS[0])


def test_download_saves_the_original_file_under_its_name(
    page: Page, server: LiveServer, files: Path
) -> None:
    open_page(page, server, "files")
    thumb(page, "files", 0).click()
    with page.expect_download() as info:
        page.locator("#fg-files .fg-preview a[aria-label=Download]").click()
    download = info.value
    assert download.suggested_filename == "sunset-beach.png"
    assert Path(download.path()).read_bytes() == (files / "sunset-beach.png").read_bytes()


def test_download_all_is_a_zip_of_the_gallery(page: Page, server: LiveServer, files: Path) -> None:
    open_page(page, server, "files")
    with page.expect_download() as info:
        page.locator("#fg-files a[aria-label='Download all']").click()
    download = info.value
    assert download.suggested_filename == "gallery.zip"
    with zipfile.ZipFile(download.path()) as archive:
        assert archive.namelist() == ["sunset-beach.png", "night sky.png"]
        for name in archive.namelist():
            assert archive.read(name) == (files / name).read_bytes()


def click_and_wait(page: Page, gallery: str, index: int) -> None:
    """Click a thumbnail of a gallery without preview and wait until its highlight is on the
    page, not for any handler. gallery.js draws that highlight at once, before the server has
    the click (see :func:`engine_decided`). The item clicked must not be the selected one
    already."""
    expect(thumb(page, gallery, index)).not_to_have_attribute("aria-pressed", "true")
    thumb(page, gallery, index).click()
    expect(thumb(page, gallery, index)).to_have_attribute("aria-pressed", "true")


def engine_decided(
    server: LiveServer, page: Page, decided: t.Callable[[list[dict[str, t.Any]]], bool]
) -> None:
    """Wait until the page's engine messages, from its first, satisfy ``decided``: what the
    engine made of clicks whose highlight the page drew before the server had them."""
    token = page.locator(".fg-block[data-page]").first.get_attribute("data-page")
    assert token is not None
    seen: list[dict[str, t.Any]] = []
    changed = threading.Condition()

    def receive(message: dict[str, t.Any]) -> None:
        with changed:
            seen.append(message)
            changed.notify_all()

    engine = server.app.extensions["flask_gallery"].engine()
    unsubscribe = engine.subscribe(token, receive, after=0)
    try:
        with changed:
            assert changed.wait_for(lambda: decided(seen), 10), seen
    finally:
        unsubscribe()


def rapid_clicks(
    page: Page,
    server: LiveServer,
    gate: Gate,
    gallery: str,
    decided: t.Callable[[list[dict[str, t.Any]]], bool],
) -> None:
    """Click item 0 (its handler starts and waits at the gate), then items 1, 2 and 3 while
    it runs; once the engine has ``decided`` about those three, let the first go on."""
    open_page(page, server, gallery)
    click_and_wait(page, gallery, 0)
    assert gate.started.wait(10)
    for index in (1, 2, 3):
        click_and_wait(page, gallery, index)
    engine_decided(server, page, decided)
    gate.open.set()


def count(messages: list[dict[str, t.Any]], kind: str, **fields: t.Any) -> int:
    return sum(
        m["type"] == kind and all(m.get(k) == v for k, v in fields.items()) for m in messages
    )


def test_trigger_mode_once_drops_clicks_while_the_handler_runs(
    page: Page, server: LiveServer, gate: Gate
) -> None:
    # Each of the three clicks made while it runs is dropped.
    rapid_clicks(page, server, gate, "once", lambda seen: count(seen, "rejected", code="once") == 3)
    out = page.locator("#once-out")
    expect(out).to_have_text("once 0")
    # The clicks made while it ran were dropped, not deferred: the next click runs next.
    click_and_wait(page, "once", 2)
    expect(out).to_have_text("once 2")
    assert gate.ran("once") == [0, 2]


def test_trigger_mode_always_last_runs_the_first_then_the_newest(
    page: Page, server: LiveServer, gate: Gate
) -> None:
    # The second click supersedes the first waiting one, the third the second.
    rapid_clicks(page, server, gate, "last", lambda seen: count(seen, "cancelled") == 2)
    expect(page.locator("#last-out")).to_have_text("last 3")
    assert gate.ran("last") == [0, 3]


def test_handler_errors_show_as_toasts(page: Page, server: LiveServer, gate: Gate) -> None:
    open_page(page, server, "fail")
    alerts = page.locator("#fg-toasts [role=alert]")
    # The handler fails only once the click's own answer is on the page (see the race below).
    click_and_wait(page, "fail", 0)
    gate.open.set()
    expect(alerts.filter(has_text="Cannot use item 0: it is too dark")).to_have_count(1)
    gate.open.clear()
    click_and_wait(page, "fail", 1)
    gate.open.set()
    expect(alerts.filter(has_text="An error occurred")).to_have_count(1)
    assert "secret internals" not in page.locator("body").inner_text()
    # Nothing was written to the output, and its status overlays went with the failures.
    expect(page.locator("#fail-out")).to_have_text("")
    expect(page.locator("#fail-out .fg-status")).to_have_count(0)
    assert gate.ran("fail") == [0, 1]


def test_queue_position_and_progress_show_for_a_slow_handler(
    page: Page, server: LiveServer, gate: Gate
) -> None:
    open_page(page, server, "slow")
    status = page.locator("#slow-out .fg-status")
    click_and_wait(page, "slow", 0)
    assert gate.started.wait(10)
    running = status.filter(has_text="Halfway")
    expect(running).to_be_visible()
    expect(running.locator(".fg-progress > span")).to_have_attribute("style", "width: 50.0%")
    # concurrency_limit=1: a second submission waits, and the page says where it is.
    click_and_wait(page, "slow", 1)
    expect(status.filter(has_text="queue: 1/1")).to_be_visible()
    gate.open.set()
    expect(page.locator("#slow-out")).to_have_text("slow 1")
    expect(status).to_have_count(0)
    assert gate.ran("slow") == [0, 1]


def test_a_second_page_sees_its_place_in_the_queue(
    new_page: t.Callable[..., Page], server: LiveServer, gate: Gate
) -> None:
    first, second = new_page(), new_page()  # two visitors, two sessions
    open_page(first, server, "slow")
    open_page(second, server, "slow")
    click_and_wait(first, "slow", 0)
    assert gate.started.wait(10)
    click_and_wait(second, "slow", 1)
    waiting = second.locator("#slow-out .fg-status")
    expect(waiting).to_have_text(re.compile(r"^queue: 1/1( \| [\d.]+s)?$"))  # ETA once known
    expect(first.locator("#slow-out .fg-status")).to_have_text("Halfway")
    gate.open.set()
    expect(first.locator("#slow-out")).to_have_text("slow 0")
    expect(second.locator("#slow-out")).to_have_text("slow 1")
    expect(waiting).to_have_count(0)
    assert gate.ran("slow") == [0, 1]


#: Every WebSocket the page opens fails at once, as behind a proxy that refuses the upgrade.
FAILING_WEBSOCKET = """
window.fgSocketsTried = 0;
window.WebSocket = class FailingWebSocket extends EventTarget {
    static CONNECTING = 0; static OPEN = 1; static CLOSING = 2; static CLOSED = 3;
    constructor(url) {
        super();
        window.fgSocketsTried += 1;
        this.url = url;
        this.readyState = 0;
        setTimeout(() => {
            this.readyState = 3;
            const error = new Event("error");
            this.dispatchEvent(error);
            if (this.onerror) this.onerror(error);
            const close = new CloseEvent("close", {code: 1006, wasClean: false});
            this.dispatchEvent(close);
            if (this.onclose) this.onclose(close);
        }, 0);
    }
    send() { throw new DOMException("not open", "InvalidStateError"); }
    close() {}
};
"""


def test_results_arrive_by_polling_when_websockets_cannot_connect(
    page: Page, server: LiveServer
) -> None:
    page.add_init_script(FAILING_WEBSOCKET)
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/_gallery/poll/" in r.url else None)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    open_page(page, server, "pics", socket=False)
    thumb(page, "pics", 1).click()
    expect(page.locator("#out")).to_have_text("1:cap 1", timeout=10_000)
    preview_shows(page, "pics", 1, WIDTHS[1])
    page.keyboard.press("ArrowRight")
    expect(page.locator("#out")).to_have_text("2:cap 2", timeout=10_000)
    assert polls, "the results came without a poll"
    assert sockets == [], "a WebSocket reached the server"


def test_strict_csp_clicks_keys_and_results_work_without_violations(
    page: Page, server: LiveServer
) -> None:
    page.add_init_script(
        "window.fgViolations = [];"
        "document.addEventListener('securitypolicyviolation', e =>"
        " window.fgViolations.push(`${e.violatedDirective} ${e.blockedURI}`));"
    )
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with page.expect_response(lambda r: "/t?" in r.url) as response:
        open_page(page, server, "pics", csp=True)
    assert "'unsafe-eval'" not in response.value.headers["content-security-policy"]
    # The policy is live: the page's one inline script without the nonce was blocked.
    page.wait_for_function("() => window.fgViolations.length >= 1")
    assert page.evaluate("window.fgInlineRan") is None
    thumb(page, "pics", 1).click()
    preview_shows(page, "pics", 1, WIDTHS[1])
    expect(page.locator("#out")).to_have_text("1:cap 1")
    page.wait_for_function("() => !!document.activeElement.closest('#fg-pics .fg-preview')")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#out")).to_have_text("2:cap 2")
    page.keyboard.press("Escape")
    expect(page.locator("#fg-pics dialog.fg-preview")).to_have_count(0)
    expect(page.locator("#closed")).to_have_text("closed")
    violations = page.evaluate("window.fgViolations")
    assert violations == ["script-src-elem inline"], violations
    assert [e for e in errors if "Content Security Policy" not in e or "inline" not in e] == []


def test_delete_removes_the_item_and_fires_delete(page: Page, server: LiveServer) -> None:
    open_page(page, server, "edit")
    captions = page.locator("#fg-edit .fg-grid .fg-caption-label")
    expect(captions).to_have_text(["item 0", "item 1", "item 2"])
    page.locator("#fg-edit-item-1 .fg-delete").click()
    expect(captions).to_have_text(["item 0", "item 2"])
    expect(page.locator("#deleted")).to_have_text("deleted 1 item 1")


def until(page: Page, condition: t.Callable[[], bool], limit: float = 10.0) -> None:
    """Wait for a condition on the Python side (a routed request arriving, say), letting
    Playwright deliver its events meanwhile."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(20)


def drop(page: Page, gallery: str, files: list[tuple[str, bytes]]) -> None:
    """Drag ``(name, content)`` files onto the gallery's drop zone and drop them there."""
    page.evaluate(
        """([selector, files]) => {
            const data = new DataTransfer();
            for (const [name, bytes] of files) {
                data.items.add(new File([new Uint8Array(bytes)], name, {type: "image/png"}));
            }
            const zone = document.querySelector(selector);
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type,
                    {dataTransfer: data, bubbles: true, cancelable: true}));
            }
        }""",
        [f"#fg-{gallery} .fg-dropzone", [(name, list(content)) for name, content in files]],
    )


def test_dropping_a_file_uploads_it_with_a_progress_bar(page: Page, server: LiveServer) -> None:
    open_page(page, server, "edit")
    thumbs = page.locator("#fg-edit .fg-grid .fg-thumb")
    expect(thumbs).to_have_count(3)
    held: list[t.Any] = []
    page.route("**/edit/upload", lambda route: held.append(route))
    drop(page, "edit", [("dropped.png", png_bytes(70, 90))])
    bar = page.locator("#fg-edit [role=progressbar]")
    expect(bar).to_be_visible()  # while the upload is on its way
    until(page, lambda: len(held) == 1)
    held[0].continue_()
    expect(thumbs).to_have_count(4)
    expect(bar).to_have_count(0)
    expect(page.locator("#uploaded")).to_have_text("4 items, 1 new")
    page.wait_for_function(
        "() => { const i = document.querySelector("
        "'#fg-edit .fg-thumb[data-index=\"3\"] img'); return i && i.complete"
        " && i.naturalWidth > 0; }"
    )


def test_a_bad_file_is_named_and_the_good_ones_are_kept(page: Page, server: LiveServer) -> None:
    open_page(page, server, "edit")
    thumbs = page.locator("#fg-edit .fg-grid .fg-thumb")
    expect(thumbs).to_have_count(3)
    drop(page, "edit", [("good.png", png_bytes(71, 80)), ("broken.png", b"not an image at all")])
    expect(thumbs).to_have_count(4)
    expect(page.locator("#fg-toasts [role=alert]")).to_contain_text(["broken.png"])
    expect(page.locator("#uploaded")).to_have_text("4 items, 1 new")


# ---- product bugs these tests found (fixed in 94ae48b) ---------------------------------------


def test_the_socket_opens_when_hx_ws_loads_late(page: Page, server: LiveServer) -> None:
    """htmx starts on a timer and may process the page before the deferred hx-ws.js has run:
    the page must still open its WebSocket, not fall back to polling."""
    held: list[t.Any] = []
    page.route("**/vendor/hx-ws-*.js*", lambda route: held.append(route))
    seen: list[str] = []  # "socket" and "poll", in the order the page made them
    page.on("websocket", lambda ws: seen.append("socket"))
    page.on("request", lambda r: seen.append("poll") if "/_gallery/poll/" in r.url else None)
    page.goto(f"{server.url}/t?g=pics", wait_until="commit")
    # htmx has processed the page (its thumbnails are wired) while hx-ws.js is still on its way.
    page.wait_for_function(
        "() => !!document.querySelector('#fg-pics .fg-thumb[data-htmx-powered]')"
    )
    until(page, lambda: len(held) == 1)
    held[0].continue_()
    until(page, lambda: bool(seen))
    assert seen[0] == "socket", "the page fell back to polling without opening its WebSocket"
    thumb(page, "pics", 1).click()
    expect(page.locator("#out")).to_have_text("1:cap 1")


#: What gallery.js does for a socket element htmx processed before hx-ws.js ran (watchSocket).
OPEN_SOCKET_AS_GALLERY_JS = """() => {
    const socket = document.querySelector(".fg-socket");
    const ws = socket._htmx && socket._htmx.ws;
    if (!(ws && ws.initialized)) htmx.process(socket, true);
}"""


def test_clicks_use_a_socket_that_opened_before_gallery_js_ran(
    page: Page, server: LiveServer
) -> None:
    """On a fast connection hx-ws opens the socket before the deferred gallery.js has run (1
    page load in 30 on this machine): its clicks must still go over that socket, never by HTTP,
    and the page must not poll beside it."""
    held: list[t.Any] = []
    page.route("**/flask_gallery/gallery.js*", lambda route: held.append(route))
    page.add_init_script(WATCH_SOCKET)
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/_gallery/poll/" in r.url else None)
    page.goto(f"{server.url}/t?g=pics", wait_until="commit")
    # htmx starts on a timer: if it ran before hx-ws.js, only gallery.js (held) would open the
    # socket. Then the test opens it as gallery.js would, so it is open before gallery.js runs.
    page.wait_for_function(
        "() => window.fgSocketOpen || (!!window.htmx && !!htmx.config.ws"
        " && !!document.querySelector('#fg-pics .fg-thumb[data-htmx-powered]'))"
    )
    page.evaluate(OPEN_SOCKET_AS_GALLERY_JS)
    page.wait_for_function("() => window.fgSocketOpen")  # open, gallery.js still held
    until(page, lambda: len(held) == 1)
    held[0].continue_()
    page.wait_for_function("() => document.documentElement.classList.contains('fg-js')")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.method == "POST" else None)
    thumb(page, "pics", 2).click()
    expect(page.locator("#out")).to_have_text("2:cap 2")
    page.keyboard.press("Escape")
    expect(page.locator("#closed")).to_have_text("closed")
    assert requests == []
    page.wait_for_timeout(3500)  # past the page's grace for a socket that never opened
    assert polls == []


def test_clicks_travel_over_the_open_socket_not_as_requests(page: Page, server: LiveServer) -> None:
    # What the page's sockets did, for the failure message: a click goes by HTTP only while
    # the page has no open socket.
    sockets: list[str] = []
    page.on(
        "websocket",
        lambda ws: (
            sockets.append(f"opened {ws.url}"),
            ws.on("close", lambda _: sockets.append(f"closed {ws.url}")),
        ),
    )
    open_page(page, server, "pics")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.method == "POST" else None)
    thumb(page, "pics", 2).click()
    preview_shows(page, "pics", 2, WIDTHS[2])
    expect(page.locator("#out")).to_have_text("2:cap 2")
    page.keyboard.press("Escape")
    expect(page.locator("#fg-pics dialog.fg-preview")).to_have_count(0)
    expect(page.locator("#closed")).to_have_text("closed")
    assert requests == [], f"clicks sent as requests; the page's sockets: {sockets}"


def test_a_gallery_without_preview_moves_its_highlight_at_once(
    page: Page, server: LiveServer, gate: Gate
) -> None:
    """Without a preview a select only moves the highlight: the page draws it itself, before
    any answer, and the server sends no thumbnails back over the socket, only the handler's
    result. What the server holds agrees: a redraw shows the same highlight."""
    open_page(page, server, "once")
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(str(f))))
    page.reload()  # the listener sees the page's socket from its start
    page.wait_for_function("() => window.fgSocketOpen")
    thumb(page, "once", 1).click()
    # Drawn before the handler (held by the gate) has answered anything.
    expect(thumb(page, "once", 1)).to_have_attribute("aria-pressed", "true")
    assert gate.started.wait(10)
    thumb(page, "once", 2).click()
    expect(thumb(page, "once", 2)).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#fg-once .fg-thumb[aria-pressed]")).to_have_count(1)
    gate.open.set()
    expect(page.locator("#once-out")).not_to_be_empty()
    assert not [f for f in frames if "fg-once-item-" in f]  # no thumbnail was sent back
    token = page.locator(".fg-socket").get_attribute("data-page")
    drawn = page.evaluate(
        "async ([url, token]) => (await fetch(url, {headers: {'X-Gallery-Page': token}})).text()",
        [f"{server.url}/_gallery/p/{token}/once", token],
    )
    pressed = BeautifulSoup(drawn, "html.parser").select(".fg-thumb[aria-pressed=true]")
    assert [b["data-index"] for b in pressed] == ["2"]


def lose_a_result_with_the_socket(page: Page, result: str, *, reconnect: bool) -> list[t.Any]:
    """Route the page's sockets: the frame with ``result`` is lost, and the connection with it
    (the server wrote it, the page never got it). Later connections pass everything, or with
    ``reconnect=False`` are refused. Returns the connections the page opened."""
    connections: list[t.Any] = []

    def route(ws: t.Any) -> None:
        connections.append(ws)
        if len(connections) > 1:
            if reconnect:
                ws.connect_to_server()
            else:
                ws.close(code=1011)
            return
        remote = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            if result in str(message):
                remote.close(code=1011)
                ws.close(code=1011)
            else:
                ws.send(message)

        remote.on_message(from_server)

    page.route_web_socket(re.compile(r".*/_gallery/ws/.*"), route)
    return connections


def test_a_result_lost_with_a_dropped_socket_arrives_after_the_reconnect(
    page: Page, server: LiveServer
) -> None:
    """The page reconnects, names the last result it had, and gets the lost one."""
    connections = lose_a_result_with_the_socket(page, "1:cap 1", reconnect=True)
    # While the socket is down the page polls, which would bring the lost result too: refused
    # here, so only the reconnection can.
    page.route("**/_gallery/poll/**", lambda route: route.abort())
    open_page(page, server, "pics")
    thumb(page, "pics", 0).click()
    expect(page.locator("#out")).to_have_text("0:cap 0")
    page.keyboard.press("ArrowRight")  # the preview is open: its next item
    expect(page.locator("#out")).to_have_text("1:cap 1")
    assert len(connections) == 2


def test_a_result_lost_with_a_dropped_socket_arrives_by_polling(
    page: Page, server: LiveServer
) -> None:
    """With the socket down for good, the page's polls ask for what follows the last result it
    had, not for what the server believes it sent."""
    lose_a_result_with_the_socket(page, "1:cap 1", reconnect=False)
    open_page(page, server, "pics")
    thumb(page, "pics", 0).click()
    expect(page.locator("#out")).to_have_text("0:cap 0")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#out")).to_have_text("1:cap 1")


def test_a_toast_survives_the_answer_of_the_click_that_caused_it(
    page: Page, server: LiveServer, gate: Gate
) -> None:
    """Without a socket the click is a request and its handler's toast comes by polling, so the
    toast can arrive first; the click's answer must not wipe it. (Over the socket, the answer
    is sent before the click's events are submitted, so it always comes first.)"""
    gate.open.set()
    page.add_init_script(FAILING_WEBSOCKET)
    open_page(page, server, "fail", socket=False)
    held: list[t.Any] = []

    def hold(route: t.Any) -> None:
        held.append((route, route.fetch()))  # the server handled the click; the page waits

    page.route("**/fail/select/0", hold)
    thumb(page, "fail", 0).click()
    alert = page.locator("#fg-toasts [role=alert]", has_text="too dark")
    expect(alert).to_be_visible()  # polled, before the click's answer
    until(page, lambda: len(held) == 1)
    route, response = held[0]
    route.fulfill(response=response)
    expect(thumb(page, "fail", 0)).to_have_attribute("aria-pressed", "true")
    expect(alert).to_have_count(1, timeout=2000)


def test_a_page_polls_once_at_a_time_while_its_socket_keeps_failing(
    page: Page, server: LiveServer
) -> None:
    """Each failed reconnect of the socket fires its close and error events again. A second
    poll started while one is in flight asks for the same messages, and the page then showed
    each of them twice (an alert, a result): polls must never overlap."""
    page.add_init_script(FAILING_WEBSOCKET)
    held: list[t.Any] = []
    page.route("**/_gallery/poll/**", lambda route: held.append(route))  # answered below
    open_page(page, server, "pics", socket=False)
    until(page, lambda: len(held) == 1)
    tried = page.evaluate("window.fgSocketsTried")
    until(page, lambda: page.evaluate("window.fgSocketsTried") >= tried + 2)
    assert len(held) == 1, "a second poll started while the first was in flight"
    held[0].continue_()
    until(page, lambda: len(held) == 2)  # polling goes on once the answer is in
    held[1].continue_()


def test_polling_removes_the_status_overlays_of_a_finished_job(
    page: Page, server: LiveServer, gate: Gate
) -> None:
    page.add_init_script(FAILING_WEBSOCKET)
    release = threading.Event()

    def polls(route: t.Any) -> None:
        if release.is_set():
            route.continue_()
        else:  # an empty answer: nothing new yet
            route.fulfill(status=200, body="", content_type="text/html")

    page.route("**/_gallery/poll/**", polls)
    open_page(page, server, "fail", socket=False)
    click_and_wait(page, "fail", 0)
    assert gate.started.wait(10)  # queued and started: two messages for the next poll
    release.set()
    gate.open.set()
    expect(page.locator("#fg-toasts [role=alert]", has_text="too dark")).to_have_count(
        1, timeout=10_000
    )
    expect(page.locator("#fail-out .fg-status")).to_have_count(0, timeout=2000)
