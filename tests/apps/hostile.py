"""The app the hostile-client and crash suites attack, served by :mod:`tests.servers`.

Config comes from the environment (:data:`tests.servers.CONFIG_ENV`), so one module serves every
limit a test wants to try. Galleries: ``pics`` and ``other`` (three small images each, a select
handler writing to ``#out`` / ``#other-out``), ``uploads`` (interactive, an upload handler
writing the count to ``#uploaded``) and ``hang`` (a select handler that blocks for
``TEST_HANG_SECONDS``, as a handler stuck in I/O or C code would). ``pics``' handler takes
``TEST_SELECT_SECONDS`` (default 0), so a flood of its clicks can outpace it. With
``TEST_TICK_SECONDS``, also ``ticking``, whose value (one image captioned ``tick <n>``) is made
again every that many seconds on each connected page. ``/`` shows them all, ``/?g=a`` only ``a``.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import typing as t

import numpy as np
from flask import Flask, render_template, request
from jinja2 import DictLoader

from flask_gallery import FlaskGallery, SelectData

PAGE = """<!doctype html><html><head><meta charset="utf-8">{{ gallery_assets() }}</head><body>
{% for name in names %}{{ gallery(name) }}{% endfor %}
<div id="out"></div><div id="other-out"></div><div id="uploaded"></div><div id="hung"></div>
</body></html>"""


def create_app() -> Flask:
    return build()[0]


def build() -> tuple[Flask, FlaskGallery]:
    """The app and its extension object (for apps made from this one)."""
    app = Flask("hostile_app", instance_path=os.environ["FG_TEST_INSTANCE"])
    app.config.update(
        SECRET_KEY="hostile-test-secret", TEST_HANG_SECONDS=30.0, TEST_SELECT_SECONDS=0.0
    )
    app.config.update(json.loads(os.environ.get("FG_TEST_CONFIG", "{}")))
    galleries = FlaskGallery(app)
    declare(
        galleries, float(app.config["TEST_HANG_SECONDS"]), float(app.config["TEST_SELECT_SECONDS"])
    )
    if app.config.get("TEST_TICK_SECONDS"):
        ticks = itertools.count()

        def ticking() -> list[t.Any]:
            n = next(ticks)
            return [(np.full((8, 8, 3), n % 256, np.uint8), f"tick {n}")]

        galleries.gallery("ticking", ticking, every=float(app.config["TEST_TICK_SECONDS"]))

    # A template named once, as an app's template file is: Jinja compiles it on first use and
    # keeps it (render_template_string compiles on every call, which a page flood would turn
    # into the server's main cost).
    app.jinja_loader = DictLoader({"hostile_page.html": PAGE})

    @app.get("/")
    def page() -> str:
        names = request.args.getlist("g") or list(galleries.galleries)
        return render_template("hostile_page.html", names=names)

    @app.get("/plain")
    def plain() -> str:
        """What every other view of the app stands for: it must answer whatever the gallery's
        clients do."""
        return "plain"

    return app, galleries


def declare(galleries: FlaskGallery, hang_seconds: float, select_seconds: float = 0.0) -> None:
    def pictures(shade: int) -> list[t.Any]:
        return [(np.full((8, 8, 3), shade + 40 * i, np.uint8), f"item {i}") for i in range(3)]

    pics = galleries.gallery("pics", pictures(0))
    other = galleries.gallery("other", pictures(100))
    uploads = galleries.gallery("uploads", None, interactive=True)
    hang = galleries.gallery("hang", pictures(50))
    released = threading.Event()

    @pics.on_select(outputs="#out", trigger_mode="multiple")
    def show(evt: SelectData) -> str:
        if select_seconds:
            time.sleep(select_seconds)
        return f"selected {evt.index}"

    @other.on_select(outputs="#other-out")
    def show_other(evt: SelectData) -> str:
        return f"other {evt.index}"

    @uploads.on_upload(inputs=uploads, outputs="#uploaded")
    def count(value: list[t.Any] | None) -> str:
        return f"{len(value or [])} uploaded"

    @hang.on_select(outputs="#hung")
    def stuck(evt: SelectData) -> str:
        released.wait(hang_seconds)
        return f"hung {evt.index}"
