"""The floor of bench_events.py: the same exchange as ``_events_app.py`` with Flask and
flask-sock alone, no flask_gallery. Served by the benchmark in its own process, on Werkzeug's
threaded server, never by hand::

    python -m tests.apps.run benchmarks._floor_app:create_app <port>

``GET /`` gives a page with the attributes the light client reads (page token, actions URL,
gallery root, socket URL); ``POST <actions>/select/<i>`` answers at once and pushes
``<hx-partial ...>i</hx-partial>`` on the page's socket; a click sent on the socket is answered
the same way on it. It imports numpy and Pillow as the app under test does, so the difference
in memory and CPU between the two is what flask_gallery adds to a Flask app doing the same.
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

RESULT = '<hx-partial hx-target="#out" hx-swap="innerHTML">{}</hx-partial>'


def create_app() -> Flask:
    app = Flask("bench_floor")
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
                push(token, click["action"].rsplit("/", 1)[1])
        finally:
            del sockets[token]

    return app
