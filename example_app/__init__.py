"""The example app: Gradio's gallery demos rebuilt as Flask pages.

Run it with ``flask --app example_app run``. Every image is made here, on the fly: the app needs no
internet and no external service (media lives in the instance folder, the queue in the process).
"""

from __future__ import annotations

import os

from flask import Flask

from . import component_events, fake_gan, generate, options, search, selections
from .extensions import galleries

DEMOS = (fake_gan, generate, search, selections, component_events, options)


def create_app(config: dict[str, object] | None = None) -> Flask:
    app = Flask(__name__)
    # A fixed development key keeps media URLs valid across restarts; set SECRET_KEY in production.
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "example-app-development-key")
    app.config.update(config or {})
    galleries.init_app(app)
    for demo in DEMOS:
        app.register_blueprint(demo.bp)
    return app
