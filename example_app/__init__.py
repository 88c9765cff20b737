"""The example app: Gradio's gallery demos rebuilt as Flask pages.

Run it with ``flask --app example_app run``. Every image is made here, on the fly: the app needs no
internet and no external service (the media store lives in the instance folder).
"""

from __future__ import annotations

import os

from flask import Flask, render_template

from flask_gallery import FlaskGallery

from .pictures import avatar, photo

galleries = FlaskGallery()


def fake_gan() -> list[tuple[object, str]]:
    """Gradio's demo/fake_gan: three generated pictures with captions, new at every load."""
    return [(avatar(), f"label {i}") for i in range(3)]


galleries.gallery(
    "fake_gan",
    fake_gan,
    label="Generated images",
    show_label=False,
    elem_id="gallery",
    columns=1,
    object_fit="contain",
    height="auto",
)

_photos = [(photo(seed), f"photo {seed}") for seed in range(8)]
OPTIONS: list[tuple[str, dict[str, object]]] = [
    ("columns=(1, 2, 3, 4)", {"columns": (1, 2, 3, 4)}),
    ("columns=4, rows=1, height=260", {"columns": 4, "rows": 1, "height": 260}),
    ("object_fit='contain'", {"columns": 3, "object_fit": "contain"}),
    ("selected_index=2 (preview open)", {"columns": 3, "selected_index": 2}),
    (
        "allow_preview=False, selected_index=1",
        {"columns": 3, "allow_preview": False, "selected_index": 1},
    ),
    (
        "preview=True, show_share_button=True",
        {"columns": 3, "preview": True, "show_share_button": True},
    ),
    ("container=False", {"columns": 4, "container": False, "label": "No container"}),
    ("buttons=[]", {"columns": 4, "buttons": []}),
    (
        "interactive=True, sources=[upload, clipboard, webcam]",
        {"interactive": True, "sources": ["upload", "clipboard", "webcam"]},
    ),
]
for number, (title, props) in enumerate(OPTIONS):
    value = None if props.get("interactive") else _photos
    galleries.gallery(f"option{number}", value, **{"label": title, **props})


def create_app(config: dict[str, object] | None = None) -> Flask:
    app = Flask(__name__)
    # A fixed development key keeps media URLs valid across restarts; set SECRET_KEY in production.
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "example-app-development-key")
    app.config.update(config or {})
    galleries.init_app(app)

    @app.get("/")
    def index() -> str:
        return render_template("fake_gan.html")

    @app.get("/options")
    def options() -> str:
        names = [(f"option{i}", title) for i, (title, _) in enumerate(OPTIONS)]
        return render_template("options.html", names=names)

    return app
