"""The floor of bench_events.py: the same exchange as ``_events_app.py`` with Flask and
flask-sock alone, no flask_gallery. Served by the benchmark in its own process, on Werkzeug's
threaded server, never by hand::

    python -m tests.apps.run benchmarks._floor_app:create_app <port>

``GET /`` gives a page with the attributes the light client reads (page token, actions URL,
gallery root, socket URL); ``POST <actions>/select/<i>`` answers at once and pushes
``<hx-partial ...>i</hx-partial>`` on the page's socket; a click sent on the socket is answered
the same way on it. It imports numpy and Pillow as the app under test does, so the difference
in memory and CPU between the two is what flask_gallery adds to a Flask app doing the same.

``GET /browser`` is the floor of bench_floor.py: the shape of the gallery page (a grid of 3
thumbnail buttons and ``#out``) with a few lines of inline JavaScript instead of htmx and
gallery.js. The page opens a WebSocket on ``/browser/ws``; a click sends ``{"index": i}`` on it,
the server answers ``{"index": i}``, and the script writes ``i`` into ``#out`` and marks the
button as selected (``selected``), as the gallery marks its thumbnail.
"""

from __future__ import annotations

import json
import secrets
import threading
import typing as t

import numpy as np  # noqa: F401  (imported by the app under test too)
import PIL.Image  # noqa: F401
from flask import Flask, abort
from flask_sock import Sock

from benchmarks._isolated import cross_origin_isolated

RESULT = '<hx-partial hx-target="#out" hx-swap="innerHTML">{}</hx-partial>'

#: The page of ``GET /browser``; ``window.__floorSocket`` is set once its socket is open.
BROWSER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bench_floor</title>
<link rel="icon" href="data:,">
<style>
.grid { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; max-width: 600px; }
.thumb { aspect-ratio: 1; border: 3px solid transparent; cursor: pointer; }
.thumb.selected { border-color: #f97316; }
</style>
</head><body>
<div class="grid">
<button class="thumb" style="background: rgb(200, 40, 40)" aria-label="0"></button>
<button class="thumb" style="background: rgb(40, 160, 60)" aria-label="1"></button>
<button class="thumb" style="background: rgb(40, 60, 200)" aria-label="2"></button>
</div>
<p id="out"></p>
<script>
const thumbs = [...document.querySelectorAll(".thumb")];
const ws = new WebSocket(`ws://${location.host}/browser/ws`);
ws.onopen = () => { window.__floorSocket = true; };
thumbs.forEach((b, i) => b.addEventListener("click", () => ws.send(JSON.stringify({index: i}))));
ws.onmessage = (event) => {
  const {index} = JSON.parse(event.data);
  document.getElementById("out").textContent = index;
  thumbs.forEach((b, i) => b.classList.toggle("selected", i === index));
};
</script>
</body></html>"""


def create_app() -> Flask:
    app = cross_origin_isolated(Flask("bench_floor"))
    sock = Sock(app)
    sockets: dict[str, tuple[t.Any, threading.Lock]] = {}

    def push(token: str, index: str) -> None:
        ws, lock = sockets[token]
        with lock:
            ws.send(RESULT.format(int(index)))

    @app.get("/")
    def page() -> str:
        token = secrets.token_urlsafe(16)
        return (
            f'<div id="fg-bench" class="fg-block" data-gallery="bench" data-page="{token}"'
            f' data-actions="/p/{token}/bench"></div>'
            f'<div hx-ws:connect="/ws/{token}"></div><p id="out"></p>'
        )

    @app.post("/p/<token>/bench/select/<index>")
    def select(token: str, index: str) -> str:
        if token not in sockets:
            abort(404)
        push(token, index)
        return "<div>selected</div>"

    @app.post("/bare")
    def bare() -> str:
        return "ok"

    @sock.route("/ws/<token>")
    def socket(ws: t.Any, token: str) -> None:
        sockets[token] = (ws, threading.Lock())
        try:
            while True:
                click = json.loads(ws.receive())
                push(token, click["index"])
        finally:
            del sockets[token]

    @app.get("/browser")
    def browser_page() -> str:
        return BROWSER_PAGE

    @sock.route("/browser/ws")
    def browser_socket(ws: t.Any) -> None:
        while True:
            click = json.loads(ws.receive())
            ws.send(json.dumps({"index": int(click["index"])}))

    return app
