"""An app whose handler turns a form field into a server path, as real apps do
(``outputs/{prompt}.png``), for the hostile-data suite (:mod:`tests.test_hostile_data`).

``/`` shows the gallery ``outputs`` (one picture to click) and a ``prompt`` field; selecting
an item runs ``render``, which returns ``[<instance>/outputs/<prompt>.png]`` as the gallery's
new value and writes "shown <prompt>" to ``#shown``. Config comes from the environment, as for
:mod:`tests.apps.hostile`.
"""

from __future__ import annotations

import json
import os
import typing as t

import numpy as np
from flask import Flask, render_template_string

from flask_gallery import FlaskGallery

PAGE = """<!doctype html><html><head><meta charset="utf-8">{{ gallery_assets() }}</head><body>
<input name="prompt" value="cat">{{ gallery("outputs") }}<div id="shown"></div></body></html>"""


def create_app() -> Flask:
    app = Flask(__name__, instance_path=os.environ["FG_TEST_INSTANCE"])
    app.config.update(SECRET_KEY="paths-test-secret")
    app.config.update(json.loads(os.environ.get("FG_TEST_CONFIG", "{}")))
    galleries = FlaskGallery(app)
    outputs = galleries.gallery("outputs", [np.full((8, 8, 3), 90, np.uint8)])
    folder = os.path.join(app.instance_path, "outputs")

    @outputs.on_select(inputs=["prompt"], outputs=[outputs, "#shown"])
    def render(prompt: str) -> tuple[list[t.Any], str]:
        return [os.path.join(folder, f"{prompt}.png")], f"shown {prompt}"

    @app.get("/")
    def page() -> str:
        return render_template_string(PAGE)

    return app
