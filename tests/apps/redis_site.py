"""A small site on Redis (``GALLERY_QUEUE_URL``) for the multi-process tests: one gallery whose
select handler says which process ran it. ``create_app()`` reads ``FG_REDIS_URL`` and
``FG_MEDIA_DIR`` (for ``flask --app tests.apps.redis_site ...`` and gunicorn); tests in the
same process pass them, and more config, as arguments."""

from __future__ import annotations

import os
import typing as t

import numpy as np
from flask import Flask, render_template_string

from flask_gallery import FlaskGallery, SelectData


def create_app(url: str | None = None, media: str | None = None, **config: t.Any) -> Flask:
    media = media or os.environ["FG_MEDIA_DIR"]
    app = Flask("redis_site", instance_path=os.path.join(media, "instance"))
    app.config.update(
        SECRET_KEY="shared-secret",
        GALLERY_QUEUE_URL=url or os.environ["FG_REDIS_URL"],
        GALLERY_MEDIA_DIR=media,
        **config,
    )
    galleries = FlaskGallery(app)
    pictures = [(np.full((6, 6, 3), 40 * n, np.uint8), f"shade {n}") for n in range(3)]
    gallery = galleries.gallery("g", pictures, show_download_button=True)

    @gallery.on_select(outputs="#out", trigger_mode="multiple")
    def show(evt: SelectData) -> str:
        return f"picked {evt.index} ({evt.value['caption']}) in process {os.getpid()}"

    @app.get("/page")
    def page() -> str:
        return render_template_string("{{ gallery('g') }}<div id='out'></div>")

    return app
