"""Issue 15 in a real chromium: the app's own buttons, forms and fields run queued listeners
(``galleries.element``), ``galleries.load`` runs once per page, ``galleries.state`` keeps a
per-page value, and chained listeners follow, as a Gradio app's ``btn.click`` / ``demo.load`` /
``gr.State`` / ``.then`` do; also under a strict Content-Security-Policy and with the socket
refused (clicks then go by HTTP and results by polling).

Slow handlers wait on a gate the test opens, so nothing here depends on timing.
"""

from __future__ import annotations

import re
import threading
import typing as t

import numpy as np
import pytest
from flask import render_template_string

from flask_gallery import EventData, FlaskGallery, Progress, Request

from ..live import LiveServer
from .conftest import gallery_app, goto_connected, strict_csp

if t.TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>elements</title>
<link rel="icon" href="data:,">
{{ gallery_assets(nonce=nonce) }}
<style>output, div.out { display: block; position: relative; min-height: 2em; }</style>
</head><body>
{% if nonce %}<script>window.fgInlineRan = true</script>{% endif %}
<input name="prompt" value="cat"> <input name="steps" value="3">
<button id="generate" type="button">Generate <span>images</span></button>
<div class="out" id="status"></div>
{{ gallery("gen") }}
{% for mode in ("once", "multiple", "always_last") %}
<button id="count-{{ mode }}" type="button">{{ mode }}</button><output id="{{ mode }}-out"></output>
{% endfor %}
<form id="search" action="/nowhere" method="post"><input name="q" value="tulips">
<button type="submit">Search</button></form><output id="result"></output>
<select id="size" name="size"><option>small</option><option>large</option></select>
<output id="size-out"></output>
<input id="name" name="name" value=""><output id="name-out"></output>
<button id="inc" type="button">+1</button><output id="count"></output>
<button id="chain" type="button">chain</button><output id="chain-out"></output>
<output id="then-out"></output>
<output id="loaded"></output>
</body></html>"""

#: A page that shows no gallery: ``gallery_page()`` connects it.
BARE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bare</title>
<link rel="icon" href="data:,">{{ gallery_assets() }}</head><body>{{ gallery_page() }}
<button id="inc" type="button">+1</button><output id="count"></output>
<output id="loaded"></output></body></html>"""


