"""The server under test of bench_elements.py, run in its own process.

One page, ``/``: bench_events' gallery (3 small images, a select handler writing ``evt.index``
to ``#out``) and beside it the app's own button ``#go`` with a field ``n``, whose click handler
writes the field's value to ``#out2``. Both handlers are trivial, ``trigger_mode="multiple"``,
at the default concurrency limit and progress display, so the two clicks differ only in how
they reach the queue: a gallery action against an element trigger.

Served by the benchmark (``tests/servers.py``'s ``ServerProcess``), never by hand::

    python -m tests.apps.run benchmarks._elements_app:create_app <port>
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
from flask import Flask, render_template

from benchmarks._events_app import COLORS
from flask_gallery import FlaskGallery, SelectData

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bench_elements</title>
<link rel="icon" href="data:,">
{{ gallery_assets() }}
</head><body>
{{ gallery("bench") }}
<p id="out"></p>
<input name="n" value="0"> <button id="go" type="button">Go</button>
<p id="out2"></p>
</body></html>"""


def create_app() -> Flask:
    instance = os.environ.get("BENCH_INSTANCE") or tempfile.mkdtemp(prefix="bench_elements_")
    app = Flask("bench_elements_app", instance_path=instance)
    # Clicks come in a closed loop, faster than any person: measure the path, not the rate cap.
    app.config.update(SECRET_KEY="bench-elements-secret", GALLERY_MAX_CLICKS_PER_SECOND=None)
    galleries = FlaskGallery(app)
    images = [np.full((64, 64, 3), color, np.uint8) for color in COLORS]
    gallery = galleries.gallery("bench", images, allow_preview=False, columns=3)

    @gallery.on_select(outputs="#out", trigger_mode="multiple")
    def on_select(evt: SelectData) -> str:
        return str(evt.index)

    @galleries.element("#go").on_click(inputs=["n"], outputs="#out2", trigger_mode="multiple")
    def on_click(n: str) -> str:
        return n

    template = app.jinja_env.from_string(PAGE)  # compiled once, as a template file would be

    @app.get("/")
    def page() -> str:
        return render_template(template)

    return app
