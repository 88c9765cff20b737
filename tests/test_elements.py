"""Element triggers, ``load`` and ``State`` without a browser: declarations and their errors,
what the page is told to bind, the trigger route and socket frame against a live server (and
what they refuse), state kept per page and pickled with it, the JSON API's view of them."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import typing as t

import numpy as np
import pytest
from flask import Flask, render_template_string

from flask_gallery import Element, EventData, FlaskGallery, Request, State
from flask_gallery.page.state import PageState

from .browser.conftest import gallery_app
from .clients import Page, receive_until
from .live import LiveServer

PAGE = """<!doctype html><html><head>{{ gallery_assets() }}</head><body>{{ gallery_page() }}
<input name="prompt" value="cat"><button id="go">Go</button><select id="size" name="size">
<option>small</option></select><button id="inc">+1</button><output id="out"></output>
<output id="n"></output><output id="loaded"></output></body></html>"""

loads: list[str] = []
ticks: dict[t.Any, int] = {}
fills: list[str] = []
loaded = threading.Event()


release = threading.Event()


def slow_run() -> t.Iterator[str]:
    yield "started"
    release.wait(10)
    yield "finished"


def declare(galleries: FlaskGallery) -> None:
    go = galleries.element("#go")
    go.click(lambda prompt: f"go {prompt}", ["prompt"], "#out", api_name="go")

    @galleries.element("#size").on_change(outputs="#out")
    def size(evt: EventData) -> str:
        return f"size {evt._data}"

    count = galleries.state("count", 0)

    @galleries.element("#inc").on_click(inputs=[count], outputs=[count, "#n"], api_name="inc")
    def inc(n: int) -> tuple[int, str]:
        return n + 1, f"n={n + 1}"

    def tick(request: Request) -> str:
        ticks[request.page] = ticks.get(str(request.page), 0) + 1
        return f"tick {ticks[request.page]} of {request.page}"

    galleries.load(tick, None, "#tick", every=0.2, show_progress="hidden")

    slow = galleries.element("#slow").click(slow_run, None, "#slow-out")
    galleries.element("#stop").click(None, None, None, cancels=[slow])
    galleries.element("#now").click(lambda: "right away", None, "#now-out", queue=False)

    filled = galleries.gallery("filled")

    @galleries.on_load(outputs=filled)
    def fill(request: Request) -> list[t.Any]:
        fills.append(request.page)
        return [np.zeros((4, 4, 3), np.uint8)]

    @galleries.on_load(outputs="#loaded")
    def on_load(request: Request) -> str:
        loads.append(request.page)
        loaded.set()
        return "loaded"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveServer]:
    app = gallery_app(tmp_path_factory.mktemp("elements") / "instance", declare, GALLERY_API=True)
    app.extensions["flask_gallery"].registry.api_guard = lambda listener: True

    @app.get("/e")
    def elements_page() -> str:
        return render_template_string(PAGE)

    @app.get("/filled")
    def filled_page() -> str:
        return render_template_string(
            PAGE.replace("{{ gallery_page() }}", "{{ gallery('filled') }}")
        )

    with LiveServer(app) as live:
        yield live


# -- declarations ------------------------------------------------------------------------------


def test_an_element_is_named_by_its_id_once() -> None:
    galleries = FlaskGallery()
    button = galleries.element("#generate")
    assert galleries.element("#generate") is button
    assert (button.id, button.selector) == ("generate", "#generate")
    listener = button.click(lambda: "x", None, button)  # an element as an output is its "#id"
    assert listener.outputs == ("#generate",)
    assert listener.id == "#generate.click.0" and listener.trigger_mode == "once"
    assert button.change(lambda: None).trigger_mode == "always_last"
    assert button.input(lambda: None).trigger_mode == "once"
    assert button.submit(lambda: None).trigger_mode == "once"


@pytest.mark.parametrize("selector", ["generate", "#", "#1st", "#a b", "#" + "a" * 101, ".cls"])
def test_a_bad_element_id_is_refused_with_the_fix(selector: str) -> None:
    with pytest.raises(ValueError, match=r"must be '#' and the element's id.*#generate"):
        FlaskGallery().element(selector)


def test_an_element_has_only_element_events() -> None:
    button = Element("#go")
    with pytest.raises(ValueError, match=r"'#go' has no 'select' event.*'click'"):
        button.listen("select", lambda: None)
    assert not hasattr(button, "on_select")


def test_an_element_is_no_input() -> None:
    galleries = FlaskGallery()
    prompt = galleries.element("#prompt")
    with pytest.raises(TypeError, match=r"pass the name of the form field"):
        galleries.element("#go").click(lambda p: p, [prompt], "#out")


def test_state_defaults_are_copied_per_page_and_checked() -> None:
    galleries = FlaskGallery()
    palette = galleries.state("palette", ["red"])
    first = palette.initial()
    first.append("blue")
    assert palette.initial() == ["red"]  # the next page starts from the default
    made = galleries.state("made", lambda: {"n": 0})
    assert made.initial() == {"n": 0} and made.initial() is not made.initial()
    with pytest.raises(ValueError, match="already declared"):
        galleries.state("palette")
    with pytest.raises(ValueError, match="State name"):
        State("no spaces")
    with pytest.raises(TypeError, match=r"deep-copied.*callable"):
        State("lock", threading.Lock())


def test_page_state_with_states_round_trips_through_its_stored_form() -> None:
    page = PageState("t" * 30, "s", states={"palette": ["red", (1, 2)]}, loaded=True)
    again = PageState.from_dict(json.loads(json.dumps(page.to_dict())))
    assert again.states == {"palette": ["red", (1, 2)]} and again.loaded


def test_the_page_is_told_what_to_bind(tmp_path: t.Any) -> None:
    app = gallery_app(tmp_path, declare)
    with app.test_request_context("/e"):  # the page of an app with element listeners
        html = render_template_string(PAGE)
    holder = re.search(r'<div class="fg-socket"[^>]*>', html)
    assert holder
    specs = json.loads(
        re.search(r'data-elements="([^"]*)"', holder.group(0)).group(1).replace("&#34;", '"')
    )
    by = {(s["id"], s["event"]): s for s in specs}
    assert by["go", "click"]["fields"] == ["prompt"]
    assert by["size", "change"]["fields"] == []
    assert ("inc", "click") in by
    assert 'data-trigger="/_gallery/p/' in holder.group(0)


def test_a_missing_element_is_logged_once_in_debug_mode(
    tmp_path: t.Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = gallery_app(tmp_path, declare)
    app.debug = True

    @app.get("/typo")
    def typo() -> str:  # the outputs of #go and #size are here, the buttons are misspelt
        return render_template_string(
            "{{ gallery_page() }}<button id='goo'>Go</button><output id='out'></output>"
        )

    @app.get("/other")
    def other() -> str:  # another page of the app: none of these elements belong here
        return render_template_string("{{ gallery_page() }}<p id='about'>About</p>")

    @app.get("/e")
    def elements_page() -> str:
        return render_template_string(PAGE)

    client = app.test_client()
    with caplog.at_level(logging.WARNING, "flask_gallery"):
        client.get("/e")  # every element is there
        client.get("/other")
        assert not [r for r in caplog.records if "No element" in r.message]
        client.get("/typo")
        client.get("/typo")
    missing = sorted(r.getMessage() for r in caplog.records if "No element with id" in r.message)
    assert len(missing) == 2  # go and size, once each; #inc writes to #n, not on this page
    assert "'go'" in missing[0] and "galleries.element('#go')" in missing[0]
    assert "'size'" in missing[1]


# -- against a live server ---------------------------------------------------------------------


def test_a_trigger_over_the_socket_runs_its_listener(server: LiveServer) -> None:
    page = Page(server, "/e")
    ws = page.socket()
    try:
        page.trigger(ws, "go", prompt="dog")
        assert "go dog" in receive_until(ws, "go dog")
        page.trigger(ws, "size", "change", _fg_value='"large"')
        assert "size large" in receive_until(ws, "size large")
    finally:
        ws.close()


def test_a_trigger_by_http_runs_its_listener(server: LiveServer) -> None:
    page = Page(server, "/e")
    response = page.post("go", "on/click", b"prompt=owl", **{"Content-Type": FORM})
    assert (response.status, response.body) == (200, "")
    assert "go owl" in page.poll_until("go owl")


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("element", "event", "body", "status", "says"),
    [
        ("nope", "click", b"", 404, "No listener"),
        ("go", "submit", b"", 404, "No listener"),  # no submit listener on #go
        ("size", "change", b"_fg_value=%7Bnot", 400, "_fg_value"),
    ],
)
def test_a_bad_trigger_is_refused(
    server: LiveServer, element: str, event: str, body: bytes, status: int, says: str
) -> None:
    page = Page(server, "/e")
    response = page.post(element, f"on/{event}", body, **{"Content-Type": FORM})
    assert response.status == status and says in response.body


def test_a_trigger_of_another_session_or_site_is_refused(server: LiveServer) -> None:
    page, other = Page(server, "/e"), Page(server, "/e")
    foreign = page.post("go", "on/click", b"", Cookie=other.cookie)
    assert foreign.status == 403
    cross = page.post("go", "on/click", b"", Origin="https://evil.example")
    assert cross.status == 403


def test_a_bad_trigger_frame_is_refused_and_the_socket_serves_on(server: LiveServer) -> None:
    page = Page(server, "/e")
    ws = page.socket()
    try:
        ws.send(json.dumps({"action": "trigger", "element": 3, "event": "click", "root": "x"}))
        assert "names its element" in receive_until(ws, "fg-toast")
        page.trigger(ws, "nope")
        assert "No listener for &#39;click&#39; on element #nope" in receive_until(ws, "nope")
        page.trigger(ws, "go", prompt="still here")
        assert "go still here" in receive_until(ws, "go still here")
    finally:
        ws.close()


def test_state_is_per_page_and_kept_across_clicks(server: LiveServer) -> None:
    one = Page(server, "/e")
    two = Page(server, "/e", cookie=one.cookie)  # the same session's second tab
    ws1, ws2 = one.socket(), two.socket()
    try:
        for n in (1, 2, 3):
            one.trigger(ws1, "inc")
            receive_until(ws1, f"n={n}")
        two.trigger(ws2, "inc")
        receive_until(ws2, "n=1")
    finally:
        ws1.close()
        ws2.close()


def test_load_runs_when_the_page_connects_once(server: LiveServer) -> None:
    page = Page(server, "/e")
    assert page.token not in loads  # rendering is not loading: the page must connect
    ws = page.socket()
    try:
        receive_until(ws, "loaded")
    finally:
        ws.close()
    again = page.socket()  # a reconnect of the same page
    try:
        page.trigger(again, "go", prompt="x")
        receive_until(again, "go x")
    finally:
        again.close()
    assert loads.count(page.token) == 1


def test_a_load_that_fills_a_gallery_runs_only_on_its_pages(server: LiveServer) -> None:
    without, with_it = Page(server, "/e"), Page(server, "/filled")
    for page in (without, with_it):
        ws = page.socket()
        try:
            receive_until(ws, "loaded")
        finally:
            ws.close()
    assert with_it.token in fills and without.token not in fills


def test_an_elements_listener_cancels_another_and_runs_unqueued(server: LiveServer) -> None:
    page = Page(server, "/e")
    ws = page.socket()
    try:
        page.trigger(ws, "slow")
        receive_until(ws, "started")
        slow = server.app.extensions["flask_gallery"].registry.elements["slow"].listeners[0]
        page.trigger(ws, "stop")  # cancels=[slow]: the running generator stops at its yield
        engine = server.app.extensions["flask_gallery"].engine()
        deadline = time.monotonic() + 10
        while not all(job.cancelled for job in engine.jobs() if job.listener is slow):
            assert time.monotonic() < deadline, "the stop never cancelled the run"
            time.sleep(0.01)
        release.set()
        page.trigger(ws, "now")  # queue=False runs at once, beside the queue
        received = receive_until(ws, "right away")
        page.trigger(ws, "go", prompt="after")
        received += receive_until(ws, "go after")
        assert "finished" not in received
    finally:
        release.clear()
        ws.close()


def test_load_with_every_runs_again_while_the_page_is_connected(server: LiveServer) -> None:
    page = Page(server, "/e")
    ws = page.socket()
    try:
        receive_until(ws, f"tick 3 of {page.token}")
    finally:
        ws.close()


def test_the_api_lists_element_listeners_and_leaves_state_out(server: LiveServer) -> None:
    from .clients import request

    info = json.loads(request(f"{server.url}/_gallery/api").body)["endpoints"]
    assert info["/go"]["element"] == "#go" and info["/go"]["event"] == "click"
    assert info["/inc"]["inputs"] == [] and info["/inc"]["outputs"] == [
        {"component": "element", "name": "#n", "type": "str"}
    ]
    call = request(
        f"{server.url}/_gallery/api/inc",
        data=json.dumps({"data": []}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    assert json.loads(call.body) == {"data": ["n=1"]}  # from the default, not a page's


def test_flask_gallery_exports_the_new_names() -> None:
    import flask_gallery

    assert flask_gallery.Element is Element and flask_gallery.State is State
    assert isinstance(Flask, type)
