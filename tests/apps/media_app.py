"""The app the crash and retention suites serve with :mod:`tests.servers`: media a test can
predict, pixel for pixel.

Galleries: ``uploads`` (interactive), ``seed`` (three small declared images, fixed), whose select
handler fills ``made`` with :func:`made_images` of the form field ``n`` sent with the click
(large numpy images, PNG, so what is served can be compared exactly). Config comes from
:data:`tests.servers.CONFIG_ENV` as for :mod:`tests.apps.hostile`; ``/`` shows every gallery,
``/?g=a`` only ``a``.
"""

from __future__ import annotations

import json
import os
import typing as t

import numpy as np
from flask import Flask, render_template_string, request

from flask_gallery import FlaskGallery, SelectData

PAGE = """<!doctype html><html><head><meta charset="utf-8">{{ gallery_assets() }}</head><body>
{% for name in names %}{{ gallery(name) }}{% endfor %}</body></html>"""

#: Images a click makes, and their size: ~2.3 MiB of pixels each, 14 MiB in all, so that
#: writing them takes a while.
MADE_COUNT = 6
MADE_SIZE = (768, 1024)


def gradient(seed: int, width: int, height: int) -> np.ndarray[t.Any, t.Any]:
    """Smooth (a PNG of it encodes fast, a JPEG decodes close to it), different for every
    seed."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    shift = np.float32(seed * 37 % 256)
    planes = [(x * 255 / width + shift) % 256, y * 255 / height, (x + y + shift) % 256]
    return np.stack(planes, axis=-1).astype(np.uint8)


def made_images(seed: int) -> list[np.ndarray[t.Any, t.Any]]:
    """What the ``seed`` gallery's select handler returns for form field ``n`` = ``seed``."""
    height, width = MADE_SIZE
    return [gradient(seed * MADE_COUNT + i, width, height) for i in range(MADE_COUNT)]


def declared_images() -> list[np.ndarray[t.Any, t.Any]]:
    return [np.full((16, 16, 3), 60 * i, np.uint8) for i in range(3)]


def create_app() -> Flask:
    app = Flask("media_app", instance_path=os.environ["FG_TEST_INSTANCE"])
    app.config.update(SECRET_KEY="media-test-secret")
    app.config.update(json.loads(os.environ.get("FG_TEST_CONFIG", "{}")))
    galleries = FlaskGallery(app)
    galleries.gallery("uploads", None, interactive=True)
    seed = galleries.gallery("seed", declared_images())
    made = galleries.gallery("made", None, format="png")

    @seed.on_select(inputs=["n"], outputs=made, trigger_mode="multiple", concurrency_limit=None)
    def make(n: str | None, evt: SelectData) -> list[np.ndarray[t.Any, t.Any]]:
        return made_images(int(n or evt.index))

    @app.get("/")
    def page() -> str:
        names = request.args.getlist("g") or list(galleries.galleries)
        return render_template_string(PAGE, names=names)

    return app
