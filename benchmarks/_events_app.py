"""The server under test of bench_events.py, run in its own process.

One page, ``/``, with one gallery of 3 small images (``allow_preview=False`` so the grid stays
clickable) and a trivial select handler writing ``evt.index`` to ``#out``; ``POST /bare`` is a
bare Flask view answering ``ok``, the floor the benchmark compares with. The handler's
``concurrency_limit`` comes from ``BENCH_LIMIT`` (``default`` or ``none``); for experiments,
``BENCH_SHOW_PROGRESS=hidden`` turns its status overlays off and ``BENCH_SWITCH_INTERVAL`` sets
``sys.setswitchinterval`` (neither is used by the benchmark itself); ``BENCH_QUEUE_URL`` sets
``GALLERY_QUEUE_URL`` (bench_redis.py).

Served by the benchmark (``tests/servers.py``'s ``ServerProcess``), never by hand::

    python -m tests.apps.run benchmarks._events_app:create_app <port>   # Werkzeug's server
    gunicorn --threads N 'benchmarks._events_app:create_app()'
"""

from __future__ import annotations

import os
import sys
import tempfile
import typing as t

import numpy as np
from flask import Flask, render_template

from benchmarks._isolated import cross_origin_isolated
from flask_gallery import FlaskGallery, SelectData

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bench_events</title>
<link rel="icon" href="data:,">
{{ gallery_assets() }}
</head><body>
{{ gallery("bench") }}
<p id="out"></p>
</body></html>"""

COLORS = [(200, 40, 40), (40, 160, 60), (40, 60, 200)]


def create_app() -> Flask:
    if os.environ.get("BENCH_SWITCH_INTERVAL"):  # experiments only: the GIL hand-off interval
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
    instance = os.environ.get("BENCH_INSTANCE") or tempfile.mkdtemp(prefix="bench_events_")
    app = cross_origin_isolated(Flask("bench_events_app", instance_path=instance))
    # The clients click in a closed loop, as fast as the server answers (a thousand clicks a
    # second over one socket): the benchmark measures the server, not the rate a page's clicks
    # are held to (GALLERY_MAX_CLICKS_PER_SECOND, which no person reaches).
    app.config.update(SECRET_KEY="bench-events-secret", GALLERY_MAX_CLICKS_PER_SECOND=None)
    if os.environ.get("BENCH_QUEUE_URL"):  # bench_redis: several workers on one Redis
        app.config["GALLERY_QUEUE_URL"] = os.environ["BENCH_QUEUE_URL"]
    galleries = FlaskGallery(app)
    limit: t.Any = None if os.environ.get("BENCH_LIMIT", "default") == "none" else "default"
    images = [np.full((64, 64, 3), color, np.uint8) for color in COLORS]
    gallery = galleries.gallery("bench", images, allow_preview=False, columns=3)

    progress = os.environ.get("BENCH_SHOW_PROGRESS", "full")  # experiments: "hidden"

    @gallery.on_select(
        outputs="#out", trigger_mode="multiple", concurrency_limit=limit, show_progress=progress
    )
    def on_select(evt: SelectData) -> str:
        return str(evt.index)

    # Compiled once, as `render_template("page.html")` would be by Jinja's loader cache:
    # `render_template_string` compiles on every request, which no real app pays for.
    template = app.jinja_env.from_string(PAGE)

    @app.get("/")
    def page() -> str:
        return render_template(template)

    @app.post("/bare")
    def bare() -> str:
        return "ok"

    return app
