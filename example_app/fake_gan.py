"""Gradio's demo/fake_gan: a "Generate images" button makes three new captioned pictures and
says "Done" in the textbox beside it.

The demo's ``btn.click(fake_gan, None, [gallery, t], show_progress="hidden")`` is the same
call on the page's own button, ``galleries.element("#generate")``: the handler runs on the
queue and its results come over the page's socket. The demo's pictures were avatars from the
internet; these are drawn here (:func:`.pictures.avatar`), and the page opens with three of
them already (Gradio's starts empty) so it shows something before the first click.
"""

from __future__ import annotations

import time

from flask import Blueprint, render_template
from PIL import Image

from .extensions import galleries
from .pictures import avatar

bp = Blueprint("fake_gan", __name__)


def pictures() -> list[tuple[Image.Image, str]]:
    return [(avatar(), f"label {i}") for i in range(3)]


gallery = galleries.gallery(
    "fake_gan",
    pictures,
    label="Generated images",
    show_label=False,
    elem_id="gallery",
    columns=1,
    object_fit="contain",
    height="auto",
)


def fake_gan() -> tuple[list[tuple[Image.Image, str]], str]:
    time.sleep(1)  # the demo's pretend model run
    return pictures(), "Done"


galleries.element("#generate").click(fake_gan, None, [gallery, "#t"], show_progress="hidden")


@bp.get("/")
def page() -> str:
    return render_template("fake_gan.html")
