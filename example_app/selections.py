"""Gradio's demo/gallery_selections: select shows the index, a button darkens the selected
image, another deselects."""

from __future__ import annotations

import numpy as np
from flask import Blueprint, render_template
from markupsafe import Markup

from flask_gallery import SelectData

from .extensions import galleries

bp = Blueprint("selections", __name__)

COLORS = [
    (255, 0, 0),
    (255, 165, 0),
    (255, 255, 0),
    (0, 128, 0),
    (0, 0, 255),
    (75, 0, 130),
    (238, 130, 238),
    (128, 128, 128),
    (0, 0, 0),
]


def squares() -> list[np.ndarray]:
    return [np.full((100, 100, 3), color, np.uint8) for color in COLORS]


gallery = galleries.gallery("selections", squares(), allow_preview=False, columns=3, type="numpy")


@gallery.on_select(outputs="#selected-index")
def get_select_index(evt: SelectData) -> str:
    return str(evt.index)


@bp.get("/selections")
def page() -> str:
    return render_template("selections.html")


@bp.post("/selections/darken")
def darken() -> Markup:
    page = galleries.page()
    index = page.selected("selections")
    if index is None:
        return page.notify("selections", "Select an image first.")
    images = [image for image, _ in page.value("selections") or []]
    images[index] = (images[index] * 0.8).astype(np.uint8)
    return page.update("selections", value=images, selected_index=index)


@bp.post("/selections/deselect")
def deselect() -> Markup:
    return galleries.page().update("selections", selected_index=None)