class Gate:
    """Holds slow handlers until the test opens it; counts runs by name."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.started = threading.Event()
        self.runs: dict[str, int] = {}
        self.lock = threading.Lock()

    def run(self, name: str) -> int:
        with self.lock:
            self.runs[name] = n = self.runs.get(name, 0) + 1
        self.started.set()
        if not self.open.wait(20):
            raise RuntimeError("the test never opened the gate")
        return n


GATE = Gate()
LOADS: list[str] = []


def declare(galleries: FlaskGallery) -> None:
    gen = galleries.gallery("gen", columns=3, height=200)

    @galleries.element("#generate").on_click(
        inputs=["prompt", "steps"], outputs=[gen, "#status"], concurrency_limit=1
    )
    def generate(prompt: str, steps: str, progress: Progress = Progress()) -> t.Any:
        GATE.run("generate")
        images = []
        for i in progress.tqdm(range(int(steps)), desc="drawing"):
            images.append(np.full((32, 32, 3), 60 * i, np.uint8))
            yield images, f"{prompt}: {i + 1}/{steps}"

    for mode in ("once", "multiple", "always_last"):

        def count(mode: str = mode) -> str:
            return f"{mode} run {GATE.run(mode)}"

        galleries.element(f"#count-{mode}").click(
            count, None, f"#{mode}-out", trigger_mode=mode, show_progress="hidden"
        )

    @galleries.element("#search").on_submit(inputs=["q"], outputs="#result")
    def search(q: str, request: Request) -> str:
        return f"found {q} for {request.headers['user-agent'][:7]}"

    @galleries.element("#size").on_change(outputs="#size-out")
    def size(evt: EventData) -> str:
        return f"size {evt._data}"

    @galleries.element("#name").on_input(inputs=["name"], outputs="#name-out")
    def typed(name: str) -> str:
        return f"hello {name}"

    counter = galleries.state("count", 0)
    inc = galleries.element("#inc")

    @inc.on_click(inputs=[counter], outputs=[counter, "#count"])
    def add(n: int) -> tuple[int, str]:
        return n + 1, f"count {n + 1}"

    chained = galleries.element("#chain").click(lambda: "first", None, "#chain-out")
    chained.then(lambda: "then ran", None, "#then-out")

    @galleries.on_load(outputs="#loaded")
    def loaded(request: Request) -> str:
        LOADS.append(request.page)
        return f"loaded {len(LOADS)}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    app = gallery_app(tmp_path_factory.mktemp("elements") / "instance", declare)

    nonce = strict_csp(app)

    @app.get("/e")
    def elements_page() -> str:
        return render_template_string(PAGE, nonce=nonce())

    @app.get("/bare")
    def bare_page() -> str:
        return render_template_string(BARE)

    @app.post("/nowhere")
    def nowhere() -> str:
        return "the form navigated"

    with LiveServer(app) as live:
        yield live


@pytest.fixture(autouse=True)
def gate() -> t.Iterator[Gate]:
    global GATE
    GATE = Gate()
    yield GATE
    GATE.open.set()


def open_elements(page: Page, server: LiveServer, *, csp: bool = False) -> None:
    goto_connected(page, f"{server.url}/e" + ("?csp=1" if csp else ""))


def test_the_apps_button_streams_progress_and_results(
    page: Page, server: LiveServer, gate: Gate
) -> None:
    open_elements(page, server)
    page.click("#generate span")  # a click inside the button is the button's
    assert gate.started.wait(10)
    # While the handler runs, its outputs show the run's status, as a gallery click's would.
    expect(page.locator("#status .fg-status")).to_be_visible()
    gate.open.set()
    expect(page.locator("#status")).to_have_text("cat: 3/3")
    expect(page.locator("#fg-gen .fg-thumb")).to_have_count(3)
    expect(page.locator("#status .fg-status")).to_have_count(0)


def test_a_second_page_sees_its_queue_position(
    new_page: t.Callable[..., Page], server: LiveServer, gate: Gate
) -> None:
    first, second = new_page(), new_page()
    open_elements(first, server)
    open_elements(second, server)
    first.click("#generate")
    assert gate.started.wait(10)
    second.click("#generate")  # concurrency_limit=1: it waits behind the first
    expect(second.locator("#status .fg-status-text")).to_contain_text("queue: 1/1")
    gate.open.set()
    expect(first.locator("#status")).to_have_text("cat: 3/3")
    expect(second.locator("#status")).to_have_text("cat: 3/3")


@pytest.mark.parametrize(("mode", "runs"), [("once", 1), ("multiple", 3), ("always_last", 2)])
def test_three_fast_clicks_obey_the_trigger_mode(
    page: Page, server: LiveServer, gate: Gate, mode: str, runs: int
) -> None:
    open_elements(page, server)
    button = page.locator(f"#count-{mode}")
    button.click()
    assert gate.started.wait(10)  # the first run holds: the next two come while it runs
    button.click()
    button.click()
    page.wait_for_timeout(300)  # the clicks reached the server (a socket frame each)
    gate.open.set()
    expect(page.locator(f"#{mode}-out")).to_have_text(f"{mode} run {runs}")
    page.wait_for_timeout(300)
    assert gate.runs[mode] == runs


def test_a_form_submit_sends_its_fields_and_stays_on_the_page(
    page: Page, server: LiveServer
) -> None:
    open_elements(page, server)
    page.fill("[name=q]", "roses")
    page.press("[name=q]", "Enter")
    expect(page.locator("#result")).to_have_text("found roses for Mozilla")
    assert page.url.endswith("/e")


def test_change_and_input_send_the_fields_value(page: Page, server: LiveServer) -> None:
    open_elements(page, server)
    page.select_option("#size", "large")
    expect(page.locator("#size-out")).to_have_text("size large")
    page.locator("#name").press_sequentially("A")
    expect(page.locator("#name-out")).to_have_text("hello A")


def test_state_is_kept_across_clicks_and_apart_between_pages(
    browser: t.Any, server: LiveServer
) -> None:
    context = browser.new_context()  # one session, two pages
    try:
        one, two = context.new_page(), context.new_page()
        open_elements(one, server)
        open_elements(two, server)
        for n in (1, 2):
            one.click("#inc")
            expect(one.locator("#count")).to_have_text(f"count {n}")
        two.click("#inc")
        expect(two.locator("#count")).to_have_text("count 1")
        one.click("#inc")
        expect(one.locator("#count")).to_have_text("count 3")
    finally:
        context.close()


def test_then_runs_after_the_click(page: Page, server: LiveServer) -> None:
    open_elements(page, server)
    page.click("#chain")
    expect(page.locator("#chain-out")).to_have_text("first")
    expect(page.locator("#then-out")).to_have_text("then ran")


def test_load_runs_once_per_page(page: Page, server: LiveServer) -> None:
    # The page's first socket drops right after the load's result: the page reconnects.
    connections: list[t.Any] = []

    def route(ws: t.Any) -> None:
        connections.append(ws)
        remote = ws.connect_to_server()
        if len(connections) == 1:

            def from_server(message: str | bytes) -> None:
                ws.send(message)
                if "loaded" in str(message):
                    remote.close(code=1011)
                    ws.close(code=1011)

            remote.on_message(from_server)

    page.route_web_socket(re.compile(r".*/_gallery/ws/.*"), route)
    page.goto(f"{server.url}/e")
    expect(page.locator("#loaded")).to_contain_text("loaded")
    token = page.locator(".fg-socket").get_attribute("data-page")
    page.click("#inc")  # answered once the page is connected again
    expect(page.locator("#count")).to_have_text("count 1", timeout=10_000)
    assert len(connections) == 2
    assert LOADS.count(token) == 1  # the same page: no second load
    page.reload()
    expect(page.locator("#loaded")).to_contain_text("loaded")
    assert page.locator(".fg-socket").get_attribute("data-page") != token


def test_a_page_without_a_gallery_connects_with_gallery_page(
    page: Page, server: LiveServer
) -> None:
    goto_connected(page, f"{server.url}/bare")
    expect(page.locator("#loaded")).to_contain_text("loaded")
    page.click("#inc")
    expect(page.locator("#count")).to_have_text("count 1")


def test_buttons_work_under_a_strict_csp(page: Page, server: LiveServer, gate: Gate) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    open_elements(page, server, csp=True)
    assert page.evaluate("() => window.fgInlineRan") is None  # the policy is in force
    page.click("#inc")
    expect(page.locator("#count")).to_have_text("count 1")
    gate.open.set()
    page.click("#generate")
    expect(page.locator("#status")).to_have_text("cat: 3/3")
    # The one refusal is the page's own probe above (an inline script); nothing of ours.
    assert [e for e in errors if not e.startswith("Executing inline script")] == []
    assert len(errors) <= 1


def test_without_a_socket_clicks_go_by_http_and_results_by_polling(
    page: Page, server: LiveServer, gate: Gate
) -> None:
    # No WebSocket at all (as behind a proxy that refuses upgrades): the page polls.
    page.route_web_socket(re.compile(r".*/_gallery/ws/.*"), lambda ws: ws.close(code=1011))
    page.goto(f"{server.url}/e")
    expect(page.locator("#loaded")).to_contain_text("loaded", timeout=10_000)
    with page.expect_request(lambda r: "/on/click" in r.url and r.method == "POST"):
        page.click("#inc")
    expect(page.locator("#count")).to_have_text("count 1", timeout=10_000)
    gate.open.set()
    page.fill("[name=q]", "irises")
    page.press("[name=q]", "Enter")
    expect(page.locator("#result")).to_have_text("found irises for Mozilla", timeout=10_000)
