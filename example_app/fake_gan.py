"""Gradio's demo/fake_gan: a button generates three pictures with captions."""

from __future__ import annotations

import time

from flask import Blueprint, render_template
from markupsafe import Markup

from .extensions import galleries
from .pictures import avatar

bp = Blueprint("fake_gan", __name__)


def fake_gan() -> list[tuple[object, str]]:
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


@bp.get("/")
def page() -> str:
    return render_template("fake_gan.html")


@bp.post("/fake_gan/generate")
def generate() -> Markup:
    """The "Generate images" button (htmx posts here from the page): new pictures, as the demo's
    handler returns after its one-second 'model' run."""
    time.sleep(1)
    return galleries.page().update("fake_gan", value=fake_gan())
