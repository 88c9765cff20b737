"""A search form feeding a gallery, with the app patterns around it: ``galleries.load``
(Gradio's ``demo.load``) fills the catalogue when the page connects, the form's ``submit``
(Enter or its button) shows the pictures of a colour without leaving the page, the shape
``<select>``'s ``change`` narrows them, and a ``galleries.state`` (``gr.State``) remembers the
page's searches.

The pictures are every colour of :data:`.pictures.COLOURS` in every shape, drawn once here.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from PIL import Image

from .extensions import galleries
from .pictures import COLOURS, SHAPES, shape

bp = Blueprint("search", __name__)

Pictures = list[tuple[Image.Image, str]]

CATALOGUE: Pictures = [
    (shape(colour, kind), f"{colour} {kind}") for colour in COLOURS for kind in SHAPES
]

results = galleries.gallery("results", None, label="Pictures", columns=6, height="auto")
searched = galleries.state("searched", list)


def matching(colour: str | None, kind: str | None) -> tuple[Pictures, str]:
    """The catalogue's pictures of ``colour`` (any when empty) and ``kind`` (any when "any"),
    and a line saying what was found."""
    colour = (colour or "").strip().lower()
    kind = kind if kind in SHAPES else None
    found = [
        (image, caption)
        for image, caption in CATALOGUE
        if caption.split()[0] == (colour or caption.split()[0])
        and caption.split()[1] == (kind or caption.split()[1])
    ]
    what = " ".join(word for word in (colour, kind) if word) or "any"
    if found:
        return found, f"{len(found)} of {len(CATALOGUE)} pictures: {what}"
    return found, f"No picture is {what}. Colours: {', '.join(COLOURS)}."


@galleries.on_load(outputs=[results, "#found"], show_progress="hidden")
def fill() -> tuple[Pictures, str]:
    """The whole catalogue, when the page connects (it runs on the pages that show
    ``results``: this one)."""
    return matching(None, None)


@galleries.element("#search").on_submit(
    inputs=["colour", "shape", searched], outputs=[results, "#found", searched, "#searched"]
)
def search(
    colour: str | None, kind: str | None, history: list[str]
) -> tuple[Pictures, str, list[str], str]:
    found, line = matching(colour, kind)
    words = (colour or "").strip().lower()
    if words:
        history = [*[h for h in history if h != words], words]
    return found, line, history, ", ".join(history)


galleries.element("#shape").change(
    matching, inputs=["colour", "shape"], outputs=[results, "#found"]
)


@bp.get("/search")
def page() -> str:
    return render_template("search.html", colours=list(COLOURS), shapes=SHAPES)
