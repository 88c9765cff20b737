"""The app served by several gunicorn workers (``tests/test_processes_live.py``,
``tests/browser/test_processes.py``): :mod:`tests.apps.hostile`'s ``pics`` (select writes
``#out``) and ``uploads`` (interactive), and a button of the app's own, ``#mark``, posting with
``hx-swap="none"`` to ``/mark``, a view that asks ``galleries.page()`` as README's example does.
Config comes from the environment, as for :mod:`tests.apps.hostile`.
"""

from __future__ import annotations

import json
import os

from flask import Flask, render_template
from jinja2 import DictLoader
from markupsafe import Markup

from flask_gallery import FlaskGallery

from .hostile import declare

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>workers</title>
<link rel="icon" href="data:,">{{ gallery_assets() }}</head><body>
{{ gallery("pics") }}{{ gallery("uploads") }}
<button id="mark" type="button" hx-post="/mark" hx-swap="none">Mark</button>
<div id="out"></div><div id="uploaded"></div>
</body></html>"""


def create_app() -> Flask:
    app = Flask("workers_app", instance_path=os.environ["FG_TEST_INSTANCE"])
    app.config.update(SECRET_KEY="workers-test-secret")
    app.config.update(json.loads(os.environ.get("FG_TEST_CONFIG", "{}")))
    galleries = FlaskGallery(app)
    declare(galleries, hang_seconds=30.0)
    app.jinja_loader = DictLoader({"workers_page.html": PAGE})

    @app.get("/")
    def page() -> str:
        return render_template("workers_page.html")

    @app.post("/mark")
    def mark() -> Markup:
        return galleries.page().notify("pics", "marked", level="info")

    return app
